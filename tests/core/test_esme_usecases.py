"""ESME use cases on the generic COSEM model: one representative per family (sans-IO).

Reads and writes of configuration, selective access on logs, protected (encrypted) profile
reads, future-dated activation with its 8F66 alert, prepayment credit, template and role
checks, break-on-error and the persistence / migration of attribute values.
"""

import gbcs_fixtures as fx
from smets import cosem
from smets.devices import esme as esme_mod
from smets.devices.esme import ESME
from smets.dlms import access, axdr
from smets.dlms.access import (
    AccessRequest,
    AccessResponse,
    DataNotification,
    GetProtectedAttributes,
    ProtectedAttributes,
    ProtectedGet,
    ProtectionParameters,
    RequestSpec,
)
from smets.dlms.axdr import Data
from smets.gbcs import crypto, envelope, p256

NOW = 1700000000  # 2023-11-14T22:13:20Z
OB = fx.obis
NEVER = cosem.NEVER_DT


def _device(store=None, init=None, fresh=True, now=NOW):
    store = store or fx.scratch_store()
    return ESME(fx.identity(), store, now, fresh=fresh, init=init), store


def _send(dev, code, specs, data=None, role="supplier", critical=False, now=NOW):
    counter = fx.next_counter(role)
    req = AccessRequest(fx.invoke(counter), specs, data)
    raw, _ = fx.command(role, code, req.to_bytes(), critical=critical, counter=counter)
    out = dev.handle_gbcs(raw, now)
    assert out and dev.last_outcome == "accepted", (dev.last_outcome, dev.last_detail)
    msg = envelope.decode(out[0])
    if critical:
        assert msg.mac is None and crypto.verify_message_signature(msg, fx.pub("device_ds"))
    else:
        z = p256.ecdh(fx.KEYS[role + "_ka"], fx.pub("device_ka"))
        assert crypto.verify_message_mac(msg, z)
    resp = AccessResponse.from_bytes(msg.content)
    assert resp.invoke_id == req.invoke_id
    return msg, resp, out[1:]


def _rejected(dev, code, specs, data=None, role="supplier", critical=False):
    counter = fx.next_counter(role)
    req = AccessRequest(fx.invoke(counter), specs, data)
    raw, _ = fx.command(role, code, req.to_bytes(), critical=critical, counter=counter)
    dev.handle_gbcs(raw, NOW)
    return dev.last_outcome


def _results(resp):
    return [s.result for s in resp.specs]


def test_use_case_table_lists_many_esme_codes():
    dev, store = _device()
    try:
        codes = dev.control("use_cases", {}, NOW)
        assert len(codes) >= 90
        assert codes["0027"] == "ECS17b" and codes["0019"] == "ECS01a" and codes["0007"] == "CS01a"
        uc = dev.USE_CASES.get(0x0019)
        assert uc.critical and uc.response_time and uc.roles == 1
        assert dev.USE_CASES.get(0x7777) is None
        # Paged, for a small heap: the pages make up the whole table.
        paged = {}
        start = 0
        while True:
            page = dev.control("use_cases", {"start": start, "n": 30}, NOW)
            assert len(page["use_cases"]) <= 30 and page["total"] == len(codes)
            paged.update(page["use_cases"])
            start += 30
            if start >= page["total"]:
                break
        assert paged == codes
        assert [uc.code for uc in dev.USE_CASES.values()] == [c for c, _ in
                                                              dev.USE_CASES.names()]
    finally:
        fx.cleanup(store)


def test_configuration_set_then_read_back():
    dev, store = _device()
    try:
        thresholds = Data.array([Data.uint32(2500), Data.uint32(5000)])
        _, resp, _ = _send(dev, 0x0047, [RequestSpec.set(21, OB("0-0-16-0-0-255"), 2)],
                           [thresholds])  # ECS34
        assert _results(resp) == [0]
        _, resp, _ = _send(dev, 0x0040, [RequestSpec.get(21, OB("0-0-16-0-0-255"), 2)])
        assert resp.data[0] == thresholds  # ECS26f
        # The stored value survives a restart.
        dev2 = ESME(fx.identity(), store, NOW + 10)
        _, resp, _ = _send(dev2, 0x0040, [RequestSpec.get(21, OB("0-0-16-0-0-255"), 2)])
        assert resp.data[0] == thresholds
    finally:
        fx.cleanup(store)


def test_a_set_must_keep_the_attributes_type_and_shape():
    dev, store = _device()
    try:
        spec = [RequestSpec.set(21, OB("0-0-16-0-0-255"), 2)]
        for bad in (Data.uint32(5), Data.array([Data.uint16(1)])):
            _, resp, _ = _send(dev, 0x0047, spec, [bad])
            assert _results(resp) == [access.TYPE_UNMATCHED]
        # ECS12 change of tenancy date: a date-time stays an octet-string(12).
        spec = [RequestSpec.set(1, OB("0-0-94-44-3-2"), 2)]
        _, resp, _ = _send(dev, 0x0022, spec, [Data.octet(b"\x07\xe8\x01\x01")])
        assert _results(resp) == [access.TYPE_UNMATCHED]
        _, resp, _ = _send(dev, 0x0022, spec, [Data.octet(cosem.date_time(NOW))])
        assert _results(resp) == [0]
        assert dev.attribute(1, OB("0-0-94-44-3-2"), 2) == b"\x09\x0c" + cosem.date_time(NOW)
    finally:
        fx.cleanup(store)


def test_identity_and_register_reads():
    dev, store = _device(init={"import_wh": 7})
    try:
        msg, resp, _ = _send(dev, 0x003F, [RequestSpec.get(1, OB(o), 2) for o in (
            "0-0-96-1-1-255", "0-0-96-1-2-255", "0-0-96-1-4-255", "0-0-96-1-6-255",
            "0-0-94-44-0-4")])  # ECS26e
        assert resp.data[0] == Data.octet(fx.DEVICE_EUI) and msg.date_time is None
        msg, resp, _ = _send(dev, 0x0026, [  # ECS17a
            RequestSpec.get(3, OB(o), a) for o in ("1-0-2-8-0-255", "1-0-4-8-0-255")
            for a in (2, 3)])
        assert msg.date_time == cosem.date_time(NOW)  # register reads carry the device time
        assert resp.data[1] == Data.structure([Data.int8(0), Data.enum(30)])
        _, resp, _ = _send(dev, 0x0028, [RequestSpec.get(1, OB("0-0-94-44-34-20"), 2)])
        assert resp.data[0].value[0] == Data.uint32(500)  # ECS17c instantaneous power
    finally:
        fx.cleanup(store)


def test_template_roles_and_optional_items():
    dev, store = _device()
    try:
        labels = ["0-0-94-44-0-%d" % i for i in range(11, 16)]
        specs = [RequestSpec.set(1, OB(o), 2) for o in labels]
        # ECS46a (critical) may carry any ordered subset of its optional items.
        _, resp, _ = _send(dev, 0x0053, specs[1:4], [Data.visible("x")] * 3, critical=True)
        assert _results(resp) == [0, 0, 0]
        assert _rejected(dev, 0x0053, specs[2::-1], [Data.visible("x")] * 3,
                         critical=True) == "bad_payload"
        # ECS40 is not optional: both MPANs or nothing.
        assert _rejected(dev, 0x004E, [RequestSpec.get(1, OB("0-0-94-44-34-11"), 2)]) \
            == "bad_payload"
        # ECS39b (export MPAN) is the ACB's; ECS25b the network operator's.
        assert _rejected(dev, 0x004D, [RequestSpec.set(1, OB("1-0-0-0-2-255"), 2)],
                         [Data.octet(b"1312345678333")]) == "not_authorised"
        _, resp, _ = _send(dev, 0x004D, [RequestSpec.set(1, OB("1-0-0-0-2-255"), 2)],
                           [Data.octet(b"1312345678333")], role="acb")
        assert _results(resp) == [0]
    finally:
        fx.cleanup(store)


def test_break_on_error_and_injected_fault_position():
    dev, store = _device()
    try:
        dev.control("fault_dlms", {"count": 1, "after": 2}, NOW)
        specs = [RequestSpec.get(3, OB(o), a) for o in ("1-0-2-8-0-255", "1-0-4-8-0-255")
                 for a in (2, 3)]
        _, resp, _ = _send(dev, 0x0026, specs)
        assert _results(resp) == [0, 0, access.HARDWARE_FAULT, access.OTHER_REASON]
        assert resp.data[2] == Data.null() and resp.data[3] == Data.null()
        _, resp, _ = _send(dev, 0x0026, specs)
        assert _results(resp) == [0, 0, 0, 0]
    finally:
        fx.cleanup(store)


def _range(lo, hi):
    # GBCS range descriptor: restricting object 0-0-94-44-100-255 (class 1, attr 2), from/to
    # in seconds since 2000-01-01, all columns.
    return Data.structure([
        Data.structure([Data.uint16(1), Data.octet(OB("0-0-94-44-100-255")), Data.int8(2),
                        Data.uint16(0)]),
        Data.uint32(lo - cosem.EPOCH_2000), Data.uint32(hi - cosem.EPOCH_2000), Data.array([])])


def test_event_log_read_by_date_range():
    dev, store = _device()
    try:
        for i, code in enumerate((0x0050, 0x0051, 0x004F)):  # open, arm, close the switch
            script = (52, 54, 51)[i]
            _send(dev, code, [RequestSpec.action(9, OB("0-0-10-0-106-255"), 1)],
                  [Data.uint16(script)], critical=True, now=NOW + 100 * i)
        spec = RequestSpec.get_with_selection(7, OB("0-0-99-98-0-255"), 2, 1,
                                              _range(NOW + 50, NOW + 300))
        _, resp, _ = _send(dev, 0x0048, [spec], now=NOW + 400)  # ECS35a
        td, entries = resp.data[0].value
        assert td == (axdr.STRUCTURE, (axdr.DOUBLE_LONG_UNSIGNED, axdr.LONG_UNSIGNED,
                                       axdr.OCTET_STRING))
        assert [(e.value[0].value + cosem.EPOCH_2000, e.value[1].value) for e in entries] == [
            (NOW + 100, esme_mod.EVENT_SUPPLY_ARMED), (NOW + 200, esme_mod.EVENT_SUPPLY_ENABLED)]
        # ECS15a clears it.
        _send(dev, 0x0024, [RequestSpec.action(7, OB("0-0-99-98-0-255"), 1)], [Data.int8(0)])
        _, resp, _ = _send(dev, 0x0048, [spec])
        assert resp.data[0].value[1] == []
        # ... and says so in the security log (GBCS 8F52), which it cannot clear.
        assert dev.security_entries()[-1]["alert"] == 0x8F52
    finally:
        fx.cleanup(store)


def _protected_read(dev, code, dp, target, selection, now, role="supplier"):
    counter = fx.next_counter(role)
    prot = ProtectionParameters(b"\x04" + counter.to_bytes(8, "big"), fx.PARTY_EUIS[role],
                                fx.DEVICE_EUI)
    get = ProtectedGet(target[0], OB(target[1]), 2, 0, 1 if selection else 0, selection)
    req = AccessRequest(fx.invoke(counter), [RequestSpec.action(30, OB(dp), 1)],
                        [GetProtectedAttributes([get], [prot]).to_data()])
    raw, _ = fx.command(role, code, req.to_bytes(), counter=counter)
    out = dev.handle_gbcs(raw, now)
    assert dev.last_outcome == "accepted", dev.last_detail
    msg = envelope.decode(out[0])
    pa = ProtectedAttributes.from_data(AccessResponse.from_bytes(msg.content).data[0])
    assert pa.protection[0].originator == fx.DEVICE_EUI
    assert pa.protection[0].recipient == fx.PARTY_EUIS[role]
    z = p256.ecdh(fx.KEYS[role + "_ka"], fx.pub("device_ka"))
    plain = crypto.unprotect_payload(z, fx.DEVICE_EUI, counter, fx.PARTY_EUIS[role],
                                     pa.protected_attributes)
    return axdr.from_bytes(plain).value[0]


def test_half_hour_profile_fills_on_the_clock_and_reads_encrypted():
    start = NOW - NOW % 86400  # midnight
    dev, store = _device(init={"power_w": 1000}, now=start)
    try:
        dev.device_tick(start + 3 * 3600)  # six half-hours of 500 Wh
        assert len(dev.hh) == 6
        sel = Data.structure([Data.octet(cosem.date_time(start + 3600)),
                              Data.octet(cosem.date_time(start + 7200))])
        prof = _protected_read(dev, 0x0037, "0-0-43-2-7-255", (7, "0-0-99-1-0-255"), sel,
                               start + 3 * 3600)  # ECS22b
        td, entries = prof.value
        assert td == (axdr.STRUCTURE, (axdr.DOUBLE_LONG_UNSIGNED, axdr.DOUBLE_LONG_UNSIGNED))
        assert [(e.value[0].value + cosem.EPOCH_2000, e.value[1].value) for e in entries] == [
            (start + 3600, 500), (start + 5400, 500), (start + 7200, 500)]
        # A day later the daily read log (ECS21a) has midnight's register reading.
        dev.device_tick(start + 86400 + 60)
        log = _protected_read(dev, 0x0033, "0-0-43-2-5-255", (7, "0-0-98-1-9-255"), None,
                              start + 86400 + 60)
        td, entries = log.value
        assert len(entries) == 1 and entries[0].value[1].value == 24000
        assert len(entries[0].value[2].value) == 48
        # Registers agree (ECS17b).
        regs = _protected_read(dev, 0x0027, "0-0-43-2-8-255", (1, "0-0-94-44-34-10"), None,
                               start + 86400 + 60)
        assert regs.value[0].value == 24016
    finally:
        fx.cleanup(store)


def _ecs02(dev, when, mode, now):
    """ECS02/03-style payment mode change, future-dated to `when` (12-byte date-time)."""
    acct = OB("0-1-19-0-0-255")
    return _send(dev, 0x001A, [RequestSpec.set(111, acct, 2), RequestSpec.set(111, acct, 11),
                               RequestSpec.set(111, acct, 13)],
                 [Data.structure([Data.enum(mode), Data.enum(1)]),
                  Data.array([Data.structure([Data.octet(OB("0-0-19-10-0-255")),
                                              Data.octet(OB("0-0-19-20-0-255")),
                                              Data.bits("111")])]),
                  Data.octet(when)], critical=True, now=now)


def _payment_mode(dev):
    _, resp, _ = _send(dev, 0x00BE, [RequestSpec.get(111, OB("0-0-19-0-0-255"), 2)])  # ECS26j
    return resp.data[0].value[0].value


def test_future_dated_payment_mode_change_raises_8f66_when_it_takes_effect():
    dev, store = _device()
    try:
        assert _payment_mode(dev) == 1
        when = NOW + 7200
        msg, resp, alerts = _ecs02(dev, cosem.date_time(when), 2, NOW)
        assert _results(resp) == [0, 0, 0] and alerts == []
        assert msg.date_time is not None  # future-datable: the response carries the time
        assert _payment_mode(dev) == 1  # not yet
        assert dev.next_due(NOW + 1) <= when
        assert dev.device_tick(when - 1) == []
        out = dev.device_tick(when)
        assert len(out) == 1
        alert = envelope.decode(out[0])
        assert alert.cra == envelope.CRA_ALERT and alert.message_code == 0x00CC
        assert alert.recipient == fx.PARTY_EUIS["supplier"] and alert.mac is None
        assert crypto.verify_message_signature(alert, fx.pub("device_ds"))
        body = DataNotification.from_bytes(alert.content)
        assert body.alert_code == 0x8F66 and body.timestamp == cosem.date_time(when)
        code, counter, cls, obis, attr = access.decode_future_dated(body.body.value[2].value)
        assert (code, cls, obis, attr) == (0x001A, 111, OB("0-1-19-0-0-255"), 13)
        assert counter == msg.counter
        assert _payment_mode(dev) == 2
        assert dev.device_tick(when + 60) == []
    finally:
        fx.cleanup(store)


def test_future_dated_change_cancelled_with_never_and_immediate_with_now():
    dev, store = _device()
    try:
        _ecs02(dev, cosem.date_time(NOW + 600), 2, NOW)
        assert dev.status(NOW)["pending"] == 1
        _ecs02(dev, NEVER, 2, NOW + 1)  # CANCELLATION
        assert dev.status(NOW + 1)["pending"] == 0
        assert dev.device_tick(NOW + 700) == [] and _payment_mode(dev) == 1
        _, _, alerts = _ecs02(dev, cosem.NOW_DT, 2, NOW + 800)  # IMMEDIATE: no alert
        assert alerts == [] and _payment_mode(dev) == 2
        # A pending change survives a restart.
        _ecs02(dev, cosem.date_time(NOW + 5000), 1, NOW + 900)
        dev2 = ESME(fx.identity(), store, NOW + 1000)
        assert len(dev2.device_tick(NOW + 5000)) == 1 and _payment_mode(dev2) == 1
    finally:
        fx.cleanup(store)


def test_a_full_pending_list_refuses_the_new_change_and_keeps_the_acknowledged_ones():
    dev, store = _device()
    try:
        _ecs02(dev, cosem.date_time(NOW + 600), 2, NOW)
        mine = dev.state["pending"][0]
        # Other acknowledged future-dated changes fill the list (their slots are stand-ins).
        others = [[NOW + 1000 + i, 5000 + i, 0x0019, 77 + i, "90b3d51f30010000"]
                  for i in range(esme_mod.MAX_PENDING - 1)]
        dev.state["pending"].extend(others)
        # Re-dating the same activation replaces its own entry: room enough.
        _, resp, _ = _ecs02(dev, cosem.date_time(NOW + 700), 2, NOW + 1)
        assert _results(resp) == [0, 0, 0] and len(dev.state["pending"]) == esme_mod.MAX_PENDING
        assert dev.state["pending"][-1][0] == NOW + 700
        # The list full of other activations' changes: the new one is refused
        # (temporary-failure), none of the acknowledged ones dropped.
        dev.state["pending"].pop()
        dev.state["pending"].append([NOW + 2000, 4999, 0x0019, 1, "90b3d51f30010000"])
        before = [list(e) for e in dev.state["pending"]]
        _, resp, _ = _ecs02(dev, cosem.date_time(NOW + 800), 2, NOW + 2)
        assert _results(resp) == [0, 0, 2]
        assert dev.state["pending"] == before and mine not in dev.state["pending"]
        # ... and the date-time it carried was not stored either.
        got = dev.attribute(111, OB("0-1-19-0-0-255"), 13)
        assert bytes(got[2:]) == cosem.date_time(NOW + 700)
    finally:
        fx.cleanup(store)


def test_prepayment_credit_top_up_adjust_and_reset():
    dev, store = _device(init={"power_w": 1000})
    try:
        bal = [RequestSpec.get(112, OB("0-0-19-10-0-255"), 2)]
        assert _send(dev, 0x0069, bal)[1].data[0] == Data.int32(0)  # ECS82
        _send(dev, 0x0007, [RequestSpec.action(115, OB("0-0-19-40-0-255"), 1)],
              [Data.octet(fx.utrn(3, 1000).encode())])  # CS01a
        _, resp, _ = _send(dev, 0x0007, [RequestSpec.action(115, OB("0-0-19-40-0-255"), 1)],
                           [Data.octet(b"7394")])
        assert _results(resp) == [access.OTHER_REASON]  # a UTRN has 20 digits
        _send(dev, 0x001C, [RequestSpec.action(112, OB("0-0-19-10-0-255"), 1)],
              [Data.int32(-200000)], critical=True)  # ECS04a
        assert _send(dev, 0x0069, bal)[1].data[0] == Data.int32(800000)
        # In prepayment mode consumption draws the balance down (1 kWh at the unit rate).
        _ecs02(dev, cosem.NOW_DT, 2, NOW)
        assert _send(dev, 0x0069, bal, now=NOW + 3600)[1].data[0] == \
            Data.int32(800000 - esme_mod.UNIT_RATE)
        _send(dev, 0x00B3, [RequestSpec.action(112, OB("0-0-19-10-%d-255" % i), 2)
                            for i in range(3)], [Data.int32(0)] * 3, critical=True,
              now=NOW + 3600)  # ECS04b
        assert _send(dev, 0x0069, bal, now=NOW + 3600)[1].data[0] == Data.int32(0)
    finally:
        fx.cleanup(store)


def test_values_survive_a_firmware_with_another_model():
    dev, store = _device(init={"mpan_import": "1312345678111"})
    try:
        # An "older firmware" that had every attribute but the first: its keys and values.
        keys = dev.keys[9:]
        old = cosem.AttrStore.from_values(keys, [dev.attrs.get(i)
                                                 for i in range(1, len(dev.attrs))])
        store.save_parts("attrs", old.parts(b"oldmodel"))
        store.save_bytes("attrkeys", keys)
        dev2 = ESME(fx.identity(), store, NOW)
        v = dev2.attribute(1, OB("0-0-94-44-34-11"), 2)
        assert v == Data.octet(b"1312345678111").tag.to_bytes(1, "big") + b"\x0d1312345678111"
        assert store.load_bytes("attrkeys") == dev2.keys
    finally:
        fx.cleanup(store)


def test_billing_calendar_captures_the_billing_data_log_and_pushes_ecs68():
    first_of_december = 1701388800  # 2023-12-01T00:00:00Z; the default calendar is monthly
    dev, store = _device(init={"power_w": 1000}, now=first_of_december - 7200)
    try:
        out = dev.device_tick(first_of_december + 60)
        assert len(out) == 1
        alert = envelope.decode(out[0])
        assert alert.message_code == 0x0061 and alert.cra == envelope.CRA_ALERT
        assert crypto.verify_message_signature(alert, fx.pub("device_ds"))
        body = DataNotification.from_bytes(alert.content).body.value
        assert body[0].value == 0x8F0A and body[1].value == cosem.date_time(first_of_december)
        pa = ProtectedAttributes.from_data(Data.structure(body[2:]))
        p = pa.protection[0]
        assert p.counter == alert.counter and p.recipient == fx.PARTY_EUIS["supplier"]
        z = p256.ecdh(fx.KEYS["supplier_ka"], fx.pub("device_ka"))
        plain = crypto.unprotect_payload(z, fx.DEVICE_EUI, alert.counter,
                                         fx.PARTY_EUIS["supplier"], pa.protected_attributes)
        entries = axdr.from_bytes(plain).value[0].value[1]
        assert len(entries) == 1 and entries[0].value[1].value == 2000  # Wh at billing time
        # ECS20c reads both billing logs (encrypted); nothing more is pushed.
        assert dev.device_tick(first_of_december + 120) == []
        log = _protected_read(dev, 0x0030, "0-0-43-2-2-255", (7, "0-0-98-1-0-255"), None,
                              first_of_december + 120)
        assert log.value[1][0].value[0].value == first_of_december - cosem.EPOCH_2000
    finally:
        fx.cleanup(store)
