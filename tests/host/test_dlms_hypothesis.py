"""Property tests: A-XDR and xDLMS decoders only raise their own errors; values round-trip."""

import math

from hypothesis import given, settings
from hypothesis import strategies as st
from smets.dlms import access, axdr
from smets.dlms.axdr import Data

# ---------------------------------------------------------------------------- strategies

_INT_RANGES = {
    axdr.INTEGER: (-(2**7), 2**7 - 1),
    axdr.LONG: (-(2**15), 2**15 - 1),
    axdr.DOUBLE_LONG: (-(2**31), 2**31 - 1),
    axdr.LONG64: (-(2**63), 2**63 - 1),
    axdr.UNSIGNED: (0, 255),
    axdr.LONG_UNSIGNED: (0, 2**16 - 1),
    axdr.DOUBLE_LONG_UNSIGNED: (0, 2**32 - 1),
    axdr.LONG64_UNSIGNED: (0, 2**64 - 1),
    axdr.ENUM: (0, 255),
    axdr.BCD: (0, 255),
}


def _ints():
    return st.one_of(
        *[
            st.integers(lo, hi).map(lambda v, t=t: Data(t, v))
            for t, (lo, hi) in _INT_RANGES.items()
        ]
    )


def _bit_strings():
    return st.integers(0, 300).flatmap(
        lambda n: st.binary(min_size=(n + 7) // 8, max_size=(n + 7) // 8).map(
            lambda raw: Data(axdr.BIT_STRING, (n, raw))
        )
    )


_finite32 = st.floats(width=32, allow_nan=False)
_finite64 = st.floats(allow_nan=False)

leaves = st.one_of(
    st.just(Data.null()),
    st.just(Data.dont_care()),
    st.booleans().map(Data.boolean),
    _ints(),
    st.binary(max_size=300).map(Data.octet),
    st.text(max_size=40).map(Data.utf8),
    st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=40).map(
        Data.visible
    ),
    _finite32.map(Data.float32),
    _finite64.map(Data.float64),
    st.binary(min_size=12, max_size=12).map(Data.date_time),
    st.binary(min_size=5, max_size=5).map(Data.date),
    st.binary(min_size=4, max_size=4).map(Data.time),
    _bit_strings(),
)


def _containers(children):
    return st.one_of(
        st.lists(children, max_size=6).map(Data.array),
        st.lists(children, max_size=6).map(Data.structure),
    )


data_trees = st.recursive(leaves, _containers, max_leaves=40)

_simple_types = st.sampled_from(
    [axdr.UNSIGNED, axdr.LONG_UNSIGNED, axdr.DOUBLE_LONG, axdr.ENUM, axdr.OCTET_STRING,
     axdr.BOOLEAN, axdr.LONG64]
)  # fmt: skip


def _value_of(td):
    if isinstance(td, tuple):
        if td[0] == axdr.ARRAY:
            return st.lists(_value_of(td[2]), min_size=td[1], max_size=td[1]).map(Data.array)
        return st.tuples(*[_value_of(t) for t in td[1]]).map(lambda xs: Data.structure(list(xs)))
    if td == axdr.OCTET_STRING:
        return st.binary(max_size=20).map(Data.octet)
    if td == axdr.BOOLEAN:
        return st.booleans().map(Data.boolean)
    lo, hi = _INT_RANGES[td]
    return st.integers(lo, hi).map(lambda v: Data(td, v))


type_descriptions = st.recursive(
    _simple_types,
    lambda ch: st.one_of(
        st.tuples(st.just(axdr.ARRAY), st.integers(1, 3), ch),
        st.lists(ch, min_size=1, max_size=3).map(lambda ts: (axdr.STRUCTURE, tuple(ts))),
    ),
    max_leaves=6,
)

compact_arrays = type_descriptions.flatmap(
    lambda td: st.lists(_value_of(td), max_size=4).map(lambda xs: Data.compact_array(td, xs))
)

any_data = st.one_of(data_trees, compact_arrays, compact_arrays.map(lambda d: Data.array([d])))

_obis = st.binary(min_size=6, max_size=6)


@st.composite
def request_specs(draw):
    kind = draw(st.integers(1, 5))
    spec = access.RequestSpec(
        kind, draw(st.integers(0, 0xFFFF)), draw(_obis), draw(st.integers(0, 255))
    )
    if kind >= access.GET_WITH_SELECTION:
        spec.selector = draw(st.integers(0, 255))
        spec.parameters = draw(data_trees)
    return spec


@st.composite
def access_requests(draw):
    specs = draw(st.lists(request_specs(), max_size=5))
    data = draw(st.lists(data_trees, min_size=len(specs), max_size=len(specs)))
    return access.AccessRequest(
        draw(st.integers(0, 2**32 - 1)), specs, data, draw(st.binary(max_size=12))
    )


@st.composite
def access_responses(draw):
    n = draw(st.integers(0, 5))
    data = draw(st.lists(data_trees, min_size=n, max_size=n))
    specs = [
        access.ResponseSpec(draw(st.integers(1, 3)), draw(st.integers(0, 255))) for _ in range(n)
    ]
    echo = draw(st.none() | st.lists(request_specs(), max_size=3))
    return access.AccessResponse(draw(st.integers(0, 2**32 - 1)), data, specs, b"", echo)


notifications = st.builds(
    access.DataNotification, st.integers(0, 2**32 - 1), data_trees, st.binary(max_size=12)
)

# ---------------------------------------------------------------------------- properties


def _same(a, b):
    """Equality that treats -0.0 / 0.0 as the encoder does (by bytes)."""
    return axdr.encode(a) == axdr.encode(b)


@given(any_data)
@settings(max_examples=400)
def test_data_round_trip(d):
    b = axdr.encode(d)
    back, pos = axdr.decode(b)
    assert pos == len(b)
    assert axdr.encode(back) == b
    assert back == d or _has_float(d)
    assert _same(axdr.from_json(axdr.to_json(d)), d)
    # Trailing data and offsets.
    back, pos = axdr.decode(b"\xaa" + b + b"\x00", 1)
    assert pos == len(b) + 1


def _has_float(d):
    if d.tag in (axdr.FLOAT32, axdr.FLOAT64):
        return math.isnan(d.value) or d.value == 0.0
    if d.tag in (axdr.ARRAY, axdr.STRUCTURE):
        return any(_has_float(x) for x in d.value)
    return False


@given(st.binary(max_size=200))
@settings(max_examples=2000)
def test_data_decode_arbitrary_bytes(b):
    try:
        d, pos = axdr.decode(b)
    except axdr.AXDRError:
        return
    # Whatever decodes re-encodes to a canonical form that decodes to the same value.
    again = axdr.encode(d)
    assert axdr.encode(axdr.from_bytes(again)) == again
    assert pos <= len(b)


@given(st.binary(max_size=200))
@settings(max_examples=2000)
def test_apdu_decode_arbitrary_bytes(b):
    for tag in (b"\xd9", b"\xda", b"\x0f"):
        try:
            apdu = access.decode_apdu(tag + b)
        except access.DLMSError:
            continue
        again = apdu.to_bytes()
        assert access.decode_apdu(again).to_bytes() == again


@given(st.binary(max_size=120))
def test_apdu_decode_prefixed_bytes(b):
    # Valid-looking headers so the fuzzing reaches the bodies.
    for head in (
        b"\xd9\x20\x00\x00\x01\x00",
        b"\xda\x20\x00\x00\x01\x00\x00",
        b"\x0f\x00\x00\x00\x01\x00",
    ):
        try:
            access.decode_apdu(head + b)
        except access.DLMSError:
            pass


@given(access_requests())
def test_access_request_round_trip(r):
    b = r.to_bytes()
    back = access.AccessRequest.from_bytes(b)
    assert back.to_bytes() == b
    assert back.specs == r.specs or any(s.parameters is not None for s in r.specs)
    for i in range(0, len(b), max(1, len(b) // 16)):
        try:
            access.AccessRequest.from_bytes(b[:i])
        except access.DLMSError:
            continue
        raise AssertionError("prefix %d decoded" % i)


@given(access_responses())
def test_access_response_round_trip(r):
    b = r.to_bytes()
    back = access.AccessResponse.from_bytes(b)
    assert back.to_bytes() == b
    assert back.specs == r.specs and back.invoke_id == r.invoke_id


@given(notifications)
def test_data_notification_round_trip(n):
    b = n.to_bytes()
    back = access.DataNotification.from_bytes(b)
    assert back.to_bytes() == b and back.date_time == n.date_time


@given(st.integers(0, 2**32 - 1), st.sampled_from([0x8000, 0, 60, -60, 720, -720]),
       st.integers(0, 255), st.booleans())  # fmt: skip
def test_date_time_round_trip(now, deviation, status, weekday):
    b = axdr.date_time_bytes(now, deviation, status, weekday)
    assert len(b) == 12
    assert axdr.date_time_to_unix(b) == now
    f = axdr.date_time_fields(b)
    assert f[8] == (None if deviation == 0x8000 else deviation)
    assert (f[3] is None) != weekday


@given(st.binary(min_size=12, max_size=12))
def test_date_time_fields_arbitrary(b):
    axdr.date_time_fields(b)
    axdr.date_time_str(b)
    try:
        axdr.date_time_to_unix(b)
    except axdr.AXDRError:
        pass
