"""The gas meter (GSME) and the Gas Proxy Function (GPF), sans-IO: the ZSE cluster model, GBZ
use cases (reads, encrypted reads, valve, top-up, logs), bad GBZ payloads, and the mirror the
GSME's reports keep on the GPF.

Runs on CPython and on the MicroPython unix port (tools/mptest.py)."""

import gbcs_fixtures as fx
from smets.devices import gsme as gsme_mod
from smets.devices import gsme_image, gsme_model
from smets.devices.gpf import GPF
from smets.devices.gsme import GSME
from smets.gbcs import crypto, envelope, p256, utrn
from smets.han import ApsFrame
from smets.zcl import attrs, foundation, gbz, secmd
from smets.zcl import types as ztypes
from smets.zcl.frame import TYPE_GLOBAL, ZCLFrame

NOW = 1700000000  # 2023-11-14T22:13:20Z
EPOCH_2000 = 946684800
METERING = 0x0702
PREPAYMENT = 0x0705
GPF_EUI = bytes.fromhex("00db1234567890a3")


def _identity(role="GSME", eui=fx.DEVICE_EUI):
    ident = fx.identity()
    ident["role"] = role
    ident["eui"] = eui.hex()
    return ident


def _gsme(init=None):
    store = fx.scratch_store()
    return GSME(_identity(), store, NOW, fresh=True, init=init), store


def _gbz(*components):
    return gbz.GBZPayload([gbz.GBZComponent(c, fc, i, cmd, p)
                           for i, (c, fc, cmd, p) in enumerate(components)]).to_bytes()


def _read(cluster, *ids):
    return (cluster, 0x00, foundation.READ_ATTRIBUTES,
            foundation.encode(foundation.READ_ATTRIBUTES, list(ids)))


def _run(dev, code, content, role="supplier", critical=False, now=NOW):
    """(response GBZ payload, plaintexts of its encrypted components, alerts)."""
    raw, _ = fx.command(role, code, content, critical=critical)
    out = dev.handle_gbcs(raw, now)
    assert out and dev.last_outcome == "accepted", (dev.last_outcome, dev.last_detail)
    msg = envelope.decode(out[0])
    z = p256.ecdh(fx.KEYS[role + "_ka"], fx.pub("device_ka"))
    if critical:
        assert msg.mac is None and crypto.verify_message_signature(msg, fx.pub("device_ds"))
    else:
        assert crypto.verify_message_mac(msg, z)
    payload = gbz.GBZPayload.from_bytes(msg.content)
    originator, counter, recipient = crypto.payload_kdf_inputs(msg)
    plain = {}
    for i, c in enumerate(payload.components):
        if c.encrypted:
            plain[i] = crypto.decrypt_payload(z, originator, counter, recipient,
                                              c.ciphertext_and_tag)
    return payload, plain, out[1:]


def _records(payload, plain, i=0):
    c = payload.components[i]
    data = plain[i] if c.encrypted else c.payload
    return {r.id: r for r in foundation.decode(c.command, data)}


def test_the_image_is_the_compiled_model():
    index, defaults, ucs, gpf_ucs = gsme_model.build()
    assert gsme_image.VERSION == gsme_model.VERSION == gsme_mod.MODEL_VERSION
    assert gsme_image.INDEX == index and gsme_image.DEFAULTS == defaults, \
        "run python -m smets.devices.gsme_model"
    assert gsme_image.USE_CASES == ucs and gsme_image.GPF_USE_CASES == gpf_ucs


def test_attribute_table_types_values_and_bounds():
    t = attrs.AttrTable(gsme_image.INDEX, gsme_image.DEFAULTS)
    row = t.find(METERING, 0x0000)
    assert row >= 0 and t.type(row) == ztypes.UINT48 and t.flags(row) & attrs.REPORTABLE
    assert t.find(METERING, 0x7777) == -1
    t.set(METERING, 0x0000, 123456)
    assert t.value(METERING, 0x0000) == 123456
    site = t.find(METERING, 0x0307)
    assert t.put(site, b"1234567890") is None and bytes(t.get(site)) == b"1234567890"
    assert t.put(site, b"x" * 40) == 0x89  # INSUFFICIENT_SPACE: longer than the model allows
    assert t.put(site, 5) == 0x87  # INVALID_VALUE: not an octet string
    assert bytes(t.get(site)) == b"1234567890"


def test_se_layouts_round_trip():
    fields = [7, 473385600, 0, 0, 1, 1]
    raw = secmd.encode(METERING, False, 0x0B, fields)
    assert secmd.decode(METERING, False, 0x0B, raw) == fields
    grid = [3, 473385600, 0, 1, 0, 1, 0, [(1, 100), (2, 200)]]
    raw = secmd.encode(0x0700, True, 0x05, grid)
    assert secmd.decode(0x0700, True, 0x05, raw) == grid
    assert not secmd.known(METERING, False, 0x77)
    try:
        secmd.decode(METERING, False, 0x0B, raw[:5])
        raise AssertionError("a short payload decoded")
    except ValueError:
        pass


def test_utrn_check_digit_and_mac():
    z = p256.ecdh(fx.KEYS["supplier_ka"], fx.pub("device_ka"))
    sup = fx.PARTY_EUIS["supplier"]
    code = utrn.make(z, sup, fx.DEVICE_EUI, 1 << 32, 500)
    assert len(code) == 20 and utrn.check_digit(code[:19]) == code[19]
    assert utrn.verify(code, z, sup, fx.DEVICE_EUI, -1) == (1 << 32, 500)
    bad = code[:5] + ("1" if code[5] != "1" else "2") + code[6:]
    for wrong in (bad, code[:19] + str((int(code[19]) + 1) % 10)):
        try:
            utrn.verify(wrong, z, sup, fx.DEVICE_EUI, -1)
            raise AssertionError("a wrong UTRN verified")
        except utrn.UTRNError:
            pass
    try:  # the same UTRN twice: its counter is no longer above the last one
        utrn.verify(code, z, sup, fx.DEVICE_EUI, 1 << 32)
        raise AssertionError("a UTRN verified twice")
    except utrn.UTRNError:
        pass


def test_consumption_register_read_is_encrypted_and_typed():
    dev, store = _gsme(init={"volume": 4321})
    try:
        payload, plain, _ = _run(dev, 0x0074, _gbz(_read(METERING, 0x0302, 0x0300, 0x0000)))
        c = payload.components[0]
        assert c.encrypted and c.frame_control & 0x08 and c.command == 0x01
        recs = _records(payload, plain)
        assert recs[0x0000].type == ztypes.UINT48 and recs[0x0000].value == 4321
        assert recs[0x0302].value == 1000 and recs[0x0300].type == ztypes.ENUM8
    finally:
        fx.cleanup(store)


def test_gas_flows_only_through_an_open_valve_and_the_valve_opens_at_the_meter():
    dev, store = _gsme(init={"flow_lph": 1800})
    try:
        dev.advance(NOW + 3600)
        assert dev.get(METERING, 0x0000) == 1800  # litres in an hour
        close = secmd.encode(METERING, False, 0x0B, [0, 1, 0, 0, 0, 1])
        payload, _, _ = _run(dev, 0x0081, _gbz((METERING, 0x01, 0x0B, close)), critical=True,
                             now=NOW + 3600)
        status = secmd.decode(METERING, True, 0x0C, payload.components[0].payload)
        assert status[3] == gsme_mod.SUPPLY_OFF
        dev.advance(NOW + 7200)
        assert dev.get(METERING, 0x0000) == 1800  # closed: nothing flows
        arm = secmd.encode(METERING, False, 0x0B, [0, 2, 0, 0, 1, 1])
        _run(dev, 0x0085, _gbz((METERING, 0x01, 0x0B, arm)), critical=True, now=NOW + 7200)
        assert dev.get(METERING, 0x0014) == gsme_mod.SUPPLY_ARMED
        dev.button(NOW + 7200)  # the consumer opens the armed valve
        assert dev.get(METERING, 0x0014) == gsme_mod.SUPPLY_ON
        dev.advance(NOW + 9000)
        assert dev.get(METERING, 0x0000) == 2700
    finally:
        fx.cleanup(store)


def test_a_top_up_credits_the_meter_once():
    store = fx.scratch_store()
    # The fixtures' supplier has a prepayment key (GBCS 14: a meter without it takes no
    # top-up).
    dev = GSME(_identity(), store, NOW, fresh=True)
    try:
        code = fx.utrn(1, 250)
        top_up = secmd.encode(PREPAYMENT, False, 0x04, [0, code.encode()])
        payload, _, _ = _run(dev, 0x0097, _gbz((PREPAYMENT, 0x01, 0x04, top_up)))
        result, value, _src, credit = secmd.decode(PREPAYMENT, True, 0x03,
                                                payload.components[0].payload)
        assert result == 0 and value == 250 * gsme_mod.CREDIT_PER_PENNY and credit == value
        payload, _, _ = _run(dev, 0x0097, _gbz((PREPAYMENT, 0x01, 0x04, top_up)))
        result = secmd.decode(PREPAYMENT, True, 0x03, payload.components[0].payload)[0]
        assert result == 0x02 and dev.get(PREPAYMENT, 0x0001) == value  # duplicate: not twice
    finally:
        fx.cleanup(store)


def test_daily_read_log_snapshots_are_taken_at_midnight_and_published():
    dev, store = _gsme(init={"flow_lph": 100})
    try:
        midnight = (NOW // 86400 + 1) * 86400
        dev.advance(midnight + 86400 + 60)  # two midnights
        start = (NOW - EPOCH_2000) & 0xFFFFFFFF
        end = (midnight + 86400 + 60 - EPOCH_2000) & 0xFFFFFFFF
        get = [(METERING, 0x01, 0x06, secmd.encode(METERING, False, 0x06, [start, end, i, 1]))
               for i in range(3)]
        payload, plain, _ = _run(dev, 0x0077, _gbz(*get), now=midnight + 86400 + 60)
        snaps = [secmd.decode(METERING, True, 0x06, plain[i] if c.encrypted else c.payload)
                 for i, c in enumerate(payload.components) if c.command == 0x06]
        assert len(snaps) == 2  # the third offset: NOT_FOUND
        # Offset 0 is the oldest in the window, as the DCC RTDS 4.5.0 GCS16a answers show.
        assert [x[1] for x in snaps] == [midnight - EPOCH_2000, midnight + 86400 - EPOCH_2000]
        assert payload.components[-1].command == 0x0B  # Default Response NOT_FOUND
    finally:
        fx.cleanup(store)


def test_bad_gbz_payloads_are_refused_with_the_malformed_command_alert():
    dev, store = _gsme()
    good = _gbz(_read(METERING, 0x0000))
    try:
        for content in (good[:2] + b"\x02" + good[3:], good + b"\x00", good[:-1], b"",
                        good[:4] + b"\x09\x99" + good[6:], b"\x01\x09\x00",
                        bytes.fromhex("010901030702") + b"\x00\x14" + bytes(20)):
            raw, _ = fx.command("supplier", 0x0074, content)
            out = dev.handle_gbcs(raw, NOW)
            assert dev.last_outcome == "bad_payload", (content, dev.last_outcome)
            # No response; a GBCS alert 8F1E (GBCS 16.2) to the supplier instead.
            assert len(out) == 1 and envelope.decode(out[0]).cra == envelope.CRA_ALERT
        assert dev.stats["rejected"] == 7
    finally:
        fx.cleanup(store)


def _deliver(frames, dev, now):
    out = []
    for aps in frames:
        out += dev.on_han(ApsFrame.from_bytes(aps.to_bytes()), now)
    return out


def test_the_gsme_keeps_the_gpf_mirror_and_the_mirror_answers_zcl_reads():
    gsme, s1 = _gsme(init={"volume": 777, "credit": 12345})
    gpf_store = fx.scratch_store()
    gpf = GPF(_identity("GPF", GPF_EUI), gpf_store, NOW, fresh=True)
    try:
        hub_side = gsme._report(NOW)  # no mirror yet: RequestMirror (ZSE D.3.4.2.4.2)
        assert len(hub_side) == 1
        replies = _deliver(hub_side, gpf, NOW)
        assert len(replies) == 1  # RequestMirrorResponse: the mirror's endpoint
        reports = _deliver(replies, gsme, NOW)
        assert reports and not _deliver(reports, gpf, NOW)  # reports need no answer
        assert gpf.attrs.value(METERING, 0x0000) == 777
        assert gpf.attrs.value(PREPAYMENT, 0x0001) == 12345
        assert gpf.mirror_frames == len(reports) == gsme.mirror_frames
        # An IHD reads the mirror (global Read Attributes to the hub's endpoint 2).
        zcl = ZCLFrame(foundation.READ_ATTRIBUTES, foundation.encode(
            foundation.READ_ATTRIBUTES, [0x0000, 0x7777]), frame_type=TYPE_GLOBAL, seq=4)
        ihd = bytes.fromhex("00db1234567890c1")
        answer = gpf.on_han(ApsFrame(ihd, GPF_EUI, METERING, zcl.to_bytes(), dst_ep=2), NOW)
        resp = ZCLFrame.from_bytes(answer[0].payload)
        recs = foundation.decode(resp.command, resp.payload)
        assert answer[0].dst_eui == ihd and resp.seq == 4
        assert recs[0].value == 777 and recs[1].status == 0x86
    finally:
        fx.cleanup(s1)
        fx.cleanup(gpf_store)


def test_a_read_writes_nothing_and_a_change_survives_a_restart():
    dev, store = _gsme(init={"flow_lph": 360})
    try:
        for _ in range(3):  # warm: the first commands' records and ECDH cache
            _run(dev, 0x0089, _gbz(_read(METERING, 0x0307)))
        writes = store.writes
        _run(dev, 0x0089, _gbz(_read(METERING, 0x0307)), now=NOW + 10)
        assert store.writes == writes  # a read: no flash write
        site = secmd.encode(0x0708, True, 0x03, [1, 0, 0, b"9988776655"])
        _run(dev, 0x0087, _gbz((0x0708, 0x09, 0x03, site)), now=NOW + 3600)
        again = GSME(_identity(), store, NOW + 3600, fresh=False)
        assert bytes(again.get(METERING, 0x0307)) == b"9988776655"
        assert again.get(METERING, 0x0000) == 360  # the hour's gas, saved with the change
    finally:
        fx.cleanup(store)


def test_the_gas_meters_device_log_is_the_gbcs_one():
    # GBCS 13.7 on the GSME (smets.devlog, smets.devices.joins): a Type 2 device joins by
    # Method B, a PPMID cannot (2: invalid join method and role), CS07 lists the log with the
    # device types, CS04AC cannot undo a Method B join (2) and CS04B can; an unknown device is
    # "not in device log" (1). The log outlives a restart.
    from smets.devlog import METHOD_B, TYPE2
    from smets.gbcs import asn1

    def join(method, eui, dtype):
        return asn1.sequence(asn1.integer(method), asn1.octets(eui), asn1.integer(dtype))

    def code(dev, msg_code, content, critical=False):
        raw, _ = fx.command("supplier", msg_code, content, critical=critical)
        out = dev.handle_gbcs(raw, NOW)
        assert dev.last_outcome == "accepted", (dev.last_outcome, dev.last_detail)
        return bytes(envelope.decode(out[0]).content)

    ihd = bytes.fromhex("00db12345678909c")
    ppmid = bytes.fromhex("00db123456789097")
    dev, store = _gsme()
    try:
        assert code(dev, 0x000E, join(METHOD_B, ihd, TYPE2)) == asn1.integer(0)
        assert code(dev, 0x000E, join(METHOD_B, ppmid, 5)) == asn1.integer(2)
        assert dev.han_joined(ihd) == TYPE2 and dev.han_joined(ppmid) is None
        listed = asn1.sequence(asn1.integer(0), asn1.sequence(
            asn1.sequence(asn1.octets(ihd), asn1.integer(TYPE2))))
        assert code(dev, 0x0013, b"\x05\x00") == listed
        dev = GSME(_identity(), store, NOW + 60)
        assert dev.han_joined(ihd) == TYPE2
        assert code(dev, 0x000F, asn1.octets(ihd), critical=True) == asn1.integer(2)
        assert code(dev, 0x0010, asn1.octets(ihd)) == asn1.integer(0)
        assert code(dev, 0x0010, asn1.octets(ihd)) == asn1.integer(1)
        assert dev.han_joined(ihd) is None
    finally:
        fx.cleanup(store)
