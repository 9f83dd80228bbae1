"""What the IHD shows, and how it is drawn into a MicroPython `framebuf`.

A SMETS2 IHD shows (SMETS2 IHD section: consumption, cost, tariff, credit, supply, messages,
alerts, for electricity and gas): power now, energy and cost today / this week / this month,
the unit rate and standing charge, prepayment credit, emergency credit and debt, the supply
status, the supplier's messages and the alerts that need the consumer. `content(dev, page,
now)` says what a page holds as text — a title, an optional big reading and (label, value)
rows — so tests read the screen without pixels; `layout` places it for a display size (rows
that do not fit go to the page's next screen) and `render` draws it with the built-in 8x8 font
(scaled up for the big reading) and a pound sign of its own, the font being ASCII.
"""

from smets.codec import civil_from_days, decode_text
from smets.zcl import se

PAGES = ("Now", "Electricity", "Gas", "Credit", "Messages", "Status")
LINE = 10  # pixels per text row (8x8 font and a gap)
POUND = "\x9c"  # stands for the pound sign in layout text (drawn from _POUND_GLYPH)
# 8x8 pound sign, one byte per row, bit 7 leftmost.
_POUND_GLYPH = (0x1C, 0x22, 0x20, 0x78, 0x20, 0x20, 0x7E, 0x00)
_SUPPLY = {se.SUPPLY_OFF: "OFF", se.SUPPLY_ARMED: "ARMED", se.SUPPLY_ON: "ON"}


# -- formatting (integers only: an ESP32's floats are 32-bit) --------------------------------
def money(v):
    """10^-5 GBP as pounds and pence."""
    if v is None:
        return "--"
    sign = "-" if v < 0 else ""
    p = abs(v) // 1000
    return "%s%s%d.%02d" % (sign, POUND, p // 100, p % 100)


def pence(v):
    """10^-5 GBP as pence with two decimals (a unit rate, a daily standing charge)."""
    if v is None:
        return "--"
    c = v // 10
    return "%d.%02dp" % (c // 100, c % 100)


def kwh(wh):
    if wh is None:
        return "--"
    return "%d.%02dkWh" % (wh // 1000, wh % 1000 // 10)


def kw(w):
    if w is None:
        return "--"
    sign = "-" if w < 0 else ""
    w = abs(w)
    return "%s%d.%02dkW" % (sign, w // 1000, w % 1000 // 10)


def m3(litres):
    if litres is None:
        return "--"
    return "%d.%03dm3" % (litres // 1000, litres % 1000)


def clock(now):
    y, mo, d = civil_from_days(now // 86400)
    s = now % 86400
    return "%04d-%02d-%02d %02d:%02d" % (y, mo, d, s // 3600, s % 3600 // 60)


# -- content ------------------------------------------------------------------------------
def content(dev, page, now):
    """(title, big text or None, [(label, value)]) of page `page` (an index into PAGES)."""
    name = PAGES[page % len(PAGES)]
    elec = dev.fuel("elec", now)
    gas = dev.fuel("gas", now)
    alerts = dev.alerts()
    rows = []
    if name == "Now":
        big = kw(elec["power"]) if elec else "--"
        if elec:
            rows.append(("Elec today", money(elec["cost_day"])))
        if gas:
            rows.append(("Gas today", money(gas["cost_day"])))
        if elec:
            rows.append(("Unit rate", pence(elec["rate"])))
        for d, label in ((elec, "Elec"), (gas, "Gas")):
            if d and d["prepay"]:
                rows.append((label + " credit", money(d["credit"])))
        for a in alerts[:2]:
            rows.append(("!", a))
        return "Now " + clock(now)[11:], big, rows
    if name in ("Electricity", "Gas"):
        d = elec if name == "Electricity" else gas
        if d is None:
            return name, None, [("", "no %s meter found" % name.lower())]
        if name == "Gas":
            rows.append(("Now", kw(d["power"])))
        for period, label in (("day", "Today"), ("week", "Week"), ("month", "Month")):
            rows.append((label, kwh(d[period]) if name != "Gas" else "%s %s" % (
                m3(d[period + "_l"]), kwh(d[period]))))
            rows.append(("  cost", money(d["cost_" + period])))
        rows.append(("Unit rate", pence(d["rate"]) + "/kWh"))
        rows.append(("Standing", pence(d["standing"]) + "/day"))
        rows.append(("Reading", kwh(d["total"]) if name != "Gas" else m3(d["total_l"])))
        rows.append(("Supply", _SUPPLY.get(d["supply"], "--")))
        rows.append(("MPAN" if name != "Gas" else "MPRN", _text(d["site"])))
        rows.append(("Supplier", _text(d["supplier"])))
        return name, None, rows
    if name == "Credit":
        for d, label in ((elec, "Elec"), (gas, "Gas")):
            if d is None:
                continue
            rows.append((label, "Prepayment" if d["prepay"] else "Credit mode"))
            rows.append(("  credit", money(d["credit"])))
            rows.append(("  emergency", money(d["ec"])))
            rows.append(("  debt", money(d["debt"])))
        if not rows:
            rows.append(("", "no meter found"))
        return "Credit", None, rows
    if name == "Messages":
        for msg in dev.messages:
            rows.append(("", ("* " if not msg[4] else "") + clock(msg[2])[5:]))
            rows.append(("", msg[1]))
        for a in alerts:
            rows.append(("!", a))
        if not rows:
            rows.append(("", "No messages"))
        return "Messages", None, rows
    rows.append(("Time", clock(now)))
    for d, label in ((elec, "Elec meter"), (gas, "Gas meter")):
        rows.append((label, "none" if d is None else
                     "OK" if d["responding"] else "NO RESPONSE"))
    rows.append(("Meters", str(len(dev.meters))))
    rows.append(("Device", dev.ROLE + " " + dev.eui.hex()))
    return "Status", None, rows


def _text(v):
    if v is None:
        return "--"
    if isinstance(v, (bytes, bytearray)):
        return decode_text(v) or "--"
    return str(v)


def lines(c):
    """The page as plain text lines (tests, the host's screen dump)."""
    title, big, rows = c
    out = [title]
    if big:
        out.append(big)
    for label, value in rows:
        out.append(("%s %s" % (label, value)).strip() if label else value)
    return [s.replace(POUND, "£") for s in out]


# -- geometry -----------------------------------------------------------------------------
def _wrap(text, width):
    out = []
    while len(text) > width:
        cut = text.rfind(" ", 0, width + 1)
        if cut <= 0:
            cut = width
        out.append(text[:cut])
        text = text[cut:].lstrip()
    out.append(text)
    return out


def layout(c, width, height, screen=0):
    """Draw operations for screen `screen` of a page's content on a width x height display:
    ("f", x, y, w, h, colour) filled rectangles and ("t", x, y, text, scale, colour) text.
    Returns (ops, screens): how many screens the page needs on this display."""
    title, big, rows = c
    cols = width // 8
    ops = [("f", 0, 0, width, LINE, 1), ("t", 1, 1, title[:cols], 1, 0)]
    y = LINE + 2
    if big:
        scale = 3 if width >= 200 else 2
        text = big[:width // (8 * scale)]
        ops.append(("t", (width - len(text) * 8 * scale) // 2, y, text, scale, 1))
        y += 8 * scale + 4
    flat = []
    for label, value in rows:
        if not label:
            flat.extend(("", part) for part in _wrap(value, cols))
        elif len(label) + 1 + len(value) <= cols:
            flat.append((label, value))
        elif label == "!":
            flat.extend(("", part) for part in _wrap("! " + value, cols))
        else:
            flat.append((label, ""))
            flat.append(("", value[-cols:].rjust(cols) if len(value) >= cols else
                         value.rjust(cols)))
    per = max(1, (height - y) // LINE)
    screens = max(1, (len(flat) + per - 1) // per)
    screen %= screens
    for label, value in flat[screen * per:(screen + 1) * per]:
        if label:
            ops.append(("t", 0, y, label, 1, 1))
            ops.append(("t", width - 8 * len(value), y, value, 1, 1))
        else:
            ops.append(("t", 0, y, value[:cols], 1, 1))
        y += LINE
    if screens > 1:
        mark = "%d/%d" % (screen + 1, screens)
        ops.append(("t", width - 8 * len(mark) - 1, 1, mark, 1, 0))
    return ops, screens


# -- drawing ------------------------------------------------------------------------------
def render(fb, ops, scratch=None):
    """Draw `ops` on a FrameBuffer (cleared first). `scratch`: an 8x8 MONO_HLSB FrameBuffer
    for scaled text (made here when not given)."""
    fb.fill(0)
    if scratch is None and any(op[0] == "t" and op[4] > 1 for op in ops):
        scratch = _scratch()
    for op in ops:
        if op[0] == "f":
            fb.fill_rect(op[1], op[2], op[3], op[4], op[5])
            continue
        _, x, y, text, scale, colour = op
        if scale == 1 and POUND not in text:
            fb.text(text, x, y, colour)
            continue
        for ch in text:
            _char(fb, ch, x, y, scale, colour, scratch)
            x += 8 * scale


def _scratch():
    import framebuf

    return framebuf.FrameBuffer(bytearray(8), 8, 8, framebuf.MONO_HLSB)


def _char(fb, ch, x, y, scale, colour, scratch):
    if ch == POUND:
        for row in range(8):
            bits = _POUND_GLYPH[row]
            for col in range(8):
                if bits & (0x80 >> col):
                    fb.fill_rect(x + col * scale, y + row * scale, scale, scale, colour)
        return
    if scale == 1:
        fb.text(ch, x, y, colour)
        return
    scratch.fill(0)
    scratch.text(ch, 0, 0, 1)
    for row in range(8):
        for col in range(8):
            if scratch.pixel(col, row):
                fb.fill_rect(x + col * scale, y + row * scale, scale, scale, colour)
