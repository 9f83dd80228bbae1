"""Persistent device state on the board's flash filesystem, power-cut safe.

Each record is one JSON file under the state directory. A save writes ``name.tmp`` completely,
then renames it over ``name``: littlefs (ESP32) and POSIX (virtual boards) rename atomically, so
after a power cut either the old or the new record is there, never half of one. A record that is
unreadable anyway (flash wear, a user's editor) is moved aside to ``name.bad``, counted and
reported, and the device carries on from the ``.tmp`` copy or the default instead of crashing.
"""

import hashlib
import json
import os
import sys

_MICROPYTHON = sys.implementation.name == "micropython"


class StoreError(ValueError):
    """Bad record name or unserialisable value."""


def _exists(path):
    try:
        os.stat(path)
        return True
    except OSError:
        return False


def _remove(path):
    try:
        os.remove(path)
    except OSError:
        pass


def sync():
    # MicroPython: flush the flash filesystem's caches (littlefs/FAT) so a power cut finds the
    # rename on flash. CPython (virtual boards' fallback, in-process fleets): a "power cut" is
    # a killed process, which the rename already survives; os.sync would flush every
    # filesystem of the host on each write.
    if not _MICROPYTHON:
        return
    flush = getattr(os, "sync", None)
    if flush:
        try:
            flush()
        except OSError:
            pass


class Store:
    def __init__(self, root):
        self.root = root.rstrip("/") or "/"
        self.errors = 0
        self.last_error = None
        self.writes = 0
        self._ab = {}  # path of a two-slot record -> (sequence number in use, slot size)
        try:
            os.mkdir(self.root)
        except OSError:
            pass

    def path(self, name):
        if not name or "/" in name or name.startswith("."):
            raise StoreError("bad record name %r" % (name,))
        return self.root + "/" + name

    def _note(self, text):
        self.errors += 1
        self.last_error = text

    def load(self, name, default=None):
        """The saved record, or `default` when there is none (or none readable)."""
        path = self.path(name)
        value = self._read_json(path)
        if value is not _MISSING:
            return value
        # A power cut between writing .tmp and renaming it leaves a complete .tmp behind.
        value = self._read_json(path + ".tmp")
        if value is not _MISSING:
            self._write(path, (json.dumps(value).encode(),))
            return value
        return default

    def _read_json(self, path):
        if not _exists(path):
            return _MISSING
        try:
            with open(path, "rb") as f:
                data = f.read()
            if data[:4] == _AB_MAGIC:
                data = self._ab_current(path, data)
            return json.loads(data)
        except (ValueError, OSError, UnicodeError) as exc:
            self._note("corrupt %s (%s); moved to .bad" % (path, exc))
            self._ab.pop(path, None)  # the next save_often writes a new file
            _remove(path + ".bad")
            try:
                os.rename(path, path + ".bad")
            except OSError:
                _remove(path)
            return _MISSING

    def save(self, name, value):
        try:
            data = json.dumps(value).encode()
        except (TypeError, ValueError) as exc:
            raise StoreError("cannot save %s: %s" % (name, exc))
        self._write(self.path(name), (data,))

    def save_often(self, name, value):
        """Like `save`, for a small record saved after most commands (a meter's registers and
        switch state): the file holds two slots, and a save overwrites the older one in place
        (sequence number | length | JSON | first 4 bytes of SHA-256), with no new file and no
        rename. A power cut during the write spoils only that slot; `load` takes the newest
        valid one, so it finds the previous value. The file is rewritten whole (atomically,
        as `save`) the first time and when the value outgrows its slot."""
        try:
            data = json.dumps(value).encode()
        except (TypeError, ValueError) as exc:
            raise StoreError("cannot save %s: %s" % (name, exc))
        path = self.path(name)
        seq, size = self._ab.get(path, (0, 0))
        seq += 1
        slot = _ab_slot(seq, data)
        if len(slot) > size:
            size = max(256, 2 * len(slot))
            head = _AB_MAGIC + size.to_bytes(4, "big")
            blank = bytes(size)
            pad = bytes(size - len(slot))
            # Slot (seq & 1): the sequence number says which slot it belongs in.
            self._write(path, (head, blank, slot, pad) if seq & 1 else (head, slot, pad, blank))
        else:
            with open(path, "r+b") as f:
                f.seek(8 + (seq & 1) * size)
                f.write(slot)
            sync()
            self.writes += 1
        self._ab[path] = (seq, size)

    def _ab_current(self, path, data):
        """The JSON bytes of the newest valid slot of a two-slot record."""
        size = int.from_bytes(data[4:8], "big")
        best = None
        for i in (0, 1):
            o = 8 + i * size
            n = int.from_bytes(data[o + 4 : o + 8], "big") if len(data) >= o + 8 else -1
            if n < 0 or o + 12 + n > len(data) or o + 12 + n > 8 + (i + 1) * size:
                continue
            body = data[o : o + 8 + n]
            if hashlib.sha256(body).digest()[:4] != data[o + 8 + n : o + 12 + n]:
                continue
            seq = int.from_bytes(body[:4], "big")
            if (seq & 1) == i and (best is None or seq > best[0]):
                best = (seq, body[8:])
        if best is None:
            raise ValueError("no valid slot")
        self._ab[path] = (best[0], size)
        return best[1]

    def dump(self, name, value):
        """Like `save`, but the JSON goes straight to the file: no string of the whole record
        in RAM (records of a few KB on a small, fragmented heap)."""
        path = self.path(name)
        try:
            self._write(path, None, value)
        except (TypeError, ValueError) as exc:
            _remove(path + ".tmp")
            raise StoreError("cannot save %s: %s" % (name, exc))

    def _write(self, path, parts, value=None):
        """Write a record atomically: `parts` (buffers, one after another), or with parts None
        `value` as JSON text; to name.tmp, then renamed over name."""
        tmp = path + ".tmp"
        with open(tmp, "w" if parts is None else "wb") as f:
            if parts is None:
                json.dump(value, f)
            else:
                for part in parts:
                    f.write(part)
            flush = getattr(f, "flush", None)
            if flush:
                flush()
        try:
            os.rename(tmp, path)
        except OSError:
            # FAT cannot rename over an existing file; the .tmp copy covers the gap.
            _remove(path)
            os.rename(tmp, path)
        sync()
        self.writes += 1

    def open_read(self, name):
        """A record opened for reading in place (readinto a caller's buffers), or None when
        there is none: for records larger than a small heap holds in one piece."""
        try:
            return open(self.path(name), "rb")
        except OSError:
            return None

    def load_bytes(self, name):
        path = self.path(name)
        if not _exists(path):
            return None
        with open(path, "rb") as f:
            return f.read()

    def save_bytes(self, name, data):
        """Write bytes, a bytearray or a memoryview (not copied: a log of a few KB is written
        from its own buffer)."""
        self._write(self.path(name), (data,))

    def save_parts(self, name, parts):
        """Write a record of several buffers, without joining them into one large block."""
        self._write(self.path(name), parts)

    def has(self, name):
        return _exists(self.path(name))

    def move(self, name, new):
        """Rename a record (replacing any record `new`); False if there is no record `name`.
        Costs no RAM, whatever the record's size."""
        src = self.path(name)
        dst = self.path(new)
        self._ab.pop(src, None)
        self._ab.pop(dst, None)
        if not _exists(src):
            return False
        self.remove(new)
        os.rename(src, dst)
        sync()
        return True

    def remove(self, name):
        path = self.path(name)
        self._ab.pop(path, None)
        for p in (path, path + ".tmp"):
            _remove(p)

    def names(self):
        try:
            return sorted(n for n in os.listdir(self.root) if not n.endswith((".tmp", ".bad")))
        except OSError:
            return []

    def wipe(self):
        self._ab = {}
        try:
            entries = os.listdir(self.root)
        except OSError:
            return
        for n in entries:
            _remove(self.root + "/" + n)


_MISSING = object()
_AB_MAGIC = b"\x00AB\x01"  # a two-slot record (Store.save_often): never the start of JSON


def _ab_slot(seq, data):
    body = (seq & 0xFFFFFFFF).to_bytes(4, "big") + len(data).to_bytes(4, "big") + data
    return body + hashlib.sha256(body).digest()[:4]


class CounterLog:
    """Counters that must survive power cuts, one append per change (GBCS anti-replay: the
    last originator counter accepted from each remote party; the device's own alert
    counter), instead of a whole record rewritten and renamed per command.

    The record is a sequence of 21-byte entries: key (9 bytes: a kind byte and an 8-byte
    title) | value (8, big-endian) | first 4 bytes of SHA-256 of the 17 before. Later entries
    win. An entry that fails its check (the torn end of an append a power cut interrupted,
    or flash damage) is skipped, counted in the store's errors and dropped by a compaction
    at load; reading resynchronises on the next whole entry after a torn one, and an append
    that fails rewrites the log, so later entries never fall out of step. A power cut can
    only lose the entry being appended, and the caller appends
    before the counter is used (before the command runs, before the alert exists), so a lost
    entry is one nobody saw. When `capacity` entries are there, the record is rewritten with
    one entry per key through the store's atomic write (new file, then rename).
    A JSON record of an older firmware ({"counters": {title hex: n}, "alert_counter": n}) is
    read once and rewritten in this form (`legacy` holds it for the caller).
    """

    ENTRY = 21

    def __init__(self, store, name, capacity=128):
        self.store = store
        self.name = name
        self.capacity = capacity
        self.values = {}  # 9-byte key -> int
        self.entries = 0  # entries in the file
        self.appends = 0
        self.legacy = None
        data = store.load_bytes(name)
        if not data:
            return
        if data[:1] == b"{":
            try:
                self.legacy = json.loads(data)
            except ValueError as exc:
                store._note("corrupt %s (%s); started empty" % (name, exc))
            self.entries = self.capacity  # rewrite at the first change
            return
        bad = 0
        mv = memoryview(data)
        o = 0
        end = len(data)
        while o + self.ENTRY <= end:
            if hashlib.sha256(mv[o : o + 17]).digest()[:4] == bytes(mv[o + 17 : o + 21]):
                self.values[bytes(mv[o : o + 9])] = int.from_bytes(mv[o + 9 : o + 17], "big")
                self.entries += 1
                o += self.ENTRY
            else:
                # Damage, or the torn end of an append that later appends followed (a write
                # error the device lived on after): resynchronise on the next whole valid
                # entry, byte by byte (a false match needs a 32-bit hash collision).
                bad += 1
                o += 1
        if bad or o < end:
            store._note("%s: %d bytes of damaged or torn entries and %d of a torn append "
                        "ignored" % (name, bad, end - o))
            self.compact()

    @staticmethod
    def _entry(key, value):
        body = key + value.to_bytes(8, "big")
        return body + hashlib.sha256(body).digest()[:4]

    def get(self, key, default=None):
        return self.values.get(key, default)

    def put(self, key, value):
        """Set a counter (9-byte key); on flash when this returns."""
        if len(key) != 9 or not 0 <= value < 1 << 64:
            raise StoreError("counter key must be 9 bytes and its value 0 .. 2^64-1")
        self.values[bytes(key)] = value
        if self.entries >= self.capacity:
            self.compact()
            return
        try:
            self.append(self._entry(key, value))
        except OSError as exc:
            # A write that failed part way leaves a torn entry every later append would
            # follow out of step: the whole log is rewritten (atomically) at once instead,
            # which puts this value on flash too; if that fails as well, the caller hears.
            self.store._note("%s: append failed (%s); rewritten" % (self.name, exc))
            self.compact()
            return
        self.entries += 1
        self.appends += 1

    def append(self, entry):
        """Append one encoded entry to the file (put's write)."""
        with open(self.store.path(self.name), "ab") as f:
            f.write(entry)
        sync()

    def replace(self, values):
        """All counters at once ({9-byte key: value}), e.g. a lowered one: one atomic write."""
        self.values = dict(values)
        self.compact()

    def compact(self):
        parts = [self._entry(k, v) for k, v in self.values.items()]
        self.store.save_parts(self.name, parts)
        self.entries = len(parts)
