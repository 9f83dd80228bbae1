"""Property tests for the payloads of the ESME's joins, firmware activation and Type 1 devices:
the ZSE DRLC and PPMID commands (smets.zcl.drlc, smets.zcl.ppmid), the ASN.1 join, unjoin and
CS06 commands (smets.devices.joins, esme_fw) and the device log (smets.devlog): round trips,
arbitrary bytes raise only the codec's error (or the GBCS rejection), and the device log
behaves like a simple model whatever the sequence of joins and unjoins."""

import tempfile

from hypothesis import given, settings
from hypothesis import strategies as st
from smets import devlog
from smets.devices import esme_fw, joins
from smets.gbcs import asn1
from smets.gbcs.asn1 import ASN1Error
from smets.gbcs.pipeline import Reject
from smets.store import Store
from smets.zcl import drlc
from smets.zcl import ppmid as pz
from smets.zcl.frame import ZCLError

u8 = st.integers(0, 0xFF)
u16 = st.integers(0, 0xFFFF)
u32 = st.integers(0, 0xFFFFFFFF)
i32 = st.integers(-(1 << 31), (1 << 31) - 1)
eui = st.binary(min_size=8, max_size=8)


@given(u32, st.integers(0, 100), u32, u16, u16, u8, u8, u8)
def test_load_control_event_round_trip(event, duty, start, duration, cls, group, crit, ctl):
    ev = drlc.LoadControlEvent(event, duty, start=start, duration=duration, device_class=cls,
                               group=group, criticality=crit, event_control=ctl)
    assert drlc.LoadControlEvent.from_bytes(ev.to_bytes()) == ev


@given(u32, u16, u8, u8, u32)
def test_cancel_event_round_trip(event, cls, group, ctl, effective):
    c = drlc.CancelEvent(event, cls, group, ctl, effective)
    assert drlc.CancelEvent.from_bytes(c.to_bytes()) == c


@given(u32, u8, u32, u8, u8, u8)
def test_event_status_round_trip(event, status, t, crit, duty, ctl):
    r = drlc.EventStatus(event, status, t, crit, duty, ctl)
    assert drlc.EventStatus.from_bytes(r.to_bytes()) == r


@given(st.binary(max_size=80))
def test_drlc_arbitrary_bytes_raise_only_zcl_error(data):
    for parse in (drlc.LoadControlEvent.from_bytes, drlc.CancelEvent.from_bytes,
                  drlc.EventStatus.from_bytes, drlc.parse_get_scheduled_events):
        try:
            parse(data)
        except ZCLError:
            pass


@given(u32, u8, st.binary(max_size=254), u8, i32, u8, i32, st.integers(0, 2))
def test_ppmid_commands_round_trip(t, origin, code, result, value, source, credit, supply):
    assert pz.parse_select_emergency_credit(pz.select_emergency_credit(t, origin)) == (t, origin)
    assert pz.parse_consumer_top_up(pz.consumer_top_up(code, origin)) == (origin, code)
    assert pz.parse_top_up_response(pz.top_up_response(result, value, source, credit)) == (
        result, value, source, credit)
    assert pz.parse_local_change_supply(pz.local_change_supply(supply)) == supply
    assert pz.parse_supply_status_response(pz.supply_status_response(t, t, t, supply)) == (
        t, t, t, supply)


@given(st.binary(max_size=40))
def test_ppmid_commands_arbitrary_bytes_raise_only_zcl_error(data):
    for parse in (pz.parse_select_emergency_credit, pz.parse_consumer_top_up,
                  pz.parse_top_up_response, pz.parse_local_change_supply,
                  pz.parse_supply_status_response):
        try:
            parse(data)
        except ZCLError:
            pass


@given(st.integers(-5, 300), eui, st.integers(-5, 300), st.one_of(st.none(),
                                                               st.binary(max_size=40)))
def test_join_command_round_trip(method, entity, dtype, extra):
    parts = [asn1.integer(method), asn1.octets(entity), asn1.integer(dtype)]
    cert = asn1.octets(extra) if extra is not None else None
    content = asn1.sequence(*(parts + ([cert] if cert else [])))
    assert joins.parse_join(content) == (method, entity, dtype, cert and bytes(cert))


@given(st.binary(max_size=120))
def test_join_and_cs06_arbitrary_bytes_raise_only_asn1_error_or_reject(data):
    class Msg:
        counter = 1000

    for parse in (joins.parse_join, lambda d: joins._entity(d),
                  lambda d: esme_fw.parse(d, Msg)):
        try:
            parse(data)
        except (ASN1Error, Reject):
            pass


@given(st.binary(min_size=32, max_size=32), st.integers(0, 1 << 40),
       st.one_of(st.none(), st.integers(946684800, 253402300799)))
def test_cs06_command_round_trip(digest, counter, when):
    class Msg:
        pass

    Msg.counter = counter
    parts = [asn1.octets(digest), asn1.integer(counter)]
    if when is not None:
        parts.append(asn1.generalized_time(when))
    assert esme_fw.parse(asn1.sequence(*parts), Msg) == (digest, when)


@settings(max_examples=60)
@given(st.lists(st.tuples(st.booleans(), st.integers(0, 11), st.integers(0, 6),
                          st.sampled_from((0, 1, 2, 3))), max_size=40))
def test_device_log_behaves_like_a_dict(ops):
    with tempfile.TemporaryDirectory() as root:
        store = Store(root)
        log = devlog.DeviceLog(store, size=6)
        model = {}
        for add, n, dtype, method in ops:
            e = bytes([0, 0xDB, 0, 0, 0, 0, 0, n])
            if add:
                got = log.add(e, dtype, method)
                if e in model:
                    same = model[e][0] == dtype and (model[e][1] == 2) == (method == 2)
                    assert got == (devlog.JOIN_SUCCESS if same else devlog.JOIN_INCOMPATIBLE)
                    if same:
                        model[e] = (dtype, method)
                elif len(model) >= 6:
                    assert got == devlog.JOIN_LOG_FULL
                else:
                    assert got == devlog.JOIN_SUCCESS
                    model[e] = (dtype, method)
            else:
                assert log.remove(e) == (e in model)
                model.pop(e, None)
            assert dict(log.entries()) == {k: v[0] for k, v in model.items()}
        again = devlog.DeviceLog(store, size=6)
        assert again.entries() == log.entries()
