"""Type 2 devices on the secured HAN, end to end on virtual boards: an IHD in the CHF device log
(CCS01, device type 6) joins and reads its meter with Smart Energy frames under the network key
only (GBCS Method B: no link key between them), while the meter's GBCS tunnel keeps its APS
security; an IHD that is not in the CHF device log never joins and reads nothing. The frames are
opened here with the hub's network key (`cryptography`), as they are on the air."""

import time

import pytest
from smetsbench.boards.virtual import find_micropython
from smetsbench.cli.demo import _wait
from smetsbench.han.capture import open_air

pytestmark = [pytest.mark.skipif(find_micropython() is None,
                                 reason="needs the MicroPython unix port"),
              pytest.mark.filterwarnings("ignore::DeprecationWarning")]


def _reads(dev):
    d = dev.link.control("readings").get("elec")
    return d is not None and d.get("power") is not None


def test_a_type2_device_reads_its_meter_under_the_network_key_only(smets_bench, esme, ihd):
    bench = smets_bench
    hub = bench.hub
    assert ihd.eui in hub.type2 and esme.eui not in hub.type2
    assert hub.coordinator.joined(ihd.eui)
    air = []
    tap = lambda direction, frame, eui, t: air.append(bytes(frame))  # noqa: E731
    hub.air_taps.append(tap)
    try:
        assert _wait(lambda: _reads(ihd), 20), ihd.link.tail()
        res = bench.run(esme, "ECS40")  # GBCS through the tunnel, meanwhile
        assert res.passed, res.report()
        time.sleep(1.0)
    finally:
        hub.air_taps.remove(tap)
    frames = open_air(hub.coordinator, air)
    ihd_se = [f for f in frames if f[0] == ihd.eui and 0x0700 <= f[2] <= 0x07FF]
    meter_se = [f for f in frames if f[0] == esme.eui and f[1] == ihd.eui]
    tunnel = [f for f in frames if f[2] == 0x0704]
    assert any(f[1] == esme.eui and f[2] == 0x0702 for f in ihd_se)
    assert meter_se and tunnel
    assert not any(f[3] for f in ihd_se + meter_se)  # NWK security only
    assert all(f[3] for f in tunnel)  # the hub and the meter: APS security, as before
    han = esme.status()["han"]
    assert han["unsecured"] == 0 and han["bad_mic"] == 0


def test_a_type2_device_not_in_the_chf_device_log_cannot_join_or_read(smets_bench, esme):
    bench = smets_bench
    hub = bench.hub
    since = time.time()
    stranger = bench.add_virtual("IHD", eui="00db12345678909e", admit=False,
                                 init={"poll_s": 2})
    assert _wait(lambda: [e for e in hub.han_events if e.device == stranger.eui
                          and e.kind == "refused" and e.t >= since], 15)
    time.sleep(3.0)  # its discovery and polls would have run by now
    st = stranger.status()
    assert st["han"]["state"] != "joined" and st["han"]["refused"] >= 1
    dev = st["device"]
    assert dev["meters"] == {} and dev["stats"]["reads"] == 0 and dev["stats"]["reports"] == 0
    assert not hub.coordinator.joined(stranger.eui) and stranger.eui not in hub.type2
    assert not _reads(stranger)
