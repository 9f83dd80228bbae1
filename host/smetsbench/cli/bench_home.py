"""`smetsbench bench --home`: what the consumer devices cost and how fast they follow the meter.

On virtual boards through the real serial path: an ESME, an IHD and a CAD (publishing to an
MQTT broker in this process). Measures
- heap: each board's live heap (gc.collect()ed) once the IHD has drawn and the CAD published,
  and the smallest `-X heapsize` with which an IHD (reads, draws, screenshot) and a CAD (reads,
  publishes) still work, found by bisection;
- latency: from a change of the meter's load (CONTROL set_load acknowledged) to the IHD's
  screen text showing it and to the CAD's MQTT message carrying it, over `rounds` changes 1.2 s
  apart (faster changes wait for the 1 s minimum reporting interval and the CAD's 1 s gap);
- MQTT messages per minute over `window` seconds at the default interval, with the load steady
  and with the load changing every few seconds.
"""

import time

from smetsbench.boards import heap as board_heap
from smetsbench.mqtt import EmbeddedBroker, Watcher, parse_url
from smetsbench.session import Bench


def _pct(samples, p):
    s = sorted(samples)
    return s[min(len(s) - 1, max(0, int(round(p / 100.0 * (len(s) - 1)))))] if s else None


def _wait(check, timeout, interval=0.005):
    deadline = time.monotonic() + timeout
    while True:
        v = check()
        if v:
            return v
        if time.monotonic() > deadline:
            return None
        time.sleep(interval)


def _home(bench, broker, ihd_heap=None, cad_heap=None):
    host, port = parse_url(broker.url)
    esme = bench.add_virtual("ESME", init={"power_w": 1000, "mpan_import": "1312345678111"})
    ihd = bench.add_virtual("IHD", heap=ihd_heap)
    cad = bench.add_virtual("CAD", heap=cad_heap, init={"mqtt": {"host": host, "port": port}})
    for dev in (ihd, cad):
        if not _wait(lambda d=dev: d.link.control("readings").get("elec", {}) and d.link.control(
                "readings")["elec"].get("power") == 1000, 30, 0.05):
            raise RuntimeError("%s did not read the meter" % dev.role)
    return esme, ihd, cad


def _heap(dev):
    """(live, code, data) heap of a board at work: the data heap is what its objects take,
    the code part being measured as the board holds it (smetsbench.boards.heap)."""
    from smetsbench.boards import heap

    h = heap.split(dev.link.control("heap"))
    return h["live"], h["code"], h["data"]


def latency(rounds=20, out=print):
    screen, mqtt = [], []
    with EmbeddedBroker() as broker, Bench() as bench:
        esme, ihd, cad = _home(bench, broker)
        with Watcher(broker.url, "glow/#") as w:
            for i in range(rounds):
                # Changes further apart than the reporting minimum interval (1 s, the IHD's
                # and CAD's Configure Reporting) and the CAD's 1 s gap between messages: what is
                # measured is the path, not those limits.
                time.sleep(1.2)
                watts = 1100 + 37 * i
                text = "%d.%02dkW" % (watts // 1000, watts % 1000 // 10)
                esme.link.control("set_load", power_w=watts)
                t0 = time.monotonic()
                if _wait(lambda t=text: t in ihd.link.control("text")["text"], 10):
                    screen.append(time.monotonic() - t0)
                msg = w.wait_for(lambda m, v=watts: m.topic.endswith("electricitymeter") and round(
                    m.json()["electricitymeter"]["power"]["value"] * 1000) == v, 10, t0)
                if msg is not None:
                    mqtt.append(msg.t - t0)
        heap = {d.role: _heap(d) for d in (esme, ihd, cad)}
    return screen, mqtt, heap


def rate(window=60, out=print):
    """MQTT messages per minute: (steady load, load changing every 5 s)."""
    res = []
    with EmbeddedBroker() as broker, Bench() as bench:
        esme, _ihd, _cad = _home(bench, broker)
        for changing in (False, True):
            with Watcher(broker.url, "glow/#") as w:
                t0 = time.monotonic()
                i = 0
                while time.monotonic() - t0 < window:
                    if changing and time.monotonic() - t0 >= 5 * i:
                        esme.link.control("set_load", power_w=900 + 100 * (i % 7))
                        i += 1
                    time.sleep(0.1)
                n = len([m for m in w.messages if m.t >= t0])
            res.append(n * 60.0 / window)
    return res


def minimum_heap(role, lo_kb=32, hi_kb=256):
    """Smallest -X heapsize (KB, to 8 KB) with which the role works in the home."""
    def works(kb):
        try:
            with EmbeddedBroker() as broker, Bench() as bench:
                kw = {"ihd_heap" if role == "IHD" else "cad_heap": "%dK" % kb}
                _esme, ihd, cad = _home(bench, broker, **kw)
                if role == "IHD":
                    from smetsbench import screens

                    return screens.fetch(ihd.link, "Electricity").lit() > 0
                with Watcher(broker.url, "glow/#") as w:
                    return w.wait_for(lambda m: m.topic.endswith("electricitymeter"),
                                      15) is not None
        except Exception:  # noqa: BLE001 - too small a heap fails in many ways
            return False

    return board_heap.smallest(works, lo_kb, hi_kb)


def main(rounds=20, window=60, search_heap=True, out=print):
    t0 = time.time()
    screen, mqtt, heap = latency(rounds, out)
    out("smetsbench bench --home: ESME, IHD and CAD on virtual boards (-X heapsize=256K, code "
        "in ROMFS), amqtt broker in this process")
    out("")
    out("%-34s %10s %10s %10s %6s" % ("register change (set_load) to", "p50 s", "p99 s",
                                      "max s", "n"))
    out("-" * 74)
    for name, s in (("the IHD's screen", screen), ("the CAD's MQTT message", mqtt)):
        out("%-34s %10.3f %10.3f %10.3f %6d" % (name, _pct(s, 50) or 0, _pct(s, 99) or 0,
                                                max(s) if s else 0, len(s)))
    out("-" * 74)
    steady, changing = rate(window, out)
    out("MQTT messages per minute (default interval): %.1f with a steady load, %.1f with the "
        "load changing every 5 s" % (steady, changing))
    out("heap at work (live / code / data B): %s" % ", ".join(
        "%s %d / %d / %d" % ((k,) + v) for k, v in heap.items()))
    if search_heap:
        for role in ("IHD", "CAD"):
            kb = minimum_heap(role)
            out("smallest -X heapsize for the %s: %s" % (role, "%d KB" % kb if kb else
                                                         "more than 256 KB"))
    out("(%.1f s)" % (time.time() - t0))
    return 0 if len(screen) == len(mqtt) == rounds else 1
