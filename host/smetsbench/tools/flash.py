"""`smetsbench flash --port P --board B FIRMWARE.bin`: write a MicroPython image with esptool.

    from smetsbench.tools.flash import flash
    result = flash("/dev/ttyUSB0", "esp32-devkitc", "ESP32_GENERIC-20260824-v1.29.0.bin",
                   progress=lambda done, total, what: ...)

Uses esptool's public Python API (esptool.cmds: detect_chip, run_stub, attach_flash,
read_flash, erase_flash, write_flash, verify_flash, reset_chip), as its "Embedding into
Custom Scripts" page describes. Before touching the board it checks the image: an ESP image
(magic 0xE9) built for the board definition's chip. After connecting it checks the chip
esptool detects against the board definition. The image goes to the board's
flash.firmware_offset (MicroPython's download pages: 0x1000 on the ESP32, 0x0 on the S3 and
C6). erase="auto" erases the whole flash only when no ESP image is at that offset yet (a
first MicroPython install, as MicroPython's instructions say); re-flashing keeps the
filesystem, and so the deployed firmware and the board's identity. write_flash checks the
written data's MD5; verify_flash reads it back again.
"""

import sys
import time

import serial

from smetsbench.tools import boarddefs
from smetsbench.tools.errors import ToolError, cli_command
from smetsbench.tools.probe import busy_message, check_port_exists

ESP_IMAGE_MAGIC = 0xE9


class FlashResult:
    def __init__(self):
        self.port = None
        self.chip = None
        self.description = None
        self.offset = None
        self.size = None
        self.erased = False
        self.verified = False
        self.seconds = None

    def summary(self):
        return ("%s: %s, %d bytes at 0x%x%s%s in %.1f s" % (
            self.port, self.description or self.chip, self.size, self.offset,
            ", flash erased first" if self.erased else "",
            ", verified" if self.verified else "", self.seconds or 0))


def image_chip(data):
    """The esptool chip key ('esp32s3') an ESP image header is built for; ToolError if `data`
    is not an ESP image."""
    from esptool.targets import CHIP_DEFS

    if len(data) < 24 or data[0] != ESP_IMAGE_MAGIC:
        raise ToolError("not an ESP firmware image (it does not start with 0xE9): is it a "
                        "MicroPython .bin for an ESP32 board? (.uf2, .elf and .hex files are "
                        "not)")
    chip_id = int.from_bytes(data[12:14], "little")  # extended header chip_id (esptool docs)
    for key, cls in CHIP_DEFS.items():
        if getattr(cls, "IMAGE_CHIP_ID", None) == chip_id and key != "esp8266":
            return key
    raise ToolError("the image names chip id %d, which this esptool does not know" % chip_id)


class _Logger:
    """esptool output to `out`, progress to `progress(done, total, what)`."""

    def __init__(self, out, progress):
        from esptool.logger import TemplateLogger

        outer = self

        class Logger(TemplateLogger):
            def print(self, *args, **kwargs):
                text = " ".join(str(a) for a in args).strip()
                if text and outer.out:
                    outer.out(text)

            def note(self, message):
                self.print("note: %s" % message)

            def warning(self, message):
                self.print("warning: %s" % message)

            def error(self, message):
                self.print("error: %s" % message)

            def stage(self, finish=False):
                pass

            def progress_bar(self, cur_iter, total_iters, prefix="", suffix="", bar_length=30):
                if outer.progress:
                    outer.progress(cur_iter, total_iters, prefix.strip())

            def set_verbosity(self, verbosity):
                pass

        self.out = out
        self.progress = progress
        self.logger = Logger()

    def __enter__(self):
        from esptool.logger import log

        try:  # esptool >= 5.x on esp-pylib: the active logger is EspLog.instance
            from esp_pylib.logger import EspLog

            self._saved = EspLog.instance
        except ImportError:
            self._saved = None
        log.set_logger(self.logger)
        return self

    def __exit__(self, *exc):
        try:
            from esp_pylib.logger import EspLog
        except ImportError:
            from esptool.logger import EsptoolLogger, log

            log.set_logger(EsptoolLogger())
            return
        EspLog.instance = self._saved


def _connect_error(port, exc):
    text = str(exc)
    lowered = text.lower()
    if "busy" in lowered or "lock" in lowered or "in use" in lowered:
        return ToolError(busy_message(port))
    if "could not open" in lowered or "no such file" in lowered:
        return ToolError("cannot open %s: %s" % (port, text))
    return ToolError("no ESP ROM bootloader answered on %s (%s). Put the board in its "
                     "bootloader: most DevKitC boards enter it by themselves over the "
                     "USB-to-UART port; otherwise hold Boot and press EN/Reset. A virtual board "
                     "has no bootloader: use `smetsbench deploy`." % (port, text.strip()))


def flash(port, board, firmware, erase="auto", verify=True, baud=460800, before="default-reset",
          after="hard-reset", connect_attempts=7, out=None, progress=None):
    """Write the MicroPython image `firmware` (path or bytes) to the board on `port`, which
    the board definition `board` describes. Returns a FlashResult; ToolError on any failure."""
    from esptool.cmds import (
        attach_flash,
        detect_chip,
        erase_flash,
        read_flash,
        reset_chip,
        run_stub,
        verify_flash,
        write_flash,
    )
    from esptool.util import FatalError

    t0 = time.monotonic()
    defn = boarddefs.load(board)
    if defn.get("chip") is None:
        raise ToolError("board %s has no flash to write: a virtual board runs the MicroPython "
                        "unix port; install the firmware with `smetsbench deploy`"
                        % defn["name"])
    if isinstance(firmware, (bytes, bytearray)):
        data = bytes(firmware)
        name = "image"
    else:
        try:
            with open(firmware, "rb") as f:
                data = f.read()
        except OSError as exc:
            raise ToolError("cannot read firmware %s: %s" % (firmware, exc.strerror)) from None
        name = str(firmware)
    want = defn["chip"].lower()
    want_name = boarddefs.esptool_chip_name(want)
    try:
        got = image_chip(data)
    except ToolError as exc:
        raise ToolError("%s: %s" % (name, exc)) from None
    if got != want:
        raise ToolError("%s is built for %s, but board %s has an %s: download the %s image "
                        "(%s)" % (name, boarddefs.esptool_chip_name(got), defn["name"],
                                  want_name, defn["micropython"].get("board", want_name),
                                  defn["micropython"].get("download", "micropython.org")))
    offset = boarddefs.parse_int(defn["flash"]["firmware_offset"])
    capacity = boarddefs.flash_bytes(defn["flash"]["size"])
    if offset + len(data) > capacity:
        raise ToolError("%s (%d bytes at 0x%x) does not fit the %s flash of board %s"
                        % (name, len(data), offset, defn["flash"]["size"], defn["name"]))
    check_port_exists(port)
    result = FlashResult()
    result.port, result.offset, result.size = port, offset, len(data)
    say = out or (lambda text: None)
    with _Logger(out, progress):
        try:
            esp = detect_chip(port, baud=115200, connect_mode=before,
                              connect_attempts=connect_attempts)
        except (FatalError, serial.SerialException, OSError) as exc:
            raise _connect_error(port, exc) from None
        try:
            result.chip = esp.CHIP_NAME
            result.description = esp.get_chip_description()
            if esp.CHIP_NAME != want_name:
                raise ToolError("%s has an %s (%s), but board %s has an %s: wrong --board, or "
                                "another board on this port" % (
                                    port, esp.CHIP_NAME, result.description, defn["name"],
                                    want_name))
            say("%s: %s" % (port, result.description))
            esp = run_stub(esp)
            if baud and baud != 115200 and not port.startswith(("socket://", "rfc2217://")):
                esp.change_baud(baud)
            attach_flash(esp)
            if erase == "auto":
                head = read_flash(esp, offset, 16, no_progress=True)
                erase = not head or head[0] != ESP_IMAGE_MAGIC
                say("%s: %s" % (port, "no image at 0x%x yet: erasing the whole flash first"
                                % offset if erase else
                                "an image is already at 0x%x: keeping the filesystem"
                                % offset))
            if erase:
                erase_flash(esp)
                result.erased = True
            write_flash(esp, [(offset, data)])
            if verify:
                verify_flash(esp, [(offset, data)])
                result.verified = True
            reset_chip(esp, after)
        except FatalError as exc:
            raise ToolError("%s: flashing failed: %s" % (port, exc)) from None
        except (serial.SerialException, OSError) as exc:
            raise ToolError("%s: the port failed while flashing: %s" % (port, exc)) from None
        finally:
            try:
                esp._port.close()
            except Exception:  # noqa: BLE001 - closing a dead port
                pass
    result.seconds = time.monotonic() - t0
    say(result.summary())
    return result


def register(sub):
    p = sub.add_parser(
        "flash",
        help="write a MicroPython image to an ESP32 board (esptool), erasing where needed",
        description=__doc__.split("\n\n")[0],
    )
    p.add_argument("--port", required=True, help="the board's port (any pyserial URL)")
    p.add_argument("--board", required=True,
                   help="board definition (%s) or .json path" % ", ".join(boarddefs.names()))
    p.add_argument("firmware", help="MicroPython .bin for the board (see boards/<board>.json "
                   "micropython.firmware)")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--erase", dest="erase", action="store_const", const=True,
                       default="auto", help="erase the whole flash first (loses the filesystem)")
    group.add_argument("--no-erase", dest="erase", action="store_const", const=False,
                       help="never erase the whole flash")
    p.add_argument("--no-verify", action="store_true", help="skip the read-back verification")
    p.add_argument("--baud", type=int, default=460800, help="flashing baud rate (default 460800)")
    p.add_argument("--before", default="default-reset",
                   choices=("default-reset", "usb-reset", "no-reset", "no-reset-no-sync"),
                   help="how esptool enters the bootloader")
    p.add_argument("--after", default="hard-reset",
                   choices=("hard-reset", "soft-reset", "no-reset", "watchdog-reset"),
                   help="what esptool does afterwards")
    p.set_defaults(func=_main)


def _print_progress(done, total, what):
    pct = 100.0 * done / total if total else 100.0
    end = "\n" if done >= total else ""
    sys.stdout.write("\r  %-28s %5.1f%% %d/%d%s" % (what[:28], pct, done, total, end))
    sys.stdout.flush()


@cli_command
def _main(args):
    flash(args.port, args.board, args.firmware, erase=args.erase, verify=not args.no_verify,
          baud=args.baud, before=args.before, after=args.after, out=print,
          progress=_print_progress if sys.stdout.isatty() else None)
    return 0
