"""Independent checks of what a device sends, with `cryptography` (never the firmware crypto).

`check_response` verifies a response against the command it answers: envelope, CRA flag,
counter echo, titles, message code, the MAC (Z = ECDH(remote party KA, device KA), mode 02) or
the device signature (device DS key) as the use case requires, decrypts encrypted payload parts
and decodes the payload to JSON; then, by the payload's kind (smetsbench.payloads.registry),
what that kind of response must echo: a DLMS invoke id, the GBZ components' ZCL sequence
numbers and direction, its last-component flag. `check_alert` does the same for alerts. Each
check is a named pass/fail with a detail, so a report says exactly what went wrong.
"""

from smets.dlms import access, axdr
from smets.gbcs import envelope

from smetsbench.oracle import crypto as ocrypto
from smetsbench.payloads import registry as payloads


class Check:
    __slots__ = ("name", "ok", "detail")

    def __init__(self, name, ok, detail=""):
        self.name = name
        self.ok = bool(ok)
        self.detail = detail

    def __repr__(self):
        return "%s %s%s" % ("PASS" if self.ok else "FAIL", self.name,
                            (": " + self.detail) if self.detail else "")


class Checks(list):
    def add(self, name, ok, detail=""):
        self.append(Check(name, ok, detail))
        return ok

    @property
    def ok(self):
        return all(c.ok for c in self)

    def failures(self):
        return [c for c in self if not c.ok]

    def summary(self):
        return "%d/%d" % (sum(c.ok for c in self), len(self))


def decode_dlms(content, z=None, msg=None):
    """JSON of a DLMS payload; protected attributes are decrypted when z and msg are given."""
    apdu = access.decode_apdu(content)
    out = apdu.to_json()
    if isinstance(apdu, access.AccessResponse) and z is not None:
        for i, d in enumerate(apdu.data):
            prot = protected_attributes(d)
            if prot is not None:
                out.setdefault("decrypted", {})[str(i)] = axdr.to_json(
                    decrypt_protected(prot, z, msg))
    return out


def gbz_plaintexts(payload, z, msg):
    """{component index: plaintext ZCL payload} of a GBZ payload's encrypted components
    (GBCS 7.3.5: the KDF mode 04 key of Z and the message's titles and counter, AAD 31);
    GBCSCryptoError when one does not decrypt."""
    originator, counter, recipient = ocrypto.payload_kdf_inputs(msg)
    return {i: ocrypto.decrypt_payload(z, originator, counter, recipient, c.ciphertext_and_tag)
            for i, c in enumerate(payload.components) if c.encrypted}


def decode_payload(msg, z=None):
    """(JSON of a message's payload, its kind, the decoded value, GBZ plaintexts): DLMS,
    GBZ or ASN.1 (smetsbench.payloads.registry); encrypted parts are decrypted when `z` is
    given. Raises ValueError or GBCSCryptoError."""
    kind = payloads.of_message(msg)
    if kind is payloads.UNKNOWN:
        raise ValueError("payload of no known kind: %s" % bytes(msg.content[:8]).hex())
    if kind is payloads.DLMS:
        return decode_dlms(msg.content, z, msg), kind, access.decode_apdu(msg.content), None
    value = kind.decode(msg.content, msg)
    if kind is payloads.GBZ:
        plain = gbz_plaintexts(value, z, msg) if z is not None else None
        return kind.to_json(value, plain), kind, value, plain
    return kind.to_json(value), kind, value, None


def protected_attributes(d):
    """A ProtectedAttributes if Data `d` has that shape, else None."""
    try:
        return access.ProtectedAttributes.from_data(d)
    except (ValueError, TypeError, IndexError):
        return None


def decrypt_protected(prot, z, msg):
    """Plaintext Data of a get_protected_attributes response (GBCS payload encryption)."""
    sc, _ic, ct, tag = prot.split()
    if sc != 0x31:
        raise ocrypto.GBCSCryptoError("security control %02x, expected 31" % sc)
    originator, counter, recipient = ocrypto.payload_kdf_inputs(msg)
    plain = ocrypto.decrypt_payload(z, originator, counter, recipient, bytes(ct) + bytes(tag))
    return axdr.from_bytes(plain)


def decode_checked(raw, checks):
    """The Message, or None with a failed "envelope" check."""
    try:
        msg = envelope.decode(raw)
    except envelope.GBCSFormatError as exc:
        checks.add("envelope", False, str(exc))
        return None
    checks.add("envelope", True)
    return msg


def payload_z(msg, party, device_ka, parties=None):
    """The ECDH shared secret that decrypts the encrypted parts of a device's `msg`, or None.

    GBCS 7.2.4 / 7.3.5: a payload is encrypted for its remote party: the message's recipient,
    or the supplementary remote party its other-information names instead (an Unrestricted
    Reading Party asking through a supplier's command, ECS21b / GCS61). That party's KA key
    comes from `parties` (anything with by_eui, e.g. the session's DCC); None when it has
    no known KA key."""
    _originator, _counter, payload_for = ocrypto.payload_kdf_inputs(msg)
    payer = party
    if payload_for != party.eui:
        payer = parties.by_eui(payload_for) if parties is not None else None
    if payer is None or payer.ka_key is None:
        return None
    return ocrypto.ecdh(payer.ka_key, device_ka)


def check_response(raw, command, party, device_ka, device_ds, critical, parties=None):
    """Checks, decoded JSON (or None) and the Message of a response to `command` (a Message).

    `parties` (the DCC's remote parties) finds the key of a supplementary remote party the
    payload is encrypted for (`payload_z`)."""
    checks = Checks()
    msg = decode_checked(raw, checks)
    if msg is None:
        return checks, None, None
    checks.add("CRA response", msg.cra == envelope.CRA_RESPONSE, "CRA %d" % msg.cra)
    checks.add("counter echo", msg.counter == command.counter,
               "%d vs %d" % (msg.counter, command.counter))
    checks.add("originator is device", msg.originator == command.recipient,
               msg.originator.hex())
    checks.add("recipient is party", msg.recipient == command.originator, msg.recipient.hex())
    checks.add("message code echo", msg.message_code == command.message_code,
               "%04X" % msg.message_code)
    z = ocrypto.ecdh(party.ka_key, device_ka)
    if critical:
        checks.add("no MAC on signed response", msg.mac is None)
        checks.add("device signature", ocrypto.verify_message_signature(msg, device_ds),
                   "device DS key")
    else:
        checks.add("unsigned", msg.signature is None)
        checks.add("response MAC", ocrypto.verify_message_mac(msg, z), "Z(party KA, device KA)")
    decoded = None
    # A response carries the kind of payload its command did (DLMS, GBZ, or the ASN.1 DER of
    # the join and firmware use cases, whose meaning the use case checks): so does every
    # command / response pair of the RTDS.
    asked = payloads.of_message(command)
    pz = payload_z(msg, party, device_ka, parties)
    payload_for = ocrypto.payload_kdf_inputs(msg)[2]
    if payload_for != party.eui:
        checks.add("supplementary remote party's KA key", pz is not None, payload_for.hex())
    try:
        decoded, kind, resp, _ = decode_payload(msg, pz)
        checks.add("payload decodes", True, kind.name)
        same = checks.add("payload kind as the command's", kind is asked,
                          "%s to %s" % (kind.name, asked.name))
        if same and kind is payloads.DLMS:
            req = access.decode_apdu(command.content)
            checks.add("invoke id echo", resp.invoke_id == req.invoke_id,
                       "%08x" % resp.invoke_id)
        elif same and kind is payloads.GBZ:
            _check_gbz_response(checks, resp, command)
    except (ValueError, ocrypto.GBCSCryptoError) as exc:
        checks.add("payload decodes", False, "%s: %s" % (type(exc).__name__, exc))
    return checks, decoded, msg


def _check_gbz_response(checks, resp, command):
    """GBCS 7.2.2 / 7.3: the last GBZ response component says so, and each component answers
    a command component: the same ZCL sequence number, the other direction (ZCL 2.4.1.1)."""
    checks.add("GBZ last component marked", bool(resp.components) and
               resp.components[-1].last and not any(c.last for c in resp.components[:-1]))
    try:
        req = payloads.GBZ.decode(command.content, command)
    except ValueError:
        return
    asked = {c.seq: c.frame_control & 0x08 for c in req.components}
    checks.add("GBZ components answer the command's",
               all(c.seq in asked and (c.frame_control & 0x08) != asked[c.seq]
                   for c in resp.components),
               " ".join("%d:%02x" % (c.seq, c.frame_control) for c in resp.components))


def check_alert(raw, device_eui, device_ka, device_ds, parties):
    """Checks, decoded JSON and Message of a device alert (signed or MACed to its recipient)."""
    checks = Checks()
    msg = decode_checked(raw, checks)
    if msg is None:
        return checks, None, None
    checks.add("CRA alert", msg.cra == envelope.CRA_ALERT)
    checks.add("originator is device", msg.originator == bytes(device_eui))
    party = parties.by_eui(msg.recipient)
    checks.add("recipient is a remote party", party is not None, msg.recipient.hex())
    if msg.signature is not None:
        checks.add("device signature", ocrypto.verify_message_signature(msg, device_ds))
    elif party is not None and party.ka_key is not None:
        z = ocrypto.ecdh(party.ka_key, device_ka)
        checks.add("alert MAC", ocrypto.verify_message_mac(msg, z))
    else:
        checks.add("alert protected", False, "neither signed nor MACed to a known party")
    decoded = None
    try:
        decoded = decode_payload(msg)[0]
        checks.add("payload decodes", True)
    except ValueError as exc:
        checks.add("payload decodes", False, str(exc))
    return checks, decoded, msg


def alert_code(msg):
    """The alert code of an alert Message (a DLMS or GBZ payload), or None."""
    return payloads.of_message(msg).alert_code(msg.content, msg)
