"""Serial link framer (smets.link). Runs under pytest and on the MicroPython unix port."""

from gbcs_fixtures import rand_bytes as _rand
from smets import link
from smets.link import (
    CONTROL,
    HAN,
    INTERRUPT,
    LOG,
    MAX_FRAME,
    MAX_PAYLOAD,
    Decoder,
    Frame,
    LinkError,
    encode,
)

_SPECIAL = (0x01, 0x02, 0x03, 0x04, 0x05, 0x7D, 0x7E)


def _raises(exc, fn, *args):
    try:
        fn(*args)
    except exc:
        return True
    raise AssertionError("%r did not raise %s" % (fn, exc.__name__))


def _crc_bitwise(data, crc=0xFFFF):
    """CRC register, poly 0x1021, bit by bit (the reference for the table)."""
    for b in data:
        crc ^= b << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else (crc << 1)
            crc &= 0xFFFF
    return crc


def _decode(stream, chunk=0, max_frame=MAX_FRAME):
    """Feed `stream` whole (chunk 0) or in chunks; return (events, decoder)."""
    dec = Decoder(max_frame)
    events = []
    step = chunk or len(stream) or 1
    for k in range(0, len(stream), step):
        dec.feed(stream[k : k + step])
        while True:
            ev = dec.next_event()
            if ev is None:
                break
            events.append(ev)
    assert dec.buffered <= 2 * max_frame, dec.buffered
    return events, dec


def _frames():
    """(type, seq, payload) cases: all types, edge sequence numbers, every byte value."""
    payloads = (
        b"",
        b"\x00",
        b"A",
        bytes(range(256)),
        bytes(_SPECIAL) * 3,
        b"\x7d\x5e\x7d\x5d",  # looks escaped already
        _rand(200, 1),
        _rand(MAX_PAYLOAD, 2),
    )
    cases = []
    n = 0
    for ftype in (HAN, CONTROL, LOG, 0x00, 0x7E, 0xFF):
        for payload in payloads:
            cases.append((ftype, (0, 1, 0x03, 0x7D, 0x7E, 0xFF)[n % 6], payload))
            n += 1
    return cases


# --- CRC ------------------------------------------------------------------------------------


def test_crc16_is_genibus():
    assert link.crc16(b"123456789") == 0xD64E  # CRC-16/GENIBUS catalogue check value
    assert link._crc_register_table(b"123456789") == 0xD64E ^ 0xFFFF
    assert link.crc16(b"") == 0x0000
    for data in (bytes(range(256)), _rand(300, 7), b"\x00" * 5, b"\xff"):
        want = _crc_bitwise(data)
        assert link.crc16(data) == want ^ 0xFFFF
        assert link._crc_register_table(data) == want
        # Continuing from a register value is the same as one pass.
        assert link._crc_register_table(data[7:], link._crc_register_table(data[:7])) == want


def test_crc_table_constant():
    table = link._CRC_TABLE
    assert isinstance(table, bytes) and len(table) == 512
    for i in range(256):
        entry = _crc_bitwise(bytes((i,)), 0)
        assert table[i] == entry >> 8 and table[256 + i] == entry & 0xFF, i


def test_zero_bytes_before_the_closing_flag_are_caught():
    # CRC-16/CCITT-FALSE (no final XOR) would accept frame + 00 as a frame one byte longer.
    for k in range(20):
        wire = encode(HAN, k, _rand(k, k))
        for extra in (b"\x00", b"\x00\x00", b"\xff"):
            events, dec = _decode(wire[:-1] + extra + b"\x7e")
            assert events == [] and dec.stats.bad_crc == 1, (k, extra, events)


# --- Encoder --------------------------------------------------------------------------------


def test_encode_golden():
    # type 01 and seq 05 are escaped; CRC-16/GENIBUS of 01 05 61 62 is 9284, big-endian.
    assert encode(HAN, 5, b"ab") == bytes.fromhex("7e 7d21 7d25 6162 9284 7e".replace(" ", ""))
    # Every special byte escaped, 7d itself as 7d 5d.
    assert encode(CONTROL, 0x7E, b"\x7d\x03\x00") == bytes.fromhex("7e7d227d5e7d5d7d230085557e")
    assert Frame(HAN, 5, b"ab").to_bytes() == encode(HAN, 5, b"ab")


def test_encoded_frames_hold_no_raw_special_bytes():
    for ftype, seq, payload in _frames():
        wire = encode(ftype, seq, payload)
        assert wire[0] == 0x7E and wire[-1] == 0x7E
        inner = wire[1:-1]
        for b in (0x01, 0x02, 0x03, 0x04, 0x05, 0x7E):
            assert bytes((b,)) not in inner, (ftype, seq, b)
        # Every escape is followed by an escaped code.
        i = inner.find(b"\x7d")
        while i >= 0:
            assert inner[i + 1] in (0x21, 0x22, 0x23, 0x24, 0x25, 0x5D, 0x5E)
            i = inner.find(b"\x7d", i + 2)
        # Unescaped size is exactly payload + 4.
        assert len(inner) - inner.count(b"\x7d") == len(payload) + 4


def test_encode_misuse_raises_link_error():
    assert issubclass(LinkError, ValueError)
    assert _raises(LinkError, encode, HAN, 256, b"")
    assert _raises(LinkError, encode, HAN, -1, b"")
    assert _raises(LinkError, encode, 0x100, 0, b"")
    assert _raises(LinkError, encode, HAN, 0, bytes(MAX_PAYLOAD + 1))
    assert len(encode(0x10, 0x10, bytes(MAX_PAYLOAD))) == MAX_PAYLOAD + 6
    assert MAX_PAYLOAD + 4 == MAX_FRAME
    assert _raises(LinkError, Decoder, 3)


def test_encode_accepts_bytearray_and_memoryview():
    want = encode(LOG, 9, b"hello")
    assert encode(LOG, 9, bytearray(b"hello")) == want
    assert encode(LOG, 9, memoryview(b"xhello")[1:]) == want


# --- Round trips ----------------------------------------------------------------------------


def test_round_trip_whole_bytewise_and_with_garbage():
    for ftype, seq, payload in _frames():
        want = Frame(ftype, seq, payload)
        wire = encode(ftype, seq, payload)
        big = len(payload) > 1000
        feeds = (
            (wire, 0),
            (wire, 1 if not big else 7),
            (wire, 3),
            (wire + b"trailing\x00\xff junk", 0),
            (b"leading\x00\xff\x7d junk" + wire, 0),
            (b"\x7e\x7e" + wire + b"\x7e\x7e", 0),
        )
        for stream, chunk in feeds:
            events, dec = _decode(stream, chunk)
            assert events == [want], (ftype, seq, len(payload), chunk, events)
            assert dec.stats.frames == 1
            assert dec.stats.bad_crc == dec.stats.bad_escape == dec.stats.bad_byte == 0
        assert Frame.from_bytes(wire) == want
        assert Frame.from_bytes(want.to_bytes()) == want


def test_leading_garbage_is_counted_and_trailing_garbage_too():
    wire = encode(HAN, 1, b"x")
    events, dec = _decode(b"hello" + wire + b"bye", 1)
    assert events == [Frame(HAN, 1, b"x")]
    assert dec.stats.garbage_bytes == 8
    assert dec.stats.errors == 0


def test_many_frames_in_one_chunk_and_split_anywhere():
    frames = [Frame((HAN, CONTROL, LOG)[i % 3], i & 0xFF, _rand(i, i)) for i in range(40)]
    stream = b"".join(f.to_bytes() for f in frames)
    for chunk in (0, 1, 2, 5, 64, 1000):
        events, dec = _decode(stream, chunk)
        assert events == frames, chunk
        assert dec.stats.frames == 40 and dec.stats.errors == 0 and dec.stats.garbage_bytes == 0


def test_iterator_and_feed_without_draining():
    dec = Decoder()
    a, b = encode(HAN, 1, b"a"), encode(LOG, 2, b"b")
    dec.feed(a[:3])
    dec.feed(a[3:] + b[:4])  # no next_event in between: input is kept
    dec.feed(b[4:])
    assert list(dec) == [Frame(HAN, 1, b"a"), Frame(LOG, 2, b"b")]
    assert list(dec) == [] and dec.next_event() is None
    assert dec.buffered == 0


def test_feed_copies_the_callers_buffer():
    wire = encode(HAN, 1, b"abc")
    buf = bytearray(wire[:5])
    dec = Decoder()
    dec.feed(buf)
    buf[:] = b"\x00" * 5  # a UART driver reusing its buffer
    dec.feed(wire[5:])
    assert list(dec) == [Frame(HAN, 1, b"abc")]


def test_empty_frames_are_nothing():
    events, dec = _decode(b"\x7e\x7e\x7e\x7e" + encode(LOG, 0, b"") + b"\x7e\x7e\x7e", 1)
    assert events == [Frame(LOG, 0, b"")]
    assert dec.stats.errors == 0 and dec.stats.garbage_bytes == 0


def test_unknown_types_are_delivered():
    events, dec = _decode(encode(0x42, 7, b"new") + encode(0x00, 8, b""))
    assert events == [Frame(0x42, 7, b"new"), Frame(0x00, 8, b"")]
    assert dec.stats.errors == 0


def test_sequence_numbers_wrap():
    stream = b"".join(encode(HAN, s & 0xFF, b"") for s in range(250, 262))
    events, _ = _decode(stream)
    assert [f.seq for f in events] == [250, 251, 252, 253, 254, 255, 0, 1, 2, 3, 4, 5]


# --- Errors and resynchronisation -----------------------------------------------------------


def test_resync_after_garbage():
    good = encode(CONTROL, 3, b"status")
    junk = (
        b"\x7d\x7d\x7e\x12\x34",  # flag in garbage opens a bad frame
        b"\x7e\x01\x02",  # raw control bytes
        _rand(500, 3).replace(b"\x03", b"\x00"),  # no Ctrl-C: it would be an interrupt
        encode(HAN, 1, b"cut off")[:6],  # a frame cut short (no closing flag)
        b"\x7e" + encode(HAN, 1, b"headless")[3:],  # a frame that lost its first bytes
    )
    for garbage in junk:
        for chunk in (0, 1, 4):
            # The garbage ends inside a frame or outside; either way the next flag opens.
            events, dec = _decode(garbage + good + good, chunk)
            assert events == [Frame(CONTROL, 3, b"status")] * 2, (garbage, chunk, events)
            assert dec.stats.frames == 2


def test_bad_crc_counted_and_next_frame_decoded():
    bad = bytearray(encode(HAN, 1, b"payload"))
    assert bad[-3:] == b"\xd5\xdd\x7e"  # CRC d5dd, nothing escaped
    bad[-2] ^= 0x01
    good = encode(HAN, 2, b"next")
    for chunk in (0, 1):
        events, dec = _decode(bytes(bad) + good, chunk)
        assert events == [Frame(HAN, 2, b"next")]
        assert dec.stats.bad_crc == 1 and dec.stats.frames == 1 and dec.stats.errors == 1
        msg = dec.stats.last_error
        assert msg == "bad CRC d5dc, expected d5dd in 7e 7d 21 7d 21 70 61 79 6c 6f 61 64 d5 dc 7e"


def test_a_lost_byte_costs_at_most_one_more_frame():
    a, b, c = encode(HAN, 1, b"a"), encode(HAN, 2, b"b"), encode(HAN, 3, b"c")
    # a's closing flag lost: b's opening flag closes a, so b is garbage; c survives.
    events, _ = _decode(a[:-1] + b + c)
    assert events == [Frame(HAN, 1, b"a"), Frame(HAN, 3, b"c")]
    # a's last CRC byte lost: bad frame, its flag reopens, b and c survive.
    events, dec = _decode(a[:-2] + a[-1:] + b + c)
    assert events == [Frame(HAN, 2, b"b"), Frame(HAN, 3, b"c")]
    assert dec.stats.bad_crc + dec.stats.too_short == 1


def test_too_short_and_bad_escape():
    events, dec = _decode(b"\x7e\x41\x42\x43\x7e" + encode(LOG, 1, b"ok"))
    assert events == [Frame(LOG, 1, b"ok")]
    assert dec.stats.too_short == 1
    assert dec.stats.last_error == "frame too short (3 bytes) in 7e 41 42 43 7e"
    cases = (
        b"\x7e\x7d\x41\x00\x00\x00\x7e",  # escaped byte that needs no escape
        b"\x7e\x00\x00\x00\x00\x7d\x7e",  # escape then flag (HDLC abort)
        b"\x7e\x00\x7d\x7d\x5d\x00\x00\x7e",  # escape of an escape
    )
    for bad in cases:
        events, dec = _decode(bad + encode(LOG, 1, b"ok"), 1)
        assert events == [Frame(LOG, 1, b"ok")], bad
        assert dec.stats.bad_escape == 1, (bad, dec.stats)
        assert dec.stats.last_error.startswith("bad escape 7d"), dec.stats.last_error
    assert _raises(LinkError, Frame.from_bytes, cases[0])


def test_frame_from_bytes_is_strict():
    wire = encode(HAN, 1, b"x")
    for bad in (wire[1:], wire[:-1], wire + wire, b"", b"\x7e", wire[:2] + b"\x03" + wire[2:]):
        assert _raises(LinkError, Frame.from_bytes, bad), bad
    try:
        Frame.from_bytes(b"\x7e\x10\x11\x00\x00\x7e")
        raise AssertionError("bad CRC accepted")
    except LinkError as e:
        assert str(e) == "bad CRC 0000, expected e393 in 7e 10 11 00 00 7e", e


def test_oversize_frames_are_dropped_and_memory_capped():
    small = 64
    over = encode(HAN, 1, bytes(small - 3))  # 65 bytes unescaped
    fits = encode(HAN, 2, bytes(small - 4))
    for chunk in (0, 1, 16):
        events, dec = _decode(over + fits, chunk, max_frame=small)
        assert events == [Frame(HAN, 2, bytes(small - 4))], chunk
        assert dec.stats.oversize == 1
    # Escapes double the wire size but not the frame size.
    fits_escaped = encode(HAN, 3, b"\x7e" * (small - 4))
    events, dec = _decode(fits_escaped, 5, max_frame=small)
    assert events == [Frame(HAN, 3, b"\x7e" * (small - 4))] and dec.stats.errors == 0
    # An endless frame: the decoder holds at most 2 * max_frame bytes, then skips to a flag.
    endless = b"\x7e" + b"\x41" * 5000
    for chunk in (1, 7, 1000, 0):
        events, dec = _decode(endless + b"\x7e" + fits, chunk, max_frame=small)
        assert events == [Frame(HAN, 2, bytes(small - 4))], chunk
        assert dec.stats.oversize == 1, (chunk, dec.stats)
    # All escapes (7d 7d ...) cannot hide the length either.
    events, dec = _decode(b"\x7e" + b"\x7d" * 5000 + fits, 3, max_frame=small)
    assert events == [Frame(HAN, 2, bytes(small - 4))]
    assert dec.stats.oversize == 1


def test_the_frame_buffer_is_taken_once_and_never_grows():
    # A board's decoder (reserve < 2 * max_frame): oversize, endless, all-escape and bad frames
    # in any chunking never replace its buffer, and frames that fit still arrive.
    fits = encode(CONTROL, 9, b"ok" * 20)
    junk = (b"\x7e" + b"\x41" * 3000 + b"\x7e" + b"\x7d" * 500 + b"\x7e"
            + encode(HAN, 1, bytes(200)) + b"\x7e\x7d\x7e" + _rand(900, 7))
    for chunk in (1, 5, 64, 0):
        dec = Decoder(256, reserve=160)
        buf = dec._buf
        assert dec.capacity == 160
        step = chunk or len(junk)
        events = []
        for k in range(0, len(junk + fits), step):
            dec.feed((junk + fits)[k:k + step])
            for ev in dec:
                events.append(ev)
            assert dec._buf is buf and len(buf) == 160, chunk
        assert events and events[-1] == Frame(CONTROL, 9, b"ok" * 20), (chunk, events[-3:])
        assert dec.stats.oversize >= 3, dec.stats
        assert len(dec.stats.last_error) < 400  # the message shows a head and a tail only


def test_decoding_garbage_allocates_next_to_nothing():
    # On MicroPython (gc.mem_alloc), feeding 20 KB of oversize frames in UART-sized reads
    # allocates only the chunks themselves: no 5-8 KB blocks however long the frame.
    try:
        import gc

        mem_alloc = gc.mem_alloc
    except (ImportError, AttributeError):
        return  # CPython: the buffer-identity test above covers it
    dec = Decoder(MAX_FRAME, reserve=MAX_FRAME + MAX_FRAME // 4)
    chunk = b"\x41" * 256
    dec.feed(b"\x7e")
    dec.next_event()
    gc.collect()
    gc.disable()
    try:
        before = mem_alloc()
        for _ in range(80):
            dec.feed(chunk)
            while dec.next_event() is not None:
                pass
        grown = mem_alloc() - before
    finally:
        gc.enable()
    assert dec.stats.oversize >= 1
    assert grown < 80 * 300 + 2048, grown  # the fed chunks' copies, nothing frame-sized


def test_arbitrary_junk_never_raises():
    for seed in range(1, 30):
        junk = _rand(700, seed)
        # Bias towards the bytes the decoder cares about.
        junk = junk.replace(b"\x10", b"\x7e").replace(b"\x20", b"\x7d").replace(b"\x30", b"\x03")
        for chunk in (1, 13, 0):
            events, dec = _decode(junk, chunk, max_frame=32)
            for ev in events:
                assert ev is INTERRUPT or isinstance(ev, Frame)
            assert dec.stats.interrupts == events.count(INTERRUPT)


# --- Interrupt (Ctrl-C) ---------------------------------------------------------------------


def test_ctrl_c_outside_a_frame_is_an_interrupt():
    events, dec = _decode(b"\x03")
    assert events == [INTERRUPT] and dec.stats.interrupts == 1
    # mpremote's "\r\x03" after a frame, and after a lone flag.
    frame = encode(LOG, 1, b"hi")
    for chunk in (0, 1):
        events, dec = _decode(frame + b"\r\x03", chunk)
        assert events == [Frame(LOG, 1, b"hi"), INTERRUPT]
        assert dec.stats.garbage_bytes == 1
        events, _ = _decode(frame + b"\x7e\x03" + frame, chunk)
        assert events == [Frame(LOG, 1, b"hi"), INTERRUPT, Frame(LOG, 1, b"hi")]
    # Events keep stream order.
    events, _ = _decode(b"\x03" + frame + b"\x03\x03" + frame)
    assert events == [INTERRUPT, Frame(LOG, 1, b"hi"), INTERRUPT, INTERRUPT, Frame(LOG, 1, b"hi")]


def test_ctrl_c_inside_a_frame_is_a_framing_error():
    frame = encode(HAN, 1, b"abcdef")
    broken = frame[:5] + b"\x03" + frame[5:]
    for chunk in (0, 1):
        events, dec = _decode(broken + frame, chunk)
        assert events == [Frame(HAN, 1, b"abcdef")], chunk
        assert dec.stats.bad_byte == 1 and dec.stats.interrupts == 0
        assert dec.stats.last_error.startswith("raw 03 inside frame at offset 5 in 7e 7d 21"), (
            dec.stats.last_error
        )
    # The first Ctrl-C ends the frame, the second one interrupts.
    events, dec = _decode(frame[:5] + b"\x03\x03", 1)
    assert events == [INTERRUPT] and dec.stats.bad_byte == 1
    # Other REPL control bytes inside a frame are errors too, never interrupts.
    for b in (b"\x01", b"\x02", b"\x04", b"\x05"):
        events, dec = _decode(frame[:4] + b + frame[4:] + frame)
        assert events == [Frame(HAN, 1, b"abcdef")] and dec.stats.bad_byte == 1


def test_idle_drops_a_partial_frame():
    dec = Decoder()
    dec.feed(encode(HAN, 1, b"host died here")[:7])
    assert dec.next_event() is None
    assert dec.idle() is True
    assert dec.stats.aborted == 1 and dec.stats.last_error.startswith("partial frame dropped")
    dec.feed(b"\r\x03")  # mpremote
    assert dec.next_event() is INTERRUPT
    assert dec.idle() is False
    dec.feed(b"x")
    assert _raises(LinkError, dec.idle)


def test_stats_as_dict():
    _, dec = _decode(b"zz" + encode(HAN, 1, b""))
    d = dec.stats.as_dict()
    assert d["frames"] == 1 and d["garbage_bytes"] == 2 and d["bad_crc"] == 0
    assert d["last_error"] == ""
    assert "frames=1" in repr(dec.stats)
    assert repr(INTERRUPT) == "INTERRUPT"
    assert repr(Frame(HAN, 1, b"x")) == "Frame(HAN, seq=1, b'x')"
    assert Frame(HAN, 1, b"x") != Frame(HAN, 2, b"x")
