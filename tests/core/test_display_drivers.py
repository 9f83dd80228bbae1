"""The IHD's panel drivers (smets.runtime.display) with recording stand-ins for the bus and
pins (hardware injected): the SSD1306 and ST7789 power-on commands and frame writes. Needs
MicroPython's framebuf: skipped under CPython, run by tools/mptest.py."""

try:
    from unittest import SkipTest
except ImportError:  # MicroPython: tools/mptest.py skips on the class name

    class SkipTest(Exception):
        pass


def _drivers():
    try:
        import framebuf  # noqa: F401
    except ImportError:
        raise SkipTest("framebuf is MicroPython's")
    from smets.runtime import display

    return display


class Pin:
    def __init__(self, log, name):
        self.log = log
        self.name = name

    def value(self, v):
        self.log.append((self.name, v))


class I2C:
    def __init__(self):
        self.writes = []

    def writeto(self, addr, data):
        self.writes.append((addr, bytes(data)))

    def writevto(self, addr, parts):
        self.writes.append((addr, b"".join(bytes(p) for p in parts)))


class SPI:
    def __init__(self, log):
        self.log = log

    def write(self, data):
        self.log.append(("spi", bytes(data)))


def test_ssd1306_powers_on_and_sends_the_whole_frame():
    display = _drivers()
    log = []
    bus = I2C()
    d = display.SSD1306(bus, 128, 64, 0x3C, Pin(log, "rst"))
    assert log == [("rst", 0), ("rst", 1)]
    cmds = [w[1][1] for w in bus.writes]
    assert cmds[0] == 0xAE and cmds[-1] == 0xAF and 0x8D in cmds  # off .. charge pump .. on
    assert all(w[0] == 0x3C and w[1][0] == 0x80 for w in bus.writes)
    d.fb.fill(0)
    d.fb.pixel(0, 9, 1)  # page 1, bit 1 of column 0 (MONO_VLSB, the controller's layout)
    bus.writes = []
    d.show()
    data = bus.writes[-1][1]
    assert data[0] == 0x40 and len(data) == 1 + 1024
    assert data[1 + 128] == 0x02 and sum(data[1:]) == 2
    assert [w[1][1] for w in bus.writes[:6]] == [0x21, 0, 127, 0x22, 0, 7]


def test_st7789_powers_on_and_writes_rgb565_bands():
    display = _drivers()
    log = []
    d = display.ST7789(SPI(log), Pin(log, "cs"), Pin(log, "dc"), 240, 135, Pin(log, "rst"),
                       Pin(log, "bl"), ink=0xF800, paper=0x0000)
    sent = [x[1] for x in log if x[0] == "spi"]
    assert sent[:3] == [b"\x01", b"\x11", b"\x3a"] and b"\x29" in sent
    assert ("bl", 1) in log
    d.fb.fill(0)
    d.fb.pixel(3, 0, 1)
    log[:] = []
    d.show()
    sent = [x[1] for x in log if x[0] == "spi"]
    # First band: window columns 40..279, rows 53..60, then 240 x 8 pixels, big-endian.
    assert sent[0] == b"\x2a" and sent[1] == bytes((0, 40, 1, 23))
    assert sent[2] == b"\x2b" and sent[3] == bytes((0, 53, 0, 60))
    assert sent[4] == b"\x2c" and len(sent[5]) == 240 * 2 * 8
    assert sent[5][6:8] == b"\xf8\x00" and sent[5][:6] == bytes(6)
    bands = [s for s in sent if len(s) > 100]
    assert len(bands) == 17 and len(bands[-1]) == 240 * 2 * 7  # 135 rows = 16 x 8 + 7
