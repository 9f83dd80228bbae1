"""DER codec (smets.gbcs.asn1): round trips, long-form lengths, rejections. Runs under pytest and
on the MicroPython unix port; the Hypothesis tests run on CPython only (skipped elsewhere).

Known encodings are X.690 DER by hand; times were checked with Python's datetime.
"""

from gbcs_fixtures import rand_bytes as _rand
from smets.gbcs import asn1
from smets.gbcs.asn1 import ASN1Error

try:
    from unittest import SkipTest
except ImportError:  # MicroPython: tools/mptest.py skips on the class name

    class SkipTest(Exception):
        pass


try:
    from hypothesis import given, settings
    from hypothesis import strategies as st
except ImportError:  # MicroPython, or a CPython without Hypothesis
    given = None

h = bytes.fromhex


def _rejects(fn, *args):
    """fn(*args) raises ASN1Error; any other exception propagates and fails the test."""
    try:
        fn(*args)
    except ASN1Error:
        return True
    raise AssertionError("%r%r did not raise ASN1Error" % (fn, args))


def _read_all(data):
    """Every reader on `data`, for the 'only ASN1Error escapes' tests."""
    readers = (
        asn1.read,
        asn1.element,
        lambda d: asn1.read_as(d, asn1.SEQUENCE),
        asn1.read_int,
        asn1.read_bits,
        asn1.read_time,
        asn1.elements,
        lambda d: asn1.optional(d, asn1.INTEGER),
        asn1.to_int,
    )
    for fn in readers:
        try:
            fn(data)
        except ASN1Error:
            pass


def _check_canonical(data):
    """If one element reads, re-encoding it gives the same bytes (read takes DER lengths only)."""
    try:
        (tag, body), rest = asn1.read(data)
    except ASN1Error:
        return
    whole = bytes(data[: len(data) - len(rest)])
    assert asn1.encode(tag, body) == whole, bytes(data).hex()
    assert bytes(asn1.element(data)[0]) == whole


# --- INTEGER / ENUMERATED -------------------------------------------------------------------


def test_integer_known_encodings():
    cases = (
        (0, "020100"),
        (1, "020101"),
        (-1, "0201ff"),
        (127, "02017f"),
        (128, "02020080"),
        (-128, "020180"),
        (-129, "0202ff7f"),
        (255, "020200ff"),
        (256, "02020100"),
        (32767, "02027fff"),
        (32768, "0203008000"),
        (-32768, "02028000"),
        (-32769, "0203ff7fff"),
        (1 << 64, "0209010000000000000000"),
    )
    for n, want in cases:
        assert asn1.integer(n) == h(want), (n, asn1.integer(n).hex())
        value, rest = asn1.read_int(h(want))
        assert value == n and len(rest) == 0
    assert asn1.enumerated(5) == h("0a0105")
    assert asn1.read_int(h("0a0105"), asn1.ENUMERATED)[0] == 5
    # [3] IMPLICIT INTEGER, as GBCS uses for context-tagged counters.
    tagged = asn1.integer(-2, asn1.CONTEXT | 3)
    assert tagged == h("8301fe")
    assert asn1.read_int(tagged, asn1.CONTEXT | 3)[0] == -2


def test_integer_round_trips():
    values = [0, 1, -1, (1 << 255), (1 << 256) - 1, -(1 << 256), 0x7FFFFFFF, -0x80000000]
    for k in range(1, 40):
        values.append(int.from_bytes(_rand(k, k), "big") - (1 << (8 * k - 1)))
    for n in values:
        der = asn1.integer(n)
        value, rest = asn1.read_int(der + b"\x05\x00")
        assert value == n and bytes(rest) == b"\x05\x00", n
        body = asn1.read_as(der, asn1.INTEGER)[0]
        # Minimal: the first nine bits are never all equal.
        if len(body) > 1:
            top = (body[0] << 1) | (body[1] >> 7)
            assert top not in (0, 0x1FF), der
    assert _rejects(asn1.to_int, b"")
    assert _rejects(asn1.read_int, h("0200"))


# --- OCTET STRING, NULL, BIT STRING ---------------------------------------------------------


def test_octet_string_and_null():
    assert asn1.octets(b"") == h("0400")
    assert asn1.octets(b"\x01\x02") == h("04020102")
    for n in (0, 1, 127, 128, 255, 256, 1000):
        data = _rand(n, n)
        body, rest = asn1.read_as(asn1.octets(data), asn1.OCTET_STRING)
        assert bytes(body) == data and len(rest) == 0
    assert asn1.null() == h("0500")
    body, rest = asn1.read_as(asn1.null() + asn1.null(), asn1.NULL)
    assert len(body) == 0 and bytes(rest) == h("0500")


def test_bit_string_named_bits():
    assert asn1.bits(0x80) == h("03020780")  # digitalSignature
    assert asn1.bits(0x08) == h("03020308")  # keyAgreement
    assert asn1.bits(0x04) == h("03020204")  # keyCertSign
    assert asn1.bits(0x06) == h("03020106")  # keyCertSign | cRLSign (a CA)
    assert asn1.bits(0x01) == h("03020001")
    assert asn1.bits(0) == h("030100")
    for value in range(256):
        der = asn1.bits(value)
        got, rest = asn1.read_bits(der)
        assert got == value and len(rest) == 0, value
        if value:  # DER: the last used bit is a one
            assert (der[3] >> der[2]) & 1, der
    assert asn1.read_bits(asn1.bits(0x08), asn1.BIT_STRING)[0] == 0x08
    assert asn1.read_bits(h("8102" "0780"), asn1.CONTEXT | 1)[0] == 0x80
    for bad in ("0300", "030107", "03020880", "0302ff80"):
        assert _rejects(asn1.read_bits, h(bad))


# --- SEQUENCE, context tags, elements -------------------------------------------------------


def test_sequence_and_context_tags():
    parts = (
        asn1.integer(42),
        asn1.octets(b"abc"),
        asn1.null(),
        asn1.bits(0x80),
        asn1.encode(asn1.CONTEXT | 0, b"\x01\x02"),
        asn1.encode(asn1.CONTEXT_CONSTRUCTED | 1, asn1.sequence(asn1.integer(-1))),
        asn1.generalized_time(0),
    )
    der = asn1.sequence(*parts)
    assert der[:2] == bytes((0x30, len(der) - 2))
    assert asn1.encode(asn1.CONTEXT | 0, b"\x01\x02") == h("80020102")
    assert asn1.sequence() == h("3000")
    body, rest = asn1.read_as(der, asn1.SEQUENCE)
    assert len(rest) == 0
    items = asn1.elements(body)
    assert [t for t, _ in items] == [0x02, 0x04, 0x05, 0x03, 0x80, 0xA1, 0x18]
    for (tag, item), part in zip(items, parts):
        assert asn1.encode(tag, item) == part
    # element() walks the same elements, giving their whole encodings.
    rest = body
    for part in parts:
        whole, rest = asn1.element(rest)
        assert bytes(whole) == part
    assert len(rest) == 0
    # A constructed context tag holds elements of its own.
    inner, _ = asn1.read_as(parts[5], asn1.CONTEXT_CONSTRUCTED | 1)
    assert bytes(inner) == bytes(items[5][1])
    seq, _ = asn1.read_as(inner, asn1.SEQUENCE)
    assert asn1.read_int(seq)[0] == -1
    assert asn1.elements(b"") == []


def test_optional():
    data = asn1.encode(asn1.CONTEXT_CONSTRUCTED | 0, asn1.integer(2)) + asn1.integer(7)
    body, rest = asn1.optional(data, asn1.CONTEXT_CONSTRUCTED | 0)
    assert bytes(body) == asn1.integer(2) and bytes(rest) == asn1.integer(7)
    none, same = asn1.optional(rest, asn1.CONTEXT_CONSTRUCTED | 0)
    assert none is None and bytes(same) == asn1.integer(7)
    none, same = asn1.optional(b"", asn1.INTEGER)
    assert none is None and len(same) == 0
    # Present but broken is an error, not "absent".
    assert _rejects(asn1.optional, h("a005020102"), asn1.CONTEXT_CONSTRUCTED | 0)


def test_readers_take_bytes_bytearray_and_memoryview():
    der = asn1.sequence(asn1.integer(300), asn1.octets(b"xy"))
    for data in (der, bytearray(der), memoryview(der), memoryview(b"\xff" + der + b"\x00")[1:-1]):
        body, rest = asn1.read_as(data, asn1.SEQUENCE)
        assert isinstance(rest, memoryview) and len(rest) == 0
        n, body = asn1.read_int(body)
        assert n == 300
        assert bytes(asn1.read_as(body, asn1.OCTET_STRING)[0]) == b"xy"


# --- lengths ---------------------------------------------------------------------------------


def test_length_forms():
    assert asn1.length(0) == h("00")
    assert asn1.length(0x7F) == h("7f")
    assert asn1.length(0x80) == h("8180")
    assert asn1.length(0xFF) == h("81ff")
    assert asn1.length(0x100) == h("820100")
    assert asn1.length(0xFFFF) == h("82ffff")
    assert asn1.length(0x10000) == h("83010000")
    assert asn1.length(0xFFFFFF) == h("83ffffff")
    assert _rejects(asn1.length, 0x1000000)


def test_long_form_round_trips():
    for n, head in ((0x7F, "047f"), (0x80, "048180"), (0xFF, "0481ff"), (0x100, "04820100"),
                    (0x1234, "04821234"), (0x10000, "0483010000")):
        data = _rand(n, n & 0xFF)
        der = asn1.octets(data)
        assert der[: len(head) // 2] == h(head), (n, der[:5].hex())
        (tag, body), rest = asn1.read(der + b"\x05\x00")
        assert tag == asn1.OCTET_STRING and bytes(body) == data and bytes(rest) == h("0500")
        # One byte short anywhere in the body is a truncation.
        assert _rejects(asn1.read, der[:-1])
    # A long SEQUENCE of short elements.
    seq = asn1.sequence(*[asn1.integer(i) for i in range(200)])
    assert seq[:4] == h("308202a0")
    assert [asn1.to_int(b) for _, b in asn1.elements(asn1.read_as(seq, asn1.SEQUENCE)[0])] == \
        list(range(200))


def test_rejects_truncated_elements():
    for bad in ("", "02", "0201", "020201", "3081", "308180", "3082", "308201", "30820100",
                "3083", "30830100", "0481", "0482ffff00"):
        assert _rejects(asn1.read, h(bad))
        assert _rejects(asn1.element, h(bad))
    # Every proper prefix of a nested element.
    der = asn1.sequence(asn1.integer(1 << 70), asn1.octets(_rand(150, 3)), asn1.null())
    for k in range(len(der)):
        assert _rejects(asn1.read, der[:k])
    # A truncated element inside a whole body.
    assert _rejects(asn1.elements, h("020101" "0203"))


def test_rejects_non_minimal_and_unsupported_lengths():
    for bad in (
        "04810100",  # long form for a short length
        "04817f" + "00" * 0x7F,
        "0482007f" + "00" * 0x7F,
        "04820080" + "00" * 0x80,  # leading zero length byte
        "0483000100" + "00" * 0x100,
        "0480",  # indefinite length (BER)
        "048400000001" + "00",  # four length bytes
        "04ff",
    ):
        assert _rejects(asn1.read, h(bad)), bad


def test_rejects_multi_byte_tags():
    for bad in ("1f0100", "1f8101" + "0100", "3f0100", "9f2001" + "00", "bf1f00", "df0100",
                "ff0100"):
        assert _rejects(asn1.read, h(bad)), bad


def test_rejects_wrong_tags():
    assert _rejects(asn1.read_as, asn1.integer(1), asn1.OCTET_STRING)
    assert _rejects(asn1.read_int, asn1.octets(b"\x01"))
    assert _rejects(asn1.read_int, asn1.enumerated(1))  # ENUMERATED is not INTEGER
    assert _rejects(asn1.read_bits, asn1.octets(b"\x07\x80"))
    assert _rejects(asn1.read_time, asn1.octets(b"150101000000Z"))
    assert _rejects(asn1.read_as, asn1.sequence(), asn1.SET)
    assert _rejects(asn1.read_as, asn1.encode(asn1.CONTEXT | 0, b""), asn1.CONTEXT_CONSTRUCTED)


def test_error_type():
    assert issubclass(ASN1Error, ValueError)
    try:
        asn1.read(h("04820080"))
    except ASN1Error as e:
        assert "04 82 00 80" in str(e)


# --- times -----------------------------------------------------------------------------------


def test_time_known_values():
    assert asn1.generalized_time(0) == b"\x18\x0f19700101000000Z"
    assert asn1.generalized_time(1420070400) == b"\x18\x0f20150101000000Z"  # RTDS clock
    assert asn1.generalized_time(951782400 + 3723) == b"\x18\x0f20000229010203Z"
    assert asn1.generalized_time(253402300799) == b"\x18\x0f99991231235959Z"
    assert asn1.generalized_time(-1) == b"\x18\x0f19691231235959Z"
    assert asn1.generalized_time(-62167219200) == b"\x18\x0f00000101000000Z"
    assert asn1.read_time(b"\x18\x0f99991231235959Z")[0] == 253402300799
    assert asn1.read_time(b"\x18\x0f21000301000000Z")[0] == 4107542400  # 2100: no 29 Feb
    # UTCTime: YY >= 50 is 19YY, else 20YY (RFC 5280 4.1.2.5.1).
    assert asn1.read_time(b"\x17\x0d150101000000Z")[0] == 1420070400
    assert asn1.read_time(b"\x17\x0d491231235959Z")[0] == 2524607999
    assert asn1.read_time(b"\x17\x0d500101000000Z")[0] == -631152000
    assert asn1.read_time(b"\x17\x0d700101000000Z")[0] == 0
    t, rest = asn1.read_time(b"\x17\x0d700101000001Z\x05\x00")
    assert t == 1 and bytes(rest) == h("0500")


def test_time_round_trips():
    times = [0, -1, 1, 86399, 86400, 951868800, 4107542400, 253402300799, -62167219200]
    x = 12345
    for _ in range(300):
        x = (x * 1103515245 + 12345) & 0x7FFFFFFF
        times.append((x * 8191) % 253402300800 - (x & 1) * 62167219200)
    for t in times:
        der = asn1.generalized_time(t)
        assert len(der) == 17, t
        got, rest = asn1.read_time(der)
        assert got == t and len(rest) == 0, (t, der)


def test_time_rejections():
    for bad in (
        b"\x18\x0d150101000000Z",  # GeneralizedTime with a UTCTime's length
        b"\x17\x0f20150101000000Z",  # and the other way round
        b"\x18\x0f20150101000000z",
        b"\x18\x0f201501010000000",
        b"\x18\x1120150101000000.5Z",  # fractions: not in the profile
        b"\x18\x1320150101000000+0100",
        b"\x17\x0d1501010000Z\x00\x00",
        b"\x17\x0dab0101000000Z",  # letters in the year
        b"\x17\x0d 10101000000Z",  # int() would take ' 1' and '+1'
        b"\x17\x0d+10101000000Z",
        b"\x18\x0f+9990101000000Z",
        b"\x18\x0f 9990101000000Z",
        b"\x18\x0f1_990101000000Z",
        b"\x18\x0f2015010100000-Z",
        b"\x18\x0f20151301000000Z",  # month 13
        b"\x18\x0f20150001000000Z",  # month 0
        b"\x18\x0f20150100000000Z",  # day 0
        b"\x18\x0f20150132000000Z",
        b"\x18\x0f20150101240000Z",  # 24:00:00
        b"\x18\x0f20150101006000Z",
        b"\x18\x0f20150101000060Z",
        b"\x18\x00",
        b"\x02\x01\x00",
    ):
        assert _rejects(asn1.read_time, bad), bad


# --- arbitrary input -------------------------------------------------------------------------


def test_arbitrary_bytes_raise_only_asn1error():
    for n in range(0, 40):
        for seed in range(6):
            data = _rand(n, seed * 131 + n)
            for prefix in (b"", b"\x30", b"\x30\x81", b"\x17\x0d", b"\x18\x0f", b"\x03\x02"):
                _read_all(prefix + data)
                _check_canonical(prefix + data)


if given is not None:
    _TLV = st.builds(
        lambda tag, body, cut: asn1.encode(tag, body)[:cut],
        st.integers(0, 255),
        st.binary(max_size=300),
        st.integers(0, 310),
    )

    @settings(max_examples=1500, deadline=None)
    @given(st.one_of(st.binary(max_size=64), _TLV, st.tuples(_TLV, st.binary(max_size=8)).map(
        lambda p: p[0] + p[1])))
    def test_hypothesis_readers_raise_only_asn1error(data):
        _read_all(data)
        _read_all(memoryview(data))
        _check_canonical(data)

    @settings(max_examples=500, deadline=None)
    @given(st.integers(min_value=-(1 << 600), max_value=1 << 600))
    def test_hypothesis_integer_is_minimal_twos_complement(n):
        size = ((n if n >= 0 else ~n).bit_length() + 8) // 8
        assert asn1.integer(n) == asn1.encode(asn1.INTEGER, n.to_bytes(size, "big", signed=True))
        assert asn1.read_int(asn1.integer(n))[0] == n

    @settings(max_examples=500, deadline=None)
    @given(st.integers(min_value=-62135596800, max_value=253402300799))
    def test_hypothesis_generalized_time_matches_datetime(t):
        import datetime

        when = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc) + \
            datetime.timedelta(seconds=t)
        der = asn1.generalized_time(t)
        assert der[2:] == ("%04d" % when.year + when.strftime("%m%d%H%M%SZ")).encode()
        assert asn1.read_time(der)[0] == t
        if 1950 <= when.year < 2050:
            assert asn1.read_time(b"\x17\x0d" + der[4:])[0] == t

else:

    def test_hypothesis_readers_raise_only_asn1error():
        raise SkipTest("needs Hypothesis (CPython)")
