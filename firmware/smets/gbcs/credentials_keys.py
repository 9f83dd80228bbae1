"""CS02a/c/d/e/f and the unknown-remote-party key, for any GBCS device (rules: credentials)."""

import hashlib

from smets.gbcs import asn1, cert, p256
from smets.gbcs.asn1 import SEQUENCE, read_as
from smets.gbcs.credentials import (
    DS,
    KA,
    MSG_CS02C,
    MSG_CS02D,
    MSG_CS02E,
    MSG_CS02F,
    NO_TRUST_ANCHOR,
    OTHER,
    ROLE_NAMES,
    SUCCESS,
    TRUST_ANCHOR_NOT_FOUND,
    _anchor,
    _cell_id,
    _role_code,
    _whole,
    cells,
)
from smets.gbcs.pipeline import Reject

_HW_MODULE_NAME = b"\x06\x08\x2b\x06\x01\x05\x05\x07\x08\x04"
_HW_TYPE = b"\x06\x0d\x2a\x86\x3a\x00\x01\x84\x8f\xb9\x0f\x01\x02\x02\x01"  # RTDS hwType
_SPKI_P256 = bytes.fromhex("301306072a8648ce3d020106082a8648ce3d030107")
_ECDSA_SHA256 = bytes.fromhex("300a06082a8648ce3d040302")
_EXTENSION_REQUEST = bytes.fromhex("06092a864886f70d01090e")
_KEY_USAGE_OID = bytes.fromhex("0603551d0f")
_SAN_OID = bytes.fromhex("0603551d11")


def execute(dev, uc, msg, ctx):
    """Response content of a CS02a/c/d/e/f command (the GBCS checks have passed)."""
    code = msg.message_code
    content = memoryview(msg.content)
    if code == MSG_CS02E:
        return provide_certificate(dev, content)
    if code == MSG_CS02D:
        return update_certificate(dev, content)
    if code == MSG_CS02C:
        return issue(dev, content)
    return details(dev, ctx, content, code)


# -- CS02a / CS02f ----------------------------------------------------------------------------


def details(dev, ctx, content, code):
    body = _whole(content)
    (role, _usage, _cu), body = _cell_id(body)
    if role != _role_code(ctx.party):
        raise Reject("not_authorised", "authorising cell of role %d, originator %s"
                     % (role, ctx.party.role))
    wanted, _ = read_as(body, SEQUENCE)
    trust = dev.trust
    out = []
    for _tag, r in asn1.elements(wanted):
        r = asn1.to_int(r)
        role_cells = [c for c in cells(dev) if c[0] == r]
        status = SUCCESS
        if not role_cells:
            status = TRUST_ANCHOR_NOT_FOUND
        elif code == MSG_CS02F and r == 5:
            status = OTHER
        held = []
        for c in role_cells if status == SUCCESS else ():
            a = _anchor(trust, r, c[3])
            if a is not None:
                held.append(asn1.sequence(
                    asn1.bits(c[1]), asn1.integer(c[2]) if c[2] else b"", asn1.octets(a[0]),
                    asn1.octets(cert.key_identifier(a[1]))))
        if status == SUCCESS and not held:
            status = NO_TRUST_ANCHOR
        if status != SUCCESS:
            out.append(asn1.sequence(asn1.integer(r), asn1.enumerated(status)))
            continue
        seq = (trust.get(ROLE_NAMES[r]) or {}).get("seq", 0)
        out.append(asn1.sequence(asn1.integer(r), asn1.enumerated(SUCCESS), asn1.integer(seq),
                                 asn1.sequence(*held)))
    return asn1.sequence(*out)


# -- the device's own certificates --------------------------------------------------------------


def _fault(dev):
    return dev.take_execution_fault()


def _usage_name(usage):
    return "ds" if usage == DS else "ka" if usage == KA else None


def _asked_usage(dev, content, fault_code):
    """(key name, None) for the key usage a CS02c / CS02e command asks for, or (None, response
    code): 1 invalid key usage, `fault_code` when the bench injects an execution failure."""
    name = _usage_name(asn1.read_bits(_whole(content))[0])
    if name is None:
        return None, asn1.integer(1)
    if _fault(dev):
        return None, asn1.integer(fault_code)
    return name, None


def provide_certificate(dev, content):
    """CS02e: the device's certificate for the key usage asked for, or a response code
    (1 invalid key usage, 2 no certificate held, 3 retrieval failure)."""
    name, refused = _asked_usage(dev, content, 3)
    if refused:
        return refused
    der = dev.store.load_bytes("cert-" + name)
    return der if der else asn1.integer(2)


def update_certificate(dev, content):
    """CS02d: response code 0 success, 1 invalid certificate, 2 wrong device identity, 3
    invalid key usage, 4 no corresponding key pair generated, 5 wrong public key, 6
    certificate storage failed."""
    try:
        c = cert.parse(content)
    except asn1.ASN1Error:
        return asn1.integer(1)
    if c.entity != dev.eui:
        return asn1.integer(2)
    name = _usage_name(c.key_usage)
    if name is None:
        return asn1.integer(3)
    keys = dev.store.load("keys") or {}
    d = dev.ds_key if name == "ds" else dev.ka_key
    pending = keys.get(name + "_new")
    if pending and p256.public_key(int(pending, 16)) == c.public_key:
        d = int(pending, 16)
    elif p256.public_key(d) != c.public_key:
        return asn1.integer(5 if pending else 4)
    if _fault(dev):
        return asn1.integer(6)
    dev.store.save_bytes("cert-" + name, c.der)
    if pending and d == int(pending, 16):
        keys[name] = pending
        del keys[name + "_new"]
        dev.store.save("keys", keys)
        if name == "ds":
            dev.ds_key = d
        else:
            dev.ka_key = d
            dev.zcache = type(dev.zcache)(d)
            dev.store.remove("zcache")
            dev._zcache_saved = 0
        dev.log("I", "CS02d: new %s key pair in use" % name.upper())
    return asn1.integer(0)


def issue(dev, content):
    """CS02c: a new key pair for the usage asked for (pending until CS02d certifies it) and a
    PKCS#10 certification request; response codes 1 invalid key usage, 2 key pair generation
    failed."""
    name, refused = _asked_usage(dev, content, 2)
    if refused:
        return refused
    d = p256.generate_private_key()
    keys = dev.store.load("keys") or {}
    keys[name + "_new"] = "%064x" % d
    dev.store.save("keys", keys)
    return certification_request(dev, d, DS if name == "ds" else KA)


def certification_request(dev, d, usage):
    """PKCS#10 request for the key d: empty subject (SMKI device certificates have none),
    extensionRequest with the keyUsage and the device's hardwareModuleName (the hwType of its
    current certificate, else the RTDS one), signed with d."""
    hw_type = _HW_TYPE
    for name in ("cert-ds", "cert-ka"):
        der = dev.store.load_bytes(name)
        if der:
            try:
                c = cert.parse(der)
            except asn1.ASN1Error:
                continue
            if c.san:
                # SAN: SEQUENCE {[0] {OID, [0] {SEQUENCE {hwType OID, serial}}}}
                body, _ = read_as(c.san, SEQUENCE)
                other, _ = read_as(body, asn1.CONTEXT_CONSTRUCTED)
                _, rest = read_as(other, asn1.OID)
                hw, _ = read_as(rest, asn1.CONTEXT_CONSTRUCTED)
                hw, _ = read_as(hw, SEQUENCE)
                hw_type, _ = asn1.element(hw)
                hw_type = bytes(hw_type)
                break
    san = asn1.sequence(asn1.encode(asn1.CONTEXT_CONSTRUCTED, _HW_MODULE_NAME + asn1.encode(
        asn1.CONTEXT_CONSTRUCTED, asn1.sequence(hw_type, asn1.octets(dev.eui)))))
    extensions = asn1.sequence(
        asn1.sequence(_KEY_USAGE_OID, b"\x01\x01\xff", asn1.octets(asn1.bits(usage))),
        asn1.sequence(_SAN_OID, b"\x01\x01\xff", asn1.octets(san)))
    attributes = asn1.encode(asn1.CONTEXT_CONSTRUCTED, asn1.sequence(
        _EXTENSION_REQUEST, asn1.encode(asn1.SET, extensions)))
    spki = asn1.sequence(_SPKI_P256, asn1.encode(asn1.BIT_STRING,
                                                 b"\x00\x04" + p256.public_key(d)))
    info = asn1.sequence(asn1.integer(0), asn1.sequence(), spki, attributes)
    sig = p256.sign(d, hashlib.sha256(info).digest())
    return asn1.sequence(info, _ECDSA_SHA256, asn1.encode(
        asn1.BIT_STRING, b"\x00" + cert.signature_value(sig)))


# -- ECS21b to an unknown remote party ---------------------------------------------------------


def urp(dev, ctx):
    """(Z, counter) for a response encrypted to the remote party whose key agreement
    certificate the command carries (other-information: message code, supplementary remote
    party id and counter, certificate). The device uses a fresh originator counter of its
    own, sent back in the response's other-information (26 bytes, GBCS notes 1.3, 7.4)."""
    info = ctx.msg.other_info
    try:
        c = cert.parse(info[18:])
    except asn1.ASN1Error as exc:
        raise Reject("bad_payload", "remote party certificate: %s" % exc)
    if c.key_usage != KA or c.entity != bytes(info[2:10]):
        raise Reject("bad_payload", "the certificate is not the supplementary remote party's "
                     "key agreement certificate")
    try:
        z = p256.ecdh(dev.ka_key, c.public_key)
    except p256.P256Error as exc:
        raise Reject("bad_payload", str(exc))
    dev.alert_counter += 1
    counter = dev.alert_counter
    # On flash before it is used: after a reboot the same counter (the GCM IV of this key)
    # must never encrypt again.
    dev._save_security()
    ctx.other_info = bytes(info[:18]) + counter.to_bytes(8, "big")
    return z, counter
