"""Property tests for the ZCL and GBZ codecs (smets.zcl.types, foundation, gbz): round trips,
and arbitrary bytes raise only the codec's own error."""

from hypothesis import given
from hypothesis import strategies as st
from smets.zcl import foundation, gbz, types
from smets.zcl.frame import ZCLError, ZCLFrame

INT_TYPES = [(t, (t - types.UINT8 + 1), False) for t in range(types.UINT8, types.UINT64 + 1)]
INT_TYPES += [(t, (t - types.INT8 + 1), True) for t in range(types.INT8, types.INT64 + 1)]


@st.composite
def typed_value(draw):
    kind = draw(st.sampled_from(("int", "string", "bool", "raw")))
    if kind == "int":
        t, n, signed = draw(st.sampled_from(INT_TYPES))
        lo, hi = (-(1 << (8 * n - 1)), (1 << (8 * n - 1)) - 1) if signed else (0, (1 << 8 * n) - 1)
        return t, draw(st.integers(lo, hi))
    if kind == "string":
        t = draw(st.sampled_from((types.OCTET_STRING, types.CHAR_STRING,
                                  types.LONG_OCTET_STRING)))
        return t, draw(st.one_of(st.none(), st.binary(max_size=254)))
    if kind == "bool":
        return types.BOOL, draw(st.sampled_from((True, False, None)))
    t = draw(st.sampled_from((types.EUI64, types.KEY128, types.DATA8, types.SINGLE_FLOAT)))
    return t, draw(st.binary(min_size=types.size(t), max_size=types.size(t)))


@given(typed_value(), st.binary(max_size=8))
def test_types_round_trip_with_trailing_bytes(tv, rest):
    t, v = tv
    assert types.decode(t, types.encode(t, v) + rest) == (v, rest)


@given(st.integers(0, 255), st.binary(max_size=40))
def test_types_arbitrary_bytes_raise_only_zcl_error(t, data):
    try:
        types.decode(t, data)
    except ZCLError:
        pass


@given(st.sampled_from((0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x0A, 0x0B)),
       st.binary(max_size=60))
def test_foundation_arbitrary_bytes_raise_only_zcl_error(cmd, data):
    try:
        records = foundation.decode(cmd, data)
    except ZCLError:
        return
    # What decodes re-encodes to the same bytes.
    assert foundation.encode(cmd, records) == data or cmd in (0x04, 0x07)


@given(st.lists(typed_value(), max_size=5))
def test_report_attributes_round_trip(values):
    recs = [foundation.AttributeRecord(i, t, v) for i, (t, v) in enumerate(values)]
    assert foundation.decode(0x0A, foundation.encode(0x0A, recs)) == recs


@given(st.binary(max_size=60))
def test_zcl_frame_arbitrary_bytes(data):
    try:
        f = ZCLFrame.from_bytes(data)
    except ZCLError:
        return
    assert f.to_bytes() == data or data[0] & 0xE0


component = st.builds(
    gbz.GBZComponent, st.integers(0, 0xFFFF), st.integers(0, 255), st.integers(0, 255),
    st.integers(0, 255), st.binary(max_size=40),
    from_date_time=st.one_of(st.none(), st.integers(0, 0xFFFFFFFF)))
encrypted = st.builds(
    lambda cl, c: gbz.GBZComponent(cl, 0x09, 1, c, None, ciphered=b"\x31\x00\x00\x00\x01" +
                                   bytes(20)),
    st.integers(0, 0xFFFF), st.integers(0, 255))


@given(st.lists(st.one_of(component, encrypted), min_size=1, max_size=4))
def test_gbz_round_trip(comps):
    g = gbz.GBZPayload(comps)
    again = gbz.GBZPayload.from_bytes(g.to_bytes())
    assert again.to_bytes() == g.to_bytes() and len(again.components) == len(comps)


@given(st.binary(max_size=80), st.booleans())
def test_gbz_arbitrary_bytes_raise_only_gbz_error(data, alert):
    try:
        gbz.GBZPayload.from_bytes(b"\x01\x09" + data, alert=alert)
    except gbz.GBZError:
        pass
