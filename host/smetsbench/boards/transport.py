"""The host end of a board's serial link, over any pyserial URL.

`BoardLink(url)` opens the port with `serial.serial_for_url` (a device path, a virtual board's
pty, ``rfc2217://host:port``, ``socket://``, ``loop://``), runs a reader thread that decodes link
frames, answers `control()` calls with the matching CONTROL reply, hands HAN frames to a callback
and records LOG lines and the last frames exchanged (shown when a test fails).
"""

import collections
import itertools
import json
import logging
import threading
import time

import serial
from smets import link

log = logging.getLogger("smetsbench.link")

_HISTORY = 64
_RAW_KEEP = 4096


class BoardError(RuntimeError):
    """A board did not answer, answered with an error, or its port failed."""


class FrameRecord:
    __slots__ = ("t", "direction", "type", "seq", "payload")

    def __init__(self, direction, ftype, seq, payload):
        self.t = time.time()
        self.direction = direction
        self.type = ftype
        self.seq = seq
        self.payload = payload

    def __str__(self):
        name = {link.HAN: "HAN", link.CONTROL: "CONTROL", link.LOG: "LOG"}.get(self.type, "?")
        body = self.payload
        if self.type in (link.CONTROL, link.LOG):
            text = body.decode("utf-8", "replace")
        else:
            text = body[:64].hex(" ") + (" ..." if len(body) > 64 else "")
        return "%s %s #%d %s" % (self.direction, name, self.seq, text)


class BoardLink:
    def __init__(self, url, baudrate=115200, name=None, on_han=None, open_timeout=3.0):
        self._init_state(url, name, on_han)
        self.baudrate = baudrate
        self.serial = _open(url, baudrate, open_timeout)
        self._start_reader()

    def _init_state(self, url, name, on_han):
        self.url = url
        self.name = name or url
        self.on_han = on_han
        self.decoder = link.Decoder()
        self.history = collections.deque(maxlen=_HISTORY)
        self.logs = collections.deque(maxlen=256)
        self._seq = 0
        self._ids = itertools.count(1)
        self._pending = {}
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._closed = threading.Event()
        self.error = None
        self.interrupts_seen = 0
        self.bad_replies = 0
        self._console = bytearray()  # recent bytes the board sent outside frames
        self._in_frame = False

    def _start_reader(self):
        self._closed.clear()
        self.error = None
        self._reader = threading.Thread(target=self._read_loop, name="link-" + self.name,
                                        daemon=True)
        self._reader.start()

    def release(self):
        """Close the port (e.g. so mpremote can use it), keeping this link object."""
        self._closed.set()
        try:
            self.serial.close()
        except Exception:
            pass
        self._reader.join(1.0)

    def reopen(self, timeout=3.0):
        """Open the port again after `release` (or after the board came back)."""
        self.release()
        self.decoder = link.Decoder()
        self.serial = _open(self.url, self.baudrate, timeout)
        self._start_reader()

    # -- sending ------------------------------------------------------------------------------
    def _send(self, ftype, payload):
        with self._write_lock:
            seq = self._seq
            self._seq = (self._seq + 1) & 0xFF
            self.history.append(FrameRecord(">", ftype, seq, payload))
            try:
                self._write(link.encode(ftype, seq, payload))
            except (serial.SerialException, OSError) as exc:
                kind = {link.HAN: "HAN frame", link.CONTROL: "CONTROL " + _op(payload)}.get(
                    ftype, "frame")
                raise BoardError("%s: cannot send %s: port %s failed (%s); is the board still "
                                 "connected and powered?" % (self.name, kind, self.url, exc)
                                 ) from exc

    def _write(self, data):
        self.serial.write(data)
        self.serial.flush()

    def send_han(self, payload):
        self._send(link.HAN, payload)

    def control(self, op, timeout=5.0, **args):
        """Send a CONTROL request and return its result; raise BoardError on error or timeout."""
        req_id = next(self._ids)
        args.update(id=req_id, op=op)
        waiter = [threading.Event(), None]
        with self._lock:
            self._pending[req_id] = waiter
        try:
            self._send(link.CONTROL, json.dumps(args).encode())
            if not waiter[0].wait(timeout):
                raise BoardError(
                    "%s: no reply to CONTROL %s within %.1f s%s\n%s"
                    % (self.name, op, timeout, self._why(), self.tail())
                )
        finally:
            with self._lock:
                self._pending.pop(req_id, None)
        reply = waiter[1]
        if not reply.get("ok"):
            raise BoardError("%s: CONTROL %s failed: %s" % (self.name, op, reply.get("error")))
        return reply.get("result")

    def interrupt(self):
        """Ctrl-C outside a frame: the firmware stops and the board shows its REPL."""
        with self._write_lock:
            self.serial.write(b"\r\x03")
            self.serial.flush()

    def _why(self):
        if self.error:
            return " (port error: %s)" % self.error
        if self._closed.is_set():
            return " (link closed)"
        return ""

    # -- receiving ----------------------------------------------------------------------------
    def _read_loop(self):
        while not self._closed.is_set():
            try:
                data = self.serial.read(self.serial.in_waiting or 1)
            except (serial.SerialException, OSError, TypeError, AttributeError) as exc:
                if not self._closed.is_set():
                    self.error = str(exc) or type(exc).__name__
                    log.error("%s: port failed: %s", self.name, self.error)
                    self._fail_pending()
                return
            if not data:
                continue
            self._received(data)

    def _received(self, data):
        """Bytes from the board: frames dispatched, the rest kept as console text."""
        self._keep_console(data)
        self.decoder.feed(data)
        while True:
            event = self.decoder.next_event()
            if event is None:
                break
            if event is link.INTERRUPT:
                # A raw Ctrl-C from the board side: only seen if it prints one. Count it.
                self.interrupts_seen += 1
                continue
            try:
                self._dispatch(event)
            except Exception as exc:  # noqa: BLE001 - one bad frame must not end the link
                self.error = "frame handling failed: %s: %s" % (type(exc).__name__, exc)
                log.exception("%s: %s", self.name, self.error)

    def _dispatch(self, frame):
        self.history.append(FrameRecord("<", frame.type, frame.seq, frame.payload))
        if frame.type == link.CONTROL:
            try:
                reply = json.loads(frame.payload)
                req_id = reply.get("id")
                hash(req_id)
            except (ValueError, AttributeError, TypeError):
                # Not a reply object with a usable id: count it and keep the link alive.
                self.bad_replies += 1
                log.warning("%s: unreadable CONTROL reply %r", self.name, frame.payload[:80])
                return
            with self._lock:
                waiter = self._pending.get(req_id)
            if waiter:
                waiter[1] = reply
                waiter[0].set()
        elif frame.type == link.LOG:
            text = bytes(frame.payload).decode("utf-8", "replace")
            level, msg = text[:1], text[1:]
            self.logs.append((time.time(), level, msg))
            # Board warnings are mostly expected outcomes (a rejected test command): INFO.
            pylevel = {"E": logging.ERROR, "W": logging.INFO, "D": logging.DEBUG}.get(
                level, logging.INFO
            )
            log.log(pylevel, "%s: %s", self.name, msg)
        elif frame.type == link.HAN:
            if self.on_han:
                try:
                    self.on_han(self, bytes(frame.payload))
                except Exception:
                    log.exception("%s: HAN handler failed", self.name)

    def _fail_pending(self):
        with self._lock:
            for waiter in self._pending.values():
                waiter[1] = {"ok": False, "error": "port failed: %s" % (self.error or "closed")}
                waiter[0].set()

    # -- diagnostics --------------------------------------------------------------------------
    def tail(self, n=12):
        """The last frames exchanged and log lines, for error messages."""
        lines = ["last frames on %s:" % self.name]
        lines += ["  " + str(r) for r in list(self.history)[-n:]]
        stats = self.decoder.stats.as_dict()
        lines.append("  decoder: %s" % stats)
        console = self.console_text()
        if console:
            lines.append("  board printed outside frames:")
            lines += ["    " + line for line in console.splitlines()[-20:]]
        return "\n".join(lines)

    def _keep_console(self, data):
        # Every 0x7E toggles in/out of a frame (the framer escapes 0x7E inside frames and
        # always sends both flags), so what lies outside is what the board printed.
        pos = 0
        while pos < len(data):
            flag = data.find(b"\x7e", pos)
            end = len(data) if flag < 0 else flag
            if not self._in_frame:
                self._console.extend(data[pos:end])
            if flag < 0:
                break
            self._in_frame = not self._in_frame
            pos = flag + 1
        if len(self._console) > _RAW_KEEP:
            del self._console[: len(self._console) - _RAW_KEEP]

    def console_text(self):
        """Text the board wrote outside link frames (tracebacks, REPL banner), recent part."""
        text = bytes(self._console).decode("utf-8", "replace")
        return "".join(c for c in text if c.isprintable() or c in "\n").strip()

    def close(self):
        self.release()
        self._fail_pending()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _op(payload):
    try:
        return str(json.loads(payload).get("op"))
    except (ValueError, AttributeError):
        return "request"


def _open(url, baudrate, timeout):
    deadline = time.monotonic() + timeout
    while True:
        try:
            port = serial.serial_for_url(url, baudrate=baudrate, timeout=0.05, exclusive=True)
            return port
        except serial.SerialException as exc:
            text = str(exc)
            if "busy" in text.lower() or "lock" in text.lower():
                raise BoardError("port %s is busy (another program has it open)" % url) from exc
            if time.monotonic() > deadline:
                raise BoardError("cannot open port %s: %s" % (url, exc)) from exc
            time.sleep(0.1)
