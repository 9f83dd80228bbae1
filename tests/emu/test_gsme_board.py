"""A gas meter (GSME) on a virtual board and the hub's GPF, driven through the real serial path:
the sleepy meter gets its commands when it polls, reports to the GPF's mirror, and refuses bad
GBZ payloads as the ESME refuses bad DLMS ones."""

import time

import pytest
from smets.gbcs import envelope
from smetsbench.cli import demo
from smetsbench.han.capture import open_air
from smetsbench.han.hub import NoResponse
from smetsbench.oracle import utrn as outrn
from smetsbench.usecases import library


@pytest.fixture(scope="module")
def gsme_init():
    return {"mprn": demo.MPRN}


def test_gas_demo_script_passes(smets_bench, gsme):
    lines = []
    results = demo.run_gas_script(smets_bench, gsme, out=lines.append)
    failed = [r.report() for r in results if not r.passed]
    assert not failed, "\n".join(lines + failed)
    runs = [s for s in demo.GAS_SCRIPT if not s[0].startswith("@") or s[0] == "@keypad"]
    assert len(results) == len(runs)
    gpf = [r for r in results if r.device.role == "GPF"]
    assert len(gpf) == 2 and all(r.passed for r in gpf)


def test_a_command_waits_for_the_sleeping_meter_and_times_out_clearly(smets_bench, gsme):
    res = smets_bench.run(gsme, "GCS38", wake=False, timeout=1.0)
    assert not res.passed
    detail = [c for c in res.checks if c.name == "response received"][0].detail
    assert "still in the device's mailbox" in detail
    assert "last polled" in detail and "wakes every 1800 s" in detail
    # The meter's own wake-up (30 min of its clock, here at 900x) then takes the command.
    st = gsme.link.control("status")
    gsme.link.control("time", epoch=st["time"], rate=900)
    try:
        t0 = time.monotonic()
        bench_hub = smets_bench.hub
        deadline = t0 + 10
        while bench_hub.network.devices[gsme.eui].mailbox and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not bench_hub.network.devices[gsme.eui].mailbox, "the meter never polled"
        res = smets_bench.run(gsme, "GCS38", wake=False, timeout=10.0)
        assert res.passed, res.report()
    finally:
        st = gsme.link.control("status")
        gsme.link.control("time", epoch=st["time"], rate=1)


@pytest.mark.parametrize("tamper,name,party", [
    ("bad_mac", "GCS13a", None), ("replay", "GCS13a", None), ("unknown_code", "GCS13a", None),
    ("malformed", "GCS46", None), ("bad_signature", "GCS32", None),
    ("no_signature", "GCS32", None), ("not_authorised", "GCS32", "network_operator"),
    ("wrong_recipient", "GCS13a", None)])
def test_the_meter_refuses_bad_commands_as_the_esme_does(smets_bench, gsme, tamper, name,
                                                        party):
    res = smets_bench.run(gsme, name, tamper=tamper, party=party)
    assert res.passed, res.report()


def _send_gbz(bench, gsme, content, code=0x0074):
    sup = bench.dcc["supplier"]
    raw, counter = bench.dcc.build_command(sup, gsme.eui, gsme.ka_public, code, content)
    before = gsme.link.control("security_log", n=1)["count"]
    try:
        rec = bench.hub.command(gsme.eui, raw, timeout=2.0,
                                nudge=lambda: gsme.link.control("wake"))
        return envelope.decode(rec.raw), None
    except NoResponse:
        log = gsme.link.control("security_log", n=1)
        assert log["count"] == before + 1
        return None, log["entries"][-1]


def test_bad_gbz_payloads_are_discarded_logged_and_alerted(smets_bench, gsme):
    good = library.get("GCS13a").build(0, smets_bench.dcc["supplier"], gsme.eui)
    bad = {
        "more components than sent": good[:2] + b"\x02" + good[3:],
        "component length short": good[:7] + bytes([good[7] - 1]) + good[8:],
        "bytes after the components": good + b"\x00",
        "a cluster the use case has not": good[:4] + b"\x09\x99" + good[6:],
        "an encrypted component of garbage": bytes.fromhex("010901030702") + b"\x00\x14"
        + bytes(range(20)),
        "no payload": b"",
        "no components": b"\x01\x09\x00",
    }
    for what, content in bad.items():
        msg, entry = _send_gbz(smets_bench, gsme, content)
        assert msg is None, what
        assert entry["event"] == "bad_payload" and entry["alert"] == 0x8F1E, (what, entry)
    # Still answering.
    assert smets_bench.run(gsme, "GCS13a").passed


def test_a_forged_utrn_is_refused(smets_bench, gsme):
    """A top-up code not made with the supplier's prepayment key (GBCS 14) is not credited."""
    from smetsbench.oracle import crypto as ocrypto
    from smetsbench.oracle.parties import RemoteParty

    sup = smets_bench.dcc["supplier"]
    forger = RemoteParty("supplier", sup.eui, pp_key=ocrypto.generate_private_key())
    utrn, _ = outrn.make(forger, gsme.eui, gsme.ka_public, 999, counter=sup._top_up + 1 << 32)
    res = smets_bench.run(gsme, "CS01b", utrn=utrn)
    f = res.values.command(0x0705, 0x03) if res.values else None
    assert f is not None and f[0] != 0, res.report()  # ResultType: not accepted
    events = gsme.link.control("events", n=3)
    assert any(e["code"] == "8F63" for e in events)  # UTRN not authentic


def test_the_meter_is_a_sleepy_end_device_of_the_secured_han_and_survives_a_power_cut(
        smets_bench, gsme):
    bench = smets_bench
    hub = bench.hub
    # In the CHF device log with its install code, as a GSME (GBCS device type 0), then joined:
    # battery powered, receiver off when idle.
    assert hub.device_log[gsme.eui][0] == gsme.install_code and gsme.eui not in hub.type2
    member = hub.coordinator.member(gsme.eui)
    assert hub.coordinator.joined(gsme.eui) and member.sleepy and member.capability == 0x80
    air = []
    tap = lambda direction, frame, eui, t: air.append((direction, eui, bytes(frame)))  # noqa
    hub.air_taps.append(tap)
    try:
        res = bench.run(gsme, "GCS38")
        assert res.passed, res.report()
        bench.update_mirror(gsme)
    finally:
        hub.air_taps.remove(tap)
    up = open_air(hub.coordinator, [f for d, _e, f in air if d == "up"])
    down = [f for d, e, f in air if d == "down" and e == gsme.eui]
    mine = [f for f in up if f[0] == gsme.eui]
    polls = [f for f in up if f[2] == "poll" and f[0] == member.short]
    # Its GBCS tunnel and its mirror reports: NWK and APS security (the trust center link key).
    se = [f for f in mine if isinstance(f[2], int) and 0x0700 <= f[2] <= 0x07FF]
    assert {0x0704, 0x0702} <= {f[2] for f in se} and all(f[3] for f in se)
    # The hub sent it nothing unasked: one frame per poll at most (held until it polled).
    assert polls and len(down) <= len(polls)
    # Idle, it sleeps: its receiver is off and it polls no more.
    assert demo._wait(lambda: gsme.status()["han"].get("awake") is False, 5)
    n = gsme.status()["han"]["polls"]
    time.sleep(1.0)
    assert gsme.status()["han"]["polls"] == n
    # A power cut: it rejoins with the network it saved and goes on answering and reporting.
    since = time.time()
    gsme.board.power_cut()
    assert demo._wait(lambda: any(e.device == gsme.eui and e.kind == "rejoined" and e.t >= since
                             for e in list(hub.han_events)), 20)
    hub.wait_tunnel(gsme.eui, timeout=10.0)
    res = bench.run(gsme, "GCS13a")
    assert res.passed, res.report()
    assert bench.update_mirror(gsme) < 5
    assert hub.coordinator.member(gsme.eui).sleepy

