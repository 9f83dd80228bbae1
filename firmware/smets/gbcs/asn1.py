"""A minimal ASN.1 DER reader and writer for the GBCS ASN.1 payloads (GBCS section 12: CS02x
security credentials, CS06, CS03/04) and the X.509 certificates they carry.

Sans-IO. Readers take bytes (or a memoryview) and return `(value, rest)`; `rest` is a
memoryview of what follows, so walking a 4 KB command copies nothing. Only what GBCS uses is
supported: single-byte tags (universal, context [0]..[30] primitive or constructed) and
definite lengths of at most three length bytes, in DER's minimal form. Anything else raises
`ASN1Error` (a ValueError), whose message shows the offending bytes.

Writers return bytes: `encode(tag, content)` and helpers for INTEGER / ENUMERATED (two's
complement, minimal), BIT STRING (named bits, DER trailing-zero rule), OCTET STRING, NULL,
SEQUENCE and GeneralizedTime.
"""

try:
    from micropython import const
except ImportError:  # CPython

    def const(x):  # type: ignore[misc]  # CPython has no micropython.const
        return x


from smets.codec import civil_from_days, days_from_civil, hexs, length_decoder, length_encoder

BOOLEAN = const(0x01)
INTEGER = const(0x02)
BIT_STRING = const(0x03)
OCTET_STRING = const(0x04)
NULL = const(0x05)
OID = const(0x06)
ENUMERATED = const(0x0A)
UTF8_STRING = const(0x0C)
PRINTABLE_STRING = const(0x13)
UTC_TIME = const(0x17)
GENERALIZED_TIME = const(0x18)
SEQUENCE = const(0x30)
SET = const(0x31)
CONTEXT = const(0x80)  # | n: [n] IMPLICIT primitive
CONTEXT_CONSTRUCTED = const(0xA0)  # | n: [n] constructed


class ASN1Error(ValueError):
    """DER bytes that do not decode, or a value that cannot be encoded."""


# DER definite lengths of at most three length bytes (X.690 10.1; `read` adds DER's minimality).
_decode_length = length_decoder(ASN1Error, 3)
length = length_encoder(ASN1Error, 3)


def _hex(data):
    return hexs(data, 24)


def _view(data):
    return data if isinstance(data, memoryview) else memoryview(data)


# -- reading -------------------------------------------------------------------------------------


def read(data):
    """One element: ((tag, body), rest)."""
    d = _view(data)
    n = len(d)
    if n < 2:
        raise ASN1Error("DER element truncated: %s" % (_hex(d) or "no bytes"))
    tag = d[0]
    if tag & 0x1F == 0x1F:
        raise ASN1Error("multi-byte DER tag: %s" % _hex(d))
    size, pos = _decode_length(d, 1)
    if pos > 2 and (size < 0x80 or d[2] == 0):
        raise ASN1Error("DER length not minimal: %s" % _hex(d))
    end = pos + size
    if end > n:
        raise ASN1Error("DER element of %d bytes overruns the %d left: %s" % (size, n - pos,
                                                                            _hex(d)))
    return (tag, d[pos:end]), d[end:]


def element(data):
    """One element's whole encoding (tag, length and body): (bytes view, rest)."""
    d = _view(data)
    _, rest = read(d)
    return d[:len(d) - len(rest)], rest


def read_as(data, tag):
    """The body of one element that must have `tag`: (body, rest)."""
    (t, body), rest = read(data)
    if t != tag:
        raise ASN1Error("tag %02x where %02x was expected: %s" % (t, tag, _hex(data)))
    return body, rest


def optional(data, tag):
    """(body, rest) of an element with `tag` if the next one has it, else (None, data)."""
    if len(data) and data[0] == tag:
        return read_as(data, tag)
    return None, _view(data)


def to_int(body):
    """The value of an INTEGER / ENUMERATED body (two's complement)."""
    if not len(body):
        raise ASN1Error("empty INTEGER")
    v = int.from_bytes(body, "big")
    if body[0] & 0x80:
        v -= 1 << (8 * len(body))
    return v


def read_int(data, tag=INTEGER):
    """(int, rest) of an INTEGER (or another tag holding one, e.g. ENUMERATED or [3])."""
    body, rest = read_as(data, tag)
    return to_int(body), rest


def read_bits(data, tag=BIT_STRING):
    """(bits, rest) of a BIT STRING of at most 8 named bits: bit 0 is 0x80 (X.509 keyUsage:
    digitalSignature 0x80, keyAgreement 0x08, keyCertSign 0x04)."""
    body, rest = read_as(data, tag)
    if not len(body) or body[0] > 7 or (len(body) == 1 and body[0]):
        raise ASN1Error("bad BIT STRING: %s" % _hex(data))
    return (body[1] if len(body) > 1 else 0), rest


def elements(body):
    """Every element of a constructed body, as a list of (tag, body)."""
    out = []
    rest = _view(body)
    while len(rest):
        item, rest = read(rest)
        out.append(item)
    return out


def read_time(data):
    """(unix time, rest) of a UTCTime or GeneralizedTime 'YYYY[YY]MMDDHHMMSSZ'."""
    (tag, body), rest = read(data)
    text = bytes(body)
    if not (tag == UTC_TIME and len(text) == 13 or tag == GENERALIZED_TIME and len(text) == 15):
        raise ASN1Error("not a UTC / generalized time: %s" % _hex(data))
    # Every character but the final Z a digit, before int() sees any (it would take ' 1', '+1').
    if text[-1:] != b"Z" or not all(0x30 <= c <= 0x39 for c in text[:-1]):
        raise ASN1Error("bad time %r" % text)
    if tag == UTC_TIME:
        year = int(text[:2])
        year += 1900 if year >= 50 else 2000
        text = text[2:]
    else:
        year = int(text[:4])
        text = text[4:]
    month, day, hh, mm, ss = (int(text[i:i + 2]) for i in range(0, 10, 2))
    if not (1 <= month <= 12 and 1 <= day <= 31 and hh < 24 and mm < 60 and ss < 60):
        raise ASN1Error("bad time %r" % bytes(body))
    return days_from_civil(year, month, day) * 86400 + hh * 3600 + mm * 60 + ss, rest


# -- writing -------------------------------------------------------------------------------------


def encode(tag, content):
    return bytes((tag,)) + length(len(content)) + bytes(content)


def sequence(*parts):
    return encode(SEQUENCE, b"".join(parts))


def integer(n, tag=INTEGER):
    """A minimal two's-complement INTEGER (or ENUMERATED / [n] with `tag`)."""
    size = 1
    while not -(1 << (8 * size - 1)) <= n < (1 << (8 * size - 1)):
        size += 1
    return encode(tag, (n & ((1 << (8 * size)) - 1)).to_bytes(size, "big"))


def enumerated(n):
    return integer(n, ENUMERATED)


def octets(data):
    return encode(OCTET_STRING, data)


def null():
    return b"\x05\x00"


def bits(value):
    """A BIT STRING of named bits 0..7 given as one byte (bit 0 = 0x80), trailing zero bits
    dropped as DER requires: bits(0x80) = 03 02 07 80, bits(0x08) = 03 02 03 08."""
    value &= 0xFF
    if not value:
        return b"\x03\x01\x00"
    unused = 0
    while not (value >> unused) & 1:
        unused += 1
    return bytes((BIT_STRING, 2, unused, value))


def generalized_time(t):
    """GeneralizedTime 'YYYYMMDDHHMMSSZ' of a unix time."""
    y, m, d = civil_from_days(t // 86400)
    s = t % 86400
    text = "%04d%02d%02d%02d%02d%02dZ" % (y, m, d, s // 3600, s // 60 % 60, s % 60)
    return encode(GENERALIZED_TIME, text.encode())
