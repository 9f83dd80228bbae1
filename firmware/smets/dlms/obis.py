"""OBIS codes (IEC 62056-6-1): 6 bytes on the wire, "A-B:C.D.E.F" as text."""


class OBISError(ValueError):
    """Text or bytes that are not an OBIS code."""


def to_str(obis):
    """b"\\x01\\x00\\x01\\x08\\x00\\xff" -> "1-0:1.8.0.255"."""
    if len(obis) != 6:
        raise OBISError("OBIS code must be 6 bytes, got %d" % len(obis))
    return "%d-%d:%d.%d.%d.%d" % tuple(obis)


def from_str(text):
    """ "1-0:1.8.0.255" (also "1.0.1.8.0.255", "1-0:1.8.0*255") -> 6 bytes."""
    parts = []
    field = ""
    for c in text.strip() + ".":
        if c in "-:.*":
            parts.append(field)
            field = ""
        else:
            field += c
    try:
        values = [int(p) for p in parts]
    except ValueError:
        raise OBISError("bad OBIS code %r" % (text,))
    if len(values) != 6 or not all(0 <= v <= 255 for v in values):
        raise OBISError("bad OBIS code %r" % (text,))
    return bytes(values)
