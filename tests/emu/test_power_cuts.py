"""Power cuts at random moments while a meter takes state changes and raises alerts.

What the board acknowledged (a verified response) survives every cut, and no alert originator
counter is ever used twice, across any number of reboots (GBCS 4.3.1.3: a device's counters
only increase)."""

import random
import threading
import time

import pytest
from smetsbench.boards.virtual import find_micropython
from smetsbench.han.hub import NoResponse

pytestmark = pytest.mark.skipif(find_micropython() is None,
                                reason="needs the MicroPython unix port")

CUTS = 6


def _wait_up(bench, esme, boots):
    deadline = time.time() + 20
    while esme.board.boots == boots and time.time() < deadline:
        time.sleep(0.02)
    esme.link.control("status", timeout=20)
    bench.hub.wait_tunnel(esme.eui, timeout=20)


def test_random_power_cuts_lose_nothing_acknowledged_and_reuse_no_alert_counter(smets_bench,
                                                                               esme):
    bench = smets_bench
    rng = random.Random(20261204)
    acknowledged = None  # the last MPAN whose write the meter confirmed
    history = []
    alerts_seen = {}
    for cut in range(CUTS):
        boots = esme.board.boots
        in_flight = None  # sent, not answered: it may or may not have run before the cut
        timer = threading.Timer(rng.uniform(0.05, 0.6), esme.board.power_cut)
        timer.start()
        try:
            for i in range(40):
                mpan = "13%011d" % (cut * 100 + i)
                in_flight = mpan
                try:
                    res = bench.run(esme, "ECS39a", mpan=mpan)
                except (NoResponse, OSError, RuntimeError):
                    break  # the board went away mid-command: not acknowledged
                history.append((mpan, res.passed))
                if res.passed:
                    acknowledged = mpan
                    in_flight = None
                elif esme.board.boots != boots or not timer.is_alive():
                    break
                # A command the meter must refuse: a security alert with a fresh counter.
                try:
                    bench.run(esme, "ECS40", tamper="bad_mac")
                except (NoResponse, OSError, RuntimeError):
                    break
                if esme.board.boots != boots:
                    break
        finally:
            timer.join()
        _wait_up(bench, esme, boots)
        for rec in list(bench.hub.alerts):
            # The meter's (the hub's CHF raises alerts of its own, with its own counters).
            if rec.msg is not None and rec.device == esme.eui:
                alerts_seen.setdefault(rec.msg.counter, set()).add(bytes(rec.raw))
        if acknowledged is not None:
            res = bench.run(esme, "ECS40")
            assert res.passed, res.report()
            got = res.values[0].value.decode() if res.values else None
            assert got in (acknowledged, in_flight), (
                "cut %d: MPAN %s after the cut; acknowledged %s, in flight %s; %s" % (
                    cut, got, acknowledged, in_flight, history[-4:]))
            acknowledged = got
    assert esme.board.boots >= CUTS
    assert len(alerts_seen) > CUTS, alerts_seen.keys()
    reused = {c: v for c, v in alerts_seen.items() if len(v) > 1}
    assert not reused, "alert counters used for different alerts: %s" % sorted(reused)
