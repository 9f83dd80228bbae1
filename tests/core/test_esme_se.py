"""The ESME as a ZigBee SE server (smets.devices.esme_se): what an IHD or CAD reads, from the
meter's own registers, changed by GBCS commands; pushes; ZCL status codes; the device log."""

import gbcs_fixtures as fx
from smets import cosem
from smets.devices.esme import ESME
from smets.dlms.access import AccessRequest, RequestSpec
from smets.dlms.axdr import Data
from smets.han import ApsFrame
from smets.zcl import foundation, se, types
from smets.zcl.foundation import AttributeRecord, ReportingConfig
from smets.zcl.frame import (
    MALFORMED_COMMAND,
    NOT_FOUND,
    SUCCESS,
    TYPE_CLUSTER,
    TYPE_GLOBAL,
    UNSUP_CLUSTER_COMMAND,
    UNSUPPORTED_ATTRIBUTE,
    UNSUPPORTED_CLUSTER,
    ZCLFrame,
)

NOW = 1700000000  # 2023-11-14 (a Tuesday) 22:13:20 UTC
IHD = bytes.fromhex("00db12345678909c")
OB = fx.obis


def join(dev, eui, now=NOW):
    """CS03B (Method B join) of a Type 2 device where the ESME keeps a device log: ASN.1
    SEQUENCE {join method 2, EUI-64, device type 6} (as the RTDS 8.7.2_CS03B command)."""
    if not hasattr(dev, "device_log"):
        return False  # this firmware's ESME answers any HAN device
    body = b"\x02\x01\x02\x04\x08" + bytes(eui) + b"\x02\x01\x06"
    raw, _ = fx.command("supplier", 0x000E, b"\x30" + bytes((len(body),)) + body)
    dev.handle_gbcs(raw, now)
    assert dev.last_outcome == "accepted", (dev.last_outcome, dev.last_detail)
    return True


def _device(init=None, joined=None):
    store = fx.scratch_store()
    dev = ESME(fx.identity(), store, NOW, fresh=True, init=init or {
        "power_w": 1500, "import_wh": 123456, "mpan_import": "1312345678111"})
    if joined is not None:
        dev.han_joined = joined
    else:
        join(dev, IHD)
    return dev, store


def _frame(cluster, zcl, src=IHD):
    return ApsFrame(src, fx.DEVICE_EUI, cluster, zcl.to_bytes(), src_ep=1, dst_ep=1,
                    src_short=0x1234)


def _read(dev, cluster, attrs, now=NOW, src=IHD):
    req = ZCLFrame(0x00, foundation.encode(0x00, attrs), frame_type=TYPE_GLOBAL, seq=9)
    out = dev.on_han(_frame(cluster, req, src), now)
    if not out:
        return None
    assert len(out) == 1 and out[0].dst_eui == src and out[0].cluster == cluster
    resp = ZCLFrame.from_bytes(out[0].payload)
    assert resp.command == 0x01 and resp.server_to_client and resp.seq == 9
    return {r.id: (r.value if r.status == SUCCESS else ("status", r.status))
            for r in foundation.decode(0x01, resp.payload)}


def _gbcs(dev, code, specs, data=None, critical=False, now=NOW):
    counter = fx.next_counter("supplier")
    req = AccessRequest(fx.invoke(counter), specs, data)
    raw, _ = fx.command("supplier", code, req.to_bytes(), critical=critical, counter=counter)
    dev.handle_gbcs(raw, now)
    assert dev.last_outcome == "accepted", (dev.last_outcome, dev.last_detail)


def _cluster_command(out, cluster, command):
    frames = [ZCLFrame.from_bytes(a.payload) for a in out if a.cluster == cluster]
    return [f for f in frames if f.frame_type == TYPE_CLUSTER and f.command == command]


def test_metering_reads_come_from_the_registers():
    dev, store = _device()
    try:
        got = _read(dev, se.METERING, [se.M_SUMMATION_DELIVERED, se.M_DEMAND, se.M_UNIT,
                                       se.M_MULTIPLIER, se.M_DIVISOR, se.M_SITE_ID,
                                       se.M_SUPPLY_STATUS, se.M_DEVICE_TYPE, se.M_SERIAL])
        assert got[se.M_SUMMATION_DELIVERED] == 123456 and got[se.M_DEMAND] == 1500
        assert got[se.M_UNIT] == se.UNIT_KWH and (got[se.M_MULTIPLIER],
                                                  got[se.M_DIVISOR]) == (1, 1000)
        assert got[se.M_SITE_ID] == b"1312345678111"
        assert got[se.M_SUPPLY_STATUS] == se.SUPPLY_ON
        assert got[se.M_DEVICE_TYPE] == se.DEVICE_ELECTRIC and got[se.M_SERIAL] == fx.DEVICE_EUI
        # An hour at 1.5 kW later: the register, the day, the week and the month moved on.
        got = _read(dev, se.METERING, [se.M_SUMMATION_DELIVERED, se.M_DAY, se.M_WEEK,
                                       se.M_MONTH], now=NOW + 3600)
        assert got[se.M_SUMMATION_DELIVERED] == 123456 + 1500
        assert got[se.M_DAY] == got[se.M_WEEK] == got[se.M_MONTH] == 1500
        # Midnight passed at NOW + 6400 s: the day restarted, the week and month did not.
        got = _read(dev, se.METERING, [se.M_DAY, se.M_PREVIOUS_DAY, se.M_WEEK, se.M_MONTH],
                    now=NOW + 7200)
        assert got[se.M_DAY] == 800 * 1500 // 3600
        assert got[se.M_PREVIOUS_DAY] == 6400 * 1500 // 3600
        assert got[se.M_WEEK] == got[se.M_MONTH] == 7200 * 1500 // 3600
    finally:
        fx.cleanup(store)


def test_load_switch_by_gbcs_shows_in_supply_status_and_demand():
    dev, store = _device()
    try:
        _gbcs(dev, 0x0050, [RequestSpec.action(9, OB("0-0-10-0-106-255"), 1)],
              [Data(0x12, 52)], critical=True)  # ECS43: open the load switch
        got = _read(dev, se.METERING, [se.M_SUPPLY_STATUS, se.M_DEMAND])
        assert got == {se.M_SUPPLY_STATUS: se.SUPPLY_OFF, se.M_DEMAND: 0}
    finally:
        fx.cleanup(store)


def test_price_and_prepayment_from_tariff_and_balance():
    dev, store = _device()
    try:
        got = _read(dev, se.PRICE, [se.P_STANDING_CHARGE, se.P_TIER1_BLOCK1_PRICE,
                                    se.P_CURRENCY, se.P_TRAILING_DIGIT, 0x0999])
        assert got[se.P_STANDING_CHARGE] == 25000 and got[se.P_TIER1_BLOCK1_PRICE] == 20000
        assert got[se.P_CURRENCY] == 826 and got[se.P_TRAILING_DIGIT] >> 4 == 5
        assert got[0x0999] == ("status", UNSUPPORTED_ATTRIBUTE)
        # A top-up (CS01a) adds credit: the Prepayment cluster shows the new balance.
        _gbcs(dev, 0x0007, [RequestSpec.action(115, OB("0-0-19-40-0-255"), 1)],
              [Data.octet(fx.utrn(3, 1000).encode())])
        got = _read(dev, se.PREPAYMENT, [se.PP_CREDIT, se.PP_CREDIT_STATUS, se.PP_EC_LIMIT,
                                         se.PP_DEBT])
        assert got[se.PP_CREDIT] == dev.balance() > 0
        assert got[se.PP_CREDIT_STATUS] & se.CREDIT_OK and got[se.PP_DEBT] == 0
        assert got[se.PP_EC_LIMIT] == 500000
    finally:
        fx.cleanup(store)


def test_get_current_price_and_publish_price_on_a_tariff_change():
    dev, store = _device()
    try:
        out = dev.on_han(_frame(se.PRICE, ZCLFrame(se.GET_CURRENT_PRICE, b"\x00", seq=3)), NOW)
        price = se.parse_publish_price(ZCLFrame.from_bytes(out[0].payload).payload)
        assert (price["price"], price["trailing"], price["currency"]) == (20000, 5, 826)
        assert _cluster_command(dev.tick(NOW + 1), se.PRICE, se.PUBLISH_PRICE) == []
        # The tariff's active charges change (what an ECS01a activation does to 19.20.0/5):
        # the next tick publishes the new price to the client, unasked.
        a = dev.attrs
        slot = a.slot(b"\x00\x71\x00\x00\x13\x14\x00\xff\x05")
        v = bytearray(a.get(slot))
        i = bytes(v).find(b"\x10\x4e\x20")  # the first charge, long 20000
        v[i + 1:i + 3] = (31234).to_bytes(2, "big")
        a.put(slot, bytes(v))
        dev._save_attrs()  # as the activation does: the SE server looks at its next tick
        pushed = _cluster_command(dev.tick(NOW + 2), se.PRICE, se.PUBLISH_PRICE)
        assert len(pushed) == 1 and se.parse_publish_price(pushed[0].payload)["price"] == 31234
        assert _read(dev, se.PRICE, [se.P_TIER1_BLOCK1_PRICE]) == {
            se.P_TIER1_BLOCK1_PRICE: 31234}
        assert _cluster_command(dev.tick(NOW + 3), se.PRICE, se.PUBLISH_PRICE) == []
    finally:
        fx.cleanup(store)


def test_supplier_message_by_gbcs_is_displayed_and_confirmed():
    dev, store = _device()
    try:
        get_last = ZCLFrame(se.GET_LAST_MESSAGE, b"", seq=4)
        out = dev.on_han(_frame(se.MESSAGING, get_last), NOW)
        assert foundation.decode(0x0B, ZCLFrame.from_bytes(out[0].payload).payload) == (
            se.GET_LAST_MESSAGE, NOT_FOUND)
        _gbcs(dev, 0x0021, [RequestSpec.set(1, OB("0-2-96-13-1-255"), 2)],
              [Data.octet(b"Your tariff changes on Monday")])  # ECS10
        pushed = _cluster_command(dev.tick(NOW + 1), se.MESSAGING, se.DISPLAY_MESSAGE)
        assert len(pushed) == 1
        mid, control, _start, _dur, text = se.parse_display_message(pushed[0].payload)
        assert text == b"Your tariff changes on Monday"
        assert control & se.MESSAGE_CONFIRM_REQUIRED
        out = dev.on_han(_frame(se.MESSAGING, get_last), NOW + 2)
        assert se.parse_display_message(ZCLFrame.from_bytes(out[0].payload).payload)[0] == mid
        confirm = ZCLFrame(se.MESSAGE_CONFIRMATION, se.message_confirmation(mid, 0), seq=5)
        out = dev.on_han(_frame(se.MESSAGING, confirm), NOW + 3)
        assert foundation.decode(0x0B, ZCLFrame.from_bytes(out[0].payload).payload) == (
            se.MESSAGE_CONFIRMATION, SUCCESS)
        bad = ZCLFrame(se.MESSAGE_CONFIRMATION, b"\x01\x02", seq=6)
        out = dev.on_han(_frame(se.MESSAGING, bad), NOW + 3)
        assert foundation.decode(0x0B, ZCLFrame.from_bytes(out[0].payload).payload) == (
            se.MESSAGE_CONFIRMATION, MALFORMED_COMMAND)
    finally:
        fx.cleanup(store)


def test_configure_reporting_sends_reports_on_change():
    dev, store = _device()
    try:
        cfg = foundation.encode(0x06, [ReportingConfig(se.M_DEMAND, types.INT24, 1, 60, 10)])
        out = dev.on_han(_frame(se.METERING, ZCLFrame(0x06, cfg, frame_type=TYPE_GLOBAL)), NOW)
        assert ZCLFrame.from_bytes(out[0].payload).payload == b"\x00"  # all accepted
        first = [a for a in dev.tick(NOW) if a.cluster == se.METERING]
        assert len(first) == 1 and first[0].dst_eui == IHD and first[0].dst_short == 0x1234
        rec = foundation.decode(0x0A, ZCLFrame.from_bytes(first[0].payload).payload)
        assert rec == [AttributeRecord(se.M_DEMAND, types.INT24, 1500)]
        assert [a for a in dev.tick(NOW + 2) if a.cluster == se.METERING] == []
        dev.control("set_load", {"power_w": 2200}, NOW + 3)
        again = [a for a in dev.tick(NOW + 3) if a.cluster == se.METERING]
        rec = foundation.decode(0x0A, ZCLFrame.from_bytes(again[0].payload).payload)
        assert rec[0].value == 2200
    finally:
        fx.cleanup(store)


def test_bad_zcl_gets_status_codes_and_the_device_log_is_enforced():
    log = [IHD]  # the meter's device log: device type 6 (Type 2) for those it holds
    dev, store = _device(joined=lambda eui: 6 if eui in log else None)
    try:
        unknown = ZCLFrame(0x77, b"", seq=1)
        out = dev.on_han(_frame(se.PRICE, unknown), NOW)
        assert foundation.decode(0x0B, ZCLFrame.from_bytes(out[0].payload).payload) == (
            0x77, UNSUP_CLUSTER_COMMAND)
        odd = ZCLFrame(0x00, b"\x00\x00\x04", frame_type=TYPE_GLOBAL, seq=2)
        out = dev.on_han(_frame(se.METERING, odd), NOW)
        assert foundation.decode(0x0B, ZCLFrame.from_bytes(out[0].payload).payload) == (
            0x00, MALFORMED_COMMAND)
        out = dev.on_han(_frame(0x0B05, ZCLFrame(0x00, b"", frame_type=TYPE_GLOBAL)), NOW)
        assert foundation.decode(0x0B, ZCLFrame.from_bytes(out[0].payload).payload)[1] == \
            UNSUPPORTED_CLUSTER
        assert dev.on_han(ApsFrame(IHD, fx.DEVICE_EUI, se.METERING, b"\x00"), NOW) == []
        # A Type 2 device the meter's device log does not hold reads nothing.
        stranger = bytes.fromhex("00db1234567890ee")
        assert _read(dev, se.METERING, [se.M_SUMMATION_DELIVERED], src=stranger) is None
        assert dev.status(NOW)["han"]["unjoined"] == 1
        assert _read(dev, se.METERING, [se.M_SUMMATION_DELIVERED])[0] == 123456
        # Reports stop once the device leaves the log (CS04B), and so do pushes.
        cfg = foundation.encode(0x06, [ReportingConfig(se.M_DEMAND, types.INT24, 1, 60, 10)])
        dev.on_han(_frame(se.METERING, ZCLFrame(0x06, cfg, frame_type=TYPE_GLOBAL)), NOW)
        assert [a for a in dev.tick(NOW) if a.cluster == se.METERING]
        log.remove(IHD)  # CS04B
        dev.control("set_load", {"power_w": 999}, NOW + 5)
        assert [a for a in dev.tick(NOW + 5) if a.cluster != 0x0704] == []
        assert dev.status(NOW + 5)["han"]["clients"] == []
    finally:
        fx.cleanup(store)


def test_the_server_is_made_on_the_first_type2_frame_only():
    dev, store = _device()
    try:
        assert dev._se is None and "han" not in dev.status(NOW)
        assert all(a.cluster == 0x0704 for a in dev.tick(NOW))  # only the tunnel request
        _read(dev, se.BASIC, [0x0005])
        assert dev._se is not None and dev.status(NOW)["han"]["clients"] == [IHD.hex()]
        assert cosem.value_int(dev.attribute(112, OB("0-0-19-10-0-255"), 2)) == dev.balance()
    finally:
        fx.cleanup(store)


def test_the_se_server_wakes_the_meter_on_events_not_every_second():
    dev, store = _device()
    try:
        _read(dev, se.METERING, [se.M_SUMMATION_DELIVERED])  # a client: the IHD
        se_server = dev.se_server(NOW)
        assert se_server.next_due(NOW) == NOW  # a new client: look at the next tick
        dev.tick(NOW)
        # Nothing changed, no reporting configured: nothing to look at.
        assert se_server.next_due(NOW + 1) is None and dev.next_due(NOW + 1) > NOW + 1
        # A command (here ECS10's message) makes the next tick look again, and push.
        _gbcs(dev, 0x0021, [RequestSpec.set(1, OB("0-2-96-13-1-255"), 2)],
              [Data.octet(b"Hello")])
        assert se_server.next_due(NOW + 1) == NOW + 1
        assert _cluster_command(dev.tick(NOW + 1), se.MESSAGING, se.DISPLAY_MESSAGE)
        assert se_server.next_due(NOW + 2) is None
        # Reporting (min 10 s, max 60 s): looked at every 10 s, not every second.
        cfg = foundation.encode(0x06, [ReportingConfig(se.M_DEMAND, types.INT24, 10, 60, 10)])
        dev.on_han(_frame(se.METERING, ZCLFrame(0x06, cfg, frame_type=TYPE_GLOBAL)), NOW + 2)
        assert [a for a in dev.tick(NOW + 2) if a.cluster == se.METERING]
        assert se_server.next_due(NOW + 3) == NOW + 12
        assert dev.tick(NOW + 5) == [] and se_server.next_due(NOW + 5) == NOW + 12
    finally:
        fx.cleanup(store)


def test_the_meter_serves_the_consumer_server_clusters():
    from smets.devices import esme

    assert esme._SE_CLUSTERS == se.CONSUMER_SERVERS
