"""The ESME's firmware: an image distributed to it, and its activation (GBCS 11.3-11.5, CS06).
Loaded for the call only (smets.lazy).

Distribution (CS05b) ends on the meter: the Communications Hub hands it the image over the HAN
and the meter checks it; the bench plays that part with CONTROL firmware_image. The meter then
raises the Firmware Distribution Receipt alert (0x00CE): 8F72 with the hash it calculated of
the image it holds (SHA-256), or 8F1C when the image failed verification.

CS06 Activate Firmware (ASN.1, critical, supplier):
  command   SEQUENCE { manufacturerImageHash OCTET STRING (32), originatorCounter INTEGER
            (the command's own counter), executionDateTime GeneralizedTime OPTIONAL }
  response  NULL (accepted: future-dated, or a cancellation with the NEVER date
            9999-12-31T23:59:59Z), else the execution outcome
            SEQUENCE { responseCode INTEGER (0 success, 1 no image held, 2 hash mismatch,
            3 activation failure), firmwareVersion OCTET STRING (the version now running) }
  alert     0x00CA at the execution time: SEQUENCE { 8F66 | 8F67, executionDateTime,
            originatorCounter, execution outcome }, signed, to the command's originator.
A new image becomes the firmware version ECS52 reads (0-0:0.2.1).
"""

import hashlib

from smets import cosem
from smets.devices import esme as E
from smets.gbcs import asn1
from smets.gbcs.pipeline import Reject

MSG_ACTIVATION_ALERT = 0x00CA
MSG_DISTRIBUTION_RECEIPT = 0x00CE
ALERT_VERIFIED = 0x8F72
ALERT_VERIFY_FAILED = 0x8F1C
ALERT_ACTIONED = 0x8F66
ALERT_NOT_ACTIONED = 0x8F67
SUCCESS = 0
NO_IMAGE = 1
HASH_MISMATCH = 2
ACTIVATION_FAILURE = 3
_NEVER = 253402300799  # 9999-12-31T23:59:59Z: cancel a pending activation
SLOT = -3  # the pending-activation marker (esme_ext.due)


def receive_image(dev, image, now, ok=True):
    """An image distributed to the meter: kept if it verifies, with the receipt alert."""
    digest = hashlib.sha256(image).digest()
    if ok and len(image) >= 4:
        dev.store.save("fwimage", {"version": _hex(image[:4]), "hash": _hex(digest)})
        code = ALERT_VERIFIED
    else:
        code = ALERT_VERIFY_FAILED
    return dev.alert(MSG_DISTRIBUTION_RECEIPT, code, now, (cosem.octets(digest),))


def _hex(b):
    return "".join("%02x" % x for x in b)


def parse(content, msg):
    """(image hash, execution time or None) of a CS06 command; Reject when malformed."""
    body, rest = asn1.read_as(content, asn1.SEQUENCE)
    if len(rest):
        raise Reject("bad_payload", "bytes after the CS06 command")
    digest, body = asn1.read_as(body, asn1.OCTET_STRING)
    if len(digest) != 32:
        raise Reject("bad_payload", "image hash of %d bytes" % len(digest))
    counter, body = asn1.read_int(body)
    if counter != msg.counter:
        # The command names itself (GBCS 11.5): any other counter is a malformed command.
        raise Reject("bad_payload", "CS06 counter %d, command counter %d" % (counter,
                                                                             msg.counter))
    when = None
    if len(body):
        when, body = asn1.read_time(body)
        if len(body):
            raise Reject("bad_payload", "bytes after the CS06 execution date-time")
    return bytes(digest), when


def outcome(dev, digest, keep=False):
    """(response code, firmware version now running): the activation of `digest`. `keep`:
    the image record stays (the caller removes it once its own state is saved), so that a
    power cut before then finds the image again and the activation repeats the same way."""
    image = dev.store.load("fwimage")
    code = SUCCESS
    if dev.dlms_faults > 0:
        # A failure the bench injects (as an RTDS ERROR scenario shows): its response code.
        dev.dlms_faults -= 1
        code = dev.dlms_fault_code or ACTIVATION_FAILURE
    elif image is None:
        code = NO_IMAGE
    elif image["hash"] != _hex(digest):
        code = HASH_MISMATCH
    if code == SUCCESS:
        a = dev.attrs
        a.put(a.slot(E._KEY_FIRMWARE), cosem.octets(bytes.fromhex(image["version"])))
        dev._save_attrs()
        if not keep:
            dev.store.remove("fwimage")
        dev.log("I", "firmware %s activated" % image["version"])
    a = dev.attrs
    version = bytes(a.get(a.slot(E._KEY_FIRMWARE))[2:])
    return code, version


def _outcome_der(code, version):
    return asn1.sequence(asn1.integer(code), asn1.octets(version))


def execute(dev, uc, msg, ctx):
    digest, when = parse(bytes(msg.content), msg)
    pending = dev.state["pending"]
    old = [e for e in pending if e[1] == SLOT]
    for e in old:
        pending.remove(e)  # a new activation (or a cancellation) replaces a pending one
    later = when is not None and when > ctx.now  # future-dated, or NEVER: a cancellation
    if later and when != _NEVER:
        # The pending entry carries the image hash: one record (the meter's state, saved
        # whole or not at all) holds the whole future-dated activation.
        pending.append([when, SLOT, msg.message_code, msg.counter, _hex(msg.originator),
                        _hex(digest)])
    if old or later:
        dev._save()
        dev.store.remove("fwact")  # an older firmware's second record, if any
    if later:
        return asn1.null()
    return _outcome_der(*outcome(dev, digest))


def due(dev, e):
    """A future-dated activation at its time (esme_ext.due has taken its entry out of the
    pending list): the 0x00CA alert with its outcome. Writes, in this order: the attributes
    (the new version, by `outcome`), then the state without the entry, the last; a power cut
    before the state's write finds the entry and the image again, and activates the same
    image again (the same outcome, one alert)."""
    t, _slot, _code, counter, orig = e[:5]
    digest = e[5] if len(e) > 5 else None
    if digest is None:
        # An entry an older firmware scheduled: its hash is in that firmware's record.
        rec = dev.store.load("fwact")
        if rec and rec.get("counter") == counter:
            digest = rec["hash"]
    party = dev.parties.get(bytes.fromhex(orig))
    if digest is None or party is None:
        dev.log("W", "pending firmware activation (counter %d) dropped" % counter)
        dev._save()
        return None
    if len(e) <= 5:
        dev.store.remove("fwact")  # done with: the entry goes with the state's write below
    code, version = outcome(dev, bytes.fromhex(digest), keep=True)
    dev._save()  # the last write: the activation is done (the image stays held, as after
    # an activation that failed; the next image distributed replaces it)
    body = asn1.sequence(asn1.integer(ALERT_ACTIONED if code == SUCCESS else ALERT_NOT_ACTIONED),
                         asn1.generalized_time(t), asn1.integer(counter),
                         _outcome_der(code, version))
    return dev.alert(MSG_ACTIVATION_ALERT, ALERT_ACTIONED if code == SUCCESS
                     else ALERT_NOT_ACTIONED, t, body, recipient=party)
