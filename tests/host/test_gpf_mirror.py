"""The hub's Gas Proxy Function: the gas meter reports into its mirror (ZSE D.3.4 mirroring),
and the mirror is a ZCL server on the hub's endpoint 2 that any HAN device may read (the
IHD's and CAD's gas data), beside the GPF's own GBCS use cases. On the secured HAN: the GPF runs
in the hub, the meter joins as a sleepy end device, and a Type 2 device reads the mirror under
the network key only (GBCS Method B: no link key), as it reads an ESME."""

import time

from smetsbench.han.capture import open_air
from smetsbench.session import GPF_MIRROR_EP, Bench

METERING = 0x0702


def _gas(ihd):
    return ihd.link.control("readings").get("gas")


def test_an_ihd_reads_gas_from_the_gpf_mirror_over_the_secured_han(tmp_path):
    with Bench(work_dir=tmp_path) as bench:
        hub = bench.hub
        gsme = bench.add_inprocess("GSME", init={"volume": 123456, "credit": 4200})
        assert hub.coordinator.joined(gsme.eui) and hub.coordinator.member(gsme.eui).sleepy
        assert not hub.coordinator.joined(bench.gpf.eui)  # in the hub: it joins nothing
        air = []
        hub.air_taps.append(lambda direction, frame, eui, t: air.append(bytes(frame)))
        took = bench.update_mirror(gsme)
        assert took < 5
        st = bench.gpf.link.control("status")["device"]
        assert st["volume"] == 123456 and st["credit"] == 4200
        ihd = bench.add_inprocess("IHD", init={"poll_s": 1})
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            gas = _gas(ihd)
            if gas and gas.get("total_l") is not None and gas.get("credit") is not None:
                break
            time.sleep(0.1)
        gas = _gas(ihd)
        assert gas is not None, ihd.link.tail()
        # The mirror is the hub's: its EUI-64 and endpoint 2 (found by ZDO discovery).
        assert gas["eui"] == hub.eui.hex() and gas["responding"]
        assert gas["total_l"] == 123456  # the register in m3 / 1000 (divisor): litres
        assert gas["credit"] == 4200  # 10^-5 GBP (the Price cluster's trailing digit 5)
        frames = open_air(hub.coordinator, air)
        reads = [f for f in frames if f[0] == ihd.eui and f[2] == METERING]
        answers = [f for f in frames if f[0] == hub.eui and f[1] == ihd.eui and
                   f[2] == METERING]
        reports = [f for f in frames if f[0] == gsme.eui and f[2] == METERING]
        assert reads and answers and reports
        assert all(f[4] == GPF_MIRROR_EP for f in answers)
        assert not any(f[3] for f in reads + answers)  # Type 2: NWK security only
        assert all(f[3] for f in reports)  # the meter and the hub: its link key too


def test_the_gpf_answers_gbcs_reads_from_what_the_meter_reported(tmp_path):
    with Bench(work_dir=tmp_path) as bench:
        gsme = bench.add_inprocess("GSME", init={"volume": 5000})
        assert bench.run(gsme, "GCS13a", volume=5000).passed
        bench.update_mirror(gsme)
        res = bench.run(bench.gpf, "GCS13a", volume=5000)
        assert res.passed, res.report()
        res = bench.run(bench.gpf, "GCS61", days=3)
        assert res.passed, res.report()
