"""COSEM on A-XDR bytes: the DLMS tables, a compact attribute store and the byte-level DLMS the
ESME needs.

This module is the one home of the DLMS protocol numbers (A-XDR tags and sizes, ACCESS request
kinds, Data-Access-Result codes, GBCS date-time constants); the object codecs of `smets.dlms`
(`axdr`, `access`: Data trees, APDU objects, JSON) import them from here. Those are host-only:
the board image leaves `smets/dlms/` out (`smetsbench.boards.build.HOST_ONLY_MODULES`) and the
board works on bytes alone.

The board keeps every attribute value as its A-XDR encoding in one bytearray (`AttrStore`), so a
value costs its own bytes on the heap, not a tree of Python objects, and answering a GET is a
slice. Requests are parsed and responses built straight on bytes (`parse_request`, `response`).

Keys are 9 bytes: class id (2, BE) | logical name (6) | attribute id; methods use 0x80 | method
id. A set must keep the attribute's A-XDR type and shape (`shape`), as a DLMS server checks the
data type of a write (Green Book 9.3: type-unmatched otherwise).
"""

try:
    from micropython import const
except ImportError:  # CPython

    def const(x):  # type: ignore[misc]  # CPython has no micropython.const
        return x


import struct
from array import array

from smets.codec import (  # noqa: F401 - date_time is this module's API too
    civil_from_days,
    date_time,
    days_from_civil,
    hexs,
    length_decoder,
    length_encoder,
)

# A-XDR Data tags (Green Book, IEC 62056-6-2) the board works with; `smets.dlms.axdr` adds the
# ones only the host meets (bcd, long64, floats, date, time, don't-care). Every public name here
# is a global on the board, so host-only numbers stay out of this module.
NULL = const(0x00)
ARRAY = const(0x01)
STRUCTURE = const(0x02)
BOOLEAN = const(0x03)
BIT_STRING = const(0x04)
DOUBLE_LONG = const(0x05)
DOUBLE_LONG_UNSIGNED = const(0x06)
OCTET_STRING = const(0x09)
VISIBLE_STRING = const(0x0A)
UTF8_STRING = const(0x0C)
INTEGER = const(0x0F)
LONG = const(0x10)
UNSIGNED = const(0x11)
LONG_UNSIGNED = const(0x12)
COMPACT_ARRAY = const(0x13)
ENUM = const(0x16)

# Body size of fixed-size tags 0x00..0x1B (0 = variable).
SIZES = (b"\x00\x00\x00\x01\x00\x04\x04\x00\x00\x00\x00\x00\x00\x01"
         b"\x00\x01\x02\x01\x02\x00\x08\x08\x01\x04\x08\x0c\x05\x04")
# Bit i set = tag i is a signed integer (double-long, integer, long, long64).
SIGNED = const((1 << DOUBLE_LONG) | (1 << INTEGER) | (1 << LONG) | (1 << 0x14))  # 14: long64

# xDLMS ACCESS-Request tag (Green Book xDLMS ASN.1); `smets.dlms.access` has the others.
ACCESS_REQUEST = const(0xD9)

# Access-Request-Specification / Access-Response-Specification choices the board serves.
GET = const(1)
SET = const(2)
ACTION = const(3)
GET_WITH_SELECTION = const(4)

# Data-Access-Result / Action-Result (Green Book xDLMS) the board answers with.
SUCCESS = const(0)
HARDWARE_FAULT = const(1)
READ_WRITE_DENIED = const(3)
OBJECT_UNDEFINED = const(4)
OBJECT_UNAVAILABLE = const(11)
TYPE_UNMATCHED = const(12)
OTHER_REASON = const(250)

EPOCH_2000 = const(946684800)  # GBCS profile and log times count seconds from 2000-01-01 UTC
NOW_DT = b"\x00" * 9 + b"\x80\x00\xff"  # GBCS "execute now" date-time
NEVER_DT = b"\xff" * 9 + b"\x80\x00\xff"  # GBCS "never" (cancels a future-dated change)


class COSEMError(ValueError):
    """Bytes that are not the A-XDR / xDLMS this device accepts."""


# A-XDR lengths and counts: dlen(b, p) -> (n, position after it); elen(n) -> bytes. Three length
# bytes at most: nothing GBCS carries to a meter is 16 MB long.
dlen = length_decoder(COSEMError, 3)
elen = length_encoder(COSEMError, 3)


def skip(b, p):
    """Position after the Data at b[p]."""
    t = b[p]
    p += 1
    if t < 0x1C and SIZES[t]:
        return p + SIZES[t]
    if t == STRUCTURE or t == ARRAY:
        n, p = dlen(b, p)
        for _ in range(n):
            p = skip(b, p)
        return p
    if t == OCTET_STRING or t == VISIBLE_STRING or t == UTF8_STRING:
        n, p = dlen(b, p)
        return p + n
    if t == BIT_STRING:
        n, p = dlen(b, p)
        return p + ((n + 7) >> 3)
    if t == NULL:
        return p
    if t == COMPACT_ARRAY:
        p = skip_type(b, p)
        n, p = dlen(b, p)
        return p + n
    raise COSEMError("unknown Data tag %02x" % t)


def skip_type(b, p):
    t = b[p]
    if t == ARRAY:
        return skip_type(b, p + 3)
    if t == STRUCTURE:
        n, p = dlen(b, p + 1)
        for _ in range(n):
            p = skip_type(b, p)
        return p
    return p + 1


def shape(a, i, b, j):
    """(end in a, end in b) if the Data at b[j] has the type and shape of the one at a[i], else
    None. Arrays may change length (each element must look like a's first one); strings may
    change length, except 12-byte octet-strings (date-times)."""
    t = a[i]
    if b[j] != t:
        return None
    i += 1
    j += 1
    if t == STRUCTURE or t == ARRAY:
        n, i = dlen(a, i)
        m, j = dlen(b, j)
        if t == STRUCTURE and n != m:
            return None
        first = i
        for _k in range(m):
            if t == STRUCTURE:
                r = shape(a, i, b, j)
                if r is None:
                    return None
                i, j = r
            elif n:
                r = shape(a, first, b, j)
                if r is None:
                    return None
                j = r[1]
            else:
                j = skip(b, j)
        if t == ARRAY:
            for _k in range(n):
                i = skip(a, i)
        return i, j
    if t == OCTET_STRING or t == VISIBLE_STRING or t == UTF8_STRING or t == BIT_STRING:
        n, i = dlen(a, i)
        m, j = dlen(b, j)
        if t == OCTET_STRING and n == 12 and m != 12:
            return None
        if t == BIT_STRING:
            n = (n + 7) >> 3
            m = (m + 7) >> 3
        return i + n, j + m
    return skip(a, i - 1), skip(b, j - 1)


def integer(tag, v):
    """Tagged big-endian integer (two's complement for the signed tags)."""
    n = SIZES[tag]
    return bytes((tag,)) + (v & ((1 << (8 * n)) - 1)).to_bytes(n, "big")


def value_int(b, p=0):
    """The integer at b[p] (signed tags sign-extended)."""
    t = b[p]
    n = SIZES[t]
    v = int.from_bytes(b[p + 1:p + 1 + n], "big")
    if (SIGNED >> t) & 1 and v >> (8 * n - 1):
        v -= 1 << (8 * n)
    return v


def octets(v):
    return bytes((OCTET_STRING,)) + elen(len(v)) + bytes(v)


def structure(items):
    return bytes((STRUCTURE,)) + elen(len(items)) + b"".join(items)


# -- date-time (GBCS: octet-string(12), UTC, deviation 8000 "not specified") ---------------------


def unix_time(dt):
    """Unix time of a 12-byte date-time, or None when it is not a point in time (wildcards,
    NOW, NEVER). A specified deviation (minutes, local = UTC + deviation) is taken off."""
    y = (dt[0] << 8) | dt[1]
    if y == 0xFFFF or not (1 <= dt[2] <= 12 and 1 <= dt[3] <= 31 and dt[5] < 24 and dt[6] < 60
                           and dt[7] < 60):
        return None
    t = days_from_civil(y, dt[2], dt[3]) * 86400 + dt[5] * 3600 + dt[6] * 60 + dt[7]
    dev = (dt[9] << 8) | dt[10]
    if dev != 0x8000:
        t -= (dev - 0x10000 if dev & 0x8000 else dev) * 60
    return t


def bound_time(b, p):
    """Unix time of a selective-access bound: double-long-unsigned seconds since 2000 (GBCS range
    descriptors) or an octet-string(12) date-time; None if neither."""
    t = b[p]
    if t == DOUBLE_LONG_UNSIGNED:
        return int.from_bytes(b[p + 1:p + 5], "big") + EPOCH_2000
    if t == OCTET_STRING and b[p + 1] == 12:
        return unix_time(b[p + 2:p + 14])
    return None


# -- ACCESS request / response (GBCS 4.1 of the notes: the xDLMS subset RTDS uses) ---------------


def parse_request(c):
    """(invoke id bytes, [(kind, key(9), selection start or 0, data start)]) of an
    ACCESS-Request; COSEMError when the bytes are not one."""
    try:
        if c[0] != ACCESS_REQUEST:
            raise COSEMError("not an ACCESS-Request")
        invoke = bytes(c[1:5])
        n, p = dlen(c, 5)
        p += n  # date-time
        n, p = dlen(c, p)
        specs = []
        for _ in range(n):
            kind = c[p]
            if not 1 <= kind <= 4:
                raise COSEMError("request spec %d" % kind)
            key = bytes(c[p + 1:p + 10])
            if len(key) != 9:
                raise COSEMError("request spec truncated")
            p += 10
            sel = 0
            if kind == GET_WITH_SELECTION:
                sel = p  # selector byte, then its parameters
                p = skip(c, p + 1)
            specs.append([kind, key, sel, 0])
        m, p = dlen(c, p)
        if m != n:
            raise COSEMError("%d data for %d specs" % (m, n))
        for s in specs:
            s[3] = p
            p = skip(c, p)
        if p != len(c):
            raise COSEMError("%d bytes after the request" % (len(c) - p))
        return invoke, specs
    except IndexError:
        raise COSEMError("ACCESS-Request truncated")


class DataAccessError(Exception):
    """A request item the device cannot execute: `result` is its DLMS result code."""

    def __init__(self, result):
        super().__init__(result)
        self.result = result


def request_slots(attrs, c):
    """(invoke id, specs, slots, template words) of an ACCESS-Request for a device whose
    attributes are `attrs` (methods keyed 0x80 | id; words kind << 13 | slot, as the use-case
    rows hold them). COSEMError for a request that does not parse or names no object here."""
    invoke, specs = parse_request(c)
    slots = []
    words = bytearray()
    for kind, key, _sel, _dpos in specs:
        if kind == ACTION:
            key = key[:8] + bytes((0x80 | key[8],))
        s = attrs.slot(key)
        if s < 0:
            raise COSEMError("no object %s" % hexs(key))
        slots.append(s)
        w = (kind << 13) | s
        words.append(w >> 8)
        words.append(w & 0xFF)
    return invoke, specs, slots, words


def execute_items(dev, specs, slots, c, ctx):
    """(data, results) of running each item with `dev.do_item(kind, slot, c, sel, dpos, ctx)`.
    Break on error (invoke-id bit 29, as RTDS ERROR responses show): after the first item
    that fails (a DataAccessError, or a fault the bench injects: `dev.dlms_faults` items from
    index `dev.dlms_fault_after` fail with hardware-fault) the rest are not executed and
    report other-reason."""
    data = []
    results = bytearray()
    failed = False
    for i in range(len(specs)):
        kind, _key, sel, dpos = specs[i]
        results.append(kind if kind != GET_WITH_SELECTION else GET)
        if failed:
            data.append(b"\x00")
            results.append(OTHER_REASON)
            continue
        try:
            if dev.dlms_faults > 0 and i >= dev.dlms_fault_after:
                dev.dlms_faults -= 1
                raise DataAccessError(HARDWARE_FAULT)
            data.append(dev.do_item(kind, slots[i], c, sel, dpos, ctx) or b"\x00")
            results.append(0)
        except DataAccessError as exc:
            failed = True
            data.append(b"\x00")
            results.append(exc.result)
    return data, results


def inject_faults(dev, req):
    """CONTROL "fault_dlms": the next `count` request items from position `after` fail with
    hardware-fault (see execute_items)."""
    dev.dlms_faults = int(req.get("count", 1))
    dev.dlms_fault_after = int(req.get("after", 0))
    return {"dlms_faults": dev.dlms_faults, "after": dev.dlms_fault_after}


def response(invoke, data, results):
    """ACCESS-Response: invoke id, no date-time, no request specs, data list and results
    (pairs kind, result)."""
    n = len(data)
    return b"".join((b"\xda", invoke, b"\x00\x00", elen(n), b"".join(data), elen(n),
                     bytes(results)))


# -- the attribute store ----------------------------------------------------------------------


class AttrStore:
    """Attribute values in slot order, held in segments of SEG slots: slot i is in segment
    i // SEG, at segs[s][o[k]:o[k + 1]] with o = offs[s], k = i % SEG.

    A set that changes a value's length moves the rest of its segment in place (memoryview
    moves are memmove) within SPARE bytes of room, and only a full segment is reallocated: on a
    board the small blocks a fragmented heap still has, never one block for every value.
    Saved form (`parts`): count (2, BE), the slots' start offsets and the end in one run of
    values (2 each, BE), the values.
    """

    SEG = 24
    SPARE = 64

    def __init__(self, keys, segs, offs):
        self.keys = keys
        self.segs = segs
        self.offs = offs

    @staticmethod
    def _build(keys, n, offsets, fill):
        """Segments sized from `offsets` (n + 1 global offsets), filled by fill(buf, a, b)."""
        segs = []
        offs = []
        for s in range(0, n, AttrStore.SEG):
            e = min(n, s + AttrStore.SEG)
            base = offsets[s]
            used = offsets[e] - base
            buf = bytearray(used + AttrStore.SPARE)
            fill(memoryview(buf)[:used], base, offsets[e])
            segs.append(buf)
            offs.append(array("H", [offsets[i] - base for i in range(s, e + 1)]))
        return AttrStore(keys, segs, offs)

    @staticmethod
    def from_values(keys, values):
        offsets = [0]
        for v in values:
            offsets.append(offsets[-1] + len(v))
        blob = b"".join(values)

        def fill(mv, a, b):
            mv[:] = blob[a:b]
        return AttrStore._build(keys, len(values), offsets, fill)

    def __len__(self):
        return len(self.keys) // 9

    def slot(self, key):
        """Slot of a 9-byte key, or -1."""
        keys = self.keys
        i = keys.find(key)
        while i > 0 and i % 9:
            i = keys.find(key, i + 1)
        return i // 9 if i >= 0 else -1

    def key(self, i):
        return self.keys[9 * i:9 * i + 9]

    def get(self, i):
        s = i // self.SEG
        o = self.offs[s]
        k = i - s * self.SEG
        return bytes(memoryview(self.segs[s])[o[k]:o[k + 1]])

    def put(self, i, v):
        s = i // self.SEG
        o = self.offs[s]
        k = i - s * self.SEG
        a = o[k]
        b = o[k + 1]
        end = o[-1]
        d = len(v) - (b - a)
        buf = self.segs[s]
        if end + d > len(buf):
            grown = bytearray(end + d + self.SPARE)
            grown[:end] = memoryview(buf)[:end]
            self.segs[s] = buf = grown
        mv = memoryview(buf)
        if d:
            mv[b + d:end + d] = mv[b:end]
            for j in range(k + 1, len(o)):
                o[j] += d
        mv[a:a + len(v)] = v

    def parts(self, sig=b""):
        """The saved form as buffers to write one after the other (no joined copy), after
        `sig` (the model's fingerprint)."""
        n = len(self)
        head = bytearray(2 * (n + 2))  # count, then the global offsets (no list of ints)
        head[0] = n >> 8
        head[1] = n & 0xFF
        p = 2
        base = 0
        for o in self.offs:
            for j in range(len(o) - 1):
                v = base + o[j]
                head[p] = v >> 8
                head[p + 1] = v & 0xFF
                p += 2
            base += o[-1]
        head[p] = base >> 8
        head[p + 1] = base & 0xFF
        out = [sig, head]
        for s in range(len(self.segs)):
            out.append(memoryview(self.segs[s])[:self.offs[s][-1]])
        return out

    def to_bytes(self):
        return b"".join(bytes(p) for p in self.parts())

    @staticmethod
    def from_bytes(keys, blob, sig=b""):
        """The store saved by `parts`, or None if it does not fit `keys` and `sig`."""
        k = len(sig)
        if len(blob) < k + 4 or blob[:k] != sig:
            return None
        n = (blob[k] << 8) | blob[k + 1]
        start = k + 2 + 2 * (n + 1)
        if n * 9 != len(keys) or len(blob) < start:
            return None
        offsets = struct.unpack_from(">%dH" % (n + 1), blob, k + 2)
        if offsets[-1] != len(blob) - start or any(
                offsets[i] > offsets[i + 1] for i in range(n)):
            return None
        src = memoryview(blob)

        def fill(mv, a, b):
            mv[:] = src[start + a:start + b]
        return AttrStore._build(keys, n, offsets, fill)

    @staticmethod
    def load(store, name, keys, sig=b""):
        """The store saved in record `name` (read straight into its segments), or None when
        there is none or it does not fit `keys` and `sig`."""
        f = store.open_read(name)
        if f is None:
            return None
        with f:
            k = len(sig)
            head = f.read(k + 2)
            if len(head) != k + 2 or head[:k] != sig:
                return None
            n = (head[k] << 8) | head[k + 1]
            if n * 9 != len(keys):
                return None
            raw = f.read(2 * (n + 1))
            if len(raw) != 2 * (n + 1):
                return None
            offsets = struct.unpack(">%dH" % (n + 1), raw)
            if any(offsets[i] > offsets[i + 1] for i in range(n)):
                return None
            ok = [True]

            def fill(mv, a, b):
                if f.readinto(mv) != b - a:
                    ok[0] = False
            st = AttrStore._build(keys, n, offsets, fill)
            if not ok[0] or f.read(1):
                return None
        return st


def alert_notification(counter, alert_code, now, fields):
    """The payload of a DLMS device's alert (gbcs-notes 2.3): a Data-Notification with
    long-invoke-id 0x20 || the alert counter's low three bytes and the body structure{alert
    code, date-time, fields...}. `fields`: A-XDR items, a function of the alert's own counter
    giving them, or a complete payload as bytes (the ASN.1 alerts of the CS02 use cases)."""
    if isinstance(fields, bytes):
        return fields
    if callable(fields):
        fields = fields(counter)
    invoke = (0x20000000 | (counter & 0xFFFFFF)).to_bytes(4, "big")
    return b"".join((b"\x0f", invoke, b"\x00\x02", elen(2 + len(fields)),
                     integer(LONG_UNSIGNED, alert_code), octets(date_time(now))) + tuple(fields))
