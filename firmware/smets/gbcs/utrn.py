"""UTRNs, the 20-digit prepayment top-up codes of GBCS section 14 (PTUT, PPTD, check digit).

A UTRN is the decimal Prepayment Top-Up Token plus an offset (the PPTD), followed by a
Verhoeff check digit (GBCS 14.8, tables 14.8a-c, which differ from the textbook inverse
table). The 64-bit PTUT is:

  high 32 bits: 0000000 | 10 bits of (originator counter >> 32) | value class (2: 00 pennies,
                01 pounds) | value (13)
  low 32 bits:  the last 4 bytes of a 16-byte GMAC: key = KDF(Z, supplier, 01, counter,
                device), Z = ECDH(the supplier's prepayment key agreement key, the device's
                KA key), IV = supplier title || 00000000, AAD = 11 00000000 00 || supplier
                title || device title || 01 || counter (8) || PTUT high 32 bits

so only the supplier holding the device's key pair partner can make a UTRN for that device.
The counter's low 32 bits are zero (GBCS 14: top-ups have their own counter space; the RTDS
CS01a/b counters are 0x0000000N00000000). Facts and tables as SmartDCCInnovation/gbcs-parser
`src/utrn.ts` implements them (GBCS 14.8); checked against the DCC RTDS 4.5.0 UTRNs.
"""

from smets.gbcs import kdf
from smets.gbcs.gcm import GCM

OFFSET = 7394156990786306048  # PPTD = PTUT + OFFSET (GBCS 14)
_P = ("0123456789", "1576283094", "5803796142", "8916043527", "9453126870", "4286573901",
      "2793806415", "7046913258")
_D = ("0123456789", "1234067895", "2340178956", "3401289567", "4012395678", "5987604321",
      "6598710432", "7659821043", "8765932104", "9876543210")
_INV = "1267583094"


class UTRNError(ValueError):
    """Digits that are not a UTRN (wrong length or check digit)."""


def check_digit(digits):
    """The GBCS 14.8 Verhoeff check digit of a string of decimal digits."""
    c = 0
    k = 4
    for ch in digits:
        c = int(_D[c][int(_P[k][ord(ch) - 48])])
        k = (k + 1) % 8
    return _INV[c]


def parse(utrn):
    """(counter bits, pounds?, value, MAC bytes) of a UTRN (str or bytes of 20 digits)."""
    if isinstance(utrn, (bytes, bytearray, memoryview)):
        utrn = bytes(utrn).decode()
    if len(utrn) != 20 or not all("0" <= ch <= "9" for ch in utrn):
        raise UTRNError("a UTRN is 20 digits, got %r" % (utrn,))
    if check_digit(utrn[:19]) != utrn[19]:
        raise UTRNError("UTRN %s: check digit wrong" % utrn)
    ptut = int(utrn[:19]) - OFFSET
    if not 0 <= ptut < 1 << 64 or ptut >> 57:
        raise UTRNError("UTRN %s: not a PTUT" % utrn)
    high = ptut >> 32
    return (high >> 15) & 0x3FF, bool((high >> 13) & 3), high & 0x1FFF, \
        (ptut & 0xFFFFFFFF).to_bytes(4, "big")


def counter_for(bits, last):
    """The top-up counter a UTRN's 10 counter bits stand for: the smallest one above `last`
    (the last accepted top-up counter) whose bits (counter >> 32) mod 1024 are `bits`."""
    hi = (last >> 32) + 1
    hi += (bits - hi) % 1024
    return hi << 32


def _mac(z, supplier, device, counter, high):
    key = kdf.derive_key(z, supplier, kdf.MODE_COMMAND, counter, device)
    aad = b"\x11\x00\x00\x00\x00\x00" + bytes(supplier) + bytes(device) + b"\x01" + \
        counter.to_bytes(8, "big") + high.to_bytes(4, "big")
    return GCM(key).mac(bytes(supplier) + b"\x00\x00\x00\x00", aad, 16)[12:]


def verify(utrn, z, supplier, device, last_counter):
    """(counter, value in pennies) of a UTRN made for this device, or raise UTRNError."""
    bits, pounds, value, mac = parse(utrn)
    counter = counter_for(bits, last_counter)
    high = (bits << 15) | ((1 if pounds else 0) << 13) | value
    if _mac(z, supplier, device, counter, high) != mac:
        raise UTRNError("UTRN not authentic for this device (counter %016x)" % counter)
    return counter, value * 100 if pounds else value


def make(z, supplier, device, counter, value, pounds=False):
    """The UTRN of a top-up (the supplier's side, for tests and the bench)."""
    if not 0 <= value < 8192:
        raise UTRNError("top-up value %d does not fit 13 bits" % value)
    high = (((counter >> 32) & 0x3FF) << 15) | ((1 if pounds else 0) << 13) | value
    low = int.from_bytes(_mac(z, supplier, device, counter, high), "big")
    pptd = "%d" % (((high << 32) | low) + OFFSET)
    pptd = "0" * (19 - len(pptd)) + pptd
    return pptd + check_digit(pptd)
