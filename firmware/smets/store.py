"""Persistent device state on the board's flash filesystem, power-cut safe.

Each record is one JSON file under the state directory. A save writes ``name.tmp`` completely,
then renames it over ``name``: littlefs (ESP32) and POSIX (virtual boards) rename atomically, so
after a power cut either the old or the new record is there, never half of one. A record that is
unreadable anyway (flash wear, a user's editor) is moved aside to ``name.bad``, counted and
reported, and the device carries on from the ``.tmp`` copy or the default instead of crashing.
"""

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
            return json.loads(data)
        except (ValueError, OSError, UnicodeError) as exc:
            self._note("corrupt %s (%s); moved to .bad" % (path, exc))
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
        if not _exists(src):
            return False
        self.remove(new)
        os.rename(src, dst)
        sync()
        return True

    def remove(self, name):
        path = self.path(name)
        for p in (path, path + ".tmp"):
            _remove(p)

    def names(self):
        try:
            return sorted(n for n in os.listdir(self.root) if not n.endswith((".tmp", ".bad")))
        except OSError:
            return []

    def wipe(self):
        try:
            entries = os.listdir(self.root)
        except OSError:
            return
        for n in entries:
            _remove(self.root + "/" + n)


_MISSING = object()
