"""The secured HAN end to end on virtual boards: joining through the CHF device log, refusals,
removal, and a device that rejoins after a power cut with nothing acknowledged lost.

The boards run the firmware on the MicroPython unix port; the hub's trust center secures its
side with `cryptography`, so every frame that opens was secured right by both."""

import os
import time

import pytest
from smetsbench.boards.virtual import find_micropython
from smetsbench.cli.demo import _wait

pytestmark = pytest.mark.skipif(find_micropython() is None,
                                reason="needs the MicroPython unix port")


def _events(bench, eui, kind, since=0.0):
    return [e for e in list(bench.hub.han_events)
            if e.device == eui and e.kind == kind and e.t >= since]


def test_a_meter_that_rejoins_after_power_cuts_keeps_working_and_loses_nothing(smets_bench,
                                                                             esme):
    bench = smets_bench
    hub = bench.hub
    assert hub.coordinator.joined(esme.eui)
    assert esme.status()["han"]["state"] == "joined"
    for cut in range(3):
        mpan = "13%011d" % cut
        res = bench.run(esme, "ECS39a", mpan=mpan)
        assert res.passed, res.report()  # acknowledged: it must survive the cut
        before = hub.coordinator.nwk_in.next[esme.eui]
        since = time.time()
        boots = esme.board.boots
        esme.board.power_cut()
        assert _wait(lambda b=boots: esme.board.boots > b, 20)
        # It resumes the network it saved: a secured rejoin, its counters above the old ones.
        assert hub.wait_joined(esme.eui, 20, since=since), esme.link.tail()
        assert _events(bench, esme.eui, "rejoined", since)
        assert hub.coordinator.nwk_in.next[esme.eui] > before
        hub.wait_tunnel(esme.eui, 20)
        res = bench.run(esme, "ECS40")
        assert res.passed, res.report()
        assert res.values[0].value.decode() == mpan
    han = esme.status()["han"]
    # The counts are since the last boot: it rejoined, nothing refused or replayed.
    assert han["rejoins"] == 1 and han["bad_mic"] == 0 and han["replayed"] == 0
    assert hub.errors["air_dropped"] == 0 and hub.errors["air_unknown"] == 0


def test_admission_refusal_wrong_code_and_removal(smets_bench, esme):
    bench = smets_bench
    hub = bench.hub
    # Not in the CHF device log: refused at association, never a member.
    stranger = bench.add_virtual("HANTEST", eui="00db1234567890b7", admit=False)
    assert _wait(lambda: _events(bench, stranger.eui, "refused"), 10)
    assert not hub.coordinator.joined(stranger.eui)
    assert stranger.status()["han"]["refused"] >= 1
    # In the log with another install code: it cannot open the Transport Key.
    wrong = bench.add_virtual("HANTEST", eui="00db1234567890b8", admit=os.urandom(16))
    assert _wait(lambda: wrong.status()["han"]["bad_mic"] >= 1, 10)
    assert wrong.status()["han"]["state"] != "joined" and not hub.coordinator.joined(wrong.eui)
    # The CHF's security log has both (8F3E unauthorised access attempted).
    res = bench.run(bench.chf, "ECS35d")
    assert res.passed, res.report()
    codes = [e.value[1].value for e in res.values[0].value[1]]
    assert 0x8F3E in codes and 0x8F12 in codes
    # CCS02: the ESME is told to leave; after a power cut its association is refused.
    res = bench.remove(esme)
    assert res.passed, res.report()
    assert _wait(lambda: _events(bench, esme.eui, "left"), 5)
    assert _wait(lambda: esme.status()["han"]["state"] != "joined", 10)
    since = time.time()
    esme.board.power_cut()
    assert _wait(lambda: _events(bench, esme.eui, "refused", since), 30)
    assert not hub.coordinator.joined(esme.eui)
    res = bench.run(bench.chf, "CCS05CCS04", eui=esme.eui, present=False)
    assert res.passed, res.report()
