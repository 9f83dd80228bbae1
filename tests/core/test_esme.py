"""ESME device model: use cases, security outcomes and persistence (sans-IO, no board)."""

import gbcs_fixtures as fx
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
from smets.han import ApsFrame
from smets.zcl import tunnel
from smets.zcl.frame import ZCLFrame

NOW = 1700000000
OBIS_FW = fx.obis("0-0-0-2-1-255")
OBIS_MPAN = fx.obis("0-0-94-44-34-11")
OBIS_MPAN_EXPORT = fx.obis("1-0-0-0-2-255")
OBIS_DC = fx.obis("0-0-96-3-10-255")
OBIS_SCRIPTS = fx.obis("0-0-10-0-106-255")


def _device(store=None, init=None, fresh=True):
    store = store or fx.scratch_store()
    return ESME(fx.identity(), store, NOW, fresh=fresh, init=init), store


def _response(dev, raw, now=NOW):
    out = dev.handle_gbcs(raw, now)
    assert len(out) == 1, (dev.last_outcome, out)
    return envelope.decode(out[0])


def _z_supplier():
    return p256.ecdh(fx.KEYS["supplier_ka"], fx.pub("device_ka"))


def _check_mac(msg, role="supplier"):
    z = p256.ecdh(fx.KEYS[role + "_ka"], fx.pub("device_ka"))
    assert crypto.verify_message_mac(msg, z)


def _read(dev, code, *descriptors):
    counter = fx.next_counter("supplier")
    req = fx.get_request(counter, *descriptors)
    raw, _ = fx.command("supplier", code, req.to_bytes(), counter=counter)
    msg = _response(dev, raw)
    _check_mac(msg)
    assert msg.counter == counter and msg.cra == envelope.CRA_RESPONSE
    resp = AccessResponse.from_bytes(msg.content)
    assert resp.invoke_id == req.invoke_id
    return resp


def test_ecs52_firmware_version():
    dev, store = _device()
    try:
        resp = _read(dev, 0x0059, (1, OBIS_FW, 2))
        assert resp.specs[0].result == access.SUCCESS
        assert resp.data[0].tag == axdr.OCTET_STRING and len(resp.data[0].value) == 4
    finally:
        fx.cleanup(store)


def test_ecs39a_then_ecs40_reads_new_mpan():
    dev, store = _device(init={"mpan_import": "1312345678111"})
    try:
        resp = _read(dev, 0x004E, (1, OBIS_MPAN, 2), (1, OBIS_MPAN_EXPORT, 2))
        assert bytes(resp.data[0].value) == b"1312345678111"
        counter = fx.next_counter("supplier")
        req = AccessRequest(fx.invoke(counter), [RequestSpec.set(1, OBIS_MPAN, 2)],
                            [Data.octet(b"1312345678333")])
        raw, _ = fx.command("supplier", 0x004C, req.to_bytes(), counter=counter)
        msg = _response(dev, raw)
        assert AccessResponse.from_bytes(msg.content).specs[0].result == access.SUCCESS
        resp = _read(dev, 0x004E, (1, OBIS_MPAN, 2), (1, OBIS_MPAN_EXPORT, 2))
        assert bytes(resp.data[0].value) == b"1312345678333"
    finally:
        fx.cleanup(store)


def test_ecs39a_rejects_a_non_numeric_mpan_with_dlms_error():
    dev, store = _device(init={"mpan_import": "1312345678111"})
    try:
        counter = fx.next_counter("supplier")
        req = AccessRequest(fx.invoke(counter), [RequestSpec.set(1, OBIS_MPAN, 2)],
                            [Data.octet(b"13123456781AB")])
        raw, _ = fx.command("supplier", 0x004C, req.to_bytes(), counter=counter)
        msg = _response(dev, raw)
        assert AccessResponse.from_bytes(msg.content).specs[0].result == access.OTHER_REASON
        resp = _read(dev, 0x004E, (1, OBIS_MPAN, 2), (1, OBIS_MPAN_EXPORT, 2))
        assert bytes(resp.data[0].value) == b"1312345678111"
    finally:
        fx.cleanup(store)


def _script(dev, code, script_id, role="supplier"):
    counter = fx.next_counter(role)
    req = AccessRequest(fx.invoke(counter), [RequestSpec.action(9, OBIS_SCRIPTS, 1)],
                        [Data.uint16(script_id)])
    raw, _ = fx.command(role, code, req.to_bytes(), critical=True, counter=counter)
    msg = _response(dev, raw)
    # GBCS: the response to a critical command is signed by the device and carries no MAC.
    assert msg.mac is None and msg.signature is not None
    assert crypto.verify_message_signature(msg, fx.pub("device_ds"))
    return AccessResponse.from_bytes(msg.content)


def _state(dev):
    return _read(dev, 0x0052, (70, OBIS_DC, 3)).data[0].value


def test_load_switch_open_arm_close():
    dev, store = _device()
    try:
        assert _state(dev) == 1
        assert _script(dev, 0x0050, 52).specs[0].result == access.SUCCESS  # ECS43 open
        assert _state(dev) == 0
        assert _script(dev, 0x0051, 54).specs[0].result == access.SUCCESS  # ECS44 arm
        assert _state(dev) == 2
        assert dev.press_button(NOW)
        assert _state(dev) == 1
        _script(dev, 0x0050, 52)
        assert _script(dev, 0x004F, 51).specs[0].result == access.SUCCESS  # ECS42 close
        assert _state(dev) == 1
    finally:
        fx.cleanup(store)


def _ecs17b(dev, now, role="supplier"):
    counter = fx.next_counter(role)
    prot = ProtectionParameters(b"\x04" + counter.to_bytes(8, "big"), fx.PARTY_EUIS[role],
                                fx.DEVICE_EUI)
    params = GetProtectedAttributes([ProtectedGet(1, fx.obis("0-0-94-44-34-10"), 2)], [prot])
    req = AccessRequest(fx.invoke(counter), [RequestSpec.action(30, fx.obis("0-0-43-2-8-255"), 1)],
                        [params.to_data()])
    raw, _ = fx.command(role, 0x0027, req.to_bytes(), counter=counter)
    msg = _response(dev, raw, now)
    _check_mac(msg, role)
    assert msg.date_time is not None  # register reads carry the device time (GBCS)
    resp = AccessResponse.from_bytes(msg.content)
    pa = ProtectedAttributes.from_data(resp.data[0])
    assert pa.protection[0].originator == fx.DEVICE_EUI
    z = p256.ecdh(fx.KEYS[role + "_ka"], fx.pub("device_ka"))
    plain = crypto.unprotect_payload(z, fx.DEVICE_EUI, counter, fx.PARTY_EUIS[role],
                                     pa.protected_attributes)
    regs = axdr.from_bytes(plain).value[0].value
    return regs[0].value, regs[2].value


def test_ecs17b_encrypted_registers_advance_with_the_clock():
    dev, store = _device(init={"power_w": 1000, "reactive_var": 100, "import_wh": 42})
    try:
        assert _ecs17b(dev, NOW) == (42, 0)
        assert _ecs17b(dev, NOW + 1800) == (542, 50)
        assert _ecs17b(dev, NOW + 3600, "network_operator") == (1042, 100)
    finally:
        fx.cleanup(store)


def test_disconnected_meter_records_no_consumption():
    dev, store = _device(init={"power_w": 1000})
    try:
        _script(dev, 0x0050, 52)
        assert _ecs17b(dev, NOW + 3600) == (0, 0)
    finally:
        fx.cleanup(store)


def _rejected(dev, raw, event, alert):
    before = len(dev.security_log)
    out = dev.handle_gbcs(raw, NOW)
    assert dev.last_outcome == event, dev.last_outcome
    assert len(dev.security_log) == before + 1
    assert dev.security_entries(len(dev.security_log) - 1)[0]["event"] == event
    if alert is None:
        assert out == []
        return
    assert len(out) == 1
    msg = envelope.decode(out[0])
    assert msg.cra == envelope.CRA_ALERT and msg.message_code == 0x1000
    assert msg.recipient == fx.PARTY_EUIS["supplier"]
    assert crypto.verify_message_signature(msg, fx.pub("device_ds"))
    assert DataNotification.from_bytes(msg.content).alert_code == alert


def _ecs52_raw(**kw):
    counter = kw.pop("counter", None) or fx.next_counter(kw.get("role", "supplier"))
    req = fx.get_request(counter, (1, OBIS_FW, 2))
    return fx.command(kw.pop("role", "supplier"), kw.pop("code", 0x0059), req.to_bytes(),
                      counter=counter, **kw)[0]


def test_security_failures_are_discarded_logged_and_alerted():
    dev, store = _device()
    try:
        raw = _ecs52_raw()
        _rejected(dev, raw[:-1] + bytes((raw[-1] ^ 1,)), "bad_mac", 0x8F53)
        _response(dev, raw)
        _rejected(dev, raw, "replay", 0x8F53)
        _rejected(dev, _ecs52_raw(recipient=bytes(8)), "wrong_recipient", None)
        _rejected(dev, _ecs52_raw(code=0x7777), "unknown_code", 0x8F1E)
        _rejected(dev, _ecs52_raw(mac_key="supplier_ka"), "bad_mac", 0x8F53)
        counter = fx.next_counter("supplier")
        bad = AccessRequest(fx.invoke(counter), [RequestSpec.get(1, OBIS_MPAN, 2)]).to_bytes()
        raw, _ = fx.command("supplier", 0x0059, bad, counter=counter)
        _rejected(dev, raw, "bad_payload", 0x8F1E)
        raw, _ = fx.command("supplier", 0x0059, b"\xd9\x01", counter=fx.next_counter("supplier"))
        _rejected(dev, raw, "bad_payload", 0x8F1E)
        _rejected(dev, b"\xdd\x00\x01", "malformed", 0x8F1E)
        # An alert is not a command.
        _rejected(dev, dev.alert(0x1000, 0x8F53, NOW), "not_a_command", None)
    finally:
        fx.cleanup(store)


def test_critical_commands_need_the_originators_signature_and_role():
    dev, store = _device()
    try:
        counter = fx.next_counter("supplier")
        req = AccessRequest(fx.invoke(counter), [RequestSpec.action(9, OBIS_SCRIPTS, 1)],
                            [Data.uint16(52)])
        raw, _ = fx.command("supplier", 0x0050, req.to_bytes(), counter=counter)
        _rejected(dev, raw, "no_signature", 0x8F3D)
        msg = envelope.decode(fx.command("supplier", 0x0050, req.to_bytes(), critical=True,
                                         counter=fx.next_counter("supplier"))[0])
        sig = bytearray(msg.signature)
        sig[0] ^= 0x80
        apdu = envelope.with_signature(msg.general_signing, bytes(sig))
        forged = crypto.add_mac(p256.ecdh(fx.KEYS["acb_ka"], fx.pub("device_ka")), apdu)
        _rejected(dev, forged, "bad_signature", 0x8F3D)
        raw, _ = fx.command("network_operator", 0x0050, req.to_bytes(), critical=True)
        _rejected(dev, raw, "not_authorised", 0x8F30)
        # ECS43 must run the open script (52), not close (51).
        _rejected(dev, fx.command("supplier", 0x0050, AccessRequest(
            1, [RequestSpec.action(9, OBIS_SCRIPTS, 1)], [Data.uint16(51)]).to_bytes(),
            critical=True)[0], "bad_payload", 0x8F1E)
        assert _state(dev) == 1
    finally:
        fx.cleanup(store)


def test_state_survives_a_restart():
    dev, store = _device(init={"mpan_import": "1312345678111", "power_w": 1000})
    try:
        raw = _ecs52_raw()
        _response(dev, raw)
        _script(dev, 0x0050, 52)
        assert _ecs17b(dev, NOW + 3600) == (0, 0)
        dev2 = ESME(fx.identity(), store, NOW + 7200, fresh=False)
        assert _state(dev2) == 0
        _rejected(dev2, raw, "replay", 0x8F53)
        assert len(dev2.security_log) == 1
        assert dev2.alert_counter == dev.alert_counter + 1
    finally:
        fx.cleanup(store)


def test_corrupt_state_file_falls_back_without_crashing():
    dev, store = _device(init={"mpan_import": "1312345678111"})
    try:
        with open(store.path("esme"), "w") as f:
            f.write("{not json")
        with open(store.path("security"), "w") as f:
            f.write("\x00\x01")
        dev2 = ESME(fx.identity(), store, NOW, fresh=False)
        assert store.errors == 2
        assert _state(dev2) == 1
        _response(dev2, _ecs52_raw())
    finally:
        fx.cleanup(store)


def test_han_tunnel_round_trip():
    dev, store = _device()
    try:
        frames = dev.tick(NOW)
        assert len(frames) == 1
        zcl = ZCLFrame.from_bytes(frames[0].payload)
        assert frames[0].cluster == tunnel.CLUSTER and zcl.command == tunnel.REQUEST_TUNNEL
        assert tunnel.parse_request_tunnel(zcl.payload)["protocol"] == tunnel.PROTOCOL_GB_HRGP
        resp = ZCLFrame(tunnel.REQUEST_TUNNEL_RESPONSE, tunnel.request_tunnel_response(7),
                        server_to_client=True, disable_default_response=True)
        assert dev.on_han(ApsFrame(fx.HUB_EUI, fx.DEVICE_EUI, tunnel.CLUSTER,
                                   resp.to_bytes()), NOW) == []
        assert dev.tunnel_id == 7 and dev.tick(NOW + 60) == []
        data = ZCLFrame(tunnel.TRANSFER_DATA_S2C,
                        tunnel.transfer_data(7, tunnel.gbcs_put(_ecs52_raw())),
                        server_to_client=True, disable_default_response=True)
        out = dev.on_han(ApsFrame(fx.HUB_EUI, fx.DEVICE_EUI, tunnel.CLUSTER, data.to_bytes()),
                         NOW)
        assert len(out) == 1
        zcl = ZCLFrame.from_bytes(out[0].payload)
        assert zcl.command == tunnel.TRANSFER_DATA_C2S and not zcl.server_to_client
        tid, payload = tunnel.parse_transfer_data(zcl.payload)
        cmd, message, _ = tunnel.parse_gbcs_tunnel(payload)
        assert tid == 7 and cmd == tunnel.GBCS_PUT
        _check_mac(envelope.decode(message))
        # A cluster the meter does not serve (Electrical Measurement; Metering is its SE
        # server's, smets.devices.esme_se): ZCL default response "unsupported cluster".
        out = dev.on_han(ApsFrame(fx.HUB_EUI, fx.DEVICE_EUI, 0x0B04, b"\x00\x01\x00\x00\x00"),
                         NOW)
        assert ZCLFrame.from_bytes(out[0].payload).payload[1] == 0xC3
        # Garbage never raises.
        assert dev.on_han(ApsFrame(fx.HUB_EUI, fx.DEVICE_EUI, tunnel.CLUSTER, b"\x09"), NOW) == []
    finally:
        fx.cleanup(store)
