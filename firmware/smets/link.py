"""Serial link framing between the host (Communications Hub) and a board. Sans-IO.

Wire format (both directions)::

    7E | escaped( type:1 | seq:1 | payload:0..4092 | crc:2 ) | 7E

- Flag 0x7E opens and closes every frame. The encoder always sends both flags, so frames in a
  row read ``7E <frame> 7E 7E <frame> 7E``; flags back to back (empty frames) mean nothing.
- Escape 0x7D: the next byte is the data byte XOR 0x20. Exactly these bytes are escaped, and only
  these may follow 0x7D: 0x7E (flag), 0x7D (escape), and the MicroPython REPL control bytes
  0x01 (raw REPL), 0x02 (friendly REPL), 0x03 (Ctrl-C), 0x04 (Ctrl-D), 0x05 (paste mode); none of
  them ever appears raw inside a frame. (So the type bytes 0x01..0x03 are always escaped.)
- type: HAN 0x01 (an APS-level HAN frame, see ``han.py``), CONTROL 0x02, LOG 0x03. The framer
  delivers any other type unchanged; the application counts or rejects it, so a new type needs
  no framer change.
- seq: 0..255, one counter per sender, +1 per frame sent, 255 wraps to 0. The framer does not
  interpret it (gaps and repeats are for the application to judge).
- crc: CRC-16/GENIBUS (poly 0x1021, init 0xFFFF, not reflected, final XOR 0xFFFF; check value
  0xD64E for b"123456789"; = ``binascii.crc_hqx(data, 0xFFFF) ^ 0xFFFF``, i.e. CRC-16/CCITT-FALSE
  inverted) over the unescaped type, seq and payload, sent big-endian (high byte first), escaped
  like the rest. The final XOR matters: without it (plain CCITT-FALSE) a frame with 0x00 bytes
  slipped in before its closing flag, as a UART glitch produces, still passes the check.
- Size: at most MAX_FRAME = 4096 unescaped bytes from type to crc, so payload <= MAX_PAYLOAD =
  4092. A receiver may set a smaller ``max_frame`` to save memory.

Receiver rules (what ``Decoder`` does; bad input is counted in ``Decoder.stats``, never raised):

- Outside a frame (at start, after a good frame, after ``idle()``, after a framing error found
  inside a frame): a raw 0x03 is an INTERRUPT (the firmware stops its app and returns to the
  REPL, so mpremote's "\\r\\x03" works); a flag opens a frame; other bytes are ``garbage_bytes``.
- Just after a flag, before any frame byte, a raw 0x03 is still an INTERRUPT.
- Inside a frame (one or more frame bytes after the flag) a raw 0x01..0x05 is a framing error
  (``bad_byte``), not an interrupt: the partial frame is dropped and the receiver is outside
  again, so a second 0x03 does interrupt. Ctrl-C twice always reaches the REPL.
- A flag closes the frame. A good frame is delivered and the receiver is outside: the next frame
  needs its own opening flag (the encoder always sends one), and bytes between frames, such as
  mpremote's "\\r", are garbage rather than the start of a frame. A bad frame (``bad_escape``,
  ``too_short`` = under 4 bytes, ``bad_crc``, ``oversize``) is counted and its closing flag is
  taken as the next frame's opening flag.
  So whatever precedes it, a frame is delivered when its own bytes and the flag just before it
  (the previous frame's closing flag) arrive intact; a lost flag costs at most one more frame.
- The decoder holds a partial frame in one buffer taken when it is made (``reserve`` bytes,
  default 2 * max_frame, room for any frame fully escaped) and never grown. A frame still open
  when its escaped bytes exceed that buffer is dropped at once (``oversize``) and the receiver
  skips to the next flag; the rest of it counts as ``garbage_bytes``. A shorter frame whose
  unescaped length exceeds max_frame is counted ``oversize`` at its closing flag. No input makes
  the decoder allocate more than the payload of a good frame and the copy of each ``feed``.
- ``idle()`` (the runtime calls it when the line has been quiet, e.g. 100 ms) drops a partial
  frame (``aborted``) and puts the receiver outside, so a host that died mid-frame cannot hide
  a later Ctrl-C.

A CRC-16 misses a corrupted frame with probability about 2**-16 (it always catches bursts up to
16 bits and odd numbers of flipped bits); the application detects the rest (GBCS MACs, sequence).

API:

- ``encode(ftype, seq, payload) -> bytes`` one frame, flags included; ``LinkError`` (a
  ``ValueError``) for type or seq outside 0..255 or a payload over MAX_PAYLOAD.
- ``Frame(type, seq, payload)``: ``to_bytes()`` (= ``encode``), ``Frame.from_bytes(data)`` for
  exactly one encoded frame (``LinkError`` with the decoder's message otherwise), ``==``.
- ``Decoder(max_frame=MAX_FRAME, reserve=0)``: ``feed(data)``; ``capacity``;
  ``next_event()`` -> ``Frame``,
  ``INTERRUPT`` or None (needs more bytes); iterating yields events until None; ``idle()``;
  ``buffered``; ``stats``, a ``LinkStats``: ``frames``, ``interrupts``, ``garbage_bytes``,
  ``bad_crc``, ``bad_escape``, ``bad_byte``, ``too_short``, ``oversize``, ``aborted``,
  ``errors`` (sum of the frame error counters), ``last_error`` (e.g. "bad CRC d5dc, expected
  d5dd in 7e 7d 21 ... 7e", showing the escaped bytes as received), ``as_dict()``.
- ``crc16(data)``, and the constants HAN, CONTROL, LOG, FLAG, ESCAPE, MAX_FRAME, MAX_PAYLOAD.

Usage::

    dec = Decoder()
    dec.feed(uart_bytes)
    for event in dec:  # until more bytes are needed
        if event is INTERRUPT: ...  # else a Frame
    port.write(encode(LOG, seq, b"booted"))  # == Frame(LOG, seq, b"booted").to_bytes()
"""

try:
    from micropython import const
except ImportError:  # CPython

    def const(x):  # type: ignore[misc]  # CPython has no micropython.const
        return x


try:
    from binascii import crc_hqx as _crc_hqx  # type: ignore[attr-defined]  # CPython only
except ImportError:  # MicroPython
    _crc_hqx = None

HAN = const(0x01)
CONTROL = const(0x02)
LOG = const(0x03)

FLAG = const(0x7E)
ESCAPE = const(0x7D)
MAX_FRAME = const(4096)  # unescaped type .. crc
MAX_PAYLOAD = const(4092)
_OVERHEAD = const(4)  # type, seq, crc
_CTRL_C = const(0x03)
_CRC_RESIDUE = const(0x1D0F)  # register after a frame's type .. crc when the crc is right

_HUNT = const(0)  # outside a frame
_IN = const(1)  # after a flag; frame bytes so far in Decoder._buf

_FLAG_B = b"\x7e"
_CONTROL_BYTES = (b"\x01", b"\x02", b"\x03", b"\x04", b"\x05")
# (escaped, plain) for every escaped byte but 0x7D itself, which must be undone last.
_UNESCAPES = (
    (b"\x7d\x5e", b"\x7e"),
    (b"\x7d\x21", b"\x01"),
    (b"\x7d\x22", b"\x02"),
    (b"\x7d\x23", b"\x03"),
    (b"\x7d\x24", b"\x04"),
    (b"\x7d\x25", b"\x05"),
)
_ESCAPED_CODES = b"\x5e\x5d\x21\x22\x23\x24\x25"  # bytes allowed after 0x7D
_TYPE_NAMES = ("0x00", "HAN", "CONTROL", "LOG")

# CRC register table (poly 0x1021, not reflected): entry i (0..255) is the register after feeding
# byte i into a zero register, high bytes at [i], low bytes at [256 + i]. Checked by the tests.
_CRC_TABLE = (
    b"\x00\x10\x20\x30\x40\x50\x60\x70\x81\x91\xa1\xb1\xc1\xd1\xe1\xf1"
    b"\x12\x02\x32\x22\x52\x42\x72\x62\x93\x83\xb3\xa3\xd3\xc3\xf3\xe3"
    b"\x24\x34\x04\x14\x64\x74\x44\x54\xa5\xb5\x85\x95\xe5\xf5\xc5\xd5"
    b"\x36\x26\x16\x06\x76\x66\x56\x46\xb7\xa7\x97\x87\xf7\xe7\xd7\xc7"
    b"\x48\x58\x68\x78\x08\x18\x28\x38\xc9\xd9\xe9\xf9\x89\x99\xa9\xb9"
    b"\x5a\x4a\x7a\x6a\x1a\x0a\x3a\x2a\xdb\xcb\xfb\xeb\x9b\x8b\xbb\xab"
    b"\x6c\x7c\x4c\x5c\x2c\x3c\x0c\x1c\xed\xfd\xcd\xdd\xad\xbd\x8d\x9d"
    b"\x7e\x6e\x5e\x4e\x3e\x2e\x1e\x0e\xff\xef\xdf\xcf\xbf\xaf\x9f\x8f"
    b"\x91\x81\xb1\xa1\xd1\xc1\xf1\xe1\x10\x00\x30\x20\x50\x40\x70\x60"
    b"\x83\x93\xa3\xb3\xc3\xd3\xe3\xf3\x02\x12\x22\x32\x42\x52\x62\x72"
    b"\xb5\xa5\x95\x85\xf5\xe5\xd5\xc5\x34\x24\x14\x04\x74\x64\x54\x44"
    b"\xa7\xb7\x87\x97\xe7\xf7\xc7\xd7\x26\x36\x06\x16\x66\x76\x46\x56"
    b"\xd9\xc9\xf9\xe9\x99\x89\xb9\xa9\x58\x48\x78\x68\x18\x08\x38\x28"
    b"\xcb\xdb\xeb\xfb\x8b\x9b\xab\xbb\x4a\x5a\x6a\x7a\x0a\x1a\x2a\x3a"
    b"\xfd\xed\xdd\xcd\xbd\xad\x9d\x8d\x7c\x6c\x5c\x4c\x3c\x2c\x1c\x0c"
    b"\xef\xff\xcf\xdf\xaf\xbf\x8f\x9f\x6e\x7e\x4e\x5e\x2e\x3e\x0e\x1e"
    b"\x00\x21\x42\x63\x84\xa5\xc6\xe7\x08\x29\x4a\x6b\x8c\xad\xce\xef"
    b"\x31\x10\x73\x52\xb5\x94\xf7\xd6\x39\x18\x7b\x5a\xbd\x9c\xff\xde"
    b"\x62\x43\x20\x01\xe6\xc7\xa4\x85\x6a\x4b\x28\x09\xee\xcf\xac\x8d"
    b"\x53\x72\x11\x30\xd7\xf6\x95\xb4\x5b\x7a\x19\x38\xdf\xfe\x9d\xbc"
    b"\xc4\xe5\x86\xa7\x40\x61\x02\x23\xcc\xed\x8e\xaf\x48\x69\x0a\x2b"
    b"\xf5\xd4\xb7\x96\x71\x50\x33\x12\xfd\xdc\xbf\x9e\x79\x58\x3b\x1a"
    b"\xa6\x87\xe4\xc5\x22\x03\x60\x41\xae\x8f\xec\xcd\x2a\x0b\x68\x49"
    b"\x97\xb6\xd5\xf4\x13\x32\x51\x70\x9f\xbe\xdd\xfc\x1b\x3a\x59\x78"
    b"\x88\xa9\xca\xeb\x0c\x2d\x4e\x6f\x80\xa1\xc2\xe3\x04\x25\x46\x67"
    b"\xb9\x98\xfb\xda\x3d\x1c\x7f\x5e\xb1\x90\xf3\xd2\x35\x14\x77\x56"
    b"\xea\xcb\xa8\x89\x6e\x4f\x2c\x0d\xe2\xc3\xa0\x81\x66\x47\x24\x05"
    b"\xdb\xfa\x99\xb8\x5f\x7e\x1d\x3c\xd3\xf2\x91\xb0\x57\x76\x15\x34"
    b"\x4c\x6d\x0e\x2f\xc8\xe9\x8a\xab\x44\x65\x06\x27\xc0\xe1\x82\xa3"
    b"\x7d\x5c\x3f\x1e\xf9\xd8\xbb\x9a\x75\x54\x37\x16\xf1\xd0\xb3\x92"
    b"\x2e\x0f\x6c\x4d\xaa\x8b\xe8\xc9\x26\x07\x64\x45\xa2\x83\xe0\xc1"
    b"\x1f\x3e\x5d\x7c\x9b\xba\xd9\xf8\x17\x36\x55\x74\x93\xb2\xd1\xf0"
)


class LinkError(ValueError):
    """API misuse: a frame that cannot be encoded, bytes that are not one frame."""


def _hexs(data, limit=40):
    """Space-separated hex; long data shows its head and its last 8 bytes (the CRC end)."""
    if len(data) > limit:
        return (
            " ".join("%02x" % b for b in data[: limit - 8])
            + " ... "
            + " ".join("%02x" % b for b in data[-8:])
        )
    return " ".join("%02x" % b for b in data)


def _crc_register_table(data, reg=0xFFFF):
    """The CRC register (poly 0x1021) after `data`, from `reg`; table-driven, for MicroPython."""
    table = _CRC_TABLE
    hi = reg >> 8
    lo = reg & 0xFF
    for b in data:
        i = hi ^ b
        hi = lo ^ table[i]
        lo = table[i + 256]
    return (hi << 8) | lo


_crc_register = _crc_hqx or _crc_register_table


def crc16(data):
    """CRC-16/GENIBUS of `data`: the frame check sequence of this link."""
    return _crc_register(data, 0xFFFF) ^ 0xFFFF


def _escape(body):
    # 0x7D first, so the escapes added afterwards are not escaped again.
    body = body.replace(b"\x7d", b"\x7d\x5d")
    for escaped, plain in _UNESCAPES:
        body = body.replace(plain, escaped)  # MicroPython: no copy when absent
    return body


def _unescape_into(buf, size):
    """Undo the escapes of `buf[:size]` in place (a frame without raw control bytes): the
    unescaped length, or -1 - offset of the first bad escape (whose two bytes are still in
    place: only bytes before it move).

    In place and by segments: a frame carrying DER certificates (CS02b, 4 KB) has hundreds of
    escapes, and neither a copy per escape kind nor a second 4 KB buffer fits a small heap.
    Unescaped bytes only ever move left, so the overlapping copies are safe."""
    mv = memoryview(buf)
    i = buf.find(b"\x7d", 0, size)
    if i < 0:
        return size
    p = 0
    q = 0
    while i >= 0:
        if i + 1 >= size or buf[i + 1] not in _ESCAPED_CODES:
            return -1 - i
        if q != p:
            mv[q:q + i - p] = mv[p:i]
        q += i - p
        mv[q] = buf[i + 1] ^ 0x20
        q += 1
        p = i + 2
        i = buf.find(b"\x7d", p, size)
    if q != p:
        mv[q:q + size - p] = mv[p:size]
    return q + size - p


def encode(ftype, seq, payload=b""):
    """One frame on the wire, flags included."""
    if not (0 <= ftype <= 0xFF and 0 <= seq <= 0xFF):
        raise LinkError("type %r / seq %r out of range 0..255" % (ftype, seq))
    n = len(payload)
    if n > MAX_PAYLOAD:
        raise LinkError("payload of %d bytes exceeds %d" % (n, MAX_PAYLOAD))
    body = bytearray(n + _OVERHEAD)
    body[0] = ftype
    body[1] = seq
    body[2 : n + 2] = payload
    crc = _crc_register(memoryview(body)[: n + 2], 0xFFFF) ^ 0xFFFF
    body[n + 2] = crc >> 8
    body[n + 3] = crc & 0xFF
    return _FLAG_B + _escape(body) + _FLAG_B


class Frame:
    """A decoded (or to be encoded) frame: `type`, `seq` (ints 0..255), `payload` (bytes)."""

    def __init__(self, type, seq, payload=b""):
        self.type = type
        self.seq = seq
        self.payload = payload

    def to_bytes(self):
        return encode(self.type, self.seq, self.payload)

    @classmethod
    def from_bytes(cls, data):
        """Exactly one encoded frame, flags included, to a Frame; LinkError otherwise."""
        data = bytes(data)
        if len(data) < 2 or data[0] != FLAG or data[-1] != FLAG:
            raise LinkError("frame must start and end with 7e: " + _hexs(data))
        raw = data[1:-1]
        if _FLAG_B in raw:
            raise LinkError("more than one frame in " + _hexs(data))
        for ctl in _CONTROL_BYTES:
            i = raw.find(ctl)
            if i >= 0:
                raise LinkError(
                    "raw %02x inside frame at offset %d in %s" % (raw[i], i + 1, _hexs(data))
                )
        if len(raw) > 2 * MAX_FRAME:
            raise LinkError("frame longer than %d bytes in %s" % (MAX_FRAME, _hexs(data)))
        frame = _parse(bytearray(raw), len(raw), MAX_FRAME)
        if isinstance(frame, tuple):
            raise LinkError(frame[1])
        return frame

    def __eq__(self, other):
        return (
            isinstance(other, Frame)
            and self.type == other.type
            and self.seq == other.seq
            and self.payload == other.payload
        )

    def __ne__(self, other):  # MicroPython does not derive != from ==
        return not self.__eq__(other)

    def __repr__(self):
        name = _TYPE_NAMES[self.type] if self.type < 4 else "0x%02x" % self.type
        return "Frame(%s, seq=%d, %r)" % (name, self.seq, self.payload)


def _parse(buf, size, max_frame):
    """Check the escaped bytes between two flags, `buf[:size]` (a bytearray: unescaped in
    place, so the caller's buffer is spent): a Frame, or (counter name, message)."""
    if buf.find(b"\x7d", 0, size) >= 0:
        shown = _hexs(memoryview(buf)[:size])  # before the bytes move
        n = _unescape_into(buf, size)
        if n < 0:
            i = -1 - n
            return "bad_escape", "bad escape %s at offset %d in 7e %s 7e" % (
                _hexs(bytes(buf[i : i + 2])), i + 1, shown)
    else:
        n = size
        shown = None
    body = memoryview(buf)[:n]
    if n < _OVERHEAD:
        return "too_short", "frame too short (%d bytes) in 7e %s 7e" % (
            n, shown or _hexs(body))
    if n > max_frame:
        return "oversize", "frame longer than %d bytes in 7e %s 7e" % (
            max_frame, shown or _hexs(body))
    # Running the register on over the (inverted) crc itself leaves a constant: no slicing.
    if _crc_register(body, 0xFFFF) != _CRC_RESIDUE:
        return "bad_crc", "bad CRC %04x, expected %04x in 7e %s 7e" % (
            (body[-2] << 8) | body[-1],
            crc16(bytes(body[:-2])),
            shown or _hexs(body),
        )
    return Frame(body[0], body[1], bytes(body[2:-2]))


class LinkStats:
    """Counters of one Decoder, and the text of its last error (with the bytes shown)."""

    NAMES = (
        "frames",
        "interrupts",
        "garbage_bytes",
        "bad_crc",
        "bad_escape",
        "bad_byte",
        "too_short",
        "oversize",
        "aborted",
    )

    def __init__(self):
        self.frames = 0  # good frames delivered
        self.interrupts = 0  # INTERRUPT events delivered
        self.garbage_bytes = 0  # bytes outside frames, flags and Ctrl-C excluded
        self.bad_crc = 0
        self.bad_escape = 0  # 0x7D not followed by an escaped code
        self.bad_byte = 0  # raw 0x01..0x05 inside a frame
        self.too_short = 0  # fewer than 4 bytes between flags
        self.oversize = 0  # more than max_frame bytes
        self.aborted = 0  # partial frame dropped by idle()
        self.last_error = ""

    @property
    def errors(self):
        """Frames lost to errors (garbage bytes are not frames and are not included)."""
        return (
            self.bad_crc
            + self.bad_escape
            + self.bad_byte
            + self.too_short
            + self.oversize
            + self.aborted
        )

    def as_dict(self):
        d = {name: getattr(self, name) for name in self.NAMES}
        d["last_error"] = self.last_error
        return d

    def __repr__(self):
        return "LinkStats(%s)" % ", ".join(
            "%s=%d" % (name, getattr(self, name)) for name in self.NAMES
        )


class _Interrupt:
    def __repr__(self):
        return "INTERRUPT"


INTERRUPT = _Interrupt()  # event: Ctrl-C (0x03) outside a frame


class Decoder:
    """Bytes in (`feed`), events out (`next_event`): Frame, INTERRUPT, or None for "need more".

    `feed` copies its argument; call `next_event` until it returns None after each `feed` so
    that unread input does not pile up. Apart from unread input, the decoder holds one partial
    frame in one buffer of `reserve` bytes (default 2 * max_frame) taken when it is made and
    never grown: a board takes it at boot, before its heap fragments, and no input can make the
    decoder allocate more. Frames are unescaped and checked in that buffer; a good frame costs
    one allocation, its payload.
    """

    def __init__(self, max_frame=MAX_FRAME, reserve=0):
        """`reserve`: the frame buffer in bytes (escaped bytes between two flags); a frame
        whose escaped form is longer is dropped as ``oversize``. 0 means 2 * max_frame, room
        for any frame, escapes included."""
        if max_frame < _OVERHEAD:
            raise LinkError("max_frame %d below the %d-byte minimum" % (max_frame, _OVERHEAD))
        self.max_frame = max_frame
        self.stats = LinkStats()
        self._data = b""  # input not yet read by next_event, from self._pos
        self._pos = 0
        self._state = _HUNT
        # escaped bytes of the current frame from earlier input: _buf[:_n]
        self._buf = bytearray(min(reserve, 2 * max_frame) if reserve else 2 * max_frame)
        self._n = 0

    @property
    def capacity(self):
        """The longest escaped frame this decoder takes (its buffer)."""
        return len(self._buf)

    @property
    def outside(self):
        """Between frames (hunting for a flag, no partial frame), where a Ctrl-C interrupts."""
        return self._state == _HUNT or not self._n

    @property
    def buffered(self):
        """Bytes held: the partial frame plus input not yet read by next_event."""
        return self._n + len(self._data) - self._pos

    def feed(self, data):
        if self._pos < len(self._data):
            self._data = self._data[self._pos :] + bytes(data)
        else:
            self._data = bytes(data)
        self._pos = 0

    def idle(self):
        """The line has been quiet: drop a partial frame, go outside. True if one was dropped."""
        if self._pos < len(self._data):
            raise LinkError("idle() with unread input: call next_event() until it returns None")
        dropped = self._state == _IN and self._n > 0
        if dropped:
            self.stats.aborted += 1
            self.stats.last_error = "partial frame dropped on idle line: 7e " + self._shown()
        self._n = 0
        self._state = _HUNT
        return dropped

    def __iter__(self):
        return self

    def __next__(self):
        event = self.next_event()
        if event is None:
            raise StopIteration
        return event

    def _shown(self, data=b"", start=0, stop=0):
        """Hex of the partial frame so far plus data[start:stop], for error messages: its
        head and its last bytes only, so that reporting a bad 8 KB frame allocates little."""
        n = self._n
        if n + stop - start <= 40:
            return _hexs(bytes(self._buf[:n]) + data[start:stop])
        head = bytes(self._buf[: min(n, 32)])
        if len(head) < 32:
            head += data[start : start + 32 - len(head)]
        if stop - start >= 8:
            tail = data[stop - 8 : stop]
        else:
            tail = bytes(self._buf[n - 8 + stop - start : n]) + data[start:stop]
        return _hexs(head) + " ... " + _hexs(tail)

    def _oversize(self, data, pos, stop):
        self.stats.oversize += 1
        self.stats.last_error = "frame longer than %d bytes dropped: 7e %s" % (
            len(self._buf), self._shown(data, pos, stop))
        self._n = 0

    def next_event(self):
        data = self._data
        pos = self._pos
        end = len(data)
        stats = self.stats
        buf = self._buf
        cap = len(buf)
        event = None
        while pos < end:
            if self._state == _HUNT:
                flag = data.find(_FLAG_B, pos)
                stop = end if flag < 0 else flag
                ctrl_c = data.find(b"\x03", pos, stop)
                if ctrl_c >= 0:
                    stats.garbage_bytes += ctrl_c - pos
                    stats.interrupts += 1
                    pos = ctrl_c + 1
                    event = INTERRUPT
                    break
                stats.garbage_bytes += stop - pos
                if flag < 0:
                    pos = end
                    break
                pos = flag + 1
                self._state = _IN
                continue
            # Inside a frame: up to the next flag, or the end of the input.
            flag = data.find(_FLAG_B, pos)
            stop = end if flag < 0 else flag
            bad = -1
            for ctl in _CONTROL_BYTES:
                i = data.find(ctl, pos, stop)
                if i >= 0:
                    bad = stop = i
            if bad >= 0:
                self._state = _HUNT
                if bad == pos and not self._n and data[bad] == _CTRL_C:
                    stats.interrupts += 1
                    pos = bad + 1
                    event = INTERRUPT
                    break
                # A flipped bit, or a Ctrl-C typed into a frame: drop the frame.
                stats.bad_byte += 1
                stats.last_error = "raw %02x inside frame at offset %d in 7e %s" % (
                    data[bad],
                    self._n + bad - pos + 1,
                    self._shown(data, pos, bad + 1),
                )
                self._n = 0
                pos = bad + 1
                continue
            n = self._n
            if n + stop - pos > cap:
                # Longer than the buffer: dropped; the rest of it, up to a flag, is garbage.
                self._oversize(data, pos, stop)
                self._state = _HUNT
                pos = stop
                continue
            buf[n : n + stop - pos] = data[pos:stop]
            n += stop - pos
            pos = stop
            if flag < 0:
                self._n = n
                break
            self._n = 0
            pos = flag + 1
            if not n:
                continue  # flags back to back
            result = _parse(buf, n, self.max_frame)
            if isinstance(result, Frame):
                stats.frames += 1
                self._state = _HUNT
                event = result
                break
            # A bad frame: its closing flag may be the next frame's opening flag; stay inside.
            name, stats.last_error = result
            setattr(stats, name, getattr(stats, name) + 1)
        if pos >= end:
            self._data = b""
            pos = 0
        self._pos = pos
        return event
