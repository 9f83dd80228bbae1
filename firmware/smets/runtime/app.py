"""The board's main loop: port <-> Node, with the device clock ticking in between.

A plain select.poll loop rather than asyncio: one port, one timer and no concurrent tasks, so it
is smaller on the ESP32 heap and has no scheduling latency on the hot path.
"""

import gc
import json
import select
import sys

from smets.node import Node, _exc_text
from smets.runtime import hal
from smets.store import Store

# Set by main.py once the app has run in this process (`import main` again at the REPL).
ran = False

_IDLE_MS = 1000
_QUIET_MS = 100
_HANGUP = select.POLLHUP | select.POLLERR
# Wake-ups with nothing to read in a row before the port counts as hung up (one can be a
# spurious wake-up; a dead pty gives them back to back).
_MAX_SILENT_WAKEUPS = 50


def _ticks_ms():
    import time

    f = getattr(time, "ticks_ms", None)
    if f:
        return f()
    return int(time.monotonic() * 1000)


def _ticks_diff(a, b):
    import time

    f = getattr(time, "ticks_diff", None)
    if f:
        return f(a, b)
    return a - b


class Monotonic:
    """Wrap-free milliseconds since boot from ticks_ms (which wraps on the ESP32)."""

    def __init__(self):
        self._last = _ticks_ms()
        self._total = 0

    def __call__(self):
        t = _ticks_ms()
        self._total += _ticks_diff(t, self._last)
        self._last = t
        return self._total


def _cpu_timer():
    """timer() -> start token; timer(token) -> microseconds since (wrap-safe on MicroPython)."""
    import time

    ticks_us = getattr(time, "ticks_us", None)
    if ticks_us is None:

        def timer(t0=None):
            t = time.perf_counter_ns() // 1000
            return t if t0 is None else t - t0

        return timer
    diff = time.ticks_diff

    def timer(t0=None):
        t = ticks_us()
        return t if t0 is None else diff(t, t0)

    return timer


def load_board(path="board.json"):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError) as exc:
        sys.stdout.write("smets: cannot read %s (%s); using defaults\n" % (path, exc))
        return {"name": "unknown", "link": {"port": "stdio"}, "state_dir": "state"}


def run(board_path="board.json", rom_bytes=0):
    """Run the board until Ctrl-C, a reset or a hang-up. `rom_bytes`: heap taken by the image of
    a ROMFS partition that a virtual board holds in its heap (main.py), left out of the heap
    figures the board reports."""
    board = load_board(board_path)
    mono = Monotonic()
    store = Store(board.get("state_dir") or "state")
    port = hal.open_port(board)
    node = None
    hung_up = False
    try:
        node = Node(board, store, mono(), cpu_timer=_cpu_timer(), rom_bytes=rom_bytes)
        io = _open_io(board, node)
        han_seen = 0
        io_wait = None
        poller = select.poll()
        poller.register(port.poll_obj, select.POLLIN)
        _flush(node, port)
        wait = _tick(node, mono())
        last_rx = mono()
        busy = False
        silent_wakeups = 0
        while not node.interrupted and not node.reboot_requested:
            try:
                timeout = _IDLE_MS if wait is None else min(wait, _IDLE_MS)
                if io_wait is not None:
                    timeout = min(timeout, io_wait)
                events = poller.poll(timeout)
                if events:
                    last_rx = mono()
                    busy = True
                    data = port.read(_read_limit(node))
                    # The far end of the port is gone (the host of a virtual board died): poll
                    # keeps reporting it ready with nothing to read. Stop instead of spinning.
                    if events[0][1] & _HANGUP or not data:
                        silent_wakeups += 1
                        if events[0][1] & _HANGUP or silent_wakeups > _MAX_SILENT_WAKEUPS:
                            hung_up = True
                            break
                    else:
                        silent_wakeups = 0
                    while data:
                        _receive(node, data, mono())
                        if node.interrupted:
                            break
                        data = port.read(_read_limit(node))
                else:
                    if busy:
                        # Idle: collect now rather than in the middle of the next command.
                        gc.collect()
                        busy = False
                    if mono() - last_rx > _QUIET_MS:
                        # A quiet line: a host that died mid-frame must not hide a later Ctrl-C.
                        _idle(node, mono())
                wait = _tick(node, mono())
                if io is not None:
                    han = node.counters["han_in"] + node.counters["han_out"]
                    if han != han_seen:
                        han_seen = han
                        io.activity(mono())
                    pressed, io_wait = io.poll(mono())
                    if pressed:
                        _button(node, mono())
                _flush(node, port)
            except MemoryError as exc:
                # Outside the guarded frame and clock handling (reading the port, writing
                # frames): wait for the heap to free up rather than end the app.
                _survived(node, exc, "in the main loop")
    finally:
        try:
            if node is not None:
                if not node.reboot_requested:  # CONTROL reset has done it
                    node.shutdown(mono())  # Ctrl-C, a host gone: nothing only in RAM is lost
                _flush(node, port)
        finally:
            port.close()
    if node.reboot_requested:
        reboot()
    if hung_up:
        sys.exit(0)
    # Ctrl-C on the link: fall through to the REPL (mpremote works from here).
    sys.stdout.write("\r\nsmets: stopped, REPL\r\n")


def _open_io(board, node):
    """The board's LED and button (board.json "led"/"button"), None when it has neither (the
    virtual board: the module is not even imported, its heap is for the device). A bad entry
    is logged, not fatal."""
    if not board.get("led") and not board.get("button"):
        return None
    try:
        from smets.runtime import board_io

        return board_io.open_io(board)
    except Exception as exc:  # noqa: BLE001 - a wrong pin must not brick the board
        node.log("E", "LED/button from board.json unusable: %s: %s" % (type(exc).__name__, exc))
        return None


def _button(node, mono_ms):
    """The consumer pressed the board's button: the device's local button action."""
    button = getattr(node.device, "button", None)
    if button is None:
        node.log("I", "button pressed (nothing to do for role %s)" % (node.role,))
        return
    try:
        # The device says what its button did ("load switch closed" for an ESME).
        what = button(node.clock.now(mono_ms))
    except Exception as exc:  # noqa: BLE001
        node.log("E", "button action failed: %s: %s" % (type(exc).__name__, exc))
        return
    node.log("I", "button pressed: %s" % (what,))


def _idle(node, mono_ms):
    """Drop a partial frame on a quiet line. Frames still unread because handling an earlier
    one failed (MemoryError) are handled first: idle() refuses to run past unread input."""
    _receive(node, b"", mono_ms)
    try:
        node.decoder.idle()
    except ValueError as exc:  # LinkError: still unread (failing again); try next time
        node.log("E", "link idle: %s" % exc)


def _flush(node, port):
    """Write the node's frames to the port, one at a time, each leaving the queue once written
    (nothing is allocated here: out of memory, the rest waits for the next turn)."""
    out = node.outbox()
    while out:
        port.write(out[0])
        out.pop(0)


def _read_limit(node):
    """Between frames, read byte by byte: a Ctrl-C there stops the app, and what follows it
    (mpremote's Ctrl-A for the raw REPL, sent at once) must stay in the port for the REPL
    instead of being swallowed with the rest of a chunk. Inside a frame, chunks."""
    return 1 if node.decoder.outside else 0


def _receive(node, data, mono_ms):
    """Feed the node; a MemoryError or a bug in one frame must not take the board down."""
    try:
        node.receive(data, mono_ms)
    except Exception as exc:  # noqa: BLE001 - the board must stay up and say why
        _survived(node, exc, "handling a frame (dropped)")


def _tick(node, mono_ms):
    """Run the device clock (ms until the next tick), surviving like `_receive`."""
    try:
        return node.tick(mono_ms)
    except Exception as exc:  # noqa: BLE001
        _survived(node, exc, "on the device clock")
    return 1000  # try again soon rather than never


def _survived(node, exc, where):
    """Count and log an error the main loop caught: out of memory (with where it ran out) or a
    bug."""
    if isinstance(exc, MemoryError):
        gc.collect()
        node.counters["memory_errors"] = node.counters.get("memory_errors", 0) + 1
        node.log("E", "out of memory %s: %s" % (where, _exc_text(exc, True)))
    else:
        node.counters["crashes"] = node.counters.get("crashes", 0) + 1
        node.log("E", "internal error %s: %s: %s" % (where, type(exc).__name__, exc))


def reboot(soft=False):
    """Start the board again: a reset (CONTROL reset), or with `soft` a soft reset (the app
    started again from the REPL after a Ctrl-C: a fresh heap and the code now on flash, as at
    boot, rather than a second app beside the remains of the first)."""
    try:
        import machine

        if soft:
            machine.soft_reset()
        machine.reset()
    except (ImportError, AttributeError):
        pass
    # Unix port and CPython: the virtual board's supervisor restarts an exited process. The
    # unix port runs main.py with -i, where a SystemExit lands in the REPL instead of ending
    # the process: end it from the shell (sh's $PPID is this process).
    if sys.implementation.name == "micropython":
        import os

        system = getattr(os, "system", None)
        if system is not None:
            system("kill -TERM $PPID")
    sys.exit(0)
