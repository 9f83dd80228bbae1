"""IHD screens on the host: fetch a board's frame buffer and write it as a PNG.

`fetch(link, page=None)` asks the IHD for its screen (CONTROL "screen", in chunks: a frame is
larger than a link frame) and returns a Screen: the frame bytes in the board's framebuf format,
its size and the text the IHD drew. `png(screen)` encodes it (zlib and struct: a PNG needs
nothing more), scaled up so that the 8x8 font is readable, in the colours of a backlit LCD.
`smetsbench ihd screenshot --port P FILE.png` and `smetsbench demo --screens DIR` use these.
"""

import base64
import struct
import zlib

# Colours of a lit pixel and of the background (RGB): dark blue on a pale green LCD.
INK = (16, 40, 72)
PAPER = (214, 232, 200)


class Screen:
    def __init__(self, width, height, fmt, data, text, page):
        self.width = width
        self.height = height
        self.format = fmt
        self.data = bytes(data)
        self.text = list(text)
        self.page = page

    def pixel(self, x, y):
        """1 where the pixel is lit (MONO_HLSB: rows of bytes, bit 7 leftmost; MONO_VLSB:
        bytes of 8 vertical pixels, bit 0 on top)."""
        if self.format == "MONO_VLSB":
            return (self.data[(y // 8) * self.width + x] >> (y % 8)) & 1
        stride = (self.width + 7) // 8
        return (self.data[y * stride + x // 8] >> (7 - x % 8)) & 1

    def lit(self):
        """How many pixels are lit (a blank screen has none)."""
        return sum(bin(b).count("1") for b in self.data)


def fetch(link, page=None, timeout=10.0):
    """The IHD's screen on `link` (a BoardLink or anything with control()); `page` (a name or
    an index) shows that page first."""
    args = {} if page is None else {"page": page}
    first = link.control("screen", timeout=timeout, **args)
    if "data" not in first:
        raise ValueError("the IHD has no frame buffer (no framebuf module on this runtime); "
                         "its screen text: %s" % " | ".join(first.get("text", ())))
    data = bytearray(base64.b64decode(first["data"]))
    while len(data) < first["size"]:
        more = link.control("screen", timeout=timeout, offset=len(data))
        chunk = base64.b64decode(more["data"])
        if not chunk:
            raise ValueError("screen data ended at %d of %d bytes" % (len(data),
                                                                      first["size"]))
        data += chunk
    return Screen(first["width"], first["height"], first["format"], data, first["text"],
                  first["page"])


def png(screen, scale=3, border=4):
    """PNG bytes of a screen, each pixel `scale` x `scale`, with a `border` of paper."""
    w = (screen.width + 2 * border) * scale
    h = (screen.height + 2 * border) * scale
    paper = bytes(PAPER)
    ink = bytes(INK)
    rows = []
    blank = b"\x00" + paper * w
    for _ in range(border * scale):
        rows.append(blank)
    for y in range(screen.height):
        line = bytearray(b"\x00")
        line += paper * (border * scale)
        for x in range(screen.width):
            line += (ink if screen.pixel(x, y) else paper) * scale
        line += paper * (border * scale)
        rows.extend([bytes(line)] * scale)
    for _ in range(border * scale):
        rows.append(blank)
    raw = b"".join(rows)

    def chunk(tag, body):
        return struct.pack(">I", len(body)) + tag + body + struct.pack(
            ">I", zlib.crc32(tag + body) & 0xFFFFFFFF)

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def save(screen, path, scale=3):
    with open(path, "wb") as f:
        f.write(png(screen, scale))
    return path
