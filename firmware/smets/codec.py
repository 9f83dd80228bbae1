"""What the package's codecs share: the BER length form, the civil calendar, hex for messages,
text from the air.

One copy each, on the board and on the host:
- The BER definite length (X.690 8.1.3) is the length form of GBCS envelopes (GBCS 4.3), of
  A-XDR lengths and element counts (Green Book, IEC 62056-6-2) and of DER (X.690 10.1, which
  also wants it minimal). `length_decoder` / `length_encoder` bind the one implementation to a
  codec's own error class and its longest form, so each codec still raises only its own error.
- Civil dates (proleptic Gregorian, days counted from 1970-01-01) for COSEM date-times and
  X.509 / GeneralizedTime: H. Hinnant's days_from_civil / civil_from_days algorithms, exact for
  every day, with no tables and no wall clock.
- Text that a peer sent (ZCL character strings, supplier messages) is UTF-8 only by agreement:
  `decode_text` turns any bytes into a str, where `bytes.decode("utf-8", "replace")` raises
  UnicodeError on MicroPython (its decode ignores the errors argument).
"""

try:
    from micropython import const
except ImportError:  # CPython

    def const(x):  # type: ignore[misc]  # CPython has no micropython.const
        return x


_DAYS_0000_03_01 = const(719468)  # days from 0000-03-01 to 1970-01-01
_DAYS_PER_ERA = const(146097)  # 400 Gregorian years


def hexs(data, limit=48):
    """Space-separated hex of the first `limit` bytes, for error messages."""
    text = " ".join("%02x" % b for b in data[:limit])
    if len(data) > limit:
        text += " ..."
    return text


def decode_text(data):
    """`data` (bytes, bytearray, memoryview) as a str: valid UTF-8 as it is, each byte that
    starts no valid sequence as U+FFFD. Ports differ on overlong forms and surrogates
    (MicroPython's decoder accepts them, CPython's does not); neither raises here."""
    data = bytes(data)
    try:
        return data.decode("utf-8")
    except UnicodeError:
        pass
    out = []
    i = 0
    n = len(data)
    while i < n:
        b = data[i]
        # Sequence length from the lead byte (RFC 3629 section 4); 0: not a lead byte.
        k = 1 if b < 0x80 else 2 if 0xC2 <= b < 0xE0 else 3 if 0xE0 <= b < 0xF0 else (
            4 if 0xF0 <= b < 0xF5 else 0)
        if k and i + k <= n:
            try:
                out.append(data[i:i + k].decode("utf-8"))
                i += k
                continue
            except UnicodeError:
                pass
        out.append("\ufffd")
        i += 1
    return "".join(out)


def length_decoder(error, max_bytes=4):
    """decode(buf, pos) -> (length, position after it) of the BER length at buf[pos], raising
    `error` for a length that is missing, truncated or longer than `max_bytes` bytes."""

    def decode_length(buf, pos):
        if pos >= len(buf):
            raise error("length expected at offset %d: %s" % (pos, hexs(buf)))
        n = buf[pos]
        if n < 0x80:
            return n, pos + 1
        k = n & 0x7F
        end = pos + 1 + k
        if k == 0 or k > max_bytes:
            raise error("bad length byte %02x at offset %d: %s" % (n, pos, hexs(buf)))
        if end > len(buf):
            raise error("length at offset %d truncated: %s" % (pos, hexs(buf)))
        if k == 1:
            return buf[pos + 1], end
        return int.from_bytes(buf[pos + 1:end], "big"), end

    return decode_length


def length_encoder(error, max_bytes=4):
    """encode(n) -> bytes: the shortest BER length form of `n`, raising `error` when it needs
    more than `max_bytes` bytes."""
    limit = 1 << (8 * max_bytes)

    def encode_length(n):
        if n < 0x80:
            return bytes((n,))
        if n < 0x100:
            return bytes((0x81, n))
        if n < 0x10000:
            return bytes((0x82, n >> 8, n & 0xFF))
        if n >= limit:
            raise error("length %d too large" % n)
        k = 3 if n < 0x1000000 else 4
        return bytes((0x80 | k,)) + n.to_bytes(k, "big")

    return encode_length


def days_from_civil(y, m, d):
    """Days from 1970-01-01 to the proleptic Gregorian date y-m-d (negative before)."""
    y -= m <= 2
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    return era * _DAYS_PER_ERA + yoe * 365 + yoe // 4 - yoe // 100 + doy - _DAYS_0000_03_01


def civil_from_days(z):
    """(year, month, day) of day `z` counted from 1970-01-01."""
    z += _DAYS_0000_03_01
    era = z // _DAYS_PER_ERA
    doe = z - era * _DAYS_PER_ERA
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + (3 if mp < 10 else -9)
    return yoe + era * 400 + (m <= 2), m, d


def date_time(now):
    """12-byte COSEM date-time of the unix time `now` (UTC: deviation unspecified 8000, day of
    week and clock status not given), the form GBCS headers carry (gbcs-notes 6.1)."""
    days = now // 86400
    s = now - days * 86400
    y, m, d = civil_from_days(days)
    return bytes((y >> 8, y & 0xFF, m, d, 0xFF, s // 3600, s // 60 % 60, s % 60, 0, 0x80, 0, 0xFF))
