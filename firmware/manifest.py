# MicroPython manifest: freeze the smets firmware into a board image.
#
# Frozen bytecode runs from flash, so the firmware's code costs no heap (on the 64-bit unix
# port the loaded .mpy files take about 150 KB; an ESP32 without PSRAM has about 110 KB free).
# Build from a MicroPython checkout, e.g. for an ESP32-DevKitC:
#
#   make -C ports/esp32 BOARD=ESP32_GENERIC FROZEN_MANIFEST=/path/to/smetsbench/firmware/manifest.py
#
# then `smetsbench flash` the image; main.py and boot.py stay on the filesystem
# (`smetsbench deploy` copies them, and skips lib/smets when the board reports it frozen).
include("$(PORT_DIR)/boards/manifest.py")
package("smets", opt=2)
# The CAD's MQTT client, from micropython-lib (the host build bundles its PyPI release).
require("umqtt.simple")
