"""Device logs (security log, event log): fixed-size binary records in one ring buffer.

A SMETS2 device keeps bounded logs (GBCS: the oldest entry is overwritten when full). Python
lists of tuples would cost several hundred bytes of heap per entry on a board; here every entry
is a `struct` record in one preallocated bytearray, saved whole to the store after each append
(small, atomic, and a power cut never loses an acknowledged entry).

File layout: count (2, BE) | next slot (2, BE) | size records of struct `fmt`.
"""

import struct


class Logbook:
    def __init__(self, store, name, fmt, size, autosave=True):
        """`autosave` False: appends only change RAM; the owner calls `save` (e.g. profiles
        captured in bulk by a clock tick are saved once)."""
        self.store = store
        self.name = name
        self.fmt = fmt
        self.size = size
        self.autosave = autosave
        self.rec = struct.calcsize(fmt)
        self.buf = bytearray(4 + size * self.rec)
        data = store.load_bytes(name)
        if data is not None and len(data) == len(self.buf):
            self.buf[:] = data
        elif data is not None:
            store.errors += 1
            store.last_error = "log %s has %d bytes, expected %d; started empty" % (
                name, len(data), len(self.buf))

    def __len__(self):
        return min(self.size, (self.buf[0] << 8) | self.buf[1])

    def _next(self):
        return ((self.buf[2] << 8) | self.buf[3]) % self.size

    def append(self, *fields):
        slot = self._next()
        struct.pack_into(self.fmt, self.buf, 4 + slot * self.rec, *fields)
        count = min(self.size, len(self) + 1)
        slot = (slot + 1) % self.size
        self.buf[0] = count >> 8
        self.buf[1] = count & 0xFF
        self.buf[2] = slot >> 8
        self.buf[3] = slot & 0xFF
        if self.autosave:
            self.save()

    def save(self):
        self.store.save_bytes(self.name, self.buf)

    def entry(self, i):
        """The i-th entry, oldest first (negative i counts from the newest)."""
        n = len(self)
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError("log entry %d of %d" % (i, n))
        slot = (self._next() - n + i) % self.size
        return struct.unpack_from(self.fmt, self.buf, 4 + slot * self.rec)

    def update(self, i, *fields):
        """Rewrite the i-th entry, oldest first (negative i counts from the newest)."""
        n = len(self)
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError("log entry %d of %d" % (i, n))
        slot = (self._next() - n + i) % self.size
        struct.pack_into(self.fmt, self.buf, 4 + slot * self.rec, *fields)
        if self.autosave:
            self.save()

    def entries(self, start=0, count=None):
        n = len(self)
        stop = n if count is None else min(n, start + count)
        return [self.entry(i) for i in range(max(0, start), stop)]

    def clear(self):
        for i in range(4):
            self.buf[i] = 0
        if self.autosave:
            self.save()
