"""Displays for the IHD: a frame buffer the device draws into, and where it goes.

Every display has `fb` (a MicroPython `framebuf.FrameBuffer`), `buf` (its bytes), `width`,
`height`, `format` (the framebuf format name) and `show()`. `MemoryDisplay` keeps the frame in
RAM only: the virtual board's screen, which the host fetches (CONTROL "screen") and saves as a
PNG. The panel drivers of real boards (SSD1306 OLED on I2C, ST7789 TFT on SPI) are IO and live
in `smets.runtime.display`, chosen by the board definition's "display" entry; they draw the
same monochrome frame.
"""


class MemoryDisplay:
    def __init__(self, width=240, height=136):
        import framebuf

        self.width = width
        self.height = height
        self.format = "MONO_HLSB"
        self.buf = bytearray(((width + 7) // 8) * height)
        self.fb = framebuf.FrameBuffer(self.buf, width, height, framebuf.MONO_HLSB)
        self.frames = 0

    def show(self):
        self.frames += 1


def memory_display(cfg=None):
    """A MemoryDisplay sized by a board's display entry ({"width", "height"}), or None where
    there is no `framebuf` module (CPython: the IHD then keeps only its text screen)."""
    cfg = cfg or {}
    try:
        return MemoryDisplay(int(cfg.get("width", 240)), int(cfg.get("height", 136)))
    except ImportError:
        return None
