"""GBZ payloads (smets.zcl.gbz, GBCS 7.2.2). Runs under pytest and on the MicroPython unix port.
The RTDS GBZ payloads are decoded by tests/host/test_gbz_rtds.py."""

from smets.zcl import foundation, gbz, types
from smets.zcl.gbz import GBZComponent, GBZError, GBZPayload

# Two plaintext components: a Read Attributes of Metering (current summation, unit of
# measure), then a cluster command with a from date-time (Get Sampled Data, hand-made).
_READ = bytes.fromhex("00" "0702" "0007" "00" "05" "00" "0000" "0003")
_SAMPLED = bytes.fromhex("11" "0702" "000a" "1c374a80" "01" "06" "08" "020304")
_COMMAND = bytes.fromhex("0109" "02") + _READ + _SAMPLED
# An encrypted component: additional header, ZCL header, ciphered length, security control,
# invocation counter, 3 bytes of ciphertext and a 12-byte tag.
_CIPHERED = bytes.fromhex("31" "00000001" "aabbcc") + bytes(range(12))
_ENCRYPTED = bytes.fromhex("03" "0705" "001b" "0000" "09" "07" "01" "0014") + _CIPHERED


def _raises(exc, fn, *args, **kw):
    try:
        fn(*args, **kw)
    except exc as e:
        return e
    raise AssertionError("%r did not raise %s" % (fn, exc.__name__))


def test_decode_command_components():
    g = GBZPayload.from_bytes(_COMMAND)
    assert not g.alert and g.count == 2 and len(g.components) == 2
    a, b = g.components
    assert (a.control, a.cluster, a.frame_control, a.seq, a.command) == (0, 0x0702, 0, 5, 0)
    assert foundation.decode(a.command, a.payload) == [0x0000, 0x0300]
    assert not a.last and not a.encrypted and a.from_date_time is None
    assert b.last and b.from_date_time == 0x1C374A80 and b.payload == b"\x02\x03\x04"
    assert b.zcl().command == 0x08 and b.zcl().seq == 6
    assert g.to_bytes() == _COMMAND


def test_byte_at_a_time_and_trailing_garbage():
    for data in (_COMMAND, bytes.fromhex("010901") + _ENCRYPTED):
        for n in range(len(data)):
            _raises(GBZError, GBZPayload.from_bytes, data[:n])
        e = _raises(GBZError, GBZPayload.from_bytes, data + b"\x00")
        assert "01 09" in str(e)


def test_encrypted_component_layout():
    g = GBZPayload.from_bytes(bytes.fromhex("010901") + _ENCRYPTED)
    c = g.components[0]
    assert c.encrypted and c.last and c.payload is None
    assert c.additional_header == b"\x00\x00" and c.frame_control == 0x09
    assert c.security_control == 0x31 and c.invocation_counter == 1
    assert c.ciphertext_and_tag == bytes.fromhex("aabbcc") + bytes(range(12))
    assert g.to_bytes() == bytes.fromhex("010901") + _ENCRYPTED
    # A ciphered length that does not fill the component is refused.
    bad = bytearray(bytes.fromhex("010901") + _ENCRYPTED)
    bad[3 + 11] = 0x13
    _raises(GBZError, GBZPayload.from_bytes, bytes(bad))


def test_build_sets_last_and_flags():
    read = GBZComponent(0x0702, 0x00, 1, 0x00, foundation.encode(0x00, [0x0000]))
    sampled = GBZComponent(0x0702, 0x01, 2, 0x08, b"\x01", from_date_time=5)
    enc = GBZComponent(0x0705, 0x09, 3, 0x01, None, ciphered=_CIPHERED)
    g = GBZPayload([read, sampled, enc])
    assert [c.control for c in g.components] == [0x00, 0x10, 0x03]
    again = GBZPayload.from_bytes(g.to_bytes())
    assert again == g and again.count == 3
    assert [c.cluster for c in again.components] == [0x0702, 0x0702, 0x0705]


def test_alert_header_and_future_dated_data():
    data = bytes.fromhex("0109" "01" "8f66" "1c374a80" "0e" "006b" "00000000000003ed" "0700"
                         "09" "06")
    g = GBZPayload.from_bytes(data, alert=True)
    assert g.alert and g.alert_code == 0x8F66 and g.timestamp == 0x1C374A80
    assert g.components == [] and g.count == 1
    assert gbz.future_dated(g.alert_data) == (0x006B, 0x3ED, 0x0700, 0x09, 0x06)
    assert g.to_bytes() == data
    assert gbz.future_dated(b"\x0e\x00") is None
    # Without the alert flag the same bytes are refused: 8F is not a component.
    _raises(GBZError, GBZPayload.from_bytes, data)
    for n in range(9):
        _raises(GBZError, GBZPayload.from_bytes, data[:n], alert=True)


def test_alert_with_components_and_without_data():
    data = bytes.fromhex("0109" "01" "8f0a" "1c374a80") + _ENCRYPTED
    g = GBZPayload.from_bytes(data, alert=True)
    assert g.alert_code == 0x8F0A and len(g.components) == 1 and g.alert_data == b""
    assert g.to_bytes() == data
    _raises(GBZError, GBZPayload.from_bytes, data + b"\x01", alert=True)
    bare = bytes.fromhex("0109" "00" "8f30" "1c374a80")
    g = GBZPayload.from_bytes(bare, alert=True)
    assert g.count == 0 and g.alert_data == b"" and g.to_bytes() == bare
    built = GBZPayload(alert_code=0x8F30, timestamp=0x1C374A80)
    assert built.to_bytes() == bare


def test_profile_and_component_errors_show_the_bytes():
    e = _raises(GBZError, GBZPayload.from_bytes, b"\x01\x0a\x00")
    assert "01 0a 00" in str(e)
    # A component too short for its ZCL header.
    _raises(GBZError, GBZPayload.from_bytes, bytes.fromhex("010901" "01" "0702" "0002" "0000"))
    assert gbz.is_gbz(_COMMAND) and not gbz.is_gbz(b"\xd9\x01")


def test_read_attributes_response_inside_a_component():
    recs = [foundation.AttributeRecord(0x0000, types.UINT48, 42)]
    c = GBZComponent(0x0702, 0x08, 5, 0x01, foundation.encode(0x01, recs))
    g = GBZPayload.from_bytes(GBZPayload([c]).to_bytes())
    assert foundation.decode(0x01, g.components[0].payload) == recs
