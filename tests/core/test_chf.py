"""The Communications Hub Function (smets.devices.chf): device logs, logs, sub-GHz configuration
and alerts through the GBCS pipeline. Runs under pytest and on the MicroPython unix port."""

import gbcs_fixtures as fx
from gbcs_fixtures import raises as _raises
from smets.devices.chf import CHF
from smets.dlms.access import AccessRequest, RequestSpec, decode_apdu
from smets.dlms.axdr import Data as D
from smets.gbcs import envelope

CHF_EUI = bytes.fromhex("00db1234567890a2")
ESME = bytes.fromhex("00db1234567890a0")
GSME = bytes.fromhex("00db1234567890a1")
NOW = 1420070400  # 2015-01-01
LOG = fx.obis("0-0-30-3-0-255")
LOG2 = fx.obis("0-0-30-3-1-255")
CODE = bytes(range(16))


def _chf(init=None):
    ident = fx.identity()
    ident["role"] = "CHF"
    ident["eui"] = CHF_EUI.hex()
    return CHF(ident, fx.scratch_store(), NOW, fresh=True, init=init or {"device_log": [
        {"eui": GSME.hex(), "install_code": "0b" * 16, "type": 0}]})


def _cmd(dev, code, specs, data=None, now=NOW):
    c = fx.next_counter("acb")
    req = AccessRequest(fx.invoke(c), specs, data)
    raw, _ = fx.command("acb", code, req.to_bytes(), recipient=CHF_EUI, counter=c)
    out = [envelope.decode(m) for m in dev.handle_gbcs(raw, now)]
    resp = [m for m in out if m.cra == envelope.CRA_RESPONSE]
    alerts = [m for m in out if m.cra == envelope.CRA_ALERT]
    return (decode_apdu(resp[0].content) if resp else None), alerts


def _register(eui=ESME, code=CODE, timeout=90):
    entry = D.structure([D.octet(eui), D.enum(1), D.octet(code), D.enum(0)])
    return ([RequestSpec.action(104, LOG, 1), RequestSpec.set(104, LOG, 3),
             RequestSpec.set(104, LOG, 2)], [entry, D.uint16(timeout), D.boolean(True)])


def _results(resp):
    return [s.result for s in resp.specs]


def test_the_image_is_the_model():
    from smets.devices import chf_image, chf_model

    keys, hooks, blob, ucs, _acts, _variants = chf_model.build()
    assert (chf_image.KEYS, chf_image.HOOKS, chf_image.DEFAULTS, chf_image.USE_CASES) == (
        keys, hooks, blob, ucs)
    assert chf_image.VERSION == chf_model.VERSION


def test_ccs01_adds_a_device_that_may_then_join_for_its_join_period():
    dev = _chf()
    resp, alerts = _cmd(dev, 0x0001, *_register())
    assert _results(resp) == [0, 0, 0] and dev.last_outcome == "accepted"
    # CS14: the device log changed, with the log's backup, MACed to the ACB.
    (cs14,) = alerts
    assert cs14.message_code == 0x0018 and cs14.mac is not None and cs14.signature is None
    body = decode_apdu(cs14.content).body.value
    assert body[0].value == 0x8F12
    entries = body[2].value[2].value
    assert [(bytes(e.value[0].value), bytes(e.value[1].value)) for e in entries] == [
        (GSME, b"\x0b" * 16), (ESME, CODE)]
    log = {d["eui"]: d for d in dev.han_devices(NOW + 30)["devices"]}
    assert log[ESME.hex()]["install_code"] == CODE.hex() and log[ESME.hex()]["join_left"] == 60
    assert dev.han_devices(NOW + 100)["devices"][1]["join_left"] == 0
    # A wrong install code size is refused by the device, not the pipeline.
    resp, alerts = _cmd(dev, 0x0001, *_register(code=b"\x01\x02"))
    assert _results(resp) == [250, 250, 250] and alerts == []


def test_ccs02_removes_ccs07_backs_up_and_ccs03_restores():
    dev = _chf()
    _cmd(dev, 0x0001, *_register())
    resp, alerts = _cmd(dev, 0x0002, [RequestSpec.action(104, LOG, 2)], [D.octet(GSME)])
    assert _results(resp) == [0] and [a.message_code for a in alerts] == [0x0018]
    assert [d["eui"] for d in dev.han_devices(NOW)["devices"]] == [ESME.hex()]
    resp, _ = _cmd(dev, 0x00FE, [RequestSpec.action(104, LOG, 4),
                                 RequestSpec.action(104, LOG2, 4)])
    first, second = resp.data
    assert bytes(first.value[1].value) == CHF_EUI and len(first.value[2].value) == 1
    assert second.value[2].value == []
    # Restore the first log's backup into the second one (CCS03 on a new hub).
    resp, _ = _cmd(dev, 0x0003, [RequestSpec.action(104, LOG2, 5)], [first])
    assert _results(resp) == [0]
    assert [(d["eui"], d["log"]) for d in dev.han_devices(NOW)["devices"]] == [
        (ESME.hex(), 0), (ESME.hex(), 1)]


def test_the_han_events_fill_the_device_figures_and_the_chf_logs():
    dev = _chf()
    _cmd(dev, 0x0001, *_register())
    assert dev.han_event({"kind": "joined", "eui": ESME.hex()}, NOW + 5) == []
    dev.han_event({"kind": "refused", "eui": "00db1234567890b7"}, NOW + 6)
    resp, _ = _cmd(dev, 0x0004, [RequestSpec.get(104, LOG, 4)], now=NOW + 10)
    devices = {bytes(e.value[0].value): e.value for e in resp.data[0].value}
    esme = devices[ESME]
    assert len(esme) == 14 and esme[1].value[1][0] & 0x40  # joined
    assert bytes(esme[8].value)[:4] == b"\x07\xdf\x01\x01"  # last heard 2015-01-01
    sel = D.structure([D.structure([D.uint16(1), D.octet(fx.obis("0-0-94-44-100-255")),
                                    D.int8(2), D.uint16(0)]),
                       D.uint32(0), D.uint32(0xFFFFFFFF), D.array([])])
    resp, _ = _cmd(dev, 0x0093, [RequestSpec.get_with_selection(7, fx.obis("0-0-99-98-0-255"),
                                                                2, 1, sel)])
    events = resp.data[0]
    assert [(e.value[1].value, bytes(e.value[2].value)) for e in events.value[1]] == [
        (0x8183, ESME)]  # Device joined SMHAN
    resp, _ = _cmd(dev, 0x0094, [RequestSpec.get_with_selection(7, fx.obis("0-0-99-98-1-255"),
                                                                2, 1, sel)])
    codes = [e.value[1].value for e in resp.data[0].value[1]]
    assert codes == [0x8F12, 0x8F3E]  # log changed, unauthorised access attempted
    _raises(ValueError, dev.han_event, {"kind": "bogus"}, NOW)


def test_sub_ghz_configuration_and_scan_raise_their_alerts():
    dev = _chf()
    config = D.structure([D.bits("11100" + "0" * 27)] * 4 + [
        D.uint16(1), D.uint16(2), D.uint8(3), D.uint16(4), D.uint8(5), D.uint8(6), D.uint16(7),
        D.uint8(8), D.uint16(9), D.uint16(10), D.uint16(11)])
    resp, alerts = _cmd(dev, 0x010D, [RequestSpec.set(1, fx.obis("0-0-94-44-10-0"), 2)],
                        [config])
    assert _results(resp) == [0] and [a.message_code for a in alerts] == [0x0113]
    assert decode_apdu(alerts[0].content).body.value[2] == config
    resp, _ = _cmd(dev, 0x010C, [RequestSpec.get(1, fx.obis("0-0-94-44-10-0"), 2)])
    assert resp.data[0] == config
    # A configuration of another shape is refused (type-unmatched), nothing raised.
    resp, alerts = _cmd(dev, 0x010D, [RequestSpec.set(1, fx.obis("0-0-94-44-10-0"), 2)],
                        [D.uint8(1)])
    assert _results(resp) == [12] and alerts == []
    resp, alerts = _cmd(dev, 0x010E, [RequestSpec.set(1, fx.obis("0-0-94-44-10-1"), 2)],
                        [D.uint8(0)])
    assert [a.message_code for a in alerts] == [0x0112]
    (alert,) = dev.han_event({"kind": "duty_cycle", "eui": GSME.hex()}, NOW)
    msg = envelope.decode(alert)
    assert msg.message_code == 0x0110
    assert bytes(decode_apdu(msg.content).body.value[2].value) == GSME


def test_injected_faults_and_bad_commands():
    dev = _chf()
    dev.control("fault_dlms", {"count": 1, "after": 1}, NOW)
    resp, alerts = _cmd(dev, 0x0001, *_register())
    # The device was added (its CS14 follows), then a hardware-fault and break on error.
    assert _results(resp) == [0, 1, 250] and [a.message_code for a in alerts] == [0x0018]
    # An object the CHF does not have: the command is malformed, discarded, alerted.
    resp, alerts = _cmd(dev, 0x0004, [RequestSpec.get(104, fx.obis("0-0-30-3-9-255"), 4)])
    assert resp is None and dev.last_outcome == "bad_payload"
    assert [a.message_code for a in alerts] == [0x1000]
    # Specs that are not the use case's.
    resp, alerts = _cmd(dev, 0x0004, [RequestSpec.get(104, LOG, 2)])
    assert resp is None and dev.last_outcome == "bad_payload"
    _raises(ValueError, CHF.validate, dict(fx.identity(), role="CHF"),
            {"device_log": [{"eui": "00", "install_code": "00"}]})
