"""The ESME's top-ups (GBCS 14): a remote CS01a, a PPMID's PECS01 and a UTRN typed on the
meter's keypad all go through smets.gbcs.utrn.accept with the supplier's prepayment key; a
refused one changes nothing and logs its GBCS event; the UTRN Counter Cache and the credit
survive a restart.

Runs on CPython and on the MicroPython unix port (tools/mptest.py)."""

import gbcs_fixtures as fx
from smets import devlog
from smets.devices.esme import ESME
from smets.dlms import access
from smets.dlms.access import AccessRequest, AccessResponse, RequestSpec
from smets.dlms.axdr import Data
from smets.gbcs import envelope, utrn
from smets.han import ApsFrame
from smets.zcl import ppmid as pz
from smets.zcl.frame import ZCLFrame

NOW = 1700000000
SUP = fx.PARTY_EUIS["supplier"]
PPMID_EUI = bytes.fromhex("00db1234567890a4")
TOKEN_GATEWAY = fx.obis("0-0-19-40-0-255")


def _esme(store=None, fresh=True, init=None):
    store = store or fx.scratch_store()
    return ESME(fx.identity(), store, NOW, fresh=fresh, init=init or {"power_w": 0}), store


def _cs01a(dev, code):
    """The action result of a CS01a carrying `code`."""
    counter = fx.next_counter("supplier")
    req = AccessRequest(fx.invoke(counter), [RequestSpec.action(115, TOKEN_GATEWAY, 1)],
                        [Data.octet(code.encode())])
    raw, _ = fx.command("supplier", 0x0007, req.to_bytes(), counter=counter)
    out = dev.handle_gbcs(raw, NOW)
    assert dev.last_outcome == "accepted", (dev.last_outcome, dev.last_detail)
    return AccessResponse.from_bytes(envelope.decode(out[0]).content).specs[0].result


def _events(dev):
    return [c for _t, c in dev.events.entries()]


def test_cs01a_credits_an_authentic_utrn_once():
    dev, store = _esme()
    try:
        assert _cs01a(dev, fx.utrn(1, 250)) == access.SUCCESS
        assert dev.balance() == 250000 and dev.state["utrn"] == [1 << 32]
        before = len(_events(dev))
        # The same UTRN again: refused, 8F51; a forgery (another key's MAC): refused, 8F63;
        # a UTRN with a wrong check digit: refused, 8F63. The balance stays.
        assert _cs01a(dev, fx.utrn(1, 250)) == access.OTHER_REASON
        assert _cs01a(dev, fx.utrn(2, 250, key="acb_ka")) == access.OTHER_REASON
        code = fx.utrn(3, 250)
        assert _cs01a(dev, code[:19] + str((int(code[19]) + 1) % 10)) == access.OTHER_REASON
        assert _events(dev)[before:] == [utrn.EVENT_DUPLICATE, utrn.EVENT_NOT_AUTHENTIC,
                                        utrn.EVENT_NOT_AUTHENTIC]
        assert dev.balance() == 250000 and dev.state["utrn"] == [1 << 32]
        # A UTRN vended earlier but entered later is taken; the cache is on flash.
        assert _cs01a(dev, fx.utrn(3, 100)) == access.SUCCESS
        dev, _ = _esme(store, fresh=False)
        assert dev.balance() == 350000 and dev.state["utrn"] == [1 << 32, 3 << 32]
        assert _cs01a(dev, fx.utrn(3, 100)) == access.OTHER_REASON
    finally:
        fx.cleanup(store)


def test_cs01a_refuses_more_than_the_thresholds():
    dev, store = _esme()
    try:
        # 0-0:94.44.2.10 (one top-up, default 5,000,000 = GBP 50): GBP 51 is too much, 8F5B.
        assert _cs01a(dev, fx.utrn(1, 51, pounds=True)) == access.OTHER_REASON
        assert _events(dev)[-1] == utrn.EVENT_TOO_LARGE and dev.balance() == 0
        assert dev.state.get("utrn", []) == []  # a refused UTRN leaves its counter unused
        # 0-0:94.44.2.20 (the balance, GBP 100): two of GBP 50 fit, a third penny does not.
        assert _cs01a(dev, fx.utrn(2, 50, pounds=True)) == access.SUCCESS
        assert _cs01a(dev, fx.utrn(3, 50, pounds=True)) == access.SUCCESS
        assert _cs01a(dev, fx.utrn(4, 1)) == access.OTHER_REASON
        assert _events(dev)[-1] == 0x8F47 and dev.balance() == 10000000
    finally:
        fx.cleanup(store)


def test_keypad_top_up_is_checked_alerted_and_survives_a_restart():
    dev, store = _esme()
    try:
        got = dev.control("top_up", {"utrn": fx.utrn(5, 300)}, NOW)
        assert got == {"result": 0, "value": 300000, "credit": 300000, "alerts": 1}
        # 810E "Credit Added Locally" to the supplier (sent by the next tick).
        alert = envelope.decode(dev.alerts_out.pop())
        assert alert.message_code == 0x1001 and alert.cra == envelope.CRA_ALERT
        got = dev.control("top_up", {"utrn": fx.utrn(5, 300)}, NOW)
        assert got["result"] == utrn.DUPLICATE and got["alerts"] == 0
        assert dev.control("top_up", {"utrn": "1" * 20}, NOW)["result"] == utrn.INVALID
        # A restart (no orderly shutdown): the credit and the cache were saved.
        dev, _ = _esme(store, fresh=False)
        assert dev.balance() == 300000
        assert dev.control("top_up", {"utrn": fx.utrn(5, 300)}, NOW)["result"] == utrn.DUPLICATE
        assert dev.control("top_up", {"utrn": fx.utrn(6, 1)}, NOW)["result"] == 0
    finally:
        fx.cleanup(store)


def _ppmid_top_up(dev, code):
    frame = ZCLFrame(pz.CONSUMER_TOP_UP, pz.consumer_top_up(code), seq=9)
    out = dev.on_han(ApsFrame(PPMID_EUI, fx.DEVICE_EUI, pz.PREPAYMENT, frame.to_bytes()), NOW)
    reply = ZCLFrame.from_bytes(out[0].payload)
    assert reply.command == pz.CONSUMER_TOP_UP_RESPONSE
    return pz.parse_top_up_response(reply.payload)


def test_ppmid_top_up_is_checked_like_a_remote_one():
    dev, store = _esme(init={"power_w": 0, "device_log": [[PPMID_EUI.hex(), devlog.PPMID, 0]]})
    try:
        assert _ppmid_top_up(dev, fx.utrn(2, 40).encode()) == (0, 40000, pz.ORIGIN_PPMID, 40000)
        assert _events(dev)[-2:] == [0x810E, 0x8154]
        assert _ppmid_top_up(dev, fx.utrn(2, 40).encode())[0] == pz.TOP_UP_REJECTED_DUPLICATE
        assert _events(dev)[-2:] == [utrn.EVENT_DUPLICATE, 0x8155]
        forged = fx.utrn(3, 40, key="acb_ka").encode()
        assert _ppmid_top_up(dev, forged) == (pz.TOP_UP_REJECTED_INVALID, 0, pz.ORIGIN_PPMID,
                                             40000)
        assert _ppmid_top_up(dev, b"\xff" * 20)[0] == pz.TOP_UP_REJECTED_INVALID
        assert dev.balance() == 40000
    finally:
        fx.cleanup(store)
