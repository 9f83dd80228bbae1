"""Device logs (security log, event log): fixed-size binary records in one ring buffer.

A SMETS2 device keeps bounded logs (GBCS: the oldest entry is overwritten when full). Python
lists of tuples would cost several hundred bytes of heap per entry on a board; here every entry
is a `struct` record in one preallocated bytearray.

In RAM: count (2, BE) | next slot (2, BE) | size records of struct `fmt`.

On flash, two layouts (told apart by their length):
- a log that saves after each append (`autosave`: security and event logs) is `size` slots of
  sequence number (4, BE) | record | first 4 bytes of SHA-256 of both: an append overwrites
  one slot in place (no rewrite of the whole log and no rename: a few dozen bytes of flash per
  entry, which is what keeps a flood of security events from wearing the flash out). A power
  cut during the write leaves a slot whose check fails: the entry being written (not yet
  acknowledged) and the oldest one it was overwriting are gone, nothing else. Loading takes
  the newest valid slot and the run of valid slots with consecutive sequence numbers before it.
- a log saved in bulk by its owner (`save`: profiles captured by a clock tick) is the RAM
  image itself, written atomically by the store (also read once from older firmware, and then
  rewritten in slots at the first append).
"""

import hashlib
import struct

_SLOT_EXTRA = 8  # sequence number and check


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
        self.seq = 1  # sequence number of the next append
        self._rewrite = True  # the file is not (yet) in slots: write it whole at next save
        data = store.load_bytes(name)
        if data is not None and len(data) == len(self.buf):
            self.buf[:] = data
            self.seq = len(self) + 1
        elif data is not None and len(data) == size * (self.rec + _SLOT_EXTRA):
            self._load_slots(data)
        elif data is not None:
            store.errors += 1
            store.last_error = "log %s has %d bytes, expected %d; started empty" % (
                name, len(data), len(self.buf))

    def _load_slots(self, data):
        span = self.rec + _SLOT_EXTRA
        mv = memoryview(data)
        seqs = [-1] * self.size
        newest = -1
        for i in range(self.size):
            o = i * span
            end = o + span - 4
            if hashlib.sha256(mv[o:end]).digest()[:4] == bytes(mv[end : end + 4]):
                seqs[i] = int.from_bytes(mv[o : o + 4], "big")
                if newest < 0 or seqs[i] > seqs[newest]:
                    newest = i
        count = 0
        if newest >= 0:
            while count < self.size:
                i = (newest - count) % self.size
                if seqs[i] != seqs[newest] - count:
                    break
                o = i * span + 4
                self.buf[4 + i * self.rec : 4 + (i + 1) * self.rec] = mv[o : o + self.rec]
                count += 1
            self.seq = seqs[newest] + 1
        valid = sum(1 for s in seqs if s >= 0)
        if valid > count:
            self.store.errors += 1
            self.store.last_error = "log %s: %d damaged or stray entries dropped" % (
                self.name, valid - count)
        nxt = (newest + 1) % self.size if newest >= 0 else 0
        self.buf[0] = count >> 8
        self.buf[1] = count & 0xFF
        self.buf[2] = nxt >> 8
        self.buf[3] = nxt & 0xFF
        self._rewrite = valid > count

    def __len__(self):
        return min(self.size, (self.buf[0] << 8) | self.buf[1])

    def _next(self):
        return ((self.buf[2] << 8) | self.buf[3]) % self.size

    def append(self, *fields):
        slot = self._next()
        struct.pack_into(self.fmt, self.buf, 4 + slot * self.rec, *fields)
        count = min(self.size, len(self) + 1)
        nxt = (slot + 1) % self.size
        self.buf[0] = count >> 8
        self.buf[1] = count & 0xFF
        self.buf[2] = nxt >> 8
        self.buf[3] = nxt & 0xFF
        self.seq += 1
        if self.autosave:
            if self._rewrite:
                self.save()
            else:
                self._write_slot(slot, self.seq - 1)

    def _slot_bytes(self, slot, seq):
        o = 4 + slot * self.rec
        body = seq.to_bytes(4, "big") + bytes(self.buf[o : o + self.rec])
        return body + hashlib.sha256(body).digest()[:4]

    def _write_slot(self, slot, seq):
        from smets.store import sync

        with open(self.store.path(self.name), "r+b") as f:
            f.seek(slot * (self.rec + _SLOT_EXTRA))
            f.write(self._slot_bytes(slot, seq & 0xFFFFFFFF))
        sync()

    def save(self):
        if not self.autosave:
            self.store.save_bytes(self.name, self.buf)
            return
        # The whole log in slots, atomically (first save, a cleared or repaired log).
        n = len(self)
        first = (self._next() - n) % self.size
        blank = bytes(self.rec + _SLOT_EXTRA)
        parts = []
        for slot in range(self.size):
            k = (slot - first) % self.size  # age rank: 0 = oldest
            if k < n:
                parts.append(self._slot_bytes(slot, (self.seq - n + k) & 0xFFFFFFFF))
            else:
                parts.append(blank)
        self.store.save_parts(self.name, parts)
        self._rewrite = False

    def entry(self, i):
        """The i-th entry, oldest first (negative i counts from the newest)."""
        n = len(self)
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError("log entry %d of %d" % (i, n))
        slot = (self._next() - n + i) % self.size
        return struct.unpack_from(self.fmt, self.buf, 4 + slot * self.rec)

    def entries(self, start=0, count=None):
        n = len(self)
        stop = n if count is None else min(n, start + count)
        return [self.entry(i) for i in range(max(0, start), stop)]

    def clear(self):
        for i in range(4):
            self.buf[i] = 0
        if self.autosave:
            self.save()
