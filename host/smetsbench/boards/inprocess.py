"""In-process boards: the firmware's board core run inside the host, for large virtual fleets.

`InProcessLink` is a BoardLink whose "port" is a `smets.node.Node` in this process: the bytes
a serial link would carry (the same link frames, encoded and decoded by the same code) go
straight into `Node.receive`, and what the node answers is decoded and dispatched like bytes
from a port. No pty, no MicroPython process, no threads per board: one CPython process can hold
a thousand meters (`smetsbench bench --fleet 1000`). The sans-IO device cores make this the
same firmware as on a board; what it does not exercise is the MicroPython runtime and its heap
(virtual boards do that).

Time: the node's clock reads `time.monotonic()`; `tick()` runs the device clock (tunnel
requests, profiles, future-dated changes). A Bench ticks its in-process boards from one thread.
"""

import threading
import time
from pathlib import Path

from smets.node import Node
from smets.store import Store

from smetsbench.boards.transport import BoardLink

_BOARD = {"name": "inprocess", "link": {"port": "inprocess"}, "state_dir": None}


def _mono_ms():
    return int(time.monotonic() * 1000)


def _cpu_timer(t0=None):
    t = time.perf_counter_ns() // 1000
    return t if t0 is None else t - t0


class InProcessLink(BoardLink):
    def __init__(self, directory, name=None, on_han=None):
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        self._init_state("inprocess:%s" % directory, name or directory.name, on_han)
        # Reentrant: a frame the node sends can make the hub send one back at once.
        self._write_lock = threading.RLock()
        self._inbox = []
        self._busy = False
        self.directory = directory
        self.node = Node(dict(_BOARD, state_dir=str(directory)), Store(str(directory / "state")),
                         _mono_ms(), cpu_timer=_cpu_timer)
        self._drain()

    # -- the "port" ---------------------------------------------------------------------------
    def _write(self, data):
        with self._write_lock:
            self._inbox.append(bytes(data))
            if self._busy:
                return  # the frame being handled further up the stack will pick it up
            self._busy = True
            try:
                while self._inbox:
                    self.node.receive(self._inbox.pop(0), _mono_ms())
                    self._drain()
            finally:
                self._busy = False

    def _drain(self):
        out = self.node.take_output()
        if out:
            self._received(out)

    def tick(self):
        """Run the device clock; ms until the node wants the next tick (None: no timer)."""
        with self._write_lock:
            wait = self.node.tick(_mono_ms())
            self._drain()
            return wait

    def interrupt(self):
        raise NotImplementedError("an in-process board has no REPL")

    def release(self):
        pass

    def reopen(self, timeout=3.0):
        pass

    def close(self):
        self._closed.set()


class Ticker(threading.Thread):
    """One thread running the clocks of many in-process boards."""

    def __init__(self, interval=0.5):
        super().__init__(name="inprocess-ticker", daemon=True)
        self.links = []
        self.interval = interval
        self._stop = threading.Event()

    def run(self):
        while not self._stop.wait(self.interval):
            for lnk in list(self.links):
                try:
                    lnk.tick()
                except Exception:  # noqa: BLE001 - one broken device must not stop the others
                    pass

    def stop(self):
        self._stop.set()

