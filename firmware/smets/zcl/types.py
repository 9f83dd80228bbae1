"""ZCL data types (ZigBee Cluster Library r6, 2.6.2, table 2-10): encode and decode values.

Every multi-byte number is little-endian on the air (ZCL 2.6.1). A value is a Python int for
the numeric, enumeration, bitmap, time and identifier types, a bool for boolean, bytes for the
string, data (discrete, untyped), EUI-64 and security key types, None for no data. Strings keep
their bytes; the character strings are not decoded (ZCL allows any encoding the attribute
defines). A string of length 0xFF (0xFFFF for the long ones) is the "invalid" string (ZCL
2.6.2.13): it decodes to None and None encodes to it.

Floats (semi, single, double precision) are kept as their raw little-endian bytes. Arrays,
structures, sets and bags are not used by the GB SE clusters and raise ZCLError as an unknown
type.

    decode(ztype, data)        -> (value, rest)
    decode_at(ztype, data, pos) -> (value, position after it)
    encode(ztype, value)       -> bytes
"""

try:
    from micropython import const
except ImportError:  # CPython

    def const(x):  # type: ignore[misc]  # CPython has no micropython.const
        return x


from smets.zcl.frame import ZCLError, hexs

NO_DATA = const(0x00)
DATA8 = const(0x08)
DATA64 = const(0x0F)
BOOL = const(0x10)
MAP8 = const(0x18)
MAP16 = const(0x19)
MAP24 = const(0x1A)
MAP32 = const(0x1B)
MAP64 = const(0x1F)
UINT8 = const(0x20)
UINT16 = const(0x21)
UINT24 = const(0x22)
UINT32 = const(0x23)
UINT40 = const(0x24)
UINT48 = const(0x25)
UINT56 = const(0x26)
UINT64 = const(0x27)
INT8 = const(0x28)
INT16 = const(0x29)
INT24 = const(0x2A)
INT32 = const(0x2B)
INT40 = const(0x2C)
INT48 = const(0x2D)
INT56 = const(0x2E)
INT64 = const(0x2F)
ENUM8 = const(0x30)
ENUM16 = const(0x31)
SEMI_FLOAT = const(0x38)
SINGLE_FLOAT = const(0x39)
DOUBLE_FLOAT = const(0x3A)
OCTET_STRING = const(0x41)
CHAR_STRING = const(0x42)
LONG_OCTET_STRING = const(0x43)
LONG_CHAR_STRING = const(0x44)
TIME_OF_DAY = const(0xE0)
DATE = const(0xE1)
UTC_TIME = const(0xE2)
CLUSTER_ID = const(0xE8)
ATTRIBUTE_ID = const(0xE9)
BACNET_OID = const(0xEA)
EUI64 = const(0xF0)
KEY128 = const(0xF1)
UNKNOWN = const(0xFF)

# Kinds of fixed-size types: how the bytes become a value.
_UNSIGNED = const(0)
_SIGNED = const(1)
_RAW = const(2)
_BOOLEAN = const(3)

# Seconds from 1970-01-01 to 2000-01-01, the ZCL UTCTime epoch (ZCL 2.6.2.20).
UTC_EPOCH_OFFSET = const(946684800)

_NAMES = {
    NO_DATA: "nodata", BOOL: "bool", ENUM8: "enum8", ENUM16: "enum16", SEMI_FLOAT: "semi",
    SINGLE_FLOAT: "single", DOUBLE_FLOAT: "double",
    OCTET_STRING: "octstr", CHAR_STRING: "string", LONG_OCTET_STRING: "octstr16",
    LONG_CHAR_STRING: "string16", TIME_OF_DAY: "ToD", DATE: "date", UTC_TIME: "UTC",
    CLUSTER_ID: "clusterId", ATTRIBUTE_ID: "attribId", BACNET_OID: "bacOID", EUI64: "EUI64",
    KEY128: "key128", UNKNOWN: "unk",
}


def _fixed(ztype):
    """(size, kind) of a fixed-size type, or None (strings, unknown types)."""
    if ztype == NO_DATA:
        return 0, _RAW
    if DATA8 <= ztype <= DATA64:
        return ztype - DATA8 + 1, _RAW
    if ztype == BOOL:
        return 1, _BOOLEAN
    if MAP8 <= ztype <= MAP64:
        return ztype - MAP8 + 1, _UNSIGNED
    if UINT8 <= ztype <= UINT64:
        return ztype - UINT8 + 1, _UNSIGNED
    if INT8 <= ztype <= INT64:
        return ztype - INT8 + 1, _SIGNED
    if ztype == ENUM8:
        return 1, _UNSIGNED
    if ztype == ENUM16 or ztype == CLUSTER_ID or ztype == ATTRIBUTE_ID:
        return 2, _UNSIGNED
    if ztype == SEMI_FLOAT:
        return 2, _RAW
    if ztype == SINGLE_FLOAT or ztype == TIME_OF_DAY or ztype == DATE:
        return 4, _RAW
    if ztype == DOUBLE_FLOAT:
        return 8, _RAW
    if ztype == UTC_TIME or ztype == BACNET_OID:
        return 4, _UNSIGNED
    if ztype == EUI64:
        return 8, _RAW
    if ztype == KEY128:
        return 16, _RAW
    return None


def string_length_size(ztype):
    """Bytes of the length prefix of a string type, 0 when `ztype` is not a string."""
    if ztype == OCTET_STRING or ztype == CHAR_STRING:
        return 1
    if ztype == LONG_OCTET_STRING or ztype == LONG_CHAR_STRING:
        return 2
    return 0


def is_known(ztype):
    return _fixed(ztype) is not None or string_length_size(ztype) > 0


def is_analog(ztype):
    """Analog types have a reportable change in Configure Reporting (ZCL 2.6.2, 2.5.7.1.7)."""
    return UINT8 <= ztype <= INT64 or SEMI_FLOAT <= ztype <= DOUBLE_FLOAT or ztype in (
        TIME_OF_DAY, DATE, UTC_TIME)


def zero(ztype):
    """The zero value of a fixed-size type (an int, or bytes for the raw kinds)."""
    f = _fixed(ztype)
    if f is None or ztype == NO_DATA:
        return None
    if f[1] == _RAW:
        return bytes(f[0])
    return False if f[1] == _BOOLEAN else 0


def size(ztype):
    """Encoded size of a fixed-size type, None for strings."""
    f = _fixed(ztype)
    return None if f is None else f[0]


def name(ztype):
    """A short name of the type, as the ZCL spec's table 2-10 abbreviates it."""
    n = _NAMES.get(ztype)
    if n is not None:
        return n
    f = _fixed(ztype)
    if f is None:
        return "type%02x" % ztype
    bits = f[0] * 8
    if DATA8 <= ztype <= DATA64:
        return "data%d" % bits
    if MAP8 <= ztype <= MAP64:
        return "map%d" % bits
    if UINT8 <= ztype <= UINT64:
        return "uint%d" % bits
    return "int%d" % bits


def _le(data, pos, n):
    v = 0
    for i in range(n - 1, -1, -1):
        v = (v << 8) | data[pos + i]
    return v


def decode_at(ztype, data, pos=0):
    """(value, position after it) of a `ztype` value at data[pos]."""
    if ztype == NO_DATA:
        return None, pos
    f = _fixed(ztype)
    if f is not None:
        n, kind = f
        if pos + n > len(data):
            raise ZCLError("%s needs %d bytes at offset %d: %s" % (
                name(ztype), n, pos, hexs(data)))
        if kind == _RAW:
            return bytes(data[pos:pos + n]), pos + n
        if kind == _BOOLEAN:
            b = data[pos]
            # 0xFF is the invalid boolean (ZCL 2.6.2.5); other values are not booleans.
            if b > 1 and b != 0xFF:
                raise ZCLError("bool %02x at offset %d: %s" % (b, pos, hexs(data)))
            return (None if b == 0xFF else b == 1), pos + 1
        v = _le(data, pos, n)
        if kind == _SIGNED and v >> (n * 8 - 1):
            v -= 1 << (n * 8)
        return v, pos + n
    lb = string_length_size(ztype)
    if lb == 0:
        raise ZCLError("unknown ZCL data type %02x at offset %d: %s" % (ztype, pos, hexs(data)))
    if pos + lb > len(data):
        raise ZCLError("%s length needs %d bytes at offset %d: %s" % (
            name(ztype), lb, pos, hexs(data)))
    n = _le(data, pos, lb)
    pos += lb
    if n == (1 << (8 * lb)) - 1:
        return None, pos
    if pos + n > len(data):
        raise ZCLError("%s of %d bytes overruns at offset %d: %s" % (
            name(ztype), n, pos, hexs(data)))
    return bytes(data[pos:pos + n]), pos + n


def decode(ztype, data):
    """(value, rest) of a `ztype` value at the start of `data`."""
    value, pos = decode_at(ztype, data, 0)
    return value, data[pos:]


def encode(ztype, value):
    """The bytes of `value` as a `ztype` (ZCLError when it does not fit)."""
    if ztype == NO_DATA:
        if value is not None:
            raise ZCLError("nodata has no value, got %r" % (value,))
        return b""
    f = _fixed(ztype)
    if f is not None:
        n, kind = f
        if kind == _BOOLEAN:
            if value is None:
                return b"\xff"
            return b"\x01" if value else b"\x00"
        if kind == _RAW:
            b = bytes(value)
            if len(b) != n:
                raise ZCLError("%s needs %d bytes, got %s" % (name(ztype), n, hexs(b)))
            return b
        if not isinstance(value, int) or isinstance(value, bool):
            raise ZCLError("%s needs an int, got %r" % (name(ztype), value))
        lo = -(1 << (n * 8 - 1)) if kind == _SIGNED else 0
        hi = (1 << (n * 8 - 1)) if kind == _SIGNED else (1 << (n * 8))
        if not lo <= value < hi:
            raise ZCLError("%d does not fit %s" % (value, name(ztype)))
        if value < 0:
            value += 1 << (n * 8)
        out = bytearray(n)
        for i in range(n):
            out[i] = value & 0xFF
            value >>= 8
        return bytes(out)
    lb = string_length_size(ztype)
    if lb == 0:
        raise ZCLError("unknown ZCL data type %02x" % ztype)
    if value is None:
        return b"\xff" * lb
    if isinstance(value, str):
        value = value.encode()
    b = bytes(value)
    if len(b) >= (1 << (8 * lb)) - 1:
        raise ZCLError("%s of %d bytes is too long" % (name(ztype), len(b)))
    if lb == 1:
        return bytes((len(b),)) + b
    return bytes((len(b) & 0xFF, len(b) >> 8)) + b


def check(ztype, value):
    """True when `value` can be encoded as `ztype` (for Write Attributes: INVALID_VALUE)."""
    try:
        encode(ztype, value)
        return True
    except (ZCLError, TypeError, ValueError):
        return False
