"""UTRNs made the way a supplier makes them (GBCS 14), with `cryptography`: the bench's top-ups,
and an independent check of the firmware's UTRN verification (smets.gbcs.utrn).

PTUT high 32 bits: 10 bits of (counter >> 32), value class (01 pounds, 00 pennies), 13-bit
value; low 32 bits: the last 4 bytes of the 16-byte GMAC with key = KDF(Z, supplier, mode 01,
counter, device), Z = ECDH(supplier prepayment KA, device KA), IV = supplier || 00000000 and
AAD = 11 00000000 00 || supplier || device || 01 || counter || PTUT high. The UTRN is the PTUT
plus an offset, in 19 decimal digits, and the GBCS 14.8 Verhoeff check digit (the digit tables
are the firmware's: they are format, not crypto).
"""

from smets.gbcs.utrn import OFFSET, check_digit

from smetsbench.oracle import crypto as ocrypto


def make(supplier, device_eui, device_ka_public, value, pounds=False, counter=None):
    """(UTRN digits, counter) of a top-up of `value` pennies (or pounds) from `supplier` (a
    RemoteParty with a prepayment key) to a device."""
    if supplier.pp_key is None:
        raise ValueError("%s has no prepayment key agreement key" % supplier.role)
    if not 0 <= value < 8192:
        raise ValueError("top-up value %d does not fit 13 bits" % value)
    if counter is None:
        counter = supplier.next_top_up_counter()
    z = ocrypto.ecdh(supplier.pp_key, device_ka_public)
    high = (((counter >> 32) & 0x3FF) << 15) | ((1 if pounds else 0) << 13) | value
    key = ocrypto.derive_key(z, supplier.eui, ocrypto.MODE_COMMAND, counter, device_eui)
    aad = (b"\x11\x00\x00\x00\x00\x00" + supplier.eui + bytes(device_eui) + b"\x01"
           + counter.to_bytes(8, "big") + high.to_bytes(4, "big"))
    tag = ocrypto.gmac(key, ocrypto.iv_for(supplier.eui), aad, 16)
    ptut = (high << 32) | int.from_bytes(tag[12:], "big")
    digits = "%019d" % (ptut + OFFSET)
    return digits + check_digit(digits), counter
