"""Property tests for the gas meter's GBZ handling: the ZSE command layouts (smets.zcl.se) round
trip and raise only ZCLError; the GSME, fed any GBZ payload inside a well-formed GBCS command,
answers or discards it (bad_payload, GBCS alert 8F1E) and never raises; the decode tool turns
any GBZ bytes into JSON or a ValueError."""

import re
import sys
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from smets.gbcs import envelope
from smets.zcl import gbz, secmd
from smets.zcl import types as ztypes
from smets.zcl.frame import ZCLError
from smetsbench.payloads import registry

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "core"))
import gbcs_fixtures as fx  # noqa: E402

ROWS = [(int(k[:4], 16), k[4] == "1", int(k[5:], 16))
        for k in re.findall(r" ([0-9a-f]{7}):", secmd._TABLE)]
_INT = {ztypes.UINT8: (0, 0xFF), ztypes.UINT16: (0, 0xFFFF), ztypes.UINT24: (0, 0xFFFFFF),
        ztypes.UINT32: (0, 0xFFFFFFFF), ztypes.UINT48: (0, (1 << 48) - 1),
        ztypes.INT32: (-(1 << 31), (1 << 31) - 1), ztypes.ENUM8: (0, 0xFF),
        ztypes.MAP8: (0, 0xFF), ztypes.MAP16: (0, 0xFFFF), ztypes.MAP32: (0, 0xFFFFFFFF),
        ztypes.UTC_TIME: (0, 0xFFFFFFFE)}


def _field(t):
    if t in _INT:
        return st.integers(*_INT[t])
    if t in (ztypes.OCTET_STRING, ztypes.CHAR_STRING):
        return st.binary(max_size=30)
    if t == ztypes.BOOL:
        return st.booleans()
    if t == ztypes.DATE:
        return st.binary(min_size=4, max_size=4)
    raise AssertionError("no strategy for type %02x" % t)


@st.composite
def command_fields(draw):
    cluster, s2c, cmd = draw(st.sampled_from(ROWS))
    lay = secmd.layout(cluster, s2c, cmd)
    fields = []
    for i, t in enumerate(lay):
        if t == secmd.REST:
            fields.append(draw(st.binary(max_size=20)))
            break
        if t == secmd.REPEAT:
            group = lay[i + 1:]
            fields.append([tuple(draw(_field(g)) for g in group)
                           for _ in range(draw(st.integers(0, 3)))])
            break
        fields.append(draw(_field(t)))
    return cluster, s2c, cmd, fields


def _norm(v):
    if isinstance(v, (bytes, bytearray, memoryview)):
        return bytes(v)
    if isinstance(v, list):
        return [tuple(_norm(x) for x in item) for item in v]
    return v


@given(command_fields())
def test_se_layouts_round_trip(c):
    cluster, s2c, cmd, fields = c
    raw = secmd.encode(cluster, s2c, cmd, fields)
    assert [_norm(v) for v in secmd.decode(cluster, s2c, cmd, raw)] == [_norm(v) for v in fields]


@given(st.sampled_from(ROWS), st.binary(max_size=80))
def test_se_arbitrary_bytes_raise_only_zcl_error(row, data):
    try:
        secmd.decode(*row, data)
    except ZCLError:
        pass


_DEV = {}


def _gsme():
    if "dev" not in _DEV:
        from smets.devices.gsme import GSME

        ident = fx.identity()
        ident["role"] = "GSME"
        _DEV["store"] = fx.scratch_store()
        _DEV["dev"] = GSME(ident, _DEV["store"], 1700000000, fresh=True)
    return _DEV["dev"]


@st.composite
def gbz_payloads(draw):
    """GBZ payloads near what the meter takes: its clusters and commands, any bytes."""
    comps = []
    for i in range(draw(st.integers(0, 4))):
        cluster = draw(st.sampled_from((0x0000, 0x0700, 0x0702, 0x0705, 0x0707, 0x0708,
                                        0x0709, 0x1234)))
        fc = draw(st.sampled_from((0x00, 0x01, 0x09, 0x08, 0x10)))
        cmd = draw(st.integers(0, 0x10))
        payload = draw(st.binary(max_size=24))
        if draw(st.booleans()) and fc & 0x03:
            rows = [r for r in ROWS if r[0] == cluster and r[1] == bool(fc & 0x08)]
            if rows:
                cmd = draw(st.sampled_from(rows))[2]
        comps.append(gbz.GBZComponent(cluster, fc, i, cmd, payload))
    raw = gbz.GBZPayload(comps).to_bytes()
    if draw(st.booleans()):
        cut = draw(st.integers(0, len(raw)))
        raw = raw[:cut] + draw(st.binary(max_size=6))
    return raw


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from((0x0074, 0x0075, 0x0077, 0x0081, 0x0082, 0x0097, 0x006E, 0x00A3,
                        0x0071, 0x0087, 0x00F1, 0x009F)), gbz_payloads())
def test_the_gsme_answers_or_discards_any_gbz_payload(code, content):
    dev = _gsme()
    critical = code in (0x0081, 0x006E, 0x00A3)
    raw, _ = fx.command("supplier", code, content, critical=critical)
    out = dev.handle_gbcs(raw, 1700000000)
    assert dev.last_outcome in ("accepted", "bad_payload"), (dev.last_outcome, dev.last_detail)
    if dev.last_outcome == "accepted":
        msg = envelope.decode(out[0])
        assert msg.cra == envelope.CRA_RESPONSE
        gbz.GBZPayload.from_bytes(msg.content)  # a well-formed GBZ response
    else:
        assert [envelope.decode(o).cra for o in out] == [envelope.CRA_ALERT]


@given(st.binary(max_size=120), st.booleans())
def test_the_decode_tool_takes_any_gbz_bytes(data, alert):
    kind = registry.GBZ
    content = b"\x01\x09" + data
    msg = _Msg(envelope.CRA_ALERT if alert else envelope.CRA_RESPONSE)
    try:
        value = kind.decode(content, msg)
    except ValueError:
        return
    kind.to_json(value)
    kind.failure(content, msg)
    if alert:
        kind.alert_code(content, msg)


class _Msg:
    def __init__(self, cra):
        self.cra = cra
