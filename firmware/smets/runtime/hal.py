"""Port adapters: the link over stdio (REPL port, virtual boards) or a dedicated UART.

Each adapter has `fileno_or_stream` for select.poll, `read() -> bytes` (what is available, possibly
b""), `write(data)` and `close()`. `open_port(board)` picks one from the board definition.
"""

import sys

_IS_MICROPYTHON = sys.implementation.name == "micropython"
_BYTEWISE_MAX = 256


class StdioPort:
    """The REPL's own port. Owns it while the app runs: Ctrl-C no longer raises
    KeyboardInterrupt (the link decoder reports it instead) and, on the unix port, the tty is
    switched to non-blocking reads so a read returns what has arrived."""

    def __init__(self, bytewise=False):
        """`bytewise`: read as a board without termios does (the ESP32), even where termios
        exists, so the unix port can test that path."""
        self._termios_saved = None
        self.poll_obj = sys.stdin
        if _IS_MICROPYTHON:
            import micropython

            micropython.kbd_intr(-1)
            self._out = sys.stdout.buffer
            self._in = sys.stdin.buffer
            self._chunked = False
            self._ready = None
            try:
                if bytewise:
                    raise ImportError("byte-wise reads requested")
                import termios  # type: ignore[import-not-found]  # unix port only

                attrs = termios.tcgetattr(0)
                self._termios_saved = [list(a) if isinstance(a, list) else a for a in attrs]
                cc = attrs[6]
                cc[6] = 0  # VMIN: return whatever has arrived...
                cc[5] = 0  # VTIME: ...without waiting
                termios.tcsetattr(0, termios.TCSANOW, attrs)
                self._chunked = True
            except (ImportError, OSError, AttributeError):
                # ESP32: no termios and a blocking read(1): read byte by byte only while a
                # zero-timeout poll says a byte is waiting.
                import select

                self._ready = select.poll()
                self._ready.register(sys.stdin, select.POLLIN)
        else:
            import os

            self._os = os
            os.set_blocking(0, False)
            self._out = None
            self._chunked = True

    def read(self, limit=0):
        """What has arrived, at most `limit` bytes (0: a chunk)."""
        if not _IS_MICROPYTHON:
            try:
                return self._os.read(0, limit or 4096)
            except BlockingIOError:
                return b""
        if self._chunked:
            return self._in.read(limit or 512) or b""
        out = bytearray()
        # Bounded, so a sender that never pauses cannot keep the loop from answering.
        limit = limit or _BYTEWISE_MAX
        while len(out) < limit and self._ready.poll(0):
            b = self._in.read(1)
            if not b:
                break
            out += b
        return bytes(out)

    def write(self, data):
        if self._out is None:
            view = memoryview(data)
            while view:
                try:
                    n = self._os.write(1, view)
                except BlockingIOError:
                    n = 0
                view = view[n:]
            return
        self._out.write(data)

    def close(self):
        if _IS_MICROPYTHON:
            import micropython

            if self._termios_saved is not None:
                import termios

                termios.tcsetattr(0, termios.TCSANOW, self._termios_saved)
            micropython.kbd_intr(3)
        else:
            self._os.set_blocking(0, True)


class UartPort:
    """A dedicated UART for the link (ESP32), leaving the REPL on its own port."""

    def __init__(self, cfg):
        from machine import UART

        self.uart = UART(
            cfg.get("uart", 1),
            baudrate=cfg.get("baud", 115200),
            tx=cfg.get("tx"),
            rx=cfg.get("rx"),
            rxbuf=cfg.get("rxbuf", 2048),
        )
        self.poll_obj = self.uart

    def read(self, limit=0):
        return (self.uart.read(limit) if limit else self.uart.read()) or b""

    def write(self, data):
        self.uart.write(data)

    def close(self):
        self.uart.deinit()


def open_port(board):
    cfg = board.get("link") or {}
    if cfg.get("port", "stdio") == "uart":
        return UartPort(cfg)
    return StdioPort(bytewise=bool(cfg.get("bytewise")))
