# MicroPython manifest: freeze the smets firmware into a board image.
#
# Frozen bytecode runs from flash and its names live in the image's qstr pool, so the code costs
# the heap only the objects it creates (`smetsbench bench` prints each role's code and data
# heap; an ESP32 without PSRAM has about 110 KB free). Prefer `smetsbench freeze OUT`, which
# writes the board image's sources (host-only modules and functions left out) with a manifest
# of their own; this one freezes the whole package as it is in the checkout:
#
#   make -C ports/esp32 BOARD=ESP32_GENERIC FROZEN_MANIFEST=/path/to/smetsbench/firmware/manifest.py
#
# then `smetsbench flash` the image; main.py and boot.py stay on the filesystem
# (`smetsbench deploy` copies them, and leaves lib/smets out when it finds smets frozen).
include("$(PORT_DIR)/boards/manifest.py")
package("smets", opt=2)
