"""`smetsbench freeze OUT`: the firmware as frozen modules for a MicroPython build.

Frozen bytecode runs from the MicroPython image in flash and its names are in the image's
qstr pool: the code costs the heap only the objects it creates (on the 64-bit unix port the
ESME's resident code takes about 145 KB of heap as .mpy files, 84 KB from a ROMFS image). For an
ESP32 without PSRAM (about 110 KB free) freezing or ROMFS is the way; ROMFS needs a MicroPython
built with a ROM partition too, so for the stock ESP32 boards freezing is the way.

Writes OUT/smets/... (the board image's sources: host-only modules left out, host-only functions
blanked, as `deploy` compiles them) and OUT/manifest.py. Then, in a MicroPython checkout with
ESP-IDF set up::

    make -C ports/esp32 BOARD=ESP32_GENERIC FROZEN_MANIFEST=$OUT/manifest.py

(the board definition's `micropython.board`), flash the image with `smetsbench flash`, and
`smetsbench deploy` copies only main.py, boot.py and board.json: it finds smets frozen.
"""

import shutil
from pathlib import Path

from smetsbench import paths
from smetsbench.boards import build
from smetsbench.tools import boarddefs
from smetsbench.tools.errors import ToolError, cli_command

_MANIFEST = '''# Written by `smetsbench freeze`: the smets firmware as frozen modules.
# make -C ports/%(port)s BOARD=%(board)s FROZEN_MANIFEST=%(path)s
include("$(PORT_DIR)/boards/manifest.py")
package("smets", base_path=%(base)r, opt=2)
'''


def freeze(out, board="esp32-devkitc"):
    """Write the frozen-module tree and its manifest into `out`; returns the manifest path."""
    defn = boarddefs.load(board)
    out = Path(out).resolve()
    tree = out / "smets"
    if tree.exists():
        shutil.rmtree(tree)
    firmware = paths.firmware_dir()
    count = 0
    for name in build.image_files(compiled=False):
        if not name.startswith("lib/smets/"):
            continue
        rel = name[len("lib/"):]
        path = out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(build.strip_host_only((firmware / rel).read_bytes()))
        count += 1
    if not count:
        raise ToolError("no firmware sources found under %s" % firmware)
    manifest = out / "manifest.py"
    mp = defn.get("micropython") or {}
    manifest.write_text(_MANIFEST % {"port": mp.get("port") or "esp32",
                                     "board": mp.get("board") or "ESP32_GENERIC",
                                     "path": manifest, "base": str(out)})
    return manifest


def register(sub):
    p = sub.add_parser("freeze", help="write the firmware as frozen modules and a manifest for a "
                       "MicroPython build (code in flash, not on the heap)",
                       description=__doc__.split("\n\n")[0])
    p.add_argument("out", help="output directory (smets/ and manifest.py)")
    p.add_argument("--board", default="esp32-devkitc",
                   help="board definition whose MicroPython build it is for (default "
                   "esp32-devkitc; %s)" % ", ".join(boarddefs.names()))
    p.set_defaults(func=_main)


@cli_command
def _main(args):
    manifest = freeze(args.out, args.board)
    mp = boarddefs.load(args.board).get("micropython") or {}
    print("wrote %s; build with:\n  make -C ports/%s BOARD=%s FROZEN_MANIFEST=%s" % (
        manifest, mp.get("port") or "esp32", mp.get("board") or "ESP32_GENERIC", manifest))
    return 0
