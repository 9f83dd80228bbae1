"""CONTROL `alert`: the ESME (and a Type 1 device) raise the alerts of events no command
provokes (GBCS 16), as the bench plays the event; wrong requests are refused, sans-IO."""

import gbcs_fixtures as fx
from smets.devices.esme import ESME
from smets.devices.ppmid import PPMID
from smets.dlms.access import DataNotification
from smets.dlms.axdr import from_bytes
from smets.gbcs import asn1, crypto, envelope, p256

NOW = 1700000000 // 86400 * 86400


def _esme(init=None):
    return ESME(fx.identity(), fx.scratch_store(), NOW, fresh=True, init=init)


def _raise(dev, **req):
    dev.control("alert", req, NOW)
    return [envelope.decode(a) for a in dev.device_tick(NOW)]


def _body(msg):
    return DataNotification.from_bytes(bytes(msg.content)).body.value


def _refused(dev, req, match):
    try:
        dev.control("alert", req, NOW)
    except ValueError as exc:
        assert match in str(exc), (req, exc)
    else:
        raise AssertionError("%r was not refused" % (req,))


def test_event_alerts_have_their_message_code_and_fields():
    for code, mc, signed, n in (
            ("8F30", 0x1000, True, 2), ("810E", 0x1001, False, 2), ("81A0", 0x00F0, False, 3),
            ("8F72", 0x00CE, True, 3), ("8F1C", 0x00CE, True, 3), ("8F85", 0x0120, True, 3),
            ("8F36", 0x0067, True, 4)):
        dev = _esme()
        (msg,) = _raise(dev, code=code, message_code="%04X" % mc)
        assert msg.message_code == mc and (msg.signature is not None) == signed, code
        body = _body(msg)
        assert len(body) == n and body[0].value == int(code, 16), code
        want = "network_operator" if code == "8F36" else "supplier"
        assert bytes(msg.recipient) == fx.PARTY_EUIS[want], code


def test_billing_data_log_alert_is_the_new_entry_encrypted_for_the_supplier():
    dev = _esme({"variant": "twin", "mpan_import": "1312345678111" * 2})
    (msg,) = _raise(dev, code="8F0A")
    assert msg.message_code == 0x0061
    body = _body(msg)
    z = p256.ecdh(fx.KEYS["supplier_ka"], fx.pub("device_ka"))
    plain = crypto.unprotect_payload(z, fx.DEVICE_EUI, msg.counter, fx.PARTY_EUIS["supplier"],
                                     bytes(body[3].value))
    log = from_bytes(plain).value[0]
    assert len(log.value[1]) == 1  # one entry: time, import, second element, TOU, blocks


def test_supplementary_remote_party_addressing():
    dev = _esme()
    info = "0120" + fx.PARTY_EUIS["supplier"].hex() + "%016x" % 200000
    (msg,) = _raise(dev, code="8F85", recipient=fx.PARTY_EUIS["acb"].hex(), other_info=info)
    assert bytes(msg.recipient) == fx.PARTY_EUIS["acb"] and bytes(msg.other_info).hex() == info


def test_bad_alert_requests_are_refused():
    for req, match in (
            ({"code": "8F30", "message_code": "1001"}, "as message code 1000"),
            ({"code": "8F86"}, "APC"),
            ({"code": "8F38"}, "polyphase"),
            ({"code": "1234"}, "not a GBCS alert code"),
            ({"code": "8F85", "data": "0012"}, "counter"),
            ({"code": "8F85", "recipient": "0000000000000001"}, "not a trusted party"),
            ({"code": "8F85", "other_info": "1000"}, "other_info"),
            ({"code": "8F36", "start": NOW, "end": NOW + 60}, "start <= end <= now")):
        dev = _esme()
        _refused(dev, req, match)
        assert dev.device_tick(NOW) == []


def test_polyphase_meter_has_per_phase_outage_alerts():
    dev = _esme({"variant": "polyphase"})
    (msg,) = _raise(dev, code="8F3A", start=NOW - 900, end=NOW - 60)
    assert msg.message_code == 0x0067 and _body(msg)[0].value == 0x8F3A


def test_type1_device_raises_its_firmware_version_alert():
    ident = dict(fx.identity(), role="PPMID", eui="00db1234567890a4")
    dev = PPMID(ident, fx.scratch_store(), NOW, fresh=True)
    (msg,) = _raise(dev, code="8F8B", message_code="012B")
    assert msg.message_code == 0x012B
    seq, _ = asn1.read_as(bytes(msg.content), asn1.SEQUENCE)
    code, _ = asn1.read_int(seq)
    assert code == 0x8F8B
    _refused(dev, {"code": "8F30"}, "only 8F8B")
