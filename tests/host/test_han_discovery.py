"""The hub's discovery cache: a consumer device's ZDO Match Descriptor for the Metering server
is answered for every meter on the HAN (as coming from that meter), and for nothing else; bad
ZDO is counted, not raised. Also the IHD screen PNG encoder and MQTT URLs."""

import pytest
from smets import zdo
from smets.han import ApsFrame
from smets.zcl import se
from smetsbench import screens
from smetsbench.han.network import CHF_EUI, HanNetwork, Transmit
from smetsbench.mqtt import MQTTError, parse_url

ESME = bytes.fromhex("00db1234567890a0")
HANTEST = bytes.fromhex("00db1234567890b0")
IHD = bytes.fromhex("00db12345678909c")
T0 = 1_700_000_000


def _net():
    net = HanNetwork()
    links = {"esme": object(), "ihd": object(), "test": object()}
    net.add_device(ESME, links["esme"], role="ESME")
    net.add_device(IHD, links["ihd"], role="IHD")
    net.add_device(HANTEST, links["test"], role="HANTEST")
    return net, links


def _match(clusters, tsn=7, profile=0x0109):
    return ApsFrame(IHD, CHF_EUI, zdo.MATCH_DESC_REQ, zdo.match_desc_req(tsn, profile, clusters),
                    src_ep=0, dst_ep=0, profile=zdo.PROFILE_ZDO, src_short=0x1111).to_bytes()


def test_match_descriptor_finds_the_meters_only():
    net, links = _net()
    events = net.receive(links["ihd"], _match([se.METERING]), T0)
    assert len(events) == 1 and isinstance(events[0], Transmit)
    rsp = events[0].aps
    assert events[0].link is links["ihd"] and rsp.src_eui == ESME and rsp.dst_eui == IHD
    assert (rsp.profile, rsp.cluster, rsp.src_ep, rsp.dst_ep) == (0, 0x8006, 0, 0)
    tsn, status, addr, endpoints = zdo.parse_match_desc_rsp(rsp.payload)
    assert (tsn, status, endpoints) == (7, 0, [1]) and addr == net.devices[ESME].short
    assert net.receive(links["ihd"], _match([0x0B05]), T0) == []
    assert net.receive(links["ihd"], _match([se.METERING], profile=0x0104), T0) == []


def test_ieee_addr_req_names_the_device_the_cache_answered_for():
    net, links = _net()
    short = net.devices[ESME].short

    def ask(addr):
        req = ApsFrame(IHD, CHF_EUI, zdo.IEEE_ADDR_REQ, zdo.ieee_addr_req(4, addr), src_ep=0,
                       dst_ep=0, profile=zdo.PROFILE_ZDO, src_short=0x1111).to_bytes()
        (ev,) = net.receive(links["ihd"], req, T0)
        assert ev.link is links["ihd"] and ev.aps.src_eui == CHF_EUI
        assert (ev.aps.cluster, ev.aps.dst_short) == (zdo.IEEE_ADDR_RSP, 0x1111)
        return zdo.parse_ieee_addr_rsp(ev.aps.payload)

    assert ask(short) == (4, 0, ESME, short)
    assert ask(0x0BAD)[:2] == (4, zdo.DEVICE_NOT_FOUND)


def test_nwk_addr_req_gives_the_network_address_of_a_device_known_by_its_eui():
    net, links = _net()

    def ask(eui):
        req = ApsFrame(HANTEST, CHF_EUI, zdo.NWK_ADDR_REQ, zdo.nwk_addr_req(9, eui), src_ep=0,
                       dst_ep=0, profile=zdo.PROFILE_ZDO, src_short=0x2222).to_bytes()
        (ev,) = net.receive(links["test"], req, T0)
        assert ev.link is links["test"] and ev.aps.src_eui == CHF_EUI
        assert (ev.aps.cluster, ev.aps.dst_short) == (zdo.NWK_ADDR_RSP, 0x2222)
        return zdo.parse_ieee_addr_rsp(ev.aps.payload)

    assert ask(ESME) == (9, 0, ESME, net.devices[ESME].short)
    assert ask(CHF_EUI) == (9, 0, CHF_EUI, 0x0000)  # the hub: the PAN coordinator
    assert ask(bytes.fromhex("00db1234567890ee"))[:2] == (9, zdo.DEVICE_NOT_FOUND)
    assert zdo.parse_nwk_addr_req(zdo.nwk_addr_req(9, ESME)) == (9, ESME, 0)
    with pytest.raises(zdo.ZDOError):
        zdo.parse_nwk_addr_req(zdo.nwk_addr_req(9, ESME)[:10])


def test_bad_zdo_is_counted():
    net, links = _net()
    bad = ApsFrame(IHD, CHF_EUI, zdo.MATCH_DESC_REQ, b"\x01\x02", src_ep=0, dst_ep=0,
                   profile=0).to_bytes()
    assert net.receive(links["ihd"], bad, T0) == []
    other = ApsFrame(IHD, CHF_EUI, 0x0005, b"\x01", src_ep=0, dst_ep=0, profile=0).to_bytes()
    assert net.receive(links["ihd"], other, T0) == []
    assert net.errors["bad_zdo"] == 1 and net.errors["unsupported_zdo"] == 1


def test_zdo_codecs_round_trip_and_reject_truncation():
    req = zdo.match_desc_req(3, 0x0109, [0x0702, 0x0700], [0x0019])
    assert zdo.parse_match_desc_req(req) == (3, 0xFFFD, 0x0109, [0x0702, 0x0700], [0x0019])
    for n in range(len(req)):
        with pytest.raises(zdo.ZDOError):
            zdo.parse_match_desc_req(req[:n])
    rsp = zdo.match_desc_rsp(3, 0x1234, [1, 2])
    assert zdo.parse_match_desc_rsp(rsp) == (3, 0, 0x1234, [1, 2])
    with pytest.raises(zdo.ZDOError):
        zdo.parse_match_desc_rsp(rsp[:-1])


def test_png_of_a_screen():
    data = bytearray(2 * 16)
    data[0] = 0x80  # pixel (0, 0) of a 16x16 MONO_HLSB frame
    shot = screens.Screen(16, 16, "MONO_HLSB", data, ["x"], "Now")
    assert shot.pixel(0, 0) == 1 and shot.pixel(1, 0) == 0 and shot.lit() == 1
    png = screens.png(shot, scale=2, border=1)
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and png.endswith(b"IEND\xaeB`\x82")
    vlsb = screens.Screen(8, 8, "MONO_VLSB", bytes([0, 0x04] + [0] * 6), [], 0)
    assert vlsb.pixel(1, 2) == 1 and vlsb.lit() == 1


def test_mqtt_urls():
    assert parse_url("mqtt://127.0.0.1:1999") == ("127.0.0.1", 1999)
    assert parse_url("broker.local") == ("broker.local", 1883)
    with pytest.raises(MQTTError):
        parse_url("mqtts://x:8883")
