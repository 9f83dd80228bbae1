"""What a meter must survive: authenticated but unusable payloads, power cuts mid-command,
reboots between alerts, tunnel frames from strangers, bad provisioning data.

Runs on CPython and on the MicroPython unix port (tools/mptest.py)."""

import gbcs_fixtures as fx
from smets.devices.esme import ESME
from smets.devices.gbcsdev import GBCSDevice
from smets.dlms.access import AccessRequest, AccessResponse, RequestSpec
from smets.dlms.axdr import Data
from smets.gbcs import envelope
from smets.han import ApsFrame
from smets.zcl import tunnel
from smets.zcl.frame import ZCLFrame

NOW = 1700000000
OBIS_FW = fx.obis("0-0-0-2-1-255")
OBIS_TOKEN_GATEWAY = fx.obis("0-0-19-40-0-255")
STRANGER = bytes.fromhex("00db1234567890ee")


def _device(store=None, fresh=True):
    store = store or fx.scratch_store()
    return ESME(fx.identity(), store, NOW, fresh=fresh), store


def _ecs52(counter=None):
    counter = counter or fx.next_counter("supplier")
    req = fx.get_request(counter, (1, OBIS_FW, 2))
    return fx.command("supplier", 0x0059, req.to_bytes(), counter=counter)[0]


def _raises(exc_type, fn, *args):
    try:
        fn(*args)
    except exc_type as exc:
        return str(exc)
    raise AssertionError("%s not raised" % exc_type.__name__)


def test_an_authenticated_payload_of_the_wrong_shape_is_bad_payload_and_uses_the_counter():
    dev, store = _device()
    try:
        # ECS52 with an ACCESS request cut short inside its specs: MAC-valid, unusable.
        counter = fx.next_counter("supplier")
        req = fx.get_request(counter, (1, OBIS_FW, 2)).to_bytes()
        raw = fx.command("supplier", 0x0059, req[:-4], counter=counter)[0]
        out = dev.handle_gbcs(raw, NOW)
        assert dev.last_outcome == "bad_payload"
        assert len(out) == 1 and envelope.decode(out[0]).cra == envelope.CRA_ALERT
        # The counter was consumed: the same bytes again are a replay, not a second try.
        dev.handle_gbcs(raw, NOW)
        assert dev.last_outcome == "replay"
        entries = dev.security_entries()
        assert [e["event"] for e in entries] == ["bad_payload", "replay"]
        assert entries[0]["counter"] == counter
    finally:
        fx.cleanup(store)


def test_a_top_up_without_its_utrn_gets_a_dlms_error_not_a_crash():
    dev, store = _device()
    try:
        counter = fx.next_counter("supplier")
        req = AccessRequest(fx.invoke(counter), [RequestSpec.action(115, OBIS_TOKEN_GATEWAY, 1)],
                            [Data.null()])
        raw = fx.command("supplier", 0x0007, req.to_bytes(), counter=counter)[0]
        out = dev.handle_gbcs(raw, NOW)
        assert dev.last_outcome == "accepted", dev.last_outcome
        resp = AccessResponse.from_bytes(envelope.decode(out[0]).content)
        assert resp.specs[0].result != 0  # type-unmatched, a DLMS error the supplier sees
        assert dev.state["credit"] == 0
    finally:
        fx.cleanup(store)


class PowerCut(Exception):
    pass


def test_a_power_cut_while_a_command_runs_cannot_let_it_run_twice():
    dev, store = _device()
    try:
        raw = _ecs52()

        def cut(uc, msg, ctx):
            raise PowerCut()

        dev.execute = cut
        _raises(PowerCut, dev.handle_gbcs, raw, NOW)
        # Power back: the board restarts from its store and the command arrives again.
        dev2, _ = _device(store, fresh=False)
        assert dev2.handle_gbcs(raw, NOW + 5) != []
        assert dev2.last_outcome == "replay"
    finally:
        fx.cleanup(store)


def test_alert_counters_survive_a_reboot_between_alerts():
    dev, store = _device()
    try:
        first = envelope.decode(dev.alert(0x1000, 0x8F53, NOW))
        # No command in between (a clock-driven alert): the counter must still be on flash.
        dev2, _ = _device(store, fresh=False)
        second = envelope.decode(dev2.alert(0x1000, 0x8F53, NOW + 1))
        assert second.counter > first.counter
    finally:
        fx.cleanup(store)


def _tunnel_frame(src, command, payload):
    zcl = ZCLFrame(command, payload, server_to_client=True, disable_default_response=True)
    return ApsFrame(src, fx.DEVICE_EUI, tunnel.CLUSTER, zcl.to_bytes())


def test_only_the_paired_hub_serves_the_tunnel():
    dev, store = _device()
    try:
        open_ = tunnel.request_tunnel_response(7)
        assert dev.on_han(_tunnel_frame(STRANGER, tunnel.REQUEST_TUNNEL_RESPONSE, open_),
                          NOW) == []
        assert dev.tunnel_id is None and dev.stats["zcl_errors"] == 1
        dev.on_han(_tunnel_frame(fx.HUB_EUI, tunnel.REQUEST_TUNNEL_RESPONSE, open_), NOW)
        assert dev.tunnel_id == 7
        # A stranger's command and a stranger's closure change nothing.
        data = tunnel.transfer_data(7, tunnel.gbcs_put(_ecs52()))
        assert dev.on_han(_tunnel_frame(STRANGER, tunnel.TRANSFER_DATA_S2C, data), NOW) == []
        assert dev.stats["commands"] == 0
        dev.on_han(_tunnel_frame(STRANGER, tunnel.TUNNEL_CLOSURE_NOTIFICATION,
                                 tunnel.tunnel_closure(7)), NOW)
        assert dev.tunnel_id == 7
        # The hub closing another tunnel neither.
        dev.on_han(_tunnel_frame(fx.HUB_EUI, tunnel.TUNNEL_CLOSURE_NOTIFICATION,
                                 tunnel.tunnel_closure(8)), NOW)
        assert dev.tunnel_id == 7
        dev.on_han(_tunnel_frame(fx.HUB_EUI, tunnel.TUNNEL_CLOSURE_NOTIFICATION,
                                 tunnel.tunnel_closure(7)), NOW)
        assert dev.tunnel_id is None
    finally:
        fx.cleanup(store)


def test_truncated_tunnel_frames_are_counted_not_raised():
    dev, store = _device()
    try:
        for command, payload in ((tunnel.REQUEST_TUNNEL_RESPONSE, b"\x07"),
                                 (tunnel.TRANSFER_DATA_S2C, b"\x07"),
                                 (tunnel.TUNNEL_CLOSURE_NOTIFICATION, b"")):
            assert dev.on_han(_tunnel_frame(fx.HUB_EUI, command, payload), NOW) == []
        assert dev.stats["zcl_errors"] == 3
    finally:
        fx.cleanup(store)


def test_validate_refuses_what_a_device_cannot_start_from():
    good = fx.identity()
    GBCSDevice.validate(good)
    ESME.validate(good, {"mpan_import": "1312345678111", "power_w": 500})
    for change in ({"eui": "00db"}, {"eui": "zz"}, {"ka_key": "0"}, {"ds_key": None},
                   {"hub_eui": "0011"}):
        bad = dict(good)
        bad.update(change)
        _raises(ValueError, ESME.validate, bad)
    bad = dict(good)
    for key in ("00", "01" * 64):  # too short; 64 bytes but not a point on P-256
        bad["parties"] = {"supplier": {"eui": good["parties"]["supplier"]["eui"], "ka": key}}
        _raises(ValueError, ESME.validate, bad)
    for init in ({"mpan_import": "12"}, {"mpan_export": "131234567811x"},
                 {"power_w": -1}, {"import_wh": "5"}, {"power_w": True}, []):
        _raises(ValueError, ESME.validate, good, init)


def test_balance_is_clamped_to_a_double_long():
    dev, store = _device()
    try:
        dev.state["credit"] = -(1 << 40)
        assert dev.balance() == -0x80000000
        dev.state["credit"] = 1 << 40
        assert dev.balance() == 0x7FFFFFFF
        dev.advance(NOW + 2 * 86400)  # daily captures log the clamped balance
        assert dev.daily.entries(len(dev.daily) - 1)[0][3] == 0x7FFFFFFF
    finally:
        fx.cleanup(store)


def _cs02b(control):
    """A supplier CS02b (update supplier trust anchors) with no replacements."""
    from smets.gbcs import asn1

    content = asn1.sequence(control, asn1.sequence(), asn1.sequence())
    return fx.command("supplier", 0x0102, content, critical=True)[0]


def test_trust_anchor_updates_never_lower_replay_counters():
    from smets.gbcs import asn1

    dev, store = _device()
    try:
        c = fx.next_counter("network_operator")
        req = fx.get_request(c, (1, OBIS_FW, 2))
        no_cmd = fx.command("network_operator", 0x0059, req.to_bytes(), counter=c)[0]
        dev.handle_gbcs(no_cmd, NOW)
        assert dev.last_outcome == "accepted"
        # The supplier names a floor of 0 for the network operator's counters ([6]) and for
        # its own ([4]), replacing no anchor: no counter may go down.
        others = asn1.encode(asn1.CONTEXT_CONSTRUCTED | 6,
                             asn1.sequence(asn1.integer(3), asn1.integer(0)))
        dev.handle_gbcs(_cs02b(asn1.sequence(asn1.integer(2), asn1.integer(1, asn1.CONTEXT | 3),
                                             others)), NOW)
        assert dev.last_outcome == "accepted"
        dev.handle_gbcs(no_cmd, NOW)
        assert dev.last_outcome == "replay"
        raw = _cs02b(asn1.sequence(asn1.integer(2), asn1.integer(2, asn1.CONTEXT | 3),
                                   asn1.integer(0, asn1.CONTEXT | 4)))
        dev.handle_gbcs(raw, NOW)
        assert dev.last_outcome == "accepted"
        assert dev.trust["supplier"]["seq"] == 2
        dev.handle_gbcs(raw, NOW)
        assert dev.last_outcome == "replay"
        # What was committed is on flash.
        dev2, _ = _device(store, fresh=False)
        assert dev2.counters == dev.counters
        dev2.handle_gbcs(no_cmd, NOW)
        assert dev2.last_outcome == "replay"
    finally:
        fx.cleanup(store)


def test_a_pending_credentials_update_runs_only_with_its_own_record():
    from smets.devices import esme_ext

    dev, store = _device()
    try:
        supplier = fx.PARTY_EUIS["supplier"].hex()
        t = NOW + 60
        # A power cut left the entry of command 7 beside the record of command 8.
        dev.state["pending"] = [[t, -1, 0x0102, 7, supplier]]
        store.save("cs02b", {"plan": None, "outcome": "3000", "ok": True, "counter": 8})
        assert esme_ext.due(dev, t) == []
        assert dev.state["pending"] == [] and store.load("cs02b") is None
        assert _device(store, fresh=False)[0].state["pending"] == []
        # Its own record: the 8F66 alert, then entry and record are gone.
        dev.state["pending"] = [[t, -1, 0x0102, 9, supplier]]
        store.save("cs02b", {"plan": None, "outcome": "3000", "ok": True, "counter": 9})
        out = esme_ext.due(dev, t)
        assert len(out) == 1 and envelope.decode(out[0]).cra == envelope.CRA_ALERT
        assert dev.state["pending"] == [] and store.load("cs02b") is None
    finally:
        fx.cleanup(store)
