"""A-XDR encoding of COSEM Data (IEC 62056-6-2 / DLMS UA 1000-2 "Green Book").

Sans-IO codec shared by the firmware and the host. A value is a `Data(tag, value)`:

  null-data 00, don't-care FF   value None
  array 01, structure 02        list of Data
  boolean 03                    bool (any non-zero byte decodes as True; True encodes as FF,
                                the form every GBCS boolean in RTDS 4.5.0 uses)
  bit-string 04                 (number of bits, bytes) - padding bits kept as received
  integer 0F, long 10, double-long 05, long64 14        signed int
  unsigned 11, long-unsigned 12, double-long-unsigned 06, long64-unsigned 15, enum 16,
  bcd 0D (one raw byte)         unsigned int
  octet-string 09               bytes
  visible-string 0A, utf8-string 0C    str (UTF-8; visible-string is ASCII in practice)
  float32 17, float64 18        float
  date-time 19 (12), date 1A (5), time 1B (4)   bytes of the fixed-size COSEM encoding
  compact-array 13              (type description, list of Data) - see `decode_type`

Lengths and element counts use the A-XDR/BER length form (short form below 0x80, then
0x81 xx, 0x82 xx xx, ... up to four bytes). The decoder accepts non-minimal long forms;
the encoder always writes the shortest form, so re-encoding a decoded value is byte-exact
for every minimally encoded input with FF booleans (all of RTDS 4.5.0).
"""

try:
    from micropython import const
except ImportError:  # CPython

    def const(x):  # type: ignore[misc]  # CPython has no micropython.const
        return x


import struct

from smets.codec import civil_from_days, hexs, length_decoder, length_encoder

# The tags, sizes and GBCS date-time constants are the board's (`smets.cosem`); this module adds
# the object form (`Data`), its checks and JSON.
from smets.cosem import (  # noqa: F401 (the tags are part of this module's API)
    ARRAY,
    BIT_STRING,
    BOOLEAN,
    COMPACT_ARRAY,
    DOUBLE_LONG,
    DOUBLE_LONG_UNSIGNED,
    ENUM,
    INTEGER,
    LONG,
    LONG_UNSIGNED,
    NEVER_DT,
    NOW_DT,
    NULL,
    OCTET_STRING,
    SIGNED,
    SIZES,
    STRUCTURE,
    UNSIGNED,
    UTF8_STRING,
    VISIBLE_STRING,
    unix_time,
)

# The tags only the host meets (the board's are in `smets.cosem`).
BCD = const(0x0D)
LONG64 = const(0x14)
LONG64_UNSIGNED = const(0x15)
FLOAT32 = const(0x17)
FLOAT64 = const(0x18)
DATE_TIME = const(0x19)
DATE = const(0x1A)
TIME = const(0x1B)
DONT_CARE = const(0xFF)

# Nesting limit for arrays / structures / compact-array type descriptions. GBCS payloads nest
# at most about six deep; the limit keeps hostile input from exhausting the C stack.
MAX_DEPTH = const(16)

# Bit i set = tag i is a big-endian integer (incl. enum and bcd; not boolean).
_INTEGER = const(
    (1 << 0x05)
    | (1 << 0x06)
    | (1 << 0x0D)
    | (1 << 0x0F)
    | (1 << 0x10)
    | (1 << 0x11)
    | (1 << 0x12)
    | (1 << 0x14)
    | (1 << 0x15)
    | (1 << 0x16)
)
# Bit i set = tag i is a fixed-size octet type (date-time, date, time).
_FIXED_OCTETS = const((1 << 0x19) | (1 << 0x1A) | (1 << 0x1B))

_NAMES = (
    "null-data", "array", "structure", "boolean", "bit-string", "double-long",
    "double-long-unsigned", None, None, "octet-string", "visible-string", None, "utf8-string",
    "bcd", None, "integer", "long", "unsigned", "long-unsigned", "compact-array", "long64",
    "long64-unsigned", "enum", "float32", "float64", "date-time", "date", "time",
)  # fmt: skip


class AXDRError(ValueError):
    """Bytes or values that do not follow the A-XDR Data grammar."""


def type_name(tag):
    """Green Book name of a Data tag ("long-unsigned"), or None for an unknown tag."""
    if tag == DONT_CARE:
        return "dont-care"
    if 0 <= tag < len(_NAMES):
        return _NAMES[tag]
    return None


def tag_of(name):
    """Tag of a Green Book type name; raises AXDRError for an unknown name."""
    if name == "dont-care":
        return DONT_CARE
    for tag in range(len(_NAMES)):
        if _NAMES[tag] == name:
            return tag
    raise AXDRError("unknown A-XDR type name %r" % (name,))


def _is_int(v):
    # MicroPython: bool is not an int subclass; CPython: exclude bool explicitly.
    return isinstance(v, int) and not isinstance(v, bool)


class Data:
    """One COSEM Data value: `tag` (A-XDR choice) and `value` (see module docstring)."""

    __slots__ = ("tag", "value")

    def __init__(self, tag, value=None):
        self.tag = tag
        self.value = value

    def __eq__(self, other):
        return isinstance(other, Data) and self.tag == other.tag and self.value == other.value

    def __getitem__(self, i):
        return self.value[i]

    def __len__(self):
        return len(self.value)

    def __repr__(self):
        return "Data(%s, %r)" % (type_name(self.tag) or "0x%02x" % self.tag, self.value)

    # Constructors named after the C/Python widths; the Green Book names are in the docstring.
    @staticmethod
    def null():
        return Data(NULL, None)

    @staticmethod
    def dont_care():
        return Data(DONT_CARE, None)

    @staticmethod
    def array(items):
        return Data(ARRAY, list(items))

    @staticmethod
    def structure(items):
        return Data(STRUCTURE, list(items))

    @staticmethod
    def boolean(v):
        return Data(BOOLEAN, bool(v))

    @staticmethod
    def bit_string(nbits, raw=None):
        """`nbits` bits, MSB first; `raw` defaults to zeros."""
        if raw is None:
            raw = bytes((nbits + 7) >> 3)
        return Data(BIT_STRING, (nbits, bytes(raw)))

    @staticmethod
    def bits(text):
        """Bit-string from a text of 0/1 characters ("10110")."""
        return Data(BIT_STRING, (len(text), _bits_to_bytes(text)))

    @staticmethod
    def int8(v):  # integer
        return Data(INTEGER, v)

    @staticmethod
    def int16(v):  # long
        return Data(LONG, v)

    @staticmethod
    def int32(v):  # double-long
        return Data(DOUBLE_LONG, v)

    @staticmethod
    def int64(v):  # long64
        return Data(LONG64, v)

    @staticmethod
    def uint8(v):  # unsigned
        return Data(UNSIGNED, v)

    @staticmethod
    def uint16(v):  # long-unsigned
        return Data(LONG_UNSIGNED, v)

    @staticmethod
    def uint32(v):  # double-long-unsigned
        return Data(DOUBLE_LONG_UNSIGNED, v)

    @staticmethod
    def uint64(v):  # long64-unsigned
        return Data(LONG64_UNSIGNED, v)

    @staticmethod
    def enum(v):
        return Data(ENUM, v)

    @staticmethod
    def bcd(v):
        return Data(BCD, v)

    @staticmethod
    def octet(b):  # octet-string
        return Data(OCTET_STRING, bytes(b))

    @staticmethod
    def visible(s):  # visible-string
        return Data(VISIBLE_STRING, s)

    @staticmethod
    def utf8(s):  # utf8-string
        return Data(UTF8_STRING, s)

    @staticmethod
    def float32(v):
        return Data(FLOAT32, float(v))

    @staticmethod
    def float64(v):
        return Data(FLOAT64, float(v))

    @staticmethod
    def date_time(b):  # the tagged 0x19 type; GBCS mostly uses octet-string(12) instead
        return Data(DATE_TIME, bytes(b))

    @staticmethod
    def date(b):
        return Data(DATE, bytes(b))

    @staticmethod
    def time(b):
        return Data(TIME, bytes(b))

    @staticmethod
    def compact_array(type_description, items):
        return Data(COMPACT_ARRAY, (type_description, list(items)))


# ---------------------------------------------------------------------------- lengths


# A-XDR lengths and counts (BER form, up to four length bytes): decode_length(buf, pos) ->
# (n, position after it), encode_length(n) -> bytes.
decode_length = length_decoder(AXDRError, 4)
encode_length = length_encoder(AXDRError, 4)


# ---------------------------------------------------------------------------- decoding


def _truncated(buf, pos, need, what):
    return AXDRError(
        "%s at offset %d needs %d bytes, %d left: %s"
        % (what, pos, need, len(buf) - pos, hexs(buf))
    )


def decode(buf, pos=0):
    """Decode one tagged Data at `pos`; returns (Data, position after it)."""
    if not isinstance(buf, bytes):
        buf = bytes(buf)
    return _decode(buf, pos, 0)


def from_bytes(buf):
    """Decode exactly one Data that fills `buf`."""
    if not isinstance(buf, bytes):
        buf = bytes(buf)
    d, pos = _decode(buf, 0, 0)
    if pos != len(buf):
        raise AXDRError("%d bytes after Data at offset %d: %s" % (len(buf) - pos, pos, hexs(buf)))
    return d


def _decode(buf, pos, depth):
    n = len(buf)
    if pos >= n:
        raise AXDRError("Data expected at offset %d, input ends: %s" % (pos, hexs(buf)))
    return _decode_body(buf, pos + 1, buf[pos], depth)


def _decode_body(buf, pos, tag, depth):
    n = len(buf)
    if tag < 0x1C:
        size = SIZES[tag]
        if size:
            end = pos + size
            if end > n:
                raise _truncated(buf, pos, size, type_name(tag))
            if (_INTEGER >> tag) & 1:
                if size == 1:
                    v = buf[pos]
                elif size == 2:
                    v = (buf[pos] << 8) | buf[pos + 1]
                else:
                    v = int.from_bytes(buf[pos:end], "big")
                if (SIGNED >> tag) & 1 and v >> (size * 8 - 1):
                    v -= 1 << (size * 8)
                return Data(tag, v), end
            if tag == BOOLEAN:
                return Data(tag, buf[pos] != 0), end
            if tag == FLOAT32:
                return Data(tag, struct.unpack_from(">f", buf, pos)[0]), end
            if tag == FLOAT64:
                return Data(tag, struct.unpack_from(">d", buf, pos)[0]), end
            return Data(tag, buf[pos:end]), end  # date-time, date, time
        if tag == OCTET_STRING or tag == VISIBLE_STRING or tag == UTF8_STRING:
            size, pos = decode_length(buf, pos)
            end = pos + size
            if end > n:
                raise _truncated(buf, pos, size, type_name(tag))
            if tag == OCTET_STRING:
                return Data(tag, buf[pos:end]), end
            try:
                return Data(tag, str(buf[pos:end], "utf-8")), end
            except UnicodeError:
                raise AXDRError(
                    "%s at offset %d is not UTF-8: %s" % (type_name(tag), pos, hexs(buf))
                )
        if tag == STRUCTURE or tag == ARRAY:
            if depth >= MAX_DEPTH:
                raise AXDRError("Data nested deeper than %d at offset %d" % (MAX_DEPTH, pos - 1))
            count, pos = decode_length(buf, pos)
            if count > n - pos:  # every element takes at least its tag byte
                raise _truncated(buf, pos, count, "%s of %d" % (type_name(tag), count))
            items = []
            depth += 1
            for _ in range(count):
                d, pos = _decode(buf, pos, depth)
                items.append(d)
            return Data(tag, items), pos
        if tag == NULL:
            return Data(NULL, None), pos
        if tag == BIT_STRING:
            nbits, pos = decode_length(buf, pos)
            end = pos + ((nbits + 7) >> 3)
            if end > n:
                raise _truncated(buf, pos, end - pos, "bit-string")
            return Data(tag, (nbits, buf[pos:end])), end
        if tag == COMPACT_ARRAY:
            return _decode_compact(buf, pos, depth)
    elif tag == DONT_CARE:
        return Data(DONT_CARE, None), pos
    raise AXDRError("unknown Data tag %02x at offset %d: %s" % (tag, pos - 1, hexs(buf)))


# ---------------------------------------------------------------------------- compact-array
# Green Book: compact-array = type-description + array-contents (an octet string holding
# the untagged values one after another). Type description: a simple tag, or
# array: 01 + number-of-elements (Unsigned16) + type, structure: 02 + count + types.
# Here a type description is the tag (int) for simple types, (ARRAY, count, td) or
# (STRUCTURE, (td, ...)).


def decode_type(buf, pos, depth=0):
    """Decode a compact-array type description; returns (td, position)."""
    if pos >= len(buf):
        raise AXDRError("type description expected at offset %d: %s" % (pos, hexs(buf)))
    if depth >= MAX_DEPTH:
        raise AXDRError("type description nested deeper than %d" % MAX_DEPTH)
    tag = buf[pos]
    pos += 1
    if tag == ARRAY:
        if pos + 2 > len(buf):
            raise _truncated(buf, pos, 2, "array type description")
        count = (buf[pos] << 8) | buf[pos + 1]
        td, pos = decode_type(buf, pos + 2, depth + 1)
        if not count:
            raise AXDRError("empty array in compact-array type: %s" % hexs(buf))
        return (ARRAY, count, td), pos
    if tag == STRUCTURE:
        count, pos = decode_length(buf, pos)
        if not count:
            raise AXDRError("empty structure in compact-array type: %s" % hexs(buf))
        if count > len(buf) - pos:
            raise _truncated(buf, pos, count, "structure type description")
        tds = []
        for _ in range(count):
            td, pos = decode_type(buf, pos, depth + 1)
            tds.append(td)
        return (STRUCTURE, tuple(tds)), pos
    if tag == NULL or tag == COMPACT_ARRAY or tag == DONT_CARE or type_name(tag) is None:
        # Elements of null / don't-care type would take no bytes at all.
        raise AXDRError("type %02x not allowed in compact-array at offset %d" % (tag, pos - 1))
    return tag, pos


def encode_type(td, out):
    if isinstance(td, tuple):
        out.append(td[0])
        if td[0] == ARRAY:
            if not 0 < td[1] <= 0xFFFF:
                raise AXDRError("compact-array type: bad array count %r" % (td[1],))
            out.append(td[1] >> 8)
            out.append(td[1] & 0xFF)
            encode_type(td[2], out)
        else:
            if not td[1]:
                raise AXDRError("compact-array type: empty structure")
            out.extend(encode_length(len(td[1])))
            for t in td[1]:
                encode_type(t, out)
    elif _is_int(td) and td not in (NULL, COMPACT_ARRAY, ARRAY, STRUCTURE) and type_name(td):
        out.append(td)
    else:
        raise AXDRError("bad compact-array type description %r" % (td,))


def _decode_compact(buf, pos, depth):
    td, pos = decode_type(buf, pos, depth)
    size, pos = decode_length(buf, pos)
    end = pos + size
    if end > len(buf):
        raise _truncated(buf, pos, size, "compact-array contents")
    contents = buf[:end]  # values must not run past the contents
    items = []
    while pos < end:
        d, pos = _decode_untagged(contents, pos, td, depth + 1)
        items.append(d)
    return Data(COMPACT_ARRAY, (td, items)), end


def _decode_untagged(buf, pos, td, depth):
    if isinstance(td, tuple):
        items = []
        if td[0] == ARRAY:
            for _ in range(td[1]):
                d, pos = _decode_untagged(buf, pos, td[2], depth + 1)
                items.append(d)
        else:
            for t in td[1]:
                d, pos = _decode_untagged(buf, pos, t, depth + 1)
                items.append(d)
        return Data(td[0], items), pos
    return _decode_body(buf, pos, td, MAX_DEPTH)  # simple types only: no nesting below


# ---------------------------------------------------------------------------- encoding


def encode(data):
    """Encode one Data to bytes."""
    out = bytearray()
    encode_into(data, out)
    return bytes(out)


def encode_into(data, out, depth=0):
    """Append the encoding of `data` to the bytearray `out`."""
    if not isinstance(data, Data):
        raise AXDRError("Data expected, got %r" % (data,))
    tag = data.tag
    if type(tag) is not int or not (0 <= tag < 0x1C and _NAMES[tag] or tag == DONT_CARE):
        raise AXDRError("unknown Data tag %r" % (tag,))
    out.append(tag)
    _encode_body(tag, data.value, out, depth)


def _encode_body(tag, v, out, depth):
    if tag < 0x1C and SIZES[tag]:
        size = SIZES[tag]
        if (_INTEGER >> tag) & 1:
            if type(v) is not int and not _is_int(v):
                raise AXDRError("%s needs an int, got %r" % (type_name(tag), v))
            if (SIGNED >> tag) & 1:
                half = 1 << (size * 8 - 1)
                if not -half <= v < half:
                    raise AXDRError("%s out of range: %d" % (type_name(tag), v))
                if v < 0:
                    v += half << 1
            elif not 0 <= v < (1 << (size * 8)):
                raise AXDRError("%s out of range: %d" % (type_name(tag), v))
            if size == 1:
                out.append(v)
            elif size == 2:
                out.append(v >> 8)
                out.append(v & 0xFF)
            else:
                out.extend(v.to_bytes(size, "big"))
        elif tag == BOOLEAN:
            if not isinstance(v, bool):
                raise AXDRError("boolean needs a bool, got %r" % (v,))
            out.append(0xFF if v else 0)
        elif tag == FLOAT32 or tag == FLOAT64:
            if not isinstance(v, float):
                raise AXDRError("%s needs a float, got %r" % (type_name(tag), v))
            out.extend(struct.pack(">f" if tag == FLOAT32 else ">d", v))
        else:
            if not isinstance(v, (bytes, bytearray)) or len(v) != size:
                raise AXDRError("%s needs %d bytes, got %r" % (type_name(tag), size, v))
            out.extend(v)
    elif tag == STRUCTURE or tag == ARRAY:
        if not isinstance(v, (list, tuple)):
            raise AXDRError("%s needs a list of Data, got %r" % (type_name(tag), v))
        if depth >= MAX_DEPTH:
            raise AXDRError("Data nested deeper than %d" % MAX_DEPTH)
        out.extend(encode_length(len(v)))
        for item in v:
            encode_into(item, out, depth + 1)
    elif tag == OCTET_STRING:
        if not isinstance(v, (bytes, bytearray)):
            raise AXDRError("octet-string needs bytes, got %r" % (v,))
        out.extend(encode_length(len(v)))
        out.extend(v)
    elif tag == VISIBLE_STRING or tag == UTF8_STRING:
        if not isinstance(v, str):
            raise AXDRError("%s needs a str, got %r" % (type_name(tag), v))
        try:
            raw = v.encode("utf-8")
        except UnicodeError:
            raise AXDRError("%s is not encodable as UTF-8: %r" % (type_name(tag), v))
        out.extend(encode_length(len(raw)))
        out.extend(raw)
    elif tag == NULL or tag == DONT_CARE:
        if v is not None:
            raise AXDRError("%s takes no value, got %r" % (type_name(tag), v))
    elif tag == BIT_STRING:
        if (
            not isinstance(v, tuple)
            or len(v) != 2
            or not _is_int(v[0])
            or v[0] < 0
            or not isinstance(v[1], (bytes, bytearray))
            or len(v[1]) != (v[0] + 7) >> 3
        ):
            raise AXDRError("bit-string needs (nbits, bytes of (nbits+7)//8), got %r" % (v,))
        out.extend(encode_length(v[0]))
        out.extend(v[1])
    elif tag == COMPACT_ARRAY:
        if not isinstance(v, tuple) or len(v) != 2 or not isinstance(v[1], (list, tuple)):
            raise AXDRError("compact-array needs (type description, items), got %r" % (v,))
        encode_type(v[0], out)
        body = bytearray()
        for item in v[1]:
            _encode_untagged(item, v[0], body, depth + 1)
        out.extend(encode_length(len(body)))
        out.extend(body)


def _encode_untagged(data, td, out, depth):
    if not isinstance(data, Data):
        raise AXDRError("Data expected in compact-array, got %r" % (data,))
    if depth >= MAX_DEPTH:
        raise AXDRError("compact-array nested deeper than %d" % MAX_DEPTH)
    if isinstance(td, tuple):
        if data.tag != td[0] or not isinstance(data.value, (list, tuple)):
            raise AXDRError("compact-array element %r does not match type %r" % (data, td))
        if td[0] == ARRAY:
            if len(data.value) != td[1]:
                raise AXDRError("compact-array element needs %d items: %r" % (td[1], data))
            for item in data.value:
                _encode_untagged(item, td[2], out, depth + 1)
        else:
            if len(data.value) != len(td[1]):
                raise AXDRError("compact-array element needs %d fields: %r" % (len(td[1]), data))
            for item, t in zip(data.value, td[1]):
                _encode_untagged(item, t, out, depth + 1)
    else:
        if data.tag != td:
            raise AXDRError("compact-array element %r does not match type %r" % (data, td))
        _encode_body(td, data.value, out, depth)


# ---------------------------------------------------------------------------- JSON form
# {"<Green Book type name>": value}: ints, floats, bools and text as JSON values,
# octet-string / date-time / date / time as lower-case hex, bit-string as a text of 0/1
# ({"bits": ..., "raw": hex} when padding bits are not zero), arrays / structures as lists,
# compact-array as {"type": td, "values": [...]}, td being a type name,
# {"array": [count, td]} or {"structure": [td, ...]}.


def _bits_to_text(nbits, raw):
    return "".join("1" if raw[i >> 3] & (0x80 >> (i & 7)) else "0" for i in range(nbits))


def _bits_to_bytes(text):
    out = bytearray((len(text) + 7) >> 3)
    for i in range(len(text)):
        c = text[i]
        if c == "1":
            out[i >> 3] |= 0x80 >> (i & 7)
        elif c != "0":
            raise AXDRError("bit-string text must be 0/1: %r" % (text,))
    return bytes(out)


def _hex(b):
    return "".join("%02x" % x for x in b)


def type_to_json(td):
    if isinstance(td, tuple):
        if td[0] == ARRAY:
            return {"array": [td[1], type_to_json(td[2])]}
        return {"structure": [type_to_json(t) for t in td[1]]}
    return type_name(td)


def type_from_json(obj):
    if isinstance(obj, str):
        return tag_of(obj)
    if isinstance(obj, dict) and len(obj) == 1:
        if "array" in obj:
            return (ARRAY, obj["array"][0], type_from_json(obj["array"][1]))
        if "structure" in obj:
            return (STRUCTURE, tuple(type_from_json(t) for t in obj["structure"]))
    raise AXDRError("bad compact-array type description %r" % (obj,))


def to_json(data):
    """JSON-able, lossless form of a Data: {"long-unsigned": 5}."""
    tag = data.tag
    v = data.value
    if tag == ARRAY or tag == STRUCTURE:
        v = [to_json(d) for d in v]
    elif tag == OCTET_STRING or (tag < 0x1C and (_FIXED_OCTETS >> tag) & 1):
        v = _hex(v)
    elif tag == BIT_STRING:
        text = _bits_to_text(v[0], v[1])
        v = text if _bits_to_bytes(text) == v[1] else {"bits": text, "raw": _hex(v[1])}
    elif tag == COMPACT_ARRAY:
        v = {"type": type_to_json(v[0]), "values": [to_json(d) for d in v[1]]}
    return {type_name(tag): v}


def from_json(obj):
    """Inverse of `to_json`."""
    if not isinstance(obj, dict) or len(obj) != 1:
        raise AXDRError("A-XDR JSON must be a one-key object: %r" % (obj,))
    for name in obj:
        v = obj[name]
    tag = tag_of(name)
    if tag == ARRAY or tag == STRUCTURE:
        v = [from_json(d) for d in v]
    elif tag == OCTET_STRING or (tag < 0x1C and (_FIXED_OCTETS >> tag) & 1):
        v = bytes.fromhex(v)
    elif tag == BIT_STRING:
        if isinstance(v, dict):  # non-zero padding bits
            v = (len(v["bits"]), bytes.fromhex(v["raw"]))
        else:
            v = (len(v), _bits_to_bytes(v))
    elif tag == COMPACT_ARRAY:
        v = (type_from_json(v["type"]), [from_json(d) for d in v["values"]])
    elif tag == FLOAT32 or tag == FLOAT64:
        v = float(v)
    return Data(tag, v)


# ---------------------------------------------------------------------------- date-time
# COSEM date-time (Blue Book 4.1.6.1): year(2) month day day-of-week hour minute second
# hundredths deviation(2, signed minutes) clock-status. 0xFF / 0xFFFF = not specified,
# deviation 0x8000 = not specified. GBCS keeps device time in UTC; RTDS 4.5.0 writes
# day-of-week FF, deviation 8000 and clock status FF ("07de010fff090000008000ff").

DEVIATION_NOT_SPECIFIED = const(0x8000)
STATUS_NOT_SPECIFIED = const(0xFF)
# GBCS activation date-times: all zeros = "now", all FF = "never" (RTDS, e.g. ECS01a, ECS07).
DATE_TIME_NOW = NOW_DT
DATE_TIME_NEVER = NEVER_DT


def date_time_bytes(
    now, deviation=DEVIATION_NOT_SPECIFIED, status=STATUS_NOT_SPECIFIED, weekday=False
):
    """12-byte COSEM date-time for the UTC unix time `now` (int seconds).

    `deviation` in minutes (local = UTC + deviation) or 0x8000; fields are shifted by a
    specified deviation. Day-of-week is FF unless `weekday` (Monday = 1).
    """
    dev = 0 if deviation == DEVIATION_NOT_SPECIFIED else deviation
    if not -720 <= dev <= 720:
        raise AXDRError("deviation %d out of -720..720 minutes" % deviation)
    t = now + dev * 60
    days = t // 86400
    secs = t - days * 86400
    y, m, d = civil_from_days(days)
    if not 0 <= y <= 0xFFFE:
        raise AXDRError("time %d out of date-time range" % now)
    dow = (days + 3) % 7 + 1 if weekday else 0xFF  # 1970-01-01 was a Thursday (4)
    out = bytearray(12)
    out[0] = y >> 8
    out[1] = y & 0xFF
    out[2] = m
    out[3] = d
    out[4] = dow
    out[5] = secs // 3600
    out[6] = secs // 60 % 60
    out[7] = secs % 60
    out[8] = 0
    dv = deviation & 0xFFFF
    out[9] = dv >> 8
    out[10] = dv & 0xFF
    out[11] = status
    return bytes(out)


def date_time_fields(b):
    """(year, month, day, weekday, hour, minute, second, hundredths, deviation, status).

    Not-specified fields (FF, year FFFF, deviation 8000) are None; month FD/FE (DST end /
    begin) and day FD/FE (second last / last day) are kept as numbers.
    """
    if len(b) != 12:
        raise AXDRError("date-time must be 12 bytes: %s" % hexs(b))
    year = (b[0] << 8) | b[1]
    dev = (b[9] << 8) | b[10]
    if dev == DEVIATION_NOT_SPECIFIED:
        dev = None
    elif dev >= 0x8000:
        dev -= 0x10000
    fields = [None if year == 0xFFFF else year]
    for i in range(2, 9):
        fields.append(None if b[i] == 0xFF else b[i])
    fields.append(dev)
    fields.append(None if b[11] == 0xFF else b[11])
    return tuple(fields)


def date_time_to_unix(b):
    """UTC unix time of a fully specified date-time; raises AXDRError otherwise."""
    if len(b) != 12:
        raise AXDRError("date-time must be 12 bytes: %s" % hexs(b))
    t = unix_time(b)  # the board's reading: one rule for what is a point in time
    if t is None:
        raise AXDRError("date-time is not a point in time: %s" % hexs(b))
    return t


def date_time_str(b):
    """Readable form: "2014-01-15T09:00:00Z", "*" for unspecified fields, "now" / "never"."""
    if b == DATE_TIME_NOW:
        return "now"
    if b == DATE_TIME_NEVER:
        return "never"
    y, mo, d, _, h, mi, s, hs, dev, _ = date_time_fields(b)

    def f(v):
        return "*" if v is None else "%02d" % v

    text = "%s-%s-%sT%s:%s:%s" % ("*" if y is None else "%04d" % y, f(mo), f(d), f(h), f(mi), f(s))
    if hs:
        text += "." + f(hs)
    if not dev:
        return text + "Z"
    return text + "%s%02d:%02d" % ("+" if dev > 0 else "-", abs(dev) // 60, abs(dev) % 60)
