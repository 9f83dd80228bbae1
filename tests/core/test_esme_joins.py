"""The ESME's device log through GBCS (13.7): CS03A1 / CS03B joins, CS04AC / CS04B unjoins,
CS07 reads, the response codes for requests it cannot carry out, the security-log events, and
malformed payloads rejected (8F1E) without a crash (sans-IO)."""

import gbcs_fixtures as fx
from smets import devlog
from smets.devices.esme import ESME
from smets.gbcs import asn1, crypto, envelope, p256

NOW = 1700000000
PPMID = bytes.fromhex("00db123456789093")
IHD = bytes.fromhex("00db1234567890c1")


def _device(init=None):
    store = fx.scratch_store()
    return ESME(fx.identity(), store, NOW, fresh=True, init=init), store


def _join(method, eui, dtype, cert=None):
    parts = [asn1.integer(method), asn1.octets(eui), asn1.integer(dtype)]
    if cert is not None:
        parts.append(cert)
    return asn1.sequence(*parts)


def _send(dev, code, content, critical=False, role="supplier"):
    raw, counter = fx.command(role, code, content, critical=critical)
    out = dev.handle_gbcs(raw, NOW)
    if not out or envelope.decode(out[0]).cra != envelope.CRA_RESPONSE:
        return None, out
    msg = envelope.decode(out[0])
    assert msg.counter == counter and msg.message_code == code
    if critical:
        assert msg.mac is None and crypto.verify_message_signature(msg, fx.pub("device_ds"))
    else:
        assert crypto.verify_message_mac(msg, p256.ecdh(fx.KEYS[role + "_ka"],
                                                        fx.pub("device_ka")))
    return bytes(msg.content), out[1:]


def _code(content):
    v, rest = asn1.read_int(content)
    assert not len(rest)
    return v


def test_method_a_join_unjoin_and_read():
    dev, store = _device()
    try:
        content, _ = _send(dev, 0x000D, _join(0, PPMID, devlog.PPMID), critical=True)
        assert _code(content) == devlog.JOIN_SUCCESS
        assert dev.device_log.joined(PPMID) == devlog.PPMID
        content, _ = _send(dev, 0x000E, _join(2, IHD, devlog.TYPE2))
        assert _code(content) == devlog.JOIN_SUCCESS
        assert dev.device_log.joined(IHD) == devlog.TYPE2
        content, _ = _send(dev, 0x0013, asn1.null())
        body, _ = asn1.read_as(content, asn1.SEQUENCE)
        ok, body = asn1.read_int(body)
        entries, _ = asn1.read_as(body, asn1.SEQUENCE)
        got = []
        for _tag, e in asn1.elements(entries):
            eui, e = asn1.read_as(e, asn1.OCTET_STRING)
            t, _ = asn1.read_int(e)
            got.append((bytes(eui), t))
        assert ok == 0 and got == [(PPMID, devlog.PPMID), (IHD, devlog.TYPE2)]
        # CS04B undoes Method B joins only, CS04AC Method A / C ones.
        content, _ = _send(dev, 0x0010, asn1.octets(PPMID))
        assert _code(content) == 2 and dev.device_log.joined(PPMID) == devlog.PPMID
        content, _ = _send(dev, 0x000F, asn1.octets(PPMID), critical=True)
        assert _code(content) == 0 and dev.device_log.joined(PPMID) is None
        content, _ = _send(dev, 0x0010, asn1.octets(IHD))
        assert _code(content) == 0 and len(dev.device_log) == 0
        content, _ = _send(dev, 0x000F, asn1.octets(IHD), critical=True)
        assert _code(content) == 1  # not in the device log
        events = [e["event"] for e in dev.security_entries()]
        assert events == ["device_joined", "device_joined", "unjoin_failed",
                          "device_unjoined", "device_unjoined", "unjoin_failed"]
        assert [e["alert"] for e in dev.security_entries()][:2] == [0x8F49, 0x8F49]
    finally:
        fx.cleanup(store)


def test_join_response_codes():
    dev, store = _device(init={"device_log": [["00db12345678909a", devlog.HCALCS, 0]]})
    try:
        hcalcs = bytes.fromhex("00db12345678909a")
        assert dev.device_log.joined(hcalcs) == devlog.HCALCS
        cases = (
            (0x000D, _join(2, PPMID, devlog.PPMID), True, devlog.JOIN_WRONG_MESSAGE_CODE),
            (0x000D, _join(0, PPMID, devlog.GSME), True, devlog.JOIN_INVALID_METHOD),
            (0x000E, _join(2, PPMID, devlog.PPMID), False, devlog.JOIN_INVALID_METHOD),
            (0x000D, _join(0, fx.DEVICE_EUI, devlog.PPMID), True, devlog.JOIN_INVALID_METHOD),
            (0x000D, _join(0, hcalcs, devlog.PPMID), True, devlog.JOIN_INCOMPATIBLE),
            (0x000D, _join(0, hcalcs, devlog.HCALCS), True, devlog.JOIN_SUCCESS),
        )
        for code, content, critical, want in cases:
            got, _ = _send(dev, code, content, critical=critical)
            assert _code(got) == want, (code, want, _code(got))
        # A write failure (injected, as the bench injects DLMS failures) answers 5.
        dev.dlms_faults = 1
        got, _ = _send(dev, 0x000E, _join(2, IHD, devlog.TYPE2))
        assert _code(got) == devlog.JOIN_WRITE_FAILURE and dev.device_log.joined(IHD) is None
        for i in range(devlog.DEFAULT_SIZE - 1):
            got, _ = _send(dev, 0x000E, _join(2, bytes([1, 2, 3, 4, 5, 6, 7, i]), 6))
            assert _code(got) == devlog.JOIN_SUCCESS
        got, _ = _send(dev, 0x000E, _join(2, IHD, devlog.TYPE2))
        assert _code(got) == devlog.JOIN_LOG_FULL
    finally:
        fx.cleanup(store)


def test_malformed_join_payloads_are_rejected_with_8f1e():
    dev, store = _device()
    try:
        bad = (
            b"\x30\x03\x02\x01",  # truncated
            asn1.sequence(asn1.integer(0), asn1.octets(b"short"), asn1.integer(5)),
            _join(0, PPMID, devlog.PPMID) + b"\x00",  # trailing bytes
            asn1.octets(PPMID),  # an unjoin payload in a join
            b"",
        )
        for content in bad:
            before = len(dev.security_log)
            out = dev.handle_gbcs(fx.command("supplier", 0x000D, content, critical=True)[0],
                                  NOW)
            assert dev.last_outcome == "bad_payload", (content, dev.last_outcome)
            assert len(dev.security_log) == before + 1
            alert = envelope.decode(out[0])
            assert alert.cra == envelope.CRA_ALERT and alert.message_code == 0x1000
        for content in (asn1.octets(b"1234"), b"\x04\x09" + bytes(9), asn1.integer(3)):
            dev.handle_gbcs(fx.command("supplier", 0x000F, content, critical=True)[0], NOW)
            assert dev.last_outcome == "bad_payload"
        dev.handle_gbcs(fx.command("supplier", 0x0013, asn1.integer(0))[0], NOW)
        assert dev.last_outcome == "bad_payload"
        assert len(dev.device_log) == 0
    finally:
        fx.cleanup(store)


def test_access_control_of_join_use_cases():
    dev, store = _device()
    try:
        # CS03A1 is critical: unsigned, it is refused; the network operator may not join.
        dev.handle_gbcs(fx.command("supplier", 0x000D, _join(0, PPMID, 5))[0], NOW)
        assert dev.last_outcome == "no_signature"
        dev.handle_gbcs(fx.command("network_operator", 0x000E, _join(2, IHD, 6))[0], NOW)
        assert dev.last_outcome == "not_authorised"
        # CS03B and CS07 may come from the ACB (on a supplier's behalf).
        content, _ = _send(dev, 0x000E, _join(2, IHD, 6), role="acb")
        assert _code(content) == 0
        assert len(dev.device_log) == 1
    finally:
        fx.cleanup(store)


def test_device_log_survives_a_restart():
    dev, store = _device()
    try:
        _send(dev, 0x000E, _join(2, IHD, devlog.TYPE2))
        again = ESME(fx.identity(), store, NOW + 10)
        assert again.device_log.joined(IHD) == devlog.TYPE2
        assert again.control("device_log", {}, NOW + 10)["entries"][0]["type"] == "Type 2"
    finally:
        fx.cleanup(store)
