# smets firmware entry point: runs after boot.py on the board (and on virtual boards).
# Ctrl-C on the link returns to the REPL; `import main` starts the app again.
import sys


def _mount_rom():
    """Bytes of the heap the firmware's ROMFS image takes (0 where it takes none).

    The firmware's code is best kept off the heap: in a ROMFS partition (MicroPython >= 1.25:
    the port mounts it at /rom and puts /rom/lib on sys.path, and .mpy bytecode runs in place
    from flash) or frozen into the MicroPython image (firmware/manifest.py). A virtual board has
    no flash to map: its partition is the file romfs.img, read here into one buffer taken first,
    before the heap fragments, and mounted the same way. That buffer stands for flash, so the
    firmware reports its heap figures without it."""
    if "/rom/lib" in sys.path:
        return 0
    try:
        import os

        import vfs

        size = os.stat("romfs.img")[6]
    except (ImportError, OSError, AttributeError):
        return 0
    rom = bytearray(size)
    with open("romfs.img", "rb") as f:
        f.readinto(rom)
    try:
        vfs.mount(vfs.VfsRom(rom), "/rom")
    except OSError as exc:
        # A damaged image: say so and go on with whatever lib/ holds (`deploy` mends it).
        print("smets: romfs.img is not a ROMFS image (%r); not mounted" % exc)
        return 0
    sys.path.insert(0, "/rom/lib")
    return size


_rom_bytes = _mount_rom()
if "lib" not in sys.path and "/lib" not in sys.path:
    sys.path.append("lib")

from smets.runtime import app  # noqa: E402

if app.ran:
    # `import main` at the REPL after a Ctrl-C: boot again (soft reset; a virtual board's
    # process ends and its supervisor starts it again), so that the app gets the whole heap
    # and runs the code now on flash.
    app.reboot(soft=True)
app.ran = True
app.run(rom_bytes=_rom_bytes)
