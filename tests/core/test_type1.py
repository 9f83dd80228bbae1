"""PPMID and HCALCS (Type 1 HAN devices) and what they do with an ESME they are joined to, all
in-process (sans-IO): their GBCS use cases from the ACB, the device logs on both sides, the
PPMID's prepayment commands (PECS01-03) and the ESME switching an HCALCS (ECS47 -> ZSE DRLC)."""

import gbcs_fixtures as fx
from smets import devlog
from smets.devices.esme import ESME, READY_FOR_RECONNECTION
from smets.devices.hcalcs import HCALCS
from smets.devices.ppmid import PPMID
from smets.dlms.access import AccessRequest, RequestSpec
from smets.dlms.axdr import Data
from smets.gbcs import asn1, crypto, envelope
from smets.han import ApsFrame
from smets.zcl import drlc
from smets.zcl import ppmid as pz
from smets.zcl.frame import ZCLFrame
from test_cert import _DEVICE_KA, _DEVICE_KA_KEY

NOW = 1700000000
ESME_EUI = fx.DEVICE_EUI
PPMID_EUI = bytes.fromhex("00db1234567890a4")
HCALCS_EUI = bytes.fromhex("00db1234567890a5")


def _identity(role, eui):
    ident = fx.identity()
    ident["role"] = role
    ident["eui"] = eui.hex()
    return ident


def _start(cls, eui, init=None):
    store = fx.scratch_store()
    return cls(_identity(cls.ROLE, eui), store, NOW, fresh=True, init=init), store


def _gbcs(dev, role, code, content, critical, recipient):
    raw, counter = fx.command(role, code, content, critical=critical, recipient=recipient)
    out = dev.handle_gbcs(raw, NOW)
    assert out and dev.last_outcome == "accepted", (dev.last_outcome, dev.last_detail)
    msg = envelope.decode(out[0])
    assert msg.cra == envelope.CRA_RESPONSE and msg.counter == counter
    if critical:
        assert msg.mac is None and crypto.verify_message_signature(msg, fx.pub("device_ds"))
    return bytes(msg.content)


def _join(method, eui, dtype, cert=None):
    parts = [asn1.integer(method), asn1.octets(eui), asn1.integer(dtype)]
    return asn1.sequence(*(parts + ([cert] if cert else [])))


def _code(content):
    return asn1.read_int(content)[0]


def _pump(devices, frames, now=NOW, limit=20):
    """Deliver APS frames between in-process devices until none is left; what the hub got."""
    by_eui = {d.eui: d for d in devices}
    hub = []
    for _ in range(limit):
        if not frames:
            break
        nxt = []
        for f in frames:
            aps = ApsFrame.from_bytes(f.to_bytes())
            dev = by_eui.get(aps.dst_eui)
            if dev is None:
                hub.append(aps)
                continue
            nxt.extend(dev.on_han(aps, now))
        frames = nxt
    return hub


def _tick(devices, now=NOW):
    out = []
    for d in devices:
        out.extend(d.tick(now))
    return [f for f in out if f.cluster != 0x0704]  # the GBCS tunnel is the hub's


def test_ppmid_use_cases_from_the_acb():
    dev, store = _start(PPMID, PPMID_EUI)
    try:
        got = _gbcs(dev, "acb", 0x00AB, _join(1, ESME_EUI, devlog.ESME), True, PPMID_EUI)
        assert _code(got) == devlog.JOIN_SUCCESS and dev.device_log.joined(ESME_EUI) == 1
        # Method C with a GSME: its KA certificate is in the command, its key is kept.
        got = _gbcs(dev, "acb", 0x00AF, _join(3, ESME_EUI, devlog.GSME, _DEVICE_KA), True,
                    PPMID_EUI)
        assert _code(got) == devlog.JOIN_INCOMPATIBLE  # the EUI is the ESME's already
        gsme = bytes.fromhex("00db1234567890a0")
        dev.device_log.remove(gsme)
        got = _gbcs(dev, "acb", 0x00AF, _join(3, gsme, devlog.GSME, _DEVICE_KA), True,
                    PPMID_EUI)
        assert _code(got) == devlog.JOIN_SUCCESS
        from smets.gbcs import p256

        assert dev.device_log.entry(gsme)[3] == p256.public_key(_DEVICE_KA_KEY)
        # Method C without a certificate, or with something that is not a KA certificate: 11.
        got = _gbcs(dev, "acb", 0x00AF, _join(3, PPMID_EUI[:7] + b"\x01", 0), True, PPMID_EUI)
        assert _code(got) == devlog.JOIN_BAD_CERTIFICATE
        got = _gbcs(dev, "acb", 0x00AF, _join(3, PPMID_EUI[:7] + b"\x01", 0, asn1.integer(5)),
                    True, PPMID_EUI)
        assert _code(got) == devlog.JOIN_BAD_CERTIFICATE
        not_ka = bytearray(_DEVICE_KA)
        i = not_ka.find(bytes.fromhex("0603551d0f0101ff0404030203 08".replace(" ", "")))
        not_ka[i + 13] = 0x80  # keyUsage keyAgreement -> digitalSignature
        got = _gbcs(dev, "acb", 0x00AF, _join(3, PPMID_EUI[:7] + b"\x01", 0, bytes(not_ka)),
                    True, PPMID_EUI)
        assert _code(got) == devlog.JOIN_BAD_CERTIFICATE
        # CS08: firmware version and a read failure the bench injects.
        got = _gbcs(dev, "acb", 0x0129, asn1.null(), False, PPMID_EUI)
        assert got == bytes.fromhex("30090404010000000201") + b"\x00"
        dev.control("fault_dlms", {"count": 1}, NOW)
        got = _gbcs(dev, "acb", 0x0129, asn1.null(), False, PPMID_EUI)
        assert got == bytes.fromhex("300904040000000002") + b"\x01\x01"
        got = _gbcs(dev, "acb", 0x000F, asn1.octets(gsme), True, PPMID_EUI)
        assert _code(got) == 0 and dev.device_log.joined(gsme) is None
        # The supplier may send the critical join service itself, signed; the network
        # operator may not.
        got = _gbcs(dev, "supplier", 0x00AB, _join(1, gsme, devlog.ESME), True, PPMID_EUI)
        assert _code(got) == 0
        raw, _ = fx.command("network_operator", 0x0129, asn1.null(), recipient=PPMID_EUI)
        dev.handle_gbcs(raw, NOW)
        assert dev.last_outcome == "not_authorised"
        raw, _ = fx.command("supplier", 0x00AB, _join(1, gsme, devlog.ESME),
                            recipient=PPMID_EUI)
        dev.handle_gbcs(raw, NOW)
        assert dev.last_outcome == "no_signature"
        raw, _ = fx.command("acb", 0x0019, b"", recipient=PPMID_EUI)
        dev.handle_gbcs(raw, NOW)
        assert dev.last_outcome == "unknown_code"
    finally:
        fx.cleanup(store)


def test_ppmid_firmware_activation_alert():
    dev, store = _start(PPMID, PPMID_EUI)
    try:
        dev.control("firmware", {"version": "01020304"}, NOW)
        out = dev.device_tick(NOW)
        assert len(out) == 1
        msg = envelope.decode(out[0])
        assert msg.cra == envelope.CRA_ALERT and msg.message_code == 0x012B
        assert msg.recipient == fx.PARTY_EUIS["acb"]
        assert crypto.verify_message_signature(msg, fx.pub("device_ds"))
        body, _ = asn1.read_as(msg.content, asn1.SEQUENCE)
        code, body = asn1.read_int(body)
        when, body = asn1.read_time(body)
        version, body = asn1.read_as(body, asn1.OCTET_STRING)
        ok, _ = asn1.read_int(body)
        assert (code, when, bytes(version), ok) == (0x8F8B, NOW, bytes([1, 2, 3, 4]), 0)
        assert dev.status(NOW)["firmware"] == "01020304"
    finally:
        fx.cleanup(store)


def _joined_pair():
    esme, s1 = _start(ESME, ESME_EUI, init={"power_w": 0})
    ppmid, s2 = _start(PPMID, PPMID_EUI)
    assert _code(_gbcs(esme, "supplier", 0x000D, _join(0, PPMID_EUI, devlog.PPMID), True,
                       ESME_EUI)) == 0
    assert _code(_gbcs(ppmid, "acb", 0x00AB, _join(1, ESME_EUI, devlog.ESME), True,
                       PPMID_EUI)) == 0
    return esme, ppmid, (s1, s2)


def test_ppmid_top_up_emergency_credit_and_supply_on_the_esme():
    esme, ppmid, stores = _joined_pair()
    try:
        credit = esme.balance()
        ppmid.control("topup", {"utrn": fx.utrn(3, 1000)}, NOW)
        _pump([esme, ppmid], _tick([ppmid]))
        assert esme.balance() > credit
        assert ppmid.display["credit"] == esme.balance()
        assert ppmid.display["last"].startswith("top-up accepted")
        assert ppmid.button(NOW) == "emergency credit requested"
        _pump([esme, ppmid], _tick([ppmid]))
        assert esme.state["ec_credit"] > 0 and "accepted" in ppmid.display["last"]
        # An armed load switch closes on the PPMID's Local Change Supply ON (PECS03).
        esme.state["control_state"] = READY_FOR_RECONNECTION
        ppmid.control("enable_supply", {}, NOW)
        _pump([esme, ppmid], _tick([ppmid]))
        assert esme.state["control_state"] == 1 and ppmid.display["last"] == "supply on"
        codes = [c for _t, c in esme.events.entries()]
        assert codes.count(0x8154) == 3 and 0x810E in codes and 0x81AB in codes
        # A bad UTRN is refused, logged as not actioned.
        ppmid.top_up(b"12345")
        _pump([esme, ppmid], _tick([ppmid]))
        assert "rejected" in ppmid.display["last"] and esme.events.entry(-1)[1] == 0x8155
    finally:
        for s in stores:
            fx.cleanup(s)


def test_unjoined_ppmid_cannot_touch_the_meter():
    esme, s1 = _start(ESME, ESME_EUI)
    ppmid, s2 = _start(PPMID, PPMID_EUI,
                       init={"device_log": [[ESME_EUI.hex(), devlog.ESME, 1]]})
    try:
        before = esme.balance()
        ppmid.control("topup", {"utrn": fx.utrn(3, 1000)}, NOW)
        ppmid.button(NOW)
        _pump([esme, ppmid], _tick([ppmid]))
        assert esme.balance() == before and esme.state["ec_credit"] == 0
        # The meter's answers to a PPMID not joined to it are dropped by the PPMID too.
        stranger = ApsFrame(bytes(8), PPMID_EUI, pz.PREPAYMENT, ZCLFrame(
            pz.CONSUMER_TOP_UP_RESPONSE, pz.top_up_response(0, 1, 2, 3),
            server_to_client=True).to_bytes())
        assert ppmid.on_han(stranger, NOW) == [] and ppmid.display["credit"] is None
    finally:
        fx.cleanup(s1)
        fx.cleanup(s2)


def test_malformed_ppmid_commands_get_malformed_command():
    esme, ppmid, stores = _joined_pair()
    try:
        for cluster, cmd, payload in ((pz.PREPAYMENT, pz.CONSUMER_TOP_UP, b"\x02\x09ab"),
                                      (pz.PREPAYMENT, pz.SELECT_EMERGENCY_CREDIT, b"\x00"),
                                      (pz.METERING, pz.LOCAL_CHANGE_SUPPLY, b"\x07")):
            aps = ApsFrame(PPMID_EUI, ESME_EUI, cluster, ZCLFrame(cmd, payload).to_bytes())
            out = esme.on_han(aps, NOW)
            reply = ZCLFrame.from_bytes(out[0].payload)
            assert reply.command == 0x0B and reply.payload == bytes((cmd, 0x80))
        assert esme.balance() == 0 and esme.state["ec_credit"] == 0
    finally:
        for s in stores:
            fx.cleanup(s)


def _ecs47(esme, script):
    req = AccessRequest(fx.invoke(fx.next_counter("supplier")),
                        [RequestSpec.action(9, fx.obis("0-0-10-0-103-255"), 1)],
                        [Data.uint16(script)])
    _gbcs(esme, "supplier", 0x0055, req.to_bytes(), True, ESME_EUI)


def test_esme_switches_its_hcalcs():
    esme, s1 = _start(ESME, ESME_EUI)
    hc, s2 = _start(HCALCS, HCALCS_EUI)
    try:
        assert _code(_gbcs(esme, "supplier", 0x000D, _join(0, HCALCS_EUI, devlog.HCALCS), True,
                           ESME_EUI)) == 0
        # Auxiliary load control switch 2 is this HCALCS (ECS46c sets 0-0:94.44.0.22).
        a = esme.attrs
        a.put(a.slot(b"\x00\x01\x00\x00\x5e\x2c\x00\x16\x02"), b"\x09\x08" + HCALCS_EUI)
        assert _code(_gbcs(hc, "acb", 0x00AB, _join(1, ESME_EUI, devlog.ESME), True,
                           HCALCS_EUI)) == 0
        # On joining, the HCALCS asks the meter what it should do (HECS01): off.
        _pump([esme, hc], _tick([hc]))
        assert hc.state["relay"] == 0 and esme.events.entry(-1)[1] == 0x8154
        _ecs47(esme, 0x0211)  # switch 2 on
        _pump([esme, hc], _tick([esme]))
        assert hc.state["relay"] == 1 and hc.status(NOW)["relay"] == "closed"
        state2 = a.get(a.slot(b"\x00\x46\x00\x02\x60\x03\x0a\xff\x02"))
        assert state2 == b"\x03\xff"
        _ecs47(esme, 0x0212)  # switch 2 off
        _pump([esme, hc], _tick([esme]))
        assert hc.state["relay"] == 0
        _ecs47(esme, 0x1264)  # ECS47a form: controller 2 at 100 %
        _pump([esme, hc], _tick([esme]))
        assert hc.state["relay"] == 1
        _ecs47(esme, 0x1200)
        _pump([esme, hc], _tick([esme]))
        assert hc.state["relay"] == 0
        _ecs47(esme, 0x0111)  # switch 1 is wired: the HCALCS hears nothing
        assert _tick([esme]) == [] and hc.state["relay"] == 0
        # A timed event ends on the HCALCS's own clock and is reported completed.
        ev = drlc.LoadControlEvent(77, drlc.DUTY_ON, duration=30)
        frame = ApsFrame(ESME_EUI, HCALCS_EUI, drlc.CLUSTER,
                         ZCLFrame(0, ev.to_bytes(), server_to_client=True).to_bytes())
        _pump([esme, hc], [frame])
        assert hc.state["relay"] == 1 and hc.state["until"] == NOW + 1800
        out = _tick([hc], NOW + 1800)
        assert hc.state["relay"] == 0
        rep = drlc.EventStatus.from_bytes(ZCLFrame.from_bytes(out[0].payload).payload)
        assert (rep.event_id, rep.status) == (77, drlc.STATUS_COMPLETED)
        # Events from a device the HCALCS is not joined to are ignored.
        stranger = ApsFrame(PPMID_EUI, HCALCS_EUI, drlc.CLUSTER,
                            ZCLFrame(0, ev.to_bytes(), server_to_client=True).to_bytes())
        assert hc.on_han(stranger, NOW) == [] and hc.state["relay"] == 0
        # A malformed event gets MALFORMED_COMMAND and changes nothing.
        bad = ApsFrame(ESME_EUI, HCALCS_EUI, drlc.CLUSTER,
                       ZCLFrame(0, b"\x01\x02", server_to_client=True).to_bytes())
        reply = ZCLFrame.from_bytes(hc.on_han(bad, NOW)[0].payload)
        assert reply.payload == b"\x00\x80" and hc.state["relay"] == 0
    finally:
        fx.cleanup(s1)
        fx.cleanup(s2)


def test_drlc_and_ppmid_payloads_round_trip():
    ev = drlc.LoadControlEvent(0x01020304, 100, start=5, duration=60, group=3)
    assert drlc.LoadControlEvent.from_bytes(ev.to_bytes()) == ev and len(ev.to_bytes()) == 23
    c = drlc.CancelEvent(9, effective=7)
    assert drlc.CancelEvent.from_bytes(c.to_bytes()) == c
    st = drlc.EventStatus(9, drlc.STATUS_STARTED, 1234, duty_cycle=100)
    assert drlc.EventStatus.from_bytes(st.to_bytes()) == st and len(st.to_bytes()) == 60
    assert drlc.parse_get_scheduled_events(drlc.get_scheduled_events(3, 1)) == (3, 1)
    assert pz.parse_consumer_top_up(pz.consumer_top_up(b"1" * 20)) == (2, b"1" * 20)
    assert pz.parse_select_emergency_credit(pz.select_emergency_credit(7)) == (7, 2)
    assert pz.parse_top_up_response(pz.top_up_response(0, 5, 2, -3)) == (0, 5, 2, -3)
    assert pz.parse_supply_status_response(pz.supply_status_response(1, 2, 3, 2)) == (1, 2, 3, 2)
    # The RTDS PCS01 / PCS02 payloads (PPMID -> GSME) decode.
    assert pz.parse_consumer_top_up(bytes.fromhex(
        "021437333934313635363838303935303830343438 35".replace(" ", "")))[1] == \
        b"73941656880950804485"
    assert pz.parse_select_emergency_credit(bytes.fromhex("0000000002")) == (0, 2)
    for bad in (b"", b"\x01", bytes(22), bytes(24)):
        try:
            drlc.LoadControlEvent.from_bytes(bad)
        except ValueError:
            continue
        raise AssertionError(bad)


def test_method_a_partners_agree_keys_over_the_han_in_either_order():
    esme, s1 = _start(ESME, ESME_EUI)
    ppmid, s2 = _start(PPMID, PPMID_EUI)
    try:
        # The meter is told first: its partner does not know it yet and refuses.
        _gbcs(esme, "supplier", 0x000D, _join(0, PPMID_EUI, devlog.PPMID), True, ESME_EUI)
        _pump([esme, ppmid], _tick([esme]))
        assert not esme.device_log.entry(PPMID_EUI)[2] & devlog.FLAG_KEY
        assert esme.next_due(NOW) <= NOW + 60
        _gbcs(ppmid, "acb", 0x00AB, _join(1, ESME_EUI, devlog.ESME), True, PPMID_EUI)
        _pump([esme, ppmid], _tick([esme], NOW + 60), NOW + 60)
        mine = fx.pub("device_ka")  # the fixtures give both devices the same KA key pair
        assert esme.device_log.entry(PPMID_EUI)[3] == mine
        assert ppmid.device_log.entry(ESME_EUI)[3] == mine
        assert [e["key"] for e in ppmid.control("device_log", {}, NOW)["entries"]] == [True]
        assert _tick([esme], NOW + 200) == []  # nothing more to agree
        # A stranger's key establishment is refused (Terminate, unknown issuer).
        req = ApsFrame(HCALCS_EUI, PPMID_EUI, 0x0800,
                       ZCLFrame(0, b"\x00\x80" + bytes(64)).to_bytes())
        reply = ZCLFrame.from_bytes(ppmid.on_han(req, NOW)[0].payload)
        assert reply.command == 0x03 and reply.payload[0] == 0x01
    finally:
        fx.cleanup(s1)
        fx.cleanup(s2)


def test_the_meters_load_control_event_ids_survive_a_restart():
    store = fx.scratch_store()
    try:
        init = {"device_log": [[HCALCS_EUI.hex(), devlog.HCALCS, 0]]}
        esme = ESME(_identity("ESME", ESME_EUI), store, NOW, fresh=True, init=init)
        a = esme.attrs
        a.put(a.slot(b"\x00\x01\x00\x00\x5e\x2c\x00\x16\x02"), b"\x09\x08" + HCALCS_EUI)
        esme._save_attrs()

        def ask(dev):
            # HECS01: the HCALCS asks for its scheduled events; the meter answers with a
            # Load Control Event of a new Issuer Event ID.
            frame = ZCLFrame(drlc.GET_SCHEDULED_EVENTS, drlc.get_scheduled_events())
            out = dev.on_han(ApsFrame(HCALCS_EUI, ESME_EUI, drlc.CLUSTER, frame.to_bytes()),
                             NOW)
            reply = ZCLFrame.from_bytes(out[0].payload)
            return drlc.LoadControlEvent.from_bytes(reply.payload).event_id

        first = ask(esme)
        # A restart with no command in between: the id must not come again.
        esme = ESME(_identity("ESME", ESME_EUI), store, NOW + 5)
        assert ask(esme) > first
    finally:
        fx.cleanup(store)


def test_a_ppmids_credit_reads_do_not_load_the_type1_code():
    from smets.devices import esme as esme_mod

    esme, ppmid, stores = _joined_pair()
    real = esme_mod._call
    loaded = []

    def spy(name, *args, module="esme_ext"):
        loaded.append(module)
        return real(name, *args, module=module)

    esme_mod._call = spy
    try:
        # The PPMID's periodic credit read (a global Read Attributes) is the SE server's.
        ppmid.read_credit(NOW)
        _pump([esme, ppmid], _tick([ppmid]))
        assert ppmid.display["read_at"] == NOW and "esme_han" not in loaded
        # Its prepayment commands are esme_han's.
        ppmid.request_emergency_credit(NOW)
        _pump([esme, ppmid], _tick([ppmid]))
        assert "esme_han" in loaded
    finally:
        esme_mod._call = real
        for s in stores:
            fx.cleanup(s)
