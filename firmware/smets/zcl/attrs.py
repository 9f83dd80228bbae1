"""ZCL attribute values of a device model in one bytearray (a GSME's clusters, a GPF mirror).

A model has a few hundred attributes; an object per attribute would cost a board several KB of
heap, so an AttrTable keeps them as data:

  index   8 bytes per attribute, sorted by (cluster, attribute id): cluster (2, BE),
          attribute id (2, BE), ZCL data type (1), flags (1), offset of its value (2, BE)
  values  one bytearray: every value in its ZCL encoding (little-endian, smets.zcl.types) at its
          offset; a string has room for the longest value the model allows (its length byte
          and the bytes up to the next attribute's offset)

`build(rows)` turns model rows into (index, defaults); a device keeps `index` (bytes, shared by
every device of the model) and its own copy of the values, saved whole to the store.
Flags: WRITABLE (Write Attributes may change it), REPORTABLE (reported to the GPF mirror and
to Configure Reporting). Errors are ZCL statuses (smets.zcl.frame), never exceptions.
"""

try:
    from micropython import const
except ImportError:  # CPython

    def const(x):  # type: ignore[misc]  # CPython has no micropython.const
        return x


from smets.zcl import types
from smets.zcl.frame import INSUFFICIENT_SPACE, INVALID_VALUE, ZCLError

WRITABLE = const(0x01)
REPORTABLE = const(0x02)
_ROW = const(8)


class AttrTable:
    def __init__(self, index, defaults):
        self.index = index
        self.values = bytearray(defaults)
        self.n = len(index) // _ROW

    def __len__(self):
        return self.n

    def find(self, cluster, attr_id):
        """The row of (cluster, attribute id), or -1 (binary search: the index is sorted)."""
        ix = self.index
        key = (cluster << 16) | attr_id
        lo, hi = 0, self.n - 1
        while lo <= hi:
            mid = (lo + hi) >> 1
            p = mid * _ROW
            k = (ix[p] << 24) | (ix[p + 1] << 16) | (ix[p + 2] << 8) | ix[p + 3]
            if k == key:
                return mid
            if k < key:
                lo = mid + 1
            else:
                hi = mid - 1
        return -1

    def key(self, row):
        """(cluster, attribute id) of a row."""
        p = row * _ROW
        ix = self.index
        return (ix[p] << 8) | ix[p + 1], (ix[p + 2] << 8) | ix[p + 3]

    def type(self, row):
        return self.index[row * _ROW + 4]

    def flags(self, row):
        return self.index[row * _ROW + 5]

    def _span(self, row):
        p = row * _ROW
        ix = self.index
        start = (ix[p + 6] << 8) | ix[p + 7]
        if row + 1 < self.n:
            q = p + _ROW
            return start, (ix[q + 6] << 8) | ix[q + 7]
        return start, len(self.values)

    def get(self, row):
        """The value of a row (types.decode_at's form: int, bool, bytes or None)."""
        start, _ = self._span(row)
        return types.decode_at(self.type(row), self.values, start)[0]

    def raw(self, row):
        """The ZCL encoding of a row's value (what a Read Attributes record carries)."""
        start, end = self._span(row)
        t = self.type(row)
        n = types.size(t)
        if n is None:
            lb = types.string_length_size(t)
            n = lb + (self.values[start] if lb == 1 else
                      self.values[start] | (self.values[start + 1] << 8))
            if n > end - start:
                n = lb
        return bytes(self.values[start:start + n])

    def _encode(self, row, value):
        """(ZCL encoding of a row's value, None) or (None, the ZCL status refusing it)."""
        t = self.type(row)
        if t in (types.OCTET_STRING, types.CHAR_STRING) and not isinstance(
                value, (bytes, bytearray, memoryview)):
            return None, INVALID_VALUE
        try:
            data = types.encode(t, value)
        except (ZCLError, TypeError, ValueError):
            return None, INVALID_VALUE
        start, end = self._span(row)
        if len(data) > end - start:
            return None, INSUFFICIENT_SPACE
        return data, None

    def check(self, row, value):
        """None when put(row, value) would take the value, else the ZCL status it refuses it
        with; nothing is changed (a command checks all its values before it sets one)."""
        return self._encode(row, value)[1]

    def put(self, row, value):
        """Set a row's value; None, or the ZCL status refusing it (INVALID_VALUE: not of the
        attribute's type; INSUFFICIENT_SPACE: a string longer than the model allows)."""
        data, status = self._encode(row, value)
        if status is None:
            start = self._span(row)[0]
            self.values[start:start + len(data)] = data
        return status

    def apply(self, items, what="the model"):
        """Set values given as {"<cluster>/<attribute>" (hex): value} (a bench's init: a
        string is "x<hex>" for bytes, else its text); ValueError names a key `what` lacks or a
        value it refuses."""
        for k, v in items.items():
            cluster, _, attr = str(k).partition("/")
            row = self.find(int(cluster, 16), int(attr, 16))
            if row < 0:
                raise ValueError("init attrs: %s has no attribute %s" % (what, k))
            if isinstance(v, str):
                v = bytes.fromhex(v[1:]) if v.startswith("x") else v.encode()
            if self.put(row, v) is not None:
                raise ValueError("init attrs: %s cannot be %r" % (k, v))

    def set(self, cluster, attr_id, value):
        """put() by key; a key the model does not have is a bug of the caller."""
        row = self.find(cluster, attr_id)
        if row < 0:
            raise KeyError("no attribute %04x/%04x" % (cluster, attr_id))
        return self.put(row, value)

    def value(self, cluster, attr_id, default=None):
        row = self.find(cluster, attr_id)
        return default if row < 0 else self.get(row)

    def rows(self, cluster=None, flags=0):
        """Rows of a cluster (every cluster: None) having all of `flags`."""
        for row in range(self.n):
            if (cluster is None or self.key(row)[0] == cluster) \
                    and self.flags(row) & flags == flags:
                yield row

    def load(self, data):
        """Take saved values; False (and the defaults kept) when they are not of this model."""
        if data is None or len(data) != len(self.values):
            return False
        self.values[:] = data
        return True


def build(rows):
    """(index bytes, default values bytes) of model rows (cluster, attribute id, ZCL type,
    flags, default value, room): `room` is a string attribute's longest value in bytes (others
    ignore it). Rows may come in any order; a key twice is an error."""
    rows = sorted(rows, key=lambda r: (r[0], r[1]))
    index = bytearray()
    values = bytearray()
    last = None
    for cluster, attr_id, ztype, flags, default, room in rows:
        if (cluster, attr_id) == last:
            raise ValueError("attribute %04x/%04x defined twice" % (cluster, attr_id))
        last = (cluster, attr_id)
        index += bytes((cluster >> 8, cluster & 0xFF, attr_id >> 8, attr_id & 0xFF, ztype,
                        flags, len(values) >> 8, len(values) & 0xFF))
        data = types.encode(ztype, default)
        size = types.size(ztype)
        if size is None:
            size = types.string_length_size(ztype) + max(room, len(data) - 1)
        values += data + bytes(size - len(data))
        if len(values) > 0xFFFF:
            raise ValueError("attribute values exceed 64 KB")
    return bytes(index), bytes(values)
