"""An ESME, a PPMID and an HCALCS on virtual boards on one HAN, driven by the bench as the DCC
would: the joins on both sides (CS03A1 / CS03A2), the key agreement they run over the HAN, the
PPMID's top-up and emergency credit on the meter, the ESME switching its HCALCS (ECS46c, ECS47)
and the PPMID / HCALCS firmware read (CS08). Every GBCS response is checked with
`cryptography`; the HAN frames between the boards go through the hub's HAN network, the PPMID's
and the meter's Smart Energy frames APS-secured with the key their join agreed, which the frames
on the air are opened with here (the key computed with `cryptography`)."""

import time

import pytest
from smets.dlms.access import AccessRequest, RequestSpec
from smets.dlms.axdr import Data
from smets.gbcs import envelope
from smets.zcl import ppmid as pz
from smetsbench.han import zcrypto
from smetsbench.han.capture import open_air
from smetsbench.oracle import checker
from smetsbench.oracle import utrn as outrn
from smetsbench.usecases import library

OBIS = library._obis


@pytest.fixture(scope="module")
def bench(smets_bench):
    return smets_bench


@pytest.fixture(scope="module")
def esme_init():
    return {"power_w": 0}


def _wait(what, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = what()
        if got:
            return got
        time.sleep(0.05)
    return what()


def _dlms(bench, device, code, specs, data, critical=True):
    """A hand-made ACCESS request (the use case's template allows a subset), checked."""
    party = bench.dcc["supplier"]
    counter = party.next_counter()
    content = AccessRequest(library.invoke_id(counter), specs, data).to_bytes()
    raw, _ = bench.dcc.build_command(party, device.eui, device.ka_public, code, content,
                                     critical=critical, counter=counter)
    rec = bench.hub.command(device.eui, raw, timeout=5.0)
    checks, _decoded, msg = checker.check_response(rec.raw, envelope.decode(raw), party,
                                                   device.ka_public, device.ds_public,
                                                   critical)
    assert checks.ok, checks.failures()
    return msg


def _joined_with_key(device, eui):
    for e in device.link.control("device_log")["entries"]:
        if e["eui"] == eui.hex():
            return e["key"]
    return None


def test_join_agree_keys_and_use_the_ppmid(bench, esme, ppmid):
    # The responder first, then the meter (which starts the key agreement at once).
    res = bench.run(ppmid, "CS03A2", other=esme.eui, other_type="ESME")
    assert res.passed, res.report()
    res = bench.run(esme, "CS03A1", other=ppmid.eui, other_type="PPMID")
    assert res.passed, res.report()
    # The meter (Method A initiator) agrees keys with the PPMID over the HAN.
    assert _wait(lambda: _joined_with_key(esme, ppmid.eui) and _joined_with_key(
        ppmid, esme.eui))
    before = esme.status()["device"]["balance"]
    air = []
    tap = lambda direction, frame, eui, t: air.append(bytes(frame))  # noqa: E731
    bench.hub.air_taps.append(tap)
    try:
        # A UTRN the bench's supplier made for this meter (the meter checks its MAC).
        code, _ = outrn.make(bench.dcc["supplier"], esme.eui, esme.ka_public, 1000)
        ppmid.link.control("topup", utrn=code)
        assert _wait(lambda: esme.status()["device"]["balance"] > before)
        display = _wait(lambda: ppmid.link.control("display")["last"])
    finally:
        bench.hub.air_taps.remove(tap)
    assert display.startswith("top-up accepted"), display
    # On the air: the top-up and its answer APS-secured with the key of the join (the same
    # key on both boards, and on the host from their key agreement keys).
    key = zcrypto.partner_link_key(esme.ka_key, ppmid.ka_public)
    assert key == zcrypto.partner_link_key(ppmid.ka_key, esme.ka_public)
    pair = {esme.eui, ppmid.eui}
    frames = [f for f in open_air(bench.hub.coordinator, air,
                                  lambda a, b: key if {a, b} == pair else None)
              if {f[0], f[1]} == pair]
    prepay = [f for f in frames if f[2] == pz.PREPAYMENT]
    assert {f[0] for f in prepay} == pair, frames
    assert all(f[3] and f[5] is not None for f in prepay), prepay  # secured, opened
    assert any(f[0] == ppmid.eui and f[5][2] == pz.CONSUMER_TOP_UP for f in prepay)
    ppmid.link.control("emergency_credit")
    assert _wait(lambda: "emergency credit accepted" == ppmid.link.control("display")["last"])
    regs = esme.link.control("attribute", **{"class": 1, "obis": "0.0.94.44.34.30",
                                              "attr": 2})
    assert int(regs[16:24], 16) > 0  # emergency credit available on the meter
    # The credit display: the PPMID reads the meter's Prepayment cluster (the SE server
    # answers the devices in the meter's device log).
    ppmid.link.control("read")
    balance = esme.status()["device"]["balance"]
    shown = _wait(lambda: ppmid.link.control("display")["credit"] == balance)
    assert shown, (ppmid.link.control("display"), balance)
    res = bench.run(ppmid, "CS08")
    assert res.passed, res.report()


def test_esme_switches_its_hcalcs(bench, esme, hcalcs):
    assert bench.run(hcalcs, "CS03A2", other=esme.eui, other_type="ESME").passed
    assert bench.run(esme, "CS03A1", other=hcalcs.eui, other_type="HCALCS").passed
    # ECS46c: auxiliary load control switch 3 is this HCALCS.
    _dlms(bench, esme, 0x0054, [RequestSpec.set(1, OBIS("0-0-94-44-0-23"), 2)],
          [Data.octet(hcalcs.eui)])
    for script, relay in ((0x0311, "closed"), (0x0312, "open"), (0x0311, "closed"),
                          (0x0320, "open")):
        _dlms(bench, esme, 0x0055, [RequestSpec.action(9, OBIS("0-0-10-0-103-255"), 1)],
              [Data.uint16(script)])
        assert _wait(lambda want=relay: hcalcs.status()["device"]["relay"] == want), relay
    assert hcalcs.status()["device"]["switched"] == 4
    res = bench.run(hcalcs, "CS08")
    assert res.passed, res.report()
    res = bench.run(hcalcs, "CS04AC", party="acb", other=esme.eui)
    assert res.passed, res.report()
    # Unjoined, the HCALCS takes nothing more from the meter.
    _dlms(bench, esme, 0x0055, [RequestSpec.action(9, OBIS("0-0-10-0-103-255"), 1)],
          [Data.uint16(0x0311)])
    time.sleep(0.5)
    assert hcalcs.status()["device"]["relay"] == "open"
