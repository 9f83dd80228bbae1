"""Display panels of real boards, chosen by the board definition's "display" entry.

    {"type": "framebuffer", "width": 240, "height": 136}      a frame in RAM (virtual board)
    {"type": "ssd1306", "width": 128, "height": 64, "i2c": {"id": 0, "sda": 4, "scl": 15,
     "freq": 400000}, "address": 60, "reset": 16}            128x64 OLED (Heltec WiFi Kit 32)
    {"type": "st7789", "width": 240, "height": 135, "spi": {"id": 1, "sck": 18, "mosi": 19,
     "baudrate": 40000000}, "cs": 5, "dc": 16, "reset": 23, "backlight": 4,
     "x_offset": 40, "y_offset": 53, "madctl": 96, "invert": true}   1.14" TFT (T-Display)

Each driver has the interface of smets.display.MemoryDisplay (fb, buf, width, height, format,
show()), and takes its bus and pins as objects (hardware injected, as micropython-lib's
drivers do) so the unix port tests them with stand-ins that record the bytes. The SSD1306 keeps
its frame in the controller's own layout (MONO_VLSB, a page of 8 rows per byte: SSD1306
datasheet 8.7) and sends it whole; the ST7789 keeps a 1-bit frame and expands it to RGB565 a
band of rows at a time through a two-colour palette (framebuf blit), so the heap holds 4 KB of
frame instead of 64 KB.
"""

import framebuf


class SSD1306:
    """Solomon SSD1306 128x64 OLED on I2C (datasheet 10: fundamental, addressing, hardware
    configuration, timing and charge pump commands, in the datasheet's power-on order)."""

    _INIT = (
        b"\xae",  # display off
        b"\x20\x00",  # horizontal addressing
        b"\x40",  # start line 0
        b"\xa1",  # column 127 is SEG0 (panel mounted rotated)
        b"\xa8\x3f",  # multiplex 64
        b"\xc8",  # COM scan from COM63
        b"\xd3\x00",  # no vertical offset
        b"\xda\x12",  # alternative COM pins
        b"\xd5\x80",  # clock divide / oscillator
        b"\xd9\xf1",  # pre-charge (internal charge pump)
        b"\xdb\x30",  # VCOMH deselect level
        b"\x81\xcf",  # contrast
        b"\xa4",  # follow RAM
        b"\xa6",  # not inverted
        b"\x8d\x14",  # charge pump on
        b"\xaf",  # display on
    )

    def __init__(self, i2c, width=128, height=64, address=0x3C, reset=None, sleep_ms=None):
        self.i2c = i2c
        self.address = address
        self.width = width
        self.height = height
        self.format = "MONO_VLSB"
        self.buf = bytearray(width * height // 8)
        self.fb = framebuf.FrameBuffer(self.buf, width, height, framebuf.MONO_VLSB)
        self.frames = 0
        if reset is not None:
            reset.value(0)
            if sleep_ms:
                sleep_ms(10)
            reset.value(1)
        for cmd in self._INIT:
            self.command(cmd)

    def command(self, cmd):
        for b in cmd:
            self.i2c.writeto(self.address, bytes((0x80, b)))  # Co=1, D/C#=0: one command

    def show(self):
        self.command(bytes((0x21, 0, self.width - 1)))  # columns
        self.command(bytes((0x22, 0, self.height // 8 - 1)))  # pages
        self.i2c.writevto(self.address, (b"\x40", self.buf))  # D/C#=1: display data
        self.frames += 1


class ST7789:
    """Sitronix ST7789V TFT on SPI, 16-bit colour (datasheet 9.1: SWRESET, SLPOUT, COLMOD,
    MADCTL, INVON, NORON, DISPON; CASET / RASET / RAMWR to write a window)."""

    BAND = 8  # rows expanded to RGB565 at a time

    def __init__(self, spi, cs, dc, width=240, height=135, reset=None, backlight=None,
                 x_offset=40, y_offset=53, madctl=0x60, invert=True, ink=0xFFFF, paper=0x0000,
                 sleep_ms=None):
        self.spi = spi
        self.cs = cs
        self.dc = dc
        self.width = width
        self.height = height
        self.x_offset = x_offset
        self.y_offset = y_offset
        self.format = "MONO_HLSB"
        self.buf = bytearray(((width + 7) // 8) * height)
        self.fb = framebuf.FrameBuffer(self.buf, width, height, framebuf.MONO_HLSB)
        self.band = bytearray(width * 2 * self.BAND)
        self.band_fb = framebuf.FrameBuffer(self.band, width, self.BAND, framebuf.RGB565)
        # The panel takes each pixel high byte first; framebuf stores RGB565 little-endian.
        self.palette = framebuf.FrameBuffer(bytearray(4), 2, 1, framebuf.RGB565)
        self.palette.pixel(0, 0, _swap(paper))
        self.palette.pixel(1, 0, _swap(ink))
        self.frames = 0
        sleep = sleep_ms or (lambda ms: None)
        cs.value(1)
        if reset is not None:
            reset.value(0)
            sleep(10)
            reset.value(1)
            sleep(120)
        self.command(0x01)  # software reset
        sleep(150)
        self.command(0x11)  # sleep out
        sleep(10)
        self.command(0x3A, b"\x55")  # 16 bits per pixel
        self.command(0x36, bytes((madctl,)))  # row/column order: landscape
        if invert:
            self.command(0x21)  # the T-Display's IPS panel shows true colours inverted
        self.command(0x13)  # normal display mode
        self.command(0x29)  # display on
        if backlight is not None:
            backlight.value(1)

    def command(self, cmd, data=None):
        self.cs.value(0)
        self.dc.value(0)
        self.spi.write(bytes((cmd,)))
        if data:
            self.dc.value(1)
            self.spi.write(data)
        self.cs.value(1)

    def _window(self, x0, y0, x1, y1):
        x0 += self.x_offset
        x1 += self.x_offset
        y0 += self.y_offset
        y1 += self.y_offset
        self.command(0x2A, bytes((x0 >> 8, x0 & 0xFF, x1 >> 8, x1 & 0xFF)))
        self.command(0x2B, bytes((y0 >> 8, y0 & 0xFF, y1 >> 8, y1 & 0xFF)))

    def show(self):
        for y in range(0, self.height, self.BAND):
            rows = min(self.BAND, self.height - y)
            self.band_fb.blit(self.fb, 0, -y, -1, self.palette)
            self._window(0, y, self.width - 1, y + rows - 1)
            self.command(0x2C, memoryview(self.band)[:self.width * 2 * rows])
        self.frames += 1


def _swap(c):
    return ((c & 0xFF) << 8) | (c >> 8)


def open_display(cfg):
    """The display a board definition describes, or None (no display entry)."""
    if not cfg:
        return None
    kind = cfg.get("type")
    if kind in ("framebuffer", "text"):
        from smets.display import MemoryDisplay

        return MemoryDisplay(int(cfg.get("width", 240)), int(cfg.get("height", 136)))
    import time

    import machine

    def pin(name, mode=machine.Pin.OUT):
        n = cfg.get(name)
        return None if n is None else machine.Pin(n, mode)

    if kind == "ssd1306":
        bus = cfg.get("i2c", {})
        i2c = machine.I2C(bus.get("id", 0), sda=machine.Pin(bus["sda"]),
                          scl=machine.Pin(bus["scl"]), freq=bus.get("freq", 400000))
        return SSD1306(i2c, cfg.get("width", 128), cfg.get("height", 64),
                       cfg.get("address", 0x3C), pin("reset"), time.sleep_ms)
    if kind == "st7789":
        bus = cfg.get("spi", {})
        spi = machine.SPI(bus.get("id", 1), baudrate=bus.get("baudrate", 40000000),
                          polarity=1, phase=1, sck=machine.Pin(bus["sck"]),
                          mosi=machine.Pin(bus["mosi"]))
        return ST7789(spi, pin("cs"), pin("dc"), cfg.get("width", 240), cfg.get("height", 135),
                      pin("reset"), pin("backlight"), cfg.get("x_offset", 40),
                      cfg.get("y_offset", 53), cfg.get("madctl", 0x60), cfg.get("invert", True),
                      sleep_ms=time.sleep_ms)
    raise ValueError("unknown display type %r" % (kind,))
