"""Board definitions (boards/*.json): load by name or path, check, and read their facts.

A definition names the chip, the MicroPython build it expects (port, board, oldest release,
.mpy native architecture), the flash layout (image offset, size), the link UART, the LED,
button and display. The firmware reads the same file as /board.json on the board.
"""

import json
import re
from pathlib import Path

from smetsbench import paths
from smetsbench.tools.errors import ToolError

# sys.implementation._mpy >> 10 (MicroPython docs, "MicroPython .mpy files"; rv32imc and
# rv64imc follow in mpy-cross's -march list).
MPY_ARCHS = (None, "x86", "x64", "armv6", "armv6m", "armv7m", "armv7em", "armv7emsp",
             "armv7emdp", "xtensa", "xtensawin", "rv32imc", "rv64imc")
MPY_VERSION = 6  # what mpy-cross >= 1.19 emits and MicroPython >= 1.19 loads

_SIZE = re.compile(r"^(\d+)(KB|MB)$")


class BoardDefError(ToolError):
    """A board definition that is missing or wrong."""


def names():
    """Names of the board definitions shipped in boards/."""
    return sorted(p.stem for p in paths.boards_dir().glob("*.json"))


def path_of(board):
    """The file of a board definition given by name ('esp32-s3') or path."""
    candidate = Path(board)
    if candidate.suffix == ".json" or "/" in str(board):
        if not candidate.exists():
            raise BoardDefError("no board definition file %s" % board)
        return candidate
    path = paths.boards_dir() / (str(board) + ".json")
    if not path.exists():
        raise BoardDefError("unknown board %r; known boards: %s (or give a .json path)"
                            % (board, ", ".join(names())))
    return path


def load(board):
    """The board definition as a dict (with its raw bytes in "_raw" and file in "_path")."""
    path = path_of(board)
    raw = path.read_bytes()
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise BoardDefError("board definition %s is not JSON: %s" % (path, exc)) from None
    problems = check(data)
    if problems:
        raise BoardDefError("board definition %s: %s" % (path, "; ".join(problems)))
    data["_path"] = str(path)
    data["_raw"] = raw
    return data


def board_json(defn):
    """The bytes to install as /board.json (the file as written, not re-serialised)."""
    return defn["_raw"]


def check(data):
    """What is wrong with a board definition (a list of problems, empty when it is fine)."""
    problems = []
    if not isinstance(data, dict):
        return ["not a JSON object"]
    if not isinstance(data.get("name"), str) or not data["name"]:
        problems.append("no name")
    mp = data.get("micropython")
    if not isinstance(mp, dict):
        problems.append("no micropython section")
    else:
        try:
            parse_version(mp.get("min_version"))
        except ValueError as exc:
            problems.append("micropython.min_version: %s" % exc)
        arch = mp.get("mpy_arch")
        if arch not in MPY_ARCHS:
            problems.append("micropython.mpy_arch %r is not one of %s"
                            % (arch, ", ".join(a for a in MPY_ARCHS if a)))
    chip = data.get("chip")
    if chip is not None:
        if esptool_chip_name(chip) is None:
            problems.append("chip %r is not an esptool chip" % (chip,))
        flash = data.get("flash")
        if not isinstance(flash, dict):
            problems.append("a board with a chip needs a flash section")
        else:
            try:
                parse_int(flash.get("firmware_offset"))
            except ValueError as exc:
                problems.append("flash.firmware_offset: %s" % exc)
            if not _SIZE.match(str(flash.get("size", ""))):
                problems.append("flash.size must look like 4MB, got %r" % (flash.get("size"),))
    link = data.get("link")
    if not isinstance(link, dict) or link.get("port", "stdio") not in ("stdio", "uart"):
        problems.append("link.port must be stdio or uart")
    for part in ("led", "button"):
        cfg = data.get(part)
        if cfg is None:
            continue
        if not isinstance(cfg, dict) or not isinstance(cfg.get("pin"), int) or cfg["pin"] < 0:
            problems.append("%s needs an integer pin (or null for none)" % part)
    led = data.get("led")
    if isinstance(led, dict) and led.get("kind", "gpio") not in ("gpio", "neopixel"):
        problems.append("led.kind must be gpio or neopixel")
    button = data.get("button")
    if isinstance(button, dict) and button.get("pull", "up") not in ("up", "down", None):
        problems.append("button.pull must be up, down or null")
    problems.extend(_check_display(data.get("display")))
    return problems


# What each display type needs besides its size (smets.runtime.display).
_DISPLAY_PINS = {"framebuffer": (), "text": (), "ssd1306": ("i2c",),
                 "st7789": ("spi", "cs", "dc")}


def _check_display(cfg):
    if cfg is None:
        return []
    if not isinstance(cfg, dict) or cfg.get("type") not in _DISPLAY_PINS:
        return ["display.type must be one of %s (or display null)" % ", ".join(_DISPLAY_PINS)]
    problems = []
    for key in ("width", "height"):
        if key in cfg and (not isinstance(cfg[key], int) or cfg[key] <= 0):
            problems.append("display.%s must be a positive integer" % key)
    for key in _DISPLAY_PINS[cfg["type"]]:
        if key not in cfg:
            problems.append("a %s display needs %s" % (cfg["type"], key))
    bus = cfg.get("i2c") or cfg.get("spi")
    if bus is not None and not isinstance(bus, dict):
        problems.append("display bus must be an object of pins")
    return problems


def parse_int(value):
    if isinstance(value, int):
        return value
    if not isinstance(value, str):
        raise ValueError("expected a number, got %r" % (value,))
    return int(value, 0)


def parse_version(text):
    """(major, minor, micro) from '1.24.0', '1.24' or 'v1.24.0-preview'."""
    if isinstance(text, (tuple, list)):
        parts = [int(p) for p in list(text)[:3] if isinstance(p, int)]
    else:
        match = re.match(r"^v?(\d+)\.(\d+)(?:\.(\d+))?", str(text or ""))
        if not match:
            raise ValueError("not a version: %r" % (text,))
        parts = [int(p) for p in match.groups() if p is not None]
    while len(parts) < 3:
        parts.append(0)
    return tuple(parts[:3])


def version_text(version):
    return ".".join(str(v) for v in parse_version(version))


def flash_bytes(size):
    """Bytes from '4MB' / '512KB'."""
    match = _SIZE.match(str(size))
    if not match:
        raise ValueError("not a flash size: %r" % (size,))
    return int(match.group(1)) * (1024 * 1024 if match.group(2) == "MB" else 1024)


def decode_mpy(value):
    """(version, sub-version, arch or None) of sys.implementation._mpy."""
    value = int(value or 0)
    arch_index = value >> 10
    arch = MPY_ARCHS[arch_index] if arch_index < len(MPY_ARCHS) else "arch%d" % arch_index
    return value & 0xFF, (value >> 8) & 3, arch


def esptool_chip_name(chip):
    """esptool's name for a chip key ('esp32s3' -> 'ESP32-S3'), None when unknown."""
    try:
        from esptool.targets import CHIP_DEFS
    except ImportError:  # esptool missing: accept the common names
        return {"esp32": "ESP32", "esp32s3": "ESP32-S3", "esp32c6": "ESP32-C6"}.get(chip)
    cls = CHIP_DEFS.get(str(chip).lower())
    return cls.CHIP_NAME if cls is not None else None


def chip_from_machine(machine):
    """The chip key named in sys.implementation._machine ('Generic ESP32S3 module with
    ESP32S3' -> 'esp32s3'), or None when it names none."""
    match = re.search(r"with\s+(ESP32[A-Z0-9-]*)", str(machine or ""), re.IGNORECASE)
    if not match:
        return None
    return match.group(1).lower().replace("-", "")
