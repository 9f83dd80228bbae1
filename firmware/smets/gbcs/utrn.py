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
A meter takes a UTRN through `accept`: check digit, counter (from its UTRN Counter Cache),
MAC, replay and value checks, the same for a remote top-up (CS01a/b), a PPMID's (PECS01, PCS01)
and one typed on its keypad.
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


# Why a meter refuses a UTRN: the ZSE ConsumerTopUpResponse ResultType (D.7.2.4.3) it answers
# a ZigBee top-up with, and the event it logs (GBCS Table 16.2; names as gbcs-parser util.ts).
INVALID = 0x01  # form, check digit or MAC wrong: event 8F63 "UTRN not Authentic"
DUPLICATE = 0x02  # counter used before, or older than the cache: 8F51 "Duplicate UTRN entered"
TOO_LARGE = 0x06  # more than a top-up may add: 8F5B "UTRN exceeds Maximum Credit Threshold"
EVENT_NOT_AUTHENTIC = 0x8F63
EVENT_DUPLICATE = 0x8F51
EVENT_TOO_LARGE = 0x8F5B
CACHE = 5  # UTRN counters a meter remembers (GBCS 14 UTRN Counter Cache; the size is ours)


class UTRNError(ValueError):
    """A UTRN refused: `result` the ZSE ResultType, `event` the GBCS event (see above)."""

    def __init__(self, text, result=INVALID, event=EVENT_NOT_AUTHENTIC):
        super().__init__(text)
        self.result = result
        self.event = event


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
        b = bytes(utrn)
        # Any bytes may come off the HAN: only digits are decoded.
        utrn = b.decode() if all(0x30 <= c <= 0x39 for c in b) else repr(b)
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


def counter_near(bits, highest):
    """The UTRN counter (an originator counter, low 32 bits zero) a UTRN's 10 counter bits
    stand for, next to `highest`, the highest counter in the meter's UTRN Counter Cache (-1:
    none yet): the one whose high 32 bits are within 512 of the highest's (GBCS 14, the
    derivation of the UTRN Counter from the PTUT truncated counter), so UTRNs vended in any
    order within that window are all recognised. Negative when there is none (a counter
    below zero)."""
    if highest < 0:
        return bits << 32
    v = highest >> 32
    p = v & 0x3FF
    s = bits
    if s < p - 512:
        s += 1024
    elif s > p + 512:
        s -= 1024
    return (v - p + s) << 32


def accept(utrn, z, supplier, device, cache, max_pence=0, size=CACHE):
    """(counter, value in pennies, new cache) of a UTRN a meter may apply, else UTRNError
    with the refusal (`result`, `event`). GBCS 14: the check digit (14.8), the counter
    derived from the cache (`counter_near`), the MAC with the prepayment key (Z of the
    supplier's prepayment key agreement key and the meter's KA key; `z` None: no key to
    check with, the bench gave none), then the replay rule of the UTRN Counter Cache: a
    counter in the cache, or below the lowest of a full cache, was used (or may have been)
    before. `max_pence` (0: no limit) caps the value of one top-up. `cache`: the counters of
    the UTRNs accepted so far (a list; the GSME's single last counter is a cache of one); the
    new cache holds the newest `size` counters with this one, for the caller to save with
    the credit."""
    bits, pounds, value, mac = parse(utrn)
    highest = max(cache) if cache else -1
    counter = counter_near(bits, highest)
    if counter < 0:
        raise UTRNError("UTRN counter below zero (cache up to %016x)" % highest)
    high = (bits << 15) | ((1 if pounds else 0) << 13) | value
    if z is not None and _mac(z, supplier, device, counter, high) != mac:
        raise UTRNError("UTRN not authentic for this device (counter %016x)" % counter)
    if counter in cache or (len(cache) >= size and counter < min(cache)):
        raise UTRNError("UTRN counter %016x used before" % counter, DUPLICATE, EVENT_DUPLICATE)
    pence = value * 100 if pounds else value
    if max_pence and pence > max_pence:
        raise UTRNError("top-up of %d pence over the limit of %d" % (pence, max_pence),
                        TOO_LARGE, EVENT_TOO_LARGE)
    new = sorted(list(cache) + [counter])[-size:]
    return counter, pence, new


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
