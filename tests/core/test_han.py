"""HAN APS frames (smets.han) and the Tunneling cluster payloads (smets.zcl.tunnel).
Runs under pytest and on the MicroPython unix port."""

from smets import han
from smets.han import ApsFrame, HANError
from smets.zcl import tunnel
from smets.zcl.frame import ZCLError

ESME = bytes.fromhex("00db1234567890a0")
CHF = bytes.fromhex("00db1234567890a2")


def _raises(exc, fn, *args):
    try:
        fn(*args)
    except exc as e:
        return e
    raise AssertionError("%r%r did not raise %s" % (fn, args, exc.__name__))


def _frame():
    return ApsFrame(ESME, CHF, 0x0704, b"\x01\x02\x03", src_ep=2, dst_ep=1, src_short=0x1234,
                    dst_short=0x0000, counter=0x1FF, flags=han.FLAG_ACK | han.FLAG_SECURE)


# -- APS frames -------------------------------------------------------------------------------


def test_aps_layout_is_little_endian_with_reversed_euis():
    b = _frame().to_bytes()
    assert len(b) == han.HEADER_LEN + 3
    assert b[0] == han.VERSION and b[1] == 0x05
    assert b[2:10] == bytes(reversed(ESME)) and b[10:18] == bytes(reversed(CHF))
    assert b[18:20] == b"\x34\x12" and b[20:22] == b"\x00\x00"
    assert (b[22], b[23]) == (2, 1)
    assert b[24:26] == b"\x09\x01" and b[26:28] == b"\x04\x07"
    assert b[28] == 0xFF  # counter is one byte
    assert b[29:] == b"\x01\x02\x03"


def test_aps_round_trip():
    f = ApsFrame.from_bytes(_frame().to_bytes())
    assert (f.src_eui, f.dst_eui, f.src_short, f.dst_short, f.src_ep, f.dst_ep, f.profile,
            f.cluster, f.counter, f.flags, f.payload) == (
        ESME, CHF, 0x1234, 0x0000, 2, 1, han.PROFILE_SE, 0x0704, 0xFF, 0x05, b"\x01\x02\x03")
    assert f.to_bytes() == _frame().to_bytes()


def test_aps_byte_at_a_time_and_trailing_bytes():
    b = _frame().to_bytes()
    for n in range(han.HEADER_LEN):
        _raises(HANError, ApsFrame.from_bytes, b[:n])
    # The header has no length: what follows it is the ZCL frame, garbage included.
    assert ApsFrame.from_bytes(b + b"\xee").payload == b"\x01\x02\x03\xee"
    assert ApsFrame.from_bytes(b[:han.HEADER_LEN]).payload == b""


def test_aps_refuses_other_versions_and_bad_euis():
    b = bytearray(_frame().to_bytes())
    b[0] = 2
    _raises(HANError, ApsFrame.from_bytes, bytes(b))
    _raises(HANError, ApsFrame, ESME[:7], CHF, 0x0704, b"")


def test_aps_reply_swaps_addresses_and_keeps_only_security():
    r = _frame().reply(0x0704, b"\x09", counter=3)
    assert (r.src_eui, r.dst_eui, r.src_ep, r.dst_ep, r.src_short, r.dst_short) == (
        CHF, ESME, 1, 2, 0x0000, 0x1234)
    assert r.flags == han.FLAG_SECURE and r.counter == 3 and r.payload == b"\x09"


# -- Tunneling cluster ------------------------------------------------------------------------


def test_request_tunnel_round_trip():
    p = tunnel.request_tunnel(max_incoming=1500)
    assert p == b"\x06\xff\xff\x00\xdc\x05"
    assert tunnel.parse_request_tunnel(p) == {
        "protocol": 6, "manufacturer": 0xFFFF, "flow_control": False, "max_incoming": 1500}
    for n in range(len(p)):
        _raises(ZCLError, tunnel.parse_request_tunnel, p[:n])


def test_request_tunnel_response_round_trip():
    p = tunnel.request_tunnel_response(0x0102, tunnel.TUNNEL_BUSY, 600)
    assert p == b"\x02\x01\x01\x58\x02"
    assert tunnel.parse_request_tunnel_response(p) == {
        "tunnel_id": 0x0102, "status": 1, "max_incoming": 600}
    for n in range(len(p)):
        _raises(ZCLError, tunnel.parse_request_tunnel_response, p[:n])


def test_transfer_data_error_and_closure():
    assert tunnel.parse_transfer_data(tunnel.transfer_data(7, b"\x03\xdd")) == (7, b"\x03\xdd")
    _raises(ZCLError, tunnel.parse_transfer_data, b"\x07")
    e = tunnel.transfer_data_error(7, tunnel.DATA_OVERFLOW)
    assert tunnel.parse_transfer_data_error(e) == (7, tunnel.DATA_OVERFLOW)
    _raises(ZCLError, tunnel.parse_transfer_data_error, e[:2])
    assert tunnel.parse_tunnel_closure(tunnel.tunnel_closure(0x0203)) == 0x0203
    _raises(ZCLError, tunnel.parse_tunnel_closure, b"\x03")


def test_gbcs_tunnel_commands():
    msg = b"\xdd\x00\x01"
    assert tunnel.parse_gbcs_tunnel(tunnel.gbcs_put(msg)) == (tunnel.GBCS_PUT, msg, 0)
    assert tunnel.parse_gbcs_tunnel(tunnel.gbcs_get()) == (tunnel.GBCS_GET, None, 0)
    assert tunnel.parse_gbcs_tunnel(tunnel.gbcs_get_response(msg, remaining=3)) == (
        tunnel.GBCS_GET_RESPONSE, msg, 3)
    assert tunnel.parse_gbcs_tunnel(tunnel.gbcs_get_response()) == (
        tunnel.GBCS_GET_RESPONSE, None, 0)
    # A bare GBCS message (no tunnel command), as Wireshark also accepts it.
    assert tunnel.parse_gbcs_tunnel(b"\xdf\x09") == (None, b"\xdf\x09", 0)
    for bad in (b"", b"\x03", b"\x02", b"\x04\x00"):
        _raises(ZCLError, tunnel.parse_gbcs_tunnel, bad)
