"""The helpers every codec shares (smets.codec): BER lengths bound to a codec's error class, the
civil calendar."""

from smets import codec


class _Err(ValueError):
    pass


def _raises(f, *args):
    try:
        f(*args)
    except _Err:
        return True
    return False


def test_length_forms_round_trip_at_every_boundary():
    enc = codec.length_encoder(_Err, 4)
    dec = codec.length_decoder(_Err, 4)
    for n, head in (
        (0, "00"), (0x7F, "7f"), (0x80, "8180"), (0xFF, "81ff"), (0x100, "820100"),
        (0xFFFF, "82ffff"), (0x10000, "83010000"), (0xFFFFFF, "83ffffff"),
        (0x1000000, "8401000000"), (0xFFFFFFFF, "84ffffffff"),
    ):  # fmt: skip
        b = bytes.fromhex(head)
        assert enc(n) == b
        # At an offset, in bytes, bytearray and memoryview, with bytes after it.
        for buf in (b"\xaa" + b + b"\x00", bytearray(b"\xaa" + b), memoryview(b"\xaa" + b)):
            assert dec(buf, 1) == (n, 1 + len(b))
    assert _raises(enc, 1 << 32)


def test_length_limits_and_errors_are_the_callers():
    enc = codec.length_encoder(_Err, 3)
    dec = codec.length_decoder(_Err, 3)
    assert enc(0xFFFFFF) == b"\x83\xff\xff\xff"
    assert _raises(enc, 0x1000000)
    assert _raises(dec, b"\x84\x01\x00\x00\x00", 0)  # four length bytes: over the limit
    for bad in (b"", b"\x80", b"\x81", b"\x82\x01", b"\x83\x01\x00"):
        assert _raises(dec, bad, 0), bad
    assert _raises(dec, b"\x05", 1)  # nothing at the offset
    # Non-minimal long forms are read as they are (A-XDR allows them; DER checks on top).
    assert dec(b"\x82\x00\x05", 0) == (5, 3)
    text = ""
    try:
        dec(b"\x00\x85\x01", 1)
    except _Err as e:
        text = str(e)
    assert "85" in text and "offset 1" in text


def test_civil_dates_known_days():
    for days, ymd in (
        (0, (1970, 1, 1)), (-1, (1969, 12, 31)), (10957, (2000, 1, 1)),
        (11016, (2000, 2, 29)), (11017, (2000, 3, 1)), (16085, (2014, 1, 15)),
        (-719468, (0, 3, 1)), (2932896, (9999, 12, 31)),
    ):  # fmt: skip
        assert codec.civil_from_days(days) == ymd
        assert codec.days_from_civil(*ymd) == days


def test_civil_dates_round_trip_over_four_centuries():
    # Every 97th day from 1900 to 2300 covers every month, leap rule and century edge.
    prev = None
    for z in range(-25567, 120000, 97):
        y, m, d = codec.civil_from_days(z)
        assert 1 <= m <= 12 and 1 <= d <= 31
        assert codec.days_from_civil(y, m, d) == z
        if prev is not None:
            assert (y, m, d) > prev
        prev = (y, m, d)


def test_hexs_caps_its_output():
    assert codec.hexs(b"\x01\xab") == "01 ab"
    assert codec.hexs(bytes(60), 4) == "00 00 00 00 ..."


def test_decode_text_replaces_what_is_not_utf8_on_every_port():
    # MicroPython's bytes.decode raises UnicodeError on invalid input whatever its errors
    # argument; decode_text never does: each byte that starts no valid sequence is U+FFFD.
    assert codec.decode_text(b"Top up \xc2\xa310") == "Top up \xa310"
    assert codec.decode_text(bytearray(b"ok")) == "ok"
    assert codec.decode_text(memoryview(b"\xe2\x82\xac5")) == "\u20ac5"
    assert codec.decode_text(b"") == ""
    assert codec.decode_text(b"a\xffb") == "a\ufffdb"
    assert codec.decode_text(b"\x80\xc2") == "\ufffd\ufffd"  # stray continuation, cut lead
    assert codec.decode_text(b"x\xe2\x82") == "x\ufffd\ufffd"  # a 3-byte sequence cut short
    assert codec.decode_text(b"\xf0\x9f\x92\xa1!\xfe") == "\U0001f4a1!\ufffd"
    assert codec.decode_text(bytes(range(256)))[:128] == "".join(chr(i) for i in range(128))
