"""IHD and CAD against an ESME, sans-IO: discovery, reads, reports, prices, messages, the
screen and the Glow MQTT payloads. A small router plays the hub (its discovery cache answers
Match Descriptor) and carries frames between the devices."""

import json

import gbcs_fixtures as fx
from smets import zdo
from smets.devices import ihd_view
from smets.devices.cad import CAD, fixed, timestamp
from smets.devices.esme import ESME
from smets.devices.ihd import IHD
from smets.dlms.access import AccessRequest, RequestSpec
from smets.dlms.axdr import Data
from smets.han import PROFILE_SE, ApsFrame
from smets.zcl import foundation, se, types
from smets.zcl.frame import REPORT_ATTRIBUTES, TYPE_CLUSTER, TYPE_GLOBAL, ZCLFrame
from test_esme_se import join

try:
    from unittest import SkipTest
except ImportError:  # MicroPython: tools/mptest.py skips on the class name

    class SkipTest(Exception):
        pass


NOW = 1700000000  # Tuesday 2023-11-14 22:13:20 UTC
IHD_EUI = bytes.fromhex("00db12345678909c")
CAD_EUI = bytes.fromhex("00db12345678909d")


class Home:
    """An ESME and consumer devices, the hub's routing and discovery in between."""

    def __init__(self, joined=None):
        self.stores = [fx.scratch_store() for _ in range(3)]
        self.esme = ESME(fx.identity(), self.stores[0], NOW, fresh=True, init={
            "power_w": 1200, "import_wh": 5000, "mpan_import": "1312345678111"})
        if joined is not None:
            self.esme.han_joined = joined
        else:
            for eui in (IHD_EUI, CAD_EUI):
                join(self.esme, eui)
        ident = {"eui": IHD_EUI.hex(), "hub_eui": fx.HUB_EUI.hex(), "role": "IHD"}
        self.ihd = IHD(ident, self.stores[1], NOW, fresh=True, init={})
        ident = {"eui": CAD_EUI.hex(), "hub_eui": fx.HUB_EUI.hex(), "role": "CAD"}
        self.cad = CAD(ident, self.stores[2], NOW, fresh=True, init={
            "mqtt": {"prefix": "glow", "interval": 10}})
        self.devices = {fx.DEVICE_EUI: self.esme, IHD_EUI: self.ihd, CAD_EUI: self.cad}
        self.now = NOW
        self.frames = 0

    def close(self):
        for s in self.stores:
            fx.cleanup(s)

    def deliver(self, frames):
        queue = list(frames)
        while queue:
            aps = queue.pop(0)
            self.frames += 1
            aps = ApsFrame.from_bytes(aps.to_bytes())  # what a link carries
            if aps.dst_eui == fx.HUB_EUI:
                queue.extend(self.hub(aps))
            elif aps.dst_eui in self.devices:
                queue.extend(self.devices[aps.dst_eui].on_han(aps, self.now))

    def hub(self, aps):
        if aps.profile != zdo.PROFILE_ZDO or aps.cluster != zdo.MATCH_DESC_REQ:
            return []
        tsn, _addr, _profile, ins, _outs = zdo.parse_match_desc_req(aps.payload)
        if se.METERING not in ins:
            return []
        return [ApsFrame(fx.DEVICE_EUI, aps.src_eui, zdo.MATCH_DESC_RSP,
                         zdo.match_desc_rsp(tsn, 0x4321, [1]), src_ep=0, dst_ep=0,
                         profile=zdo.PROFILE_ZDO, src_short=0x4321)]

    def run(self, seconds, step=1):
        end = self.now + seconds
        while self.now < end:
            for dev in (self.esme, self.ihd, self.cad):
                self.deliver([a for a in dev.tick(self.now) if a.cluster != 0x0704])
            self.now += step

    def gbcs(self, code, specs, data=None, critical=False):
        counter = fx.next_counter("supplier")
        req = AccessRequest(fx.invoke(counter), specs, data)
        raw, _ = fx.command("supplier", code, req.to_bytes(), critical=critical,
                            counter=counter)
        self.esme.handle_gbcs(raw, self.now)
        assert self.esme.last_outcome == "accepted", self.esme.last_detail


def test_ihd_finds_reads_and_shows_the_meter():
    home = Home()
    try:
        home.run(3)
        d = home.ihd.fuel("elec", home.now)
        assert d["responding"] and d["power"] == 1200 and d["total"] == 5000
        assert d["rate"] == 20000 and d["standing"] == 25000
        assert d["site"] == b"1312345678111"
        assert home.ihd.meter("elec").reporting
        text = home.ihd.text
        assert text[0].startswith("Now ") and text[1] == "1.20kW"
        assert "Unit rate 20.00p" in text
        # Cost today: the day's energy at 20p/kWh plus 25p standing charge.
        day = d["day"]
        assert d["cost_day"] == day * 20000 // 1000 + 25000
        lines = ihd_view.lines(ihd_view.content(home.ihd, 1, home.now))
        assert "MPAN 1312345678111" in lines and "Standing 25.00p/day" in lines
        assert home.ihd.fuel("gas") is None
        assert ihd_view.lines(ihd_view.content(home.ihd, 2, home.now))[1] == \
            "no gas meter found"
    finally:
        home.close()


def test_changes_reach_the_ihd_by_report_price_and_message():
    home = Home()
    try:
        home.run(3)
        seen = home.ihd.stats["reports"]
        home.esme.control("set_load", {"power_w": 3400}, home.now)
        home.run(2)
        assert home.ihd.stats["reports"] > seen
        assert home.ihd.text[1] == "3.40kW" and home.cad.fuel("elec")["power"] == 3400
        # Top-up (CS01a): credit shows within the report interval.
        home.gbcs(0x0007, [RequestSpec.action(115, fx.obis("0-0-19-40-0-255"), 1)],
                  [Data.octet(fx.utrn(3, 1000).encode())])
        home.run(2)
        assert home.ihd.fuel("elec")["credit"] == home.esme.balance() > 0
        # Supplier message (ECS10): displayed, then confirmed with the button.
        home.gbcs(0x0021, [RequestSpec.set(1, fx.obis("0-2-96-13-1-255"), 2)],
                  [Data.octet(b"Meter reading due")])
        home.run(2)
        assert home.ihd.messages[0][1] == "Meter reading due"
        assert "New message from supplier" in home.ihd.alerts()
        home.ihd._screen({"page": "Messages"}, home.now)
        assert "Meter reading due" in home.ihd.text
        assert home.ihd.button(home.now).startswith("message")
        home.run(1)
        assert home.esme._se.stats.get("confirmed") == 1 and home.ihd.messages[0][4]
        # Tariff change: Publish Price pushed to both consumer devices.
        a = home.esme.attrs
        slot = a.slot(b"\x00\x71\x00\x00\x13\x14\x00\xff\x05")
        v = bytearray(a.get(slot))
        i = bytes(v).find(b"\x10\x4e\x20")
        v[i + 1:i + 3] = (25500).to_bytes(2, "big")
        a.put(slot, bytes(v))
        home.run(1)
        assert home.ihd.fuel("elec")["rate"] == home.cad.fuel("elec")["rate"] == 25500
    finally:
        home.close()


def test_a_meter_that_has_not_joined_the_device_is_not_responding():
    home = Home(joined=lambda eui: eui == CAD_EUI)
    try:
        home.run(40, step=5)
        assert len(home.ihd.meters) == 1
        m = list(home.ihd.meters.values())[0]
        assert m.heard is None and not m.responding and m.kind is None
        assert "Waiting for meter data" in home.ihd.alerts()
        assert home.cad.fuel("elec")["responding"]
        assert home.esme._se.stats["unjoined"] > 0
    finally:
        home.close()


def test_cad_publishes_the_glow_format():
    home = Home()
    try:
        home.run(3)
        pubs = dict(home.cad.take_publications())
        base = "glow/" + home.cad.id
        assert home.cad.id == "00DB12" + "78909D"
        assert set(pubs) == {base + "/STATE", base + "/SENSOR/electricitymeter"}
        e = json.loads(pubs[base + "/SENSOR/electricitymeter"])["electricitymeter"]
        imp = e["energy"]["import"]
        d = home.cad.fuel("elec", home.now)
        assert imp["cumulative"] == d["total"] / 1000 and imp["units"] == "kWh"
        assert imp["mpan"] == "1312345678111" and imp["price"] == {
            "unitrate": 0.2, "standingcharge": 0.25}
        assert e["power"] == {"value": 1.2, "units": "kW"}
        assert e["energy"]["export"] == {"cumulative": 0.0, "units": "kWh"}
        assert e["timestamp"].endswith("Z") and len(e["timestamp"]) == 20
        st = json.loads(pubs[base + "/STATE"])
        assert st["han"]["status"] == "joined" and st["eui"] == "00:db:12:34:56:78:90:9d"
        assert home.cad.take_publications() == []
        home.run(10)
        assert len(home.cad.take_publications()) == 2  # the interval came round
    finally:
        home.close()


def test_number_formatting_is_exact():
    assert fixed(4595563, 3) == "4595.563" and fixed(-5, 3) == "-0.005"
    assert fixed(None, 2) == "null" and fixed(20000, 5) == "0.20000"
    assert timestamp(NOW) == "2023-11-14T22:13:20Z"
    assert ihd_view.money(-123456) == ihd_view.POUND.join(("-", "1.23"))
    assert ihd_view.pence(20000) == "20.00p" and ihd_view.kw(1500) == "1.50kW"


def test_screen_pixels_on_micropython():
    try:
        import framebuf  # noqa: F401
    except ImportError:
        raise SkipTest("framebuf is MicroPython's")
    home = Home()
    try:
        home.run(3)
        r = home.ihd._screen({"page": 0}, home.now)
        assert r["width"] == 240 and r["height"] == 136 and r["format"] == "MONO_HLSB"
        disp = home.ihd.display
        assert disp.frames >= 1
        # The title bar is filled (pixel set) and the big power reading drew pixels.
        assert disp.fb.pixel(0, 0) == 1
        assert any(disp.buf[30 * y + x] for y in range(14, 38) for x in range(30))
        small = IHD({"eui": IHD_EUI.hex(), "hub_eui": fx.HUB_EUI.hex(), "role": "IHD"},
                    home.stores[1], home.now, init={"display": {"width": 128, "height": 64}},
                    fresh=True)
        small.meters = home.ihd.meters
        small.draw(home.now, force=True)
        assert small.display.width == 128 and small.screens >= 1
    finally:
        home.close()


class AirHome(Home):
    """The hub as on the secured HAN: its discovery cache's answers come from the hub itself
    (the meter is their NWKAddrOfInterest), and it answers IEEE_addr_req from its table."""

    asked = 0

    def hub(self, aps):
        if aps.profile == zdo.PROFILE_ZDO and aps.cluster == zdo.IEEE_ADDR_REQ:
            self.asked += 1
            tsn, addr, _kind = zdo.parse_ieee_addr_req(aps.payload)
            payload = zdo.ieee_addr_rsp(tsn, fx.DEVICE_EUI, addr) if addr == 0x4321 else \
                zdo.ieee_addr_rsp(tsn, b"\xff" * 8, addr, zdo.DEVICE_NOT_FOUND)
            return [ApsFrame(fx.HUB_EUI, aps.src_eui, zdo.IEEE_ADDR_RSP, payload, src_ep=0,
                             dst_ep=0, profile=zdo.PROFILE_ZDO)]
        out = Home.hub(self, aps)
        for rsp in out:
            rsp.src_eui = fx.HUB_EUI
            rsp.src_short = 0x0000
        return out


def test_a_meter_found_through_the_hubs_cache_on_the_air_is_named_by_ieee_addr_req():
    home = AirHome()
    try:
        # An answer naming an address nobody asked about, and a failed lookup: ignored.
        stray = ApsFrame(fx.HUB_EUI, IHD_EUI, zdo.IEEE_ADDR_RSP,
                         zdo.ieee_addr_rsp(1, bytes(8), 0x1111), profile=zdo.PROFILE_ZDO)
        home.deliver([stray])
        assert home.ihd.meters == {}
        home.run(3)
        assert home.asked >= 1 and list(home.ihd.meters) == [fx.DEVICE_EUI]
        m = home.ihd.meters[fx.DEVICE_EUI]
        assert (m.short, m.ep) == (0x4321, 1)
        d = home.ihd.fuel("elec", home.now)
        assert d["responding"] and d["power"] == 1200 and d["total"] == 5000
        assert zdo.parse_ieee_addr_rsp(zdo.ieee_addr_rsp(7, fx.DEVICE_EUI, 0x4321)) == (
            7, 0, fx.DEVICE_EUI, 0x4321)
        assert zdo.parse_ieee_addr_rsp(b"\x07\x81") == (7, 0x81, None, None)
        assert zdo.parse_ieee_addr_req(zdo.ieee_addr_req(9, 0x4321)) == (9, 0x4321, 0)
    finally:
        home.close()


def _from(src, dst, cluster, command, payload, frame_type=TYPE_CLUSTER):
    """A ZCL frame from a server (a meter, or whoever claims to be one) to `dst`."""
    zcl = ZCLFrame(command, payload, frame_type=frame_type, server_to_client=True, seq=3)
    return ApsFrame(src, dst, cluster, zcl.to_bytes(), profile=PROFILE_SE)


def _report(src, dst, cluster, records):
    return _from(src, dst, cluster, REPORT_ATTRIBUTES,
                 foundation.encode(REPORT_ATTRIBUTES, records), TYPE_GLOBAL)


def test_text_from_the_meter_that_is_not_utf8_is_shown_with_replacements():
    # Bytes.decode("utf-8", "replace") raises on MicroPython: a supplier message, an MPAN or
    # a supplier name that is not UTF-8 must still reach the screen and the broker.
    home = Home()
    try:
        home.run(3)
        bad = b"Pay \xa3\xff5"
        for dev in (home.ihd, home.cad):
            home.deliver([
                _from(fx.DEVICE_EUI, dev.eui, se.MESSAGING, se.DISPLAY_MESSAGE,
                      se.display_message(77, bad, 0)),
                _report(fx.DEVICE_EUI, dev.eui, se.METERING, [
                    foundation.AttributeRecord(se.M_SITE_ID, types.OCTET_STRING, b"13\xc3")]),
                _report(fx.DEVICE_EUI, dev.eui, se.DEVICE_MANAGEMENT, [
                    foundation.AttributeRecord(se.DM_PROVIDER_NAME, types.OCTET_STRING,
                                               b"\xfeEnergy")])])
            assert dev.messages[0][:2] == [77, "Pay \ufffd\ufffd5"]
            r = dev.control("readings", {}, home.now)["elec"]
            assert (r["site"], r["supplier"]) == ("13\ufffd", "\ufffdEnergy")
        lines = ihd_view.lines(ihd_view.content(home.ihd, 1, home.now))
        assert "MPAN 13\ufffd" in lines and "Supplier \ufffdEnergy" in lines
        home.ihd._screen({"page": "Messages"}, home.now)
        assert "Pay \ufffd\ufffd5" in home.ihd.text
        home.cad.make(home.now)
        pubs = dict(home.cad.take_publications())
        imp = json.loads(pubs["glow/%s/SENSOR/electricitymeter" % home.cad.id])[
            "electricitymeter"]["energy"]["import"]
        assert (imp["mpan"], imp["supplier"]) == ("13\ufffd", "\ufffdEnergy")
    finally:
        home.close()


def _stranger(i):
    """A made-up EUI-64 (deterministic: the same on every port)."""
    return bytes((0x5A, i >> 16 & 0xFF)) + ((i * 2654435761) & 0xFFFFFFFFFFFF).to_bytes(6, "big")


def test_a_flood_of_spoofed_frames_cannot_grow_what_the_consumer_devices_keep():
    # Anyone on the HAN can send frames with any source EUI-64 and any attribute ids: the
    # devices keep only the meters they were given or found through their own discovery
    # (a bounded few), and a fixed set of each meter's attributes; the rest is counted.
    home = Home()
    try:
        home.run(3)
        for dev in (home.ihd, home.cad):
            tsn = dev._disc_tsn
            real = dev.meters[fx.DEVICE_EUI]
            kept = len(real.values)
            stray = dev.stats["strays"]
            for i in range(200):
                eui = _stranger(i)
                # Discovery answers nobody asked for, and ones that guess the right TSN.
                for t in ((tsn + 1 + i % 255) & 0xFF, tsn):
                    dev.on_han(ApsFrame(eui, dev.eui, zdo.MATCH_DESC_RSP, zdo.match_desc_rsp(
                        t, i & 0xFFFF, [1]), src_ep=0, dst_ep=0, profile=zdo.PROFILE_ZDO),
                        home.now)
                # Readings from a stranger, and attributes of no use from the real meter.
                rec = foundation.AttributeRecord(0x4000 + i, types.UINT32, i)
                dev.on_han(_report(eui, dev.eui, se.METERING, [rec]), home.now)
                dev.on_han(_report(fx.DEVICE_EUI, dev.eui, 0x0700 + i % 256, [rec]), home.now)
            assert len(dev.meters) <= 4 and dev.meters[fx.DEVICE_EUI] is real
            assert all(len(m.values) <= kept for m in dev.meters.values())
            assert dev.stats["strays"] >= stray + 200 * 2
            assert dev.stats["unwanted"] >= 200
        # The home still works: both devices read the meter, the strangers never answered.
        home.esme.control("set_load", {"power_w": 2100}, home.now)
        home.run(12)
        for dev in (home.ihd, home.cad):
            assert dev.fuel("elec")["responding"] and dev.fuel("elec")["power"] == 2100
            assert dev.meter("elec") is dev.meters[fx.DEVICE_EUI]
    finally:
        home.close()
