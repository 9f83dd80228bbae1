"""ESME variants (single-element, twin-element, polyphase), the ECS100 alert for another
variant's use case, firmware activation (CS06) and the clock (ECS70), sans-IO."""

import gbcs_fixtures as fx
from smets import cosem
from smets.devices.esme import ESME
from smets.dlms import access
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
from smets.dlms.axdr import Data, from_bytes
from smets.gbcs import asn1, crypto, envelope, p256

NOW = 1700000000 // 86400 * 86400  # a midnight
OB = fx.obis


def _device(init=None):
    store = fx.scratch_store()
    return ESME(fx.identity(), store, NOW, fresh=True, init=init), store


def _send(dev, code, content, critical=False, role="supplier", now=NOW):
    counter = fx.next_counter(role)
    if callable(content):
        content = content(counter)
    raw, _ = fx.command(role, code, content, critical=critical, counter=counter)
    out = dev.handle_gbcs(raw, now)
    return counter, [envelope.decode(m) for m in out]


def _access(specs, data=None):
    return lambda counter: AccessRequest(fx.invoke(counter), specs, data).to_bytes()


def _protected(dev, code, obis, counter_role="supplier", now=NOW):
    """A Data protection read (GBCS payload encryption), decrypted."""
    def build(counter):
        prot = ProtectionParameters(b"\x04" + counter.to_bytes(8, "big"),
                                    fx.PARTY_EUIS[counter_role], fx.DEVICE_EUI)
        gets = [ProtectedGet(c, OB(o), a) for c, o, a in obis]
        return AccessRequest(fx.invoke(counter), [RequestSpec.action(30, OB(dp), 1)], [
            GetProtectedAttributes(gets, [prot]).to_data()]).to_bytes()
    dp = {0x0027: "0-0-43-2-8-255", 0x0029: "0-0-43-2-9-255", 0x0037: "0-0-43-2-7-255",
          0x0033: "0-0-43-2-5-255"}[code]
    counter, out = _send(dev, code, build, now=now)
    assert dev.last_outcome == "accepted", dev.last_detail
    resp = AccessResponse.from_bytes(out[0].content)
    prot = ProtectedAttributes.from_data(resp.data[0])
    z = p256.ecdh(fx.KEYS["supplier_ka"], fx.pub("device_ka"))
    plain = crypto.unprotect_payload(z, fx.DEVICE_EUI, counter, fx.PARTY_EUIS["supplier"],
                                     bytes(prot.protected_attributes))
    return from_bytes(plain)


def test_variant_is_chosen_at_provisioning_and_checked():
    for bad in ({"variant": "triple"}, {"power2_w": -1}):
        try:
            ESME.validate(fx.identity(), bad)
        except ValueError:
            continue
        raise AssertionError(bad)
    dev, store = _device({"variant": "twin"})
    try:
        assert dev.status(NOW)["variant"] == "twin"
        again = ESME(fx.identity(), store, NOW + 5)
        assert again.twin and again.state["variant"] == "twin"
    finally:
        fx.cleanup(store)


def test_twin_registers_and_profile_carry_the_second_element():
    dev, store = _device({"variant": "twin", "power_w": 1000, "power2_w": 3000,
                          "import_wh": 5, "import2_wh": 7})
    try:
        regs = _protected(dev, 0x0027, [(1, "0-0-94-44-34-10", 2)])
        reg = regs.value[0].value
        assert len(reg) == 5 and reg[0].value == 5 and reg[4].value == 7
        tou = _protected(dev, 0x0029, [(1, "0-0-94-44-34-1", 2)]).value[0].value
        assert [len(x.value) for x in tou] == [48, 4] and tou[1].value[0].value == 7
        dev.advance(NOW + 3600)  # two half-hours: 500 Wh and 1500 Wh per half-hour
        hh = _protected(dev, 0x0037, [(7, "0-0-99-1-0-255", 2)], now=NOW + 3600).value[0]
        assert hh.tag == 19  # compact-array
        entries = hh.value[1]
        assert len(entries) == 2 and [e.value for e in entries[-1].value] == [
            NOW + 3600 - cosem.EPOCH_2000, 500, 1500]
        assert dev.status(NOW + 3600)["import2_wh"] == 7 + 3000
    finally:
        fx.cleanup(store)


def test_single_element_registers_keep_their_shape():
    dev, store = _device({"import_wh": 5})
    try:
        reg = _protected(dev, 0x0027, [(1, "0-0-94-44-34-10", 2)]).value[0].value
        assert len(reg) == 4
        tou = _protected(dev, 0x0029, [(1, "0-0-94-44-34-1", 2)]).value[0].value
        assert len(tou) == 1 and len(tou[0].value) == 48
    finally:
        fx.cleanup(store)


def test_another_variants_use_case_gets_an_ecs100_alert():
    dev, store = _device()
    try:
        charge = Data.structure([Data.structure([Data.int8(0), Data.int8(-5)]), Data.structure([
            Data.uint16(0), Data.octet(bytes(6)), Data.int8(0)]),
            Data.array([Data.structure([Data.octet(b""), Data.int16(0)])])])
        counter, out = _send(dev, 0x00C7, _access(  # ECS01d: second element prices
            [RequestSpec.set(113, OB("0-0-19-20-5-255"), 6),
             RequestSpec.set(113, OB("0-0-19-20-5-255"), 7)],
            [charge, Data.octet(cosem.NEVER_DT)]), critical=True)
        assert dev.last_outcome == "unsupported" and len(out) == 1
        alert = out[0]
        assert alert.cra == envelope.CRA_ALERT and alert.message_code == 0x0120
        assert alert.recipient == fx.PARTY_EUIS["supplier"] and alert.signature is not None
        body = DataNotification.from_bytes(alert.content)
        assert body.alert_code == 0x8F85
        assert body.body.value[2] == Data.octet(b"\x00\xc7" + counter.to_bytes(8, "big"))
        # A polyphase use case on the polyphase meter is answered.
        poly, store2 = _device({"variant": "polyphase"})
        try:
            _, out = _send(poly, 0x00C6, _access([RequestSpec.get(1, OB(o), 2) for o in (
                "1-0-32-35-0-4", "1-0-32-31-0-4")]))
            assert poly.last_outcome == "bad_payload"  # not ECS26k's request: template
            _, out = _send(dev, 0x00C6, _access([RequestSpec.get(1, OB(o), 2) for o in (
                "1-0-32-35-0-4", "1-0-32-31-0-4")]))
            assert dev.last_outcome == "unsupported"
        finally:
            fx.cleanup(store2)
    finally:
        fx.cleanup(store)


IMAGE_HASH = bytes(range(32))


def _cs06(digest, when=None):
    def build(counter):
        parts = [asn1.octets(digest), asn1.integer(counter)]
        if when is not None:
            parts.append(asn1.generalized_time(when))
        return asn1.sequence(*parts)
    return build


def _outcome(content):
    body, _ = asn1.read_as(content, asn1.SEQUENCE)
    code, body = asn1.read_int(body)
    version, _ = asn1.read_as(body, asn1.OCTET_STRING)
    return code, bytes(version)


def test_firmware_activation_immediate_future_and_cancelled():
    dev, store = _device()
    try:
        _, out = _send(dev, 0x0012, _cs06(IMAGE_HASH), critical=True)
        assert _outcome(out[0].content) == (1, b"\x00\x01\x00\x00")  # no image held
        assert out[0].date_time == cosem.date_time(NOW)
        # An image arrives (CS05b): the receipt alert names its SHA-256.
        held = dev.control("firmware_image", {"image": "0203040506"}, NOW)
        alerts = dev.device_tick(NOW)
        assert len(alerts) == 1 and envelope.decode(alerts[0]).message_code == 0x00CE
        import hashlib

        digest = hashlib.sha256(bytes.fromhex("0203040506")).digest()
        assert held["hash"] == digest.hex()
        _, out = _send(dev, 0x0012, _cs06(IMAGE_HASH), critical=True)
        assert _outcome(out[0].content)[0] == 2  # hash mismatch
        # Future-dated: accepted now, activated at its time with an 8F66 alert.
        counter, out = _send(dev, 0x0012, _cs06(digest, NOW + 600), critical=True)
        assert out[0].content == asn1.null()
        assert dev.device_tick(NOW + 599) == []
        alerts = [envelope.decode(a) for a in dev.device_tick(NOW + 600)]
        alert = [a for a in alerts if a.message_code == 0x00CA][0]
        body, _ = asn1.read_as(alert.content, asn1.SEQUENCE)
        code, body = asn1.read_int(body)
        when, body = asn1.read_time(body)
        ctr, body = asn1.read_int(body)
        assert (code, when, ctr) == (0x8F66, NOW + 600, counter)
        assert _outcome(bytes(body)) == (0, bytes.fromhex("02030405"))
        assert dev.attribute(1, OB("0-0-0-2-1-255"), 2) == b"\x09\x04\x02\x03\x04\x05"
        # A cancellation (NEVER) drops a pending activation: no alert at its time.
        dev.control("firmware_image", {"image": "0909090909"}, NOW)
        d2 = hashlib.sha256(bytes.fromhex("0909090909")).digest()
        _send(dev, 0x0012, _cs06(d2, NOW + 900), critical=True)
        _, out = _send(dev, 0x0012, _cs06(d2, 253402300799), critical=True)
        assert out[0].content == asn1.null() and dev.state["pending"] == []
        assert [envelope.decode(a).message_code for a in dev.device_tick(NOW + 1000)] \
            == [0x00CE]
    finally:
        fx.cleanup(store)


def test_malformed_firmware_activation_is_rejected():
    dev, store = _device()
    try:
        for build in (lambda c: asn1.sequence(asn1.octets(b"short"), asn1.integer(c)),
                      lambda c: asn1.sequence(asn1.octets(IMAGE_HASH), asn1.integer(c + 1)),
                      lambda c: asn1.null(),
                      lambda c: _cs06(IMAGE_HASH)(c) + b"\x00"):
            _send(dev, 0x0012, build, critical=True)
            assert dev.last_outcome == "bad_payload"
        assert dev.security_entries()[-1]["event"] == "bad_payload"
    finally:
        fx.cleanup(store)


def _ecs70(preset, start, end):
    dt = [Data.octet(cosem.date_time(t) if t else cosem.NEVER_DT) for t in (preset, start, end)]
    return _access([RequestSpec.action(8, OB("0-0-1-0-0-255"), 5)], [Data.structure(dt)])


def test_set_clock_only_within_its_validity_interval():
    dev, store = _device()
    try:
        for args, result, event in (((NOW + 3, NOW - 60, NOW + 60), 0, 0x8145),
                                    ((NOW - 50, NOW - 110, NOW + 10), 0, 0x8145),
                                    ((NOW, NOW + 60, NOW + 120), 250, 0x81C6),
                                    ((NOW, NOW - 120, NOW - 60), 250, 0x81C6)):
            _, out = _send(dev, 0x0062, _ecs70(*args), critical=True)
            resp = AccessResponse.from_bytes(out[0].content)
            assert [s.result for s in resp.specs] == [result]
            assert dev.events.entry(-1)[1] == event
        _, out = _send(dev, 0x0062, _access([RequestSpec.action(8, OB("0-0-1-0-0-255"), 5)],
                                            [Data.uint8(1)]), critical=True)
        assert [s.result for s in AccessResponse.from_bytes(out[0].content).specs] == [
            access.TYPE_UNMATCHED]
    finally:
        fx.cleanup(store)


def test_supply_tamper_state_set_and_read():
    dev, store = _device()
    try:
        _, out = _send(dev, 0x0068, _access([RequestSpec.set(1, OB("0-0-94-44-0-4"), 2)],
                                            [Data.boolean(True)]), critical=True)
        assert [s.result for s in AccessResponse.from_bytes(out[0].content).specs] == [0]
        assert dev.attribute(1, OB("0-0-94-44-0-4"), 2) == b"\x03\xff"
        _, out = _send(dev, 0x0068, _access([RequestSpec.set(1, OB("0-0-94-44-0-4"), 2)],
                                            [Data.uint8(1)]), critical=True)
        assert [s.result for s in AccessResponse.from_bytes(out[0].content).specs] == [
            access.TYPE_UNMATCHED]
    finally:
        fx.cleanup(store)


class _PowerCut(Exception):
    pass


def _cut_after(store, n):
    """Make the store's `n`-th write (save, in-place save, remove...) a power cut."""
    count = [0]

    def wrap(fn):
        def write(*args):
            count[0] += 1
            if count[0] == n:
                raise _PowerCut()
            return fn(*args)
        return write

    for name in ("save", "save_often", "save_parts", "save_bytes", "dump", "remove"):
        setattr(store, name, wrap(getattr(store, name)))


def test_a_power_cut_anywhere_in_future_dated_activations_loses_nothing():
    import hashlib

    from smets.store import Store

    acct = bytes((0, 1, 19, 0, 0, 255))
    image = "0203040506"
    digest = hashlib.sha256(bytes.fromhex(image)).digest()
    n = 0
    while True:
        n += 1
        dev, store = _device()
        try:
            dev.control("firmware_image", {"image": image}, NOW)
            dev.device_tick(NOW)
            # A payment mode change (ECS02 style) and a firmware activation (CS06), both
            # future-dated to the same time: one activation, then the firmware entry.
            counter = fx.next_counter("supplier")
            req = AccessRequest(fx.invoke(counter), [
                RequestSpec.set(111, acct, 2), RequestSpec.set(111, acct, 11),
                RequestSpec.set(111, acct, 13)], [
                Data.structure([Data.enum(2), Data.enum(1)]),
                Data.array([Data.structure([Data.octet(bytes((0, 0, 19, 10, 0, 255))),
                                            Data.octet(bytes((0, 0, 19, 20, 0, 255))),
                                            Data.bits("111")])]),
                Data.octet(cosem.date_time(NOW + 600))])
            raw, _ = fx.command("supplier", 0x001A, req.to_bytes(), critical=True,
                                counter=counter)
            assert dev.handle_gbcs(raw, NOW) and dev.last_outcome == "accepted"
            _send(dev, 0x0012, _cs06(digest, NOW + 600), critical=True)
            assert dev.status(NOW)["pending"] == 2
            _cut_after(dev.store, n)
            try:
                alerts = dev.device_tick(NOW + 600)
                cut = False
            except _PowerCut:
                cut = True
                # Power back: the meter restarts from flash and its clock runs on.
                dev = ESME(fx.identity(), Store(store.root), NOW + 601)
                alerts = dev.device_tick(NOW + 601)
            # Whatever write the cut hit: both changes made, each alerted once, none left.
            assert dev.status(NOW + 601)["pending"] == 0, n
            assert bytes(dev.attribute(1, bytes((0, 0, 0, 2, 1, 255)), 2)[2:]) == bytes(
                (2, 3, 4, 5)), n
            assert dev.attribute(111, acct, 2)[3] == 2, n
            codes = sorted(envelope.decode(a).message_code for a in alerts)
            assert codes == [0x00CA, 0x00CC], (n, codes)
            fw = [envelope.decode(a) for a in alerts if envelope.decode(a).message_code == 0xCA]
            body, _ = asn1.read_as(fw[0].content, asn1.SEQUENCE)
            assert asn1.read_int(body)[0] == 0x8F66, n  # actioned, not "no image"
        finally:
            fx.cleanup(store)
        if not cut:
            break
    assert n > 3  # the writes of the activation were each cut once
