"""Joining and unjoining HAN devices (GBCS 13.7): CS03A1/A2/B/C, CS04AC/B and CS07.

Shared by every device that keeps a Device Log (smets.devlog): the ESME (Method A initiator
with a PPMID or HCALCS, Method B with a Type 2 device), the PPMID (Method A responder with
an ESME, Method C with a GSME) and the HCALCS (Method A responder with an ESME). A device says
which joins it takes in JOINS: {join method: (device types it joins that way)}.

Payloads (GBCS ASN.1; names as in gbcs-parser asn1.ts):
  JoinDeviceCommand  SEQUENCE { joinMethodAndRole INTEGER, otherDeviceEntityIdentifier
                     OCTET STRING (8), otherDeviceType INTEGER, otherDeviceKeyAgreement
                     Certificate OPTIONAL (Method C) }
  response           INTEGER join response code (smets.devlog JOIN_*)
  UnjoinDeviceCommand  OCTET STRING (8); response INTEGER (0 success, 1 not in device log,
                     2 other failure)
  CS07 command NULL; response SEQUENCE { INTEGER 0 | 1, SEQUENCE OF SEQUENCE { OCTET STRING
                     entity id, INTEGER device type } (on success) }
Each change of the log is a security-log event (GBCS Table 16.2: 8F49 / 8F48 device joining
succeeded / failed, 8F4B / 8F4A unjoining). A payload that does not decode is a malformed
command (Reject bad_payload: 8F1E and a security-log entry, no response); a well formed
request the device cannot carry out gets its GBCS response code.

Loaded for the command only (smets.lazy), with the DER codec and certificate parser; also for
what provisioning and the bench ask of a device log (check_init, fill, describe).
"""

from smets import devlog
from smets.devlog import JOIN_BAD_CERTIFICATE, JOIN_INVALID_METHOD, JOIN_SUCCESS
from smets.gbcs import asn1
from smets.gbcs.pipeline import Reject

CS03A1 = 0x000D
CS03B = 0x000E
CS04AC = 0x000F
CS04B = 0x0010
CS07 = 0x0013
CS03A2 = 0x00AB
CS03C = 0x00AF
CODES = (CS03A1, CS03B, CS04AC, CS04B, CS07, CS03A2, CS03C)
# The join method (and role) each join message code carries (GBCS 13.7.1).
METHOD_OF_CODE = {CS03A1: devlog.METHOD_A_INITIATOR, CS03A2: devlog.METHOD_A_RESPONDER,
                  CS03B: devlog.METHOD_B, CS03C: devlog.METHOD_C}

TYPE_NAMES = ("GSME", "ESME", "CHF", "GPF", "HCALCS", "PPMID", "Type 2")  # devlog's types

UNJOIN_SUCCESS = 0
UNJOIN_NOT_IN_LOG = 1
UNJOIN_OTHER_FAILURE = 2


def execute(dev, uc, msg, ctx):
    code = msg.message_code
    c = bytes(msg.content)
    if code in METHOD_OF_CODE:
        return join(dev, code, c, ctx)
    if code == CS04AC or code == CS04B:
        return unjoin(dev, code, c, ctx)
    if code == CS07:
        return read_log(dev, c)
    raise Reject("unknown_code", "%04X is not a join use case" % code)


def _injected(dev):
    """An execution failure the bench injects (CONTROL fault_dlms): the next item fails."""
    return dev.take_execution_fault()


def _entity(data):
    """(8-byte entity identifier, rest) of an OCTET STRING; Reject for any other length."""
    eui, rest = asn1.read_as(data, asn1.OCTET_STRING)
    if len(eui) != 8:
        raise Reject("bad_payload", "entity identifier of %d bytes" % len(eui))
    return bytes(eui), rest


def parse_join(content):
    """(method, entity id, device type, certificate DER or None) of a JoinDeviceCommand."""
    body, rest = asn1.read_as(content, asn1.SEQUENCE)
    if len(rest):
        raise Reject("bad_payload", "%d bytes after the join command" % len(rest))
    method, body = asn1.read_int(body)
    eui, body = _entity(body)
    dtype, body = asn1.read_int(body)
    cert = None
    if len(body):
        cert, body = asn1.element(body)
        if len(body):
            raise Reject("bad_payload", "join command: %d bytes after the certificate"
                         % len(body))
    return method, eui, dtype, cert


def _partner_key(cert):
    """The key agreement public key of a Method C partner's device certificate, or None when
    it is not a key agreement certificate of the SMKI profile (GBCS 13.7: response 11). The
    certificate's device identity is not held against the command's entity identifier: the
    DCC RTDS joins 00db123456789094 by Method C with the GSME 00db1234567890a1's certificate
    (8.7.2 CS03CNonCritical) and expects success."""
    from smets.gbcs import cert as x509

    try:
        c = x509.parse(cert)
    except ValueError:
        return None
    if c.key_usage is None or not c.key_usage & x509.KU_KEY_AGREEMENT:
        return None
    return bytes(c.public_key)


def join(dev, code, content, ctx):
    method, eui, dtype, cert = parse_join(content)
    log = dev.device_log
    allowed = dev.JOINS.get(method)
    ka = None
    if method == devlog.METHOD_C and cert is not None:
        ka = _partner_key(cert)
    if method != METHOD_OF_CODE[code]:
        result = devlog.JOIN_WRONG_MESSAGE_CODE
    elif allowed is None or dtype not in allowed or eui == dev.eui:
        result = JOIN_INVALID_METHOD
    elif method == devlog.METHOD_C and ka is None:
        result = JOIN_BAD_CERTIFICATE
    elif _injected(dev):
        result = devlog.JOIN_WRITE_FAILURE
    else:
        result = log.add(eui, dtype, method, ka)
    if result == JOIN_SUCCESS:
        dev.log_security(ctx.now, "device_joined", ctx.msg)
        dev.log("I", "joined %s (%s, method %d)" % (
            "".join("%02x" % b for b in eui), TYPE_NAMES[dtype], method))
        hook = getattr(dev, "on_joined", None)
        if hook:
            hook(eui, dtype, method, ctx.now)
    else:
        dev.log_security(ctx.now, "join_failed", ctx.msg)
        dev.log("W", "join of %s refused: response code %d" % (
            "".join("%02x" % b for b in eui), result))
    return asn1.integer(result)


def unjoin(dev, code, content, ctx):
    eui, rest = _entity(content)
    if len(rest):
        raise Reject("bad_payload", "%d bytes after the unjoin command" % len(rest))
    e = dev.device_log.entry(eui)
    if e is None:
        result = UNJOIN_NOT_IN_LOG
    elif (e[1] == devlog.METHOD_B) != (code == CS04B) or _injected(dev):
        # CS04B undoes Method B joins, CS04AC Method A and C ones (GBCS 13.7.2).
        result = UNJOIN_OTHER_FAILURE
    else:
        dev.device_log.remove(eui)
        result = UNJOIN_SUCCESS
    if result == UNJOIN_SUCCESS:
        dev.log_security(ctx.now, "device_unjoined", ctx.msg)
        hook = getattr(dev, "on_unjoined", None)
        if hook:
            hook(eui, e[0], ctx.now)
    else:
        dev.log_security(ctx.now, "unjoin_failed", ctx.msg)
    return asn1.integer(result)


def read_log(dev, content):
    """CS07 Read Device Join Details."""
    if content != b"\x05\x00":
        raise Reject("bad_payload", "CS07 command is not NULL")
    if _injected(dev):
        return asn1.sequence(asn1.integer(1))
    entries = [asn1.sequence(asn1.octets(eui), asn1.integer(t))
               for eui, t in dev.device_log.entries()]
    return asn1.sequence(asn1.integer(0), asn1.sequence(*entries))


# -- what provisioning and the bench ask of a device log ------------------------------------------


def check_init(entries):
    """Raise ValueError unless `entries` (provisioning init "device_log") is a list of
    [eui hex, device type, join method] (the devices a board starts joined to)."""
    if not isinstance(entries, list) or len(entries) > devlog.DEFAULT_SIZE:
        raise ValueError("init device_log must be a list of at most %d entries"
                         % devlog.DEFAULT_SIZE)
    for e in entries:
        try:
            ok = len(bytes.fromhex(e[0])) == 8 and 0 <= e[1] <= devlog.TYPE2 \
                and 0 <= e[2] <= devlog.METHOD_C
        except (TypeError, ValueError, IndexError, KeyError):
            ok = False
        if not ok:
            raise ValueError("init device_log entry %r: want [eui hex, type 0-6, method 0-3]"
                             % (e,))


def fill(log, entries):
    """Join the devices of a (checked) init "device_log" list."""
    for e in entries:
        log.add(bytes.fromhex(e[0]), e[1], e[2])


def describe(log):
    """The log for CONTROL replies: {"entries": [{"eui", "type", "method", "key"}], "size"}."""
    out = []
    for eui, _t in log.entries():
        t, method, flags, _ka = log.entry(eui)
        out.append({"eui": "".join("%02x" % x for x in eui), "type": TYPE_NAMES[t],
                    "method": method, "key": bool(flags & devlog.FLAG_KEY)})
    return {"entries": out, "size": log.size}
