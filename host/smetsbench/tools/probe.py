"""Reaching a board: open its port with clear errors, and find out what it runs.

`open_link(port)` opens a BenchLink (a BoardLink that also counts the firmware's boots) and
turns pyserial failures into ToolErrors that say what to do: no such port, port busy.
`firmware_status(link)` asks the smets firmware for its status; when nothing answers it looks
at the raw line to tell "MicroPython without the smets firmware" from "no answer at all", and
it refuses firmware older than the one this smetsbench drives.
"""

import os
import time

import serial
from smets import link as linkproto
from smets.node import FIRMWARE_VERSION

from smetsbench.boards.transport import BoardError, BoardLink
from smetsbench.tools.boarddefs import parse_version
from smetsbench.tools.errors import ToolError

FIRMWARE_PROBE_TIMEOUT = 3.0


class BenchLink(BoardLink):
    """A BoardLink that counts the firmware's boots (its "smets ... up" LOG line), so a bench
    can see a real board come back after a reset."""

    def __init__(self, *args, **kwargs):
        self.boots = 0
        super().__init__(*args, **kwargs)

    def _dispatch(self, frame):
        if frame.type == linkproto.LOG:
            text = bytes(frame.payload)
            if text.startswith(b"Ismets ") and b" up, role " in text:
                self.boots += 1
        super()._dispatch(frame)


def is_local_path(port):
    return "://" not in str(port)


def check_port_exists(port):
    if is_local_path(port) and not os.path.exists(port):
        raise ToolError("no such port %s: is the board plugged in (and powered)? Boards usually "
                        "appear as /dev/ttyUSB* or /dev/ttyACM*; a virtual board's port is the "
                        "pty `smetsbench virtual` prints" % port)


def open_link(port, baudrate=115200, name=None, open_timeout=2.0):
    """A BenchLink on `port` (any pyserial URL), or a ToolError saying why not."""
    check_port_exists(port)
    try:
        return BenchLink(port, baudrate=baudrate, name=name, open_timeout=open_timeout)
    except BoardError as exc:
        text = str(exc)
        if "busy" in text:
            raise ToolError(busy_message(port)) from None
        raise ToolError(_open_error(port, text)) from None
    except (serial.SerialException, OSError, ValueError) as exc:
        # Network URLs fail in their own ways: refused, reset, a server that turns us away.
        raise ToolError(_open_error(port, exc)) from None


def _open_error(port, why):
    if str(port).startswith("rfc2217://"):
        return ("cannot use %s: %s (is `smetsbench share` running there, and is no one else "
                "connected to it?)" % (port, why))
    return "cannot open %s: %s" % (port, why)


def busy_message(port):
    return ("port %s is busy: another program has it open (a running test or bench, mpremote, "
            "a serial monitor, `smetsbench share`); close it and try again" % port)


def firmware_status(link, timeout=FIRMWARE_PROBE_TIMEOUT, require_current=True):
    """The smets firmware's status on `link`. ToolError when the board runs no smets firmware
    (telling MicroPython-without-firmware from silence) or, with require_current, firmware
    older than this smetsbench's."""
    try:
        status = link.control("status", timeout=timeout)
    except BoardError as exc:
        if link.error:
            raise ToolError("%s: port failed: %s" % (link.url, link.error)) from None
        if any(r.direction == "<" for r in link.history) or link.logs:
            # Frames arrive: the firmware runs but is busy (or stuck); a Ctrl-C would stop it.
            raise ToolError("%s: the smets firmware sends frames but did not answer status "
                            "within %.0f s\n%s" % (link.url, timeout, link.tail())) from exc
        what = diagnose(link)
        raise ToolError("%s: the smets firmware does not answer (%s)" % (link.url, what)) \
            from exc
    if require_current:
        check_firmware_version(link.url, status)
    return status


def restart(link, timeout=30.0, boots=None):
    """Reboot the board through the firmware (CONTROL reset) and wait until it answers again;
    returns its status. A provisioned board is restarted before it is provisioned again: a
    long-running device model leaves the heap too fragmented for a second one on small
    boards. `boots`: a function giving the board's boot count (default: the link's `boots`,
    where it has one), so that the wait ends at the new boot, not after a fixed second."""
    if boots is None and hasattr(link, "boots"):
        def boots():
            return link.boots
    before = boots() if boots is not None else None
    try:
        link.control("reset", timeout=5.0)
    except BoardError:
        pass  # it may reset before the reply gets out
    if before is None:  # a plain BoardLink does not see boots: give the reboot a moment
        time.sleep(1.0)
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        if before is not None and boots() == before:
            time.sleep(0.05)
            continue
        try:
            return link.control("status", timeout=1.0)
        except BoardError as exc:
            last = exc
    raise ToolError("%s did not come back within %.0f s of a reset (%s)\n%s"
                    % (link.url, timeout, last or "no boot seen", link.tail()))


def check_firmware_version(port, status):
    version = status.get("firmware")
    try:
        old = parse_version(version) < parse_version(FIRMWARE_VERSION)
    except ValueError:
        old = True
    if old:
        raise ToolError("%s runs smets firmware %s, older than %s which this smetsbench drives: "
                        "update it with `smetsbench deploy --port %s`"
                        % (port, version, FIRMWARE_VERSION, port))


def probe_repl(url, baudrate=115200, wait=1.0):
    """What answers on a port where no smets frames come: ("repl", data) when a MicroPython
    prompt appears after a Ctrl-C and a newline, ("other", data) for other bytes, ("silent",
    b"") for none. The port must be free (the caller's link released)."""
    try:
        port = serial.serial_for_url(url, baudrate=baudrate, timeout=0.05, exclusive=True)
    except (serial.SerialException, OSError) as exc:
        text = str(exc).lower()
        if "busy" in text or "lock" in text:
            raise ToolError(busy_message(url)) from None
        raise ToolError("cannot open %s: %s" % (url, exc)) from None
    try:
        port.reset_input_buffer()
        port.write(b"\r\x03\x03\r\n")
        port.flush()
        data = b""
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            data += port.read(256)
            if b">>> " in data:
                break
    finally:
        port.close()
    if b">>>" in data or b"MicroPython" in data:
        return "repl", data
    return ("other", data) if data else ("silent", b"")


def diagnose(link, wait=1.0):
    """Why the smets firmware does not answer on `link`, as advice (releases the link)."""
    link.release()
    try:
        kind, data = probe_repl(link.url, link.baudrate, wait)
    except ToolError as exc:
        return "and the port cannot be reopened: %s" % exc
    if kind == "repl":
        return ("MicroPython answers but the smets firmware is not running: install it with "
                "`smetsbench deploy --port %s`" % link.url)
    if kind == "other":
        return ("the board sends %d bytes that are neither smets frames nor a MicroPython "
                "prompt (%r...): another firmware, the ROM bootloader, or a wrong baud rate; "
                "flash MicroPython with `smetsbench flash` and deploy the firmware"
                % (len(data), data[:40]))
    return ("nothing answers: check the cable and power, that this is the board's port, and "
            "that it has MicroPython (`smetsbench flash`) and the smets firmware "
            "(`smetsbench deploy`)")
