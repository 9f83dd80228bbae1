"""Rarely used code of GBZ devices (smets.devices.gbzdev), imported for one call: payload
encryption for an unknown remote party."""

from smets.devices.gbcsdev import Reject

# -- an unknown remote party (GBCS 4.3.4, gbcs-notes 1.3) ---------------------------------------


def urp(dev, ctx):
    """(Z, counter, recipient) for encrypting to the remote party whose key agreement
    certificate the command carries: its key from the certificate; the device's own counter
    (sent back as the supplementary originator counter: 26-byte other-information) for the
    use cases of OWN_COUNTER_CODES, else the command's."""
    from smets.gbcs import asn1, cert, p256

    info = ctx.msg.other_info
    try:
        c = cert.parse(info[18:])
    except asn1.ASN1Error as exc:
        raise Reject("bad_payload", "remote party certificate: %s" % exc)
    if c.entity != bytes(info[2:10]):
        raise Reject("bad_payload", "the certificate is not the supplementary remote party's")
    try:
        z = p256.ecdh(dev.ka_key, c.public_key)
    except p256.P256Error as exc:
        raise Reject("bad_payload", str(exc))
    counter = ctx.msg.counter
    if ctx.msg.message_code in OWN_COUNTER_CODES:
        dev.alert_counter += 1
        counter = dev.alert_counter
        dev._save_security()  # before it is used: a counter never encrypts twice
        ctx.other_info = bytes(info[:18]) + counter.to_bytes(8, "big")
    else:
        ctx.other_info = bytes(info[:18])
    return z, counter, bytes(info[2:10])


# Use cases whose response to an unknown remote party carries a supplementary originator
# counter of the device's own (the prepayment daily read logs: GCS16b, like ESME ECS21b); the
# others encrypt with the command's counter (GCS61), as the RTDS 4.5.0 responses show.
OWN_COUNTER_CODES = (0x0096,)
