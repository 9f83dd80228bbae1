"""`smetsbench bench [--role ESME|GSME]`: what a device costs — CPU per command, round trips, heap.

Runs on virtual boards (the MicroPython unix port, `-X heapsize=`), through the real serial path:
- device CPU per GBCS command, measured on the board around the whole HAN frame handling (ZCL,
  envelope, MAC/signature checks, DLMS, response MAC or signature), per use case;
- host round trip per command (hub -> pty -> board -> hub, including the host's own crypto);
- device CPU per rejected command: a flood of wrong-MAC commands, the first ones logged and
  alerted, the rest past the flood throttle (smets.gbcs.pipeline FLOOD_BURST) only counted;
- the firmware's crypto on the unix port (tools/bench_crypto.py: viper limbs and GHASH) beside
  OpenSSL (`cryptography`) measured in the same run, with the ratio of each;
- heap: live heap after provisioning and after the run (gc.collect()ed); per role, the part
  its code takes and the part its data takes (smetsbench.boards.heap); and the smallest data
  heap with which the whole demo script still passes (found by bisection);
- for the sleepy gas meter: the end-to-end time of a command that waits in the hub's mailbox
  for the meter's own next wake-up, with its clock accelerated (and what that is at 1x).
Prints tables; budgets from DESIGN.md and the targets of issue 13 are shown beside the figures.
"""

import json
import statistics
import subprocess
import sys
import time

from smetsbench.session import SLEEPY_ROLES, Bench

NON_CRITICAL = ("ECS52", "ECS45", "ECS40", "ECS17b")
CRITICAL = ("ECS43", "ECS44", "ECS42")
# Per role: (non-critical use cases, critical ones, the board's init, the use case of the
# rejected-command flood). The gas meter's: its encrypted consumption and prepayment reads,
# valve status, MPRN; the valve closed and armed.
ROLE_CASES = {
    "ESME": (NON_CRITICAL, CRITICAL, {"mpan_import": "1312345678111"}, "ECS52"),
    "GSME": (("GCS13a", "GCS14", "GCS33", "GCS46"), ("GCS32", "GCS39"),
             {"mprn": "1234567890"}, "GCS46"),
}
SLEEPY_RATE = 600  # the accelerated clock of the sleepy figures: 30 min of wake-up in 3 s
# The Type 1 devices' use cases: (role, use case, parameters).
TYPE1 = (("PPMID", "CS08", {}), ("PPMID", "CS03A2", {"other": "00db1234567890a0",
                                                    "other_type": "ESME"}),
         ("HCALCS", "CS08", {}))
BUDGET_NON_CRITICAL_MS = 5.0
BUDGET_CRITICAL_MS = 20.0
BUDGET_HEAP = 256 * 1024
TARGET_HEAP = 128 * 1024
# Targets on the unix port (issue 13): device CPU p50 per command, ECDSA verify against OpenSSL.
TARGET_NON_CRITICAL_MS = 0.7
TARGET_CRITICAL_MS = 3.0
TARGET_VERIFY_RATIO = 10.0
REJECT_FLOOD = 60  # wrong-MAC commands sent back to back: past the throttle's burst

# (what, tools/bench_crypto.py row, OpenSSL operation)
CRYPTO_ROWS = (
    ("ECDSA verify, trusted key (tables)", "verify, G + Q tables", "verify"),
    ("ECDSA verify, any key", "verify, G table, cold Q", "verify"),
    ("ECDSA sign", "ECDSA sign (RFC 6979)", "sign"),
    ("ECDH, any key", "ECDH cold (wNAF w=5)", "ecdh"),
    ("ECDH, trusted key (table)", "ECDH with peer table", "ecdh"),
    ("AES-GCM 64 B, new key", "AES-GCM encrypt 64 B (new key)", "gcm"),
    ("GMAC 205 B, new key", "GMAC, 205-byte AAD (new key)", "gmac"),
)


def _pct(samples, p):
    if not samples:
        return float("nan")
    s = sorted(samples)
    k = min(len(s) - 1, max(0, int(round(p / 100.0 * (len(s) - 1)))))
    return s[k]


def measure_commands(rounds=50, heap="256K", runtime="auto", role="ESME"):
    """{use case: {"device_us": [...], "rtt_ms": [...], "critical": bool}} and heap figures.
    A sleepy device (the GSME) is woken for each command (its button, CONTROL wake): the
    round trip is then the hub's mailbox, the poll and the exchange."""
    non_critical, critical, init, flood_case = ROLE_CASES[role]
    out = {}
    with Bench(heap=heap, runtime=runtime) as bench:
        dev = bench.add_virtual(role, init=init)
        heap_after_provision = dev.status()["heap_alloc"]
        from smetsbench.cli import demo

        join_ms = demo.join_ms(bench, dev.eui)  # associate -> joined, secured HAN
        # Warm up: first use builds the ECDH cache and signature tables (one-off costs).
        for name in non_critical + critical:
            r = bench.run(dev, name)
            if not r.passed:
                raise RuntimeError(r.report())
        dev.link.control("cpu", reset=True)
        for name in non_critical + critical:
            rtts = []
            for _ in range(rounds):
                r = bench.run(dev, name)
                if not r.passed:
                    raise RuntimeError(r.report())
                rtts.append(r.rtt_ms)
            out[name] = {"rtt_ms": rtts, "critical": name in critical}
        status = dev.status()
        for name, row in out.items():
            key = "%04X:accepted" % _code(name)
            # One entry per request: all of them at once is too big a reply for the board.
            row["device_us"] = dev.link.control("cpu", key=key, reset=True)[key]
        rejected = measure_rejected(bench, dev, name=flood_case)
        if role == "ESME":
            out.update(_measure_type1(bench, rounds))
        heap = {
            "after_provision": heap_after_provision,
            "after_run": status.get("heap_alloc"),
            "implementation": status.get("implementation"),
            "join_ms": join_ms,
            "crypto": status.get("crypto"),
            "rejected": rejected,
        }
        if role == "GSME":
            heap["sleepy"] = measure_sleepy(bench, dev)
    return out, heap


def _measure_type1(bench, rounds):
    """The PPMID's and the HCALCS's use cases, as measure_commands does the ESME's."""
    out = {}
    devices = {}
    for role, name, params in TYPE1:
        dev = devices.get(role) or devices.setdefault(role, bench.add_virtual(role))
        r = bench.run(dev, name, **params)  # warm-up
        if not r.passed:
            raise RuntimeError(r.report())
        dev.link.control("cpu", reset=True)
        rtts = []
        for _ in range(rounds):
            r = bench.run(dev, name, **params)
            if not r.passed:
                raise RuntimeError(r.report())
            rtts.append(r.rtt_ms)
        key = "%04X:accepted" % _code(name)
        out["%s %s" % (role, name)] = {
            "rtt_ms": rtts, "critical": bench_critical(name),
            "device_us": dev.link.control("cpu", key=key, reset=True)[key]}
    return out


def bench_critical(name):
    from smetsbench.usecases import library as usecases

    return usecases.get(name).critical


def measure_sleepy(bench, gsme, commands=5, rate=SLEEPY_RATE, use_case="GCS13a"):
    """End-to-end times of a command to a sleeping gas meter: put in its mailbox at a random
    point of its wake-up period, answered when it next polls on its own (GBCS: every
    `wake_s` of its clock), with its clock at `rate` x real time. Returns a dict of figures
    (real seconds; device-clock seconds = real x rate)."""
    import random

    st = gsme.link.control("status")
    wake_s = st["device"]["wake_s"]
    gsme.link.control("time", epoch=st["time"], rate=rate)
    period = wake_s / float(rate)
    real = []
    try:
        for _ in range(commands):
            time.sleep(random.uniform(0, period))
            t0 = time.perf_counter()
            r = bench.run(gsme, use_case, wake=False, timeout=period * 2 + 5)
            if not r.passed:
                raise RuntimeError(r.report())
            real.append(time.perf_counter() - t0)
    finally:
        st = gsme.link.control("status")
        gsme.link.control("time", epoch=st["time"], rate=1)
    return {"rate": rate, "wake_s": wake_s, "real_s": real}


def measure_rejected(bench, esme, count=REJECT_FLOOD, name="ECS52"):
    """Device CPU (us samples) per rejected command: {"logged": [...], "suppressed": [...]}
    for `count` wrong-MAC commands sent back to back (the device answers none of them)."""
    uc_code = _code(name)
    from smetsbench.usecases import library as usecases

    uc = usecases.get(name)
    party = bench.dcc[uc.originator]
    for _ in range(count):
        counter = party.next_counter()
        content = uc.build(counter, party, esme.eui)
        raw, _ = bench.dcc.build_command(party, esme.eui, esme.ka_public, uc_code, content,
                                         critical=uc.critical, counter=counter)
        ticket = bench.hub.put(esme.eui, raw[:-1] + bytes((raw[-1] ^ 0x01,)))
        if esme.role in SLEEPY_ROLES:
            # A sleeping meter: its mailbox holds a few at a time; it polls when woken.
            esme.link.control("wake")
            bench.hub.wait_delivered(ticket, 10.0)
    # The board handles its link in order: once this is answered, so are the commands.
    status = esme.status()
    out = {}
    for kind, outcome in (("logged", "bad_mac"), ("suppressed", "bad_mac (suppressed)")):
        key = "%04X:%s" % (uc_code, outcome)
        out[kind] = esme.link.control("cpu", key=key, reset=True)[key]
    stats = (status.get("device") or {}).get("stats") or {}
    out["suppressed_total"] = stats.get("suppressed")
    return out


def device_crypto(heap="1M"):
    """tools/bench_crypto.py on the unix port: {"ops": {row: [us, alloc B]}, ...}, or None."""
    from smetsbench import paths
    from smetsbench.boards.virtual import find_micropython

    exe = find_micropython()
    script = paths.repo_dir() / "tools" / "bench_crypto.py"
    if not exe or not script.exists():
        return None
    proc = subprocess.run([exe, "-X", "heapsize=" + heap, str(script), "--json"],
                          capture_output=True, text=True, timeout=900)
    for line in proc.stdout.splitlines():
        if line.startswith("JSON "):
            return json.loads(line[5:])
    raise RuntimeError("bench_crypto.py failed: %s" % (proc.stderr or proc.stdout)[-2000:])


def openssl_crypto(rounds=5, n=200):
    """Microseconds per operation with `cryptography` (OpenSSL), best of `rounds`: the
    operations of CRYPTO_ROWS on the same sizes (a new AES key per message, as GBCS does)."""
    import hashlib

    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.asymmetric.utils import Prehashed
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    key = ec.derive_private_key(0x1234567, ec.SECP256R1())
    peer = ec.derive_private_key(0x7654321, ec.SECP256R1()).public_key()
    digest = hashlib.sha256(b"bench").digest()
    algo = ec.ECDSA(Prehashed(hashes.SHA256()))
    sig = key.sign(digest, algo)
    pub = key.public_key()
    aes_key = bytes(range(16))
    iv = bytes(12)
    pt = bytes(64)
    aad = bytes(205)
    ops = {
        "verify": lambda: pub.verify(sig, digest, algo),
        "sign": lambda: key.sign(digest, algo),
        "ecdh": lambda: key.exchange(ec.ECDH(), peer),
        "gcm": lambda: AESGCM(aes_key).encrypt(iv, pt, b"\x31"),
        "gmac": lambda: AESGCM(aes_key).encrypt(iv, b"", aad),
    }
    out = {}
    for name, fn in ops.items():
        best = None
        for _ in range(rounds):
            t0 = time.perf_counter()
            for _ in range(n):
                fn()
            dt = (time.perf_counter() - t0) / n * 1e6
            best = dt if best is None else min(best, dt)
        out[name] = best
    return out


def print_crypto(out=print):
    """The device's crypto beside OpenSSL's; returns the ECDSA verify ratio (trusted key)."""
    dev = device_crypto()
    if dev is None:
        out("crypto: no MicroPython unix port (or tools/bench_crypto.py): skipped")
        return None
    ssl = openssl_crypto()
    out("crypto on the unix port (%s; P-256 %s, GHASH %s) beside OpenSSL (cryptography), "
        "same run:" % (dev.get("implementation"), dev.get("p256"), dev.get("ghash")))
    out("%-36s %11s %11s %8s %12s" % ("operation", "device us", "OpenSSL us", "ratio",
                                      "alloc B/op"))
    out("-" * 82)
    verify_ratio = None
    for label, row, op in CRYPTO_ROWS:
        us, alloc = dev["ops"][row]
        ratio = us / ssl[op]
        if verify_ratio is None and op == "verify":
            verify_ratio = ratio
        out("%-36s %11.1f %11.1f %7.1fx %12s" % (label, us, ssl[op], ratio,
                                                 "-" if alloc is None else alloc))
    out("-" * 82)
    out("ECDSA verify with a trusted key's table: %.1fx OpenSSL (target <= %.0fx) %s" % (
        verify_ratio, TARGET_VERIFY_RATIO,
        "OK" if verify_ratio <= TARGET_VERIFY_RATIO else "OVER"))
    return verify_ratio


def _code(name):
    from smetsbench.usecases import library as usecases

    return usecases.get(name).code


def minimum_heap(runtime="auto", lo_kb=64, hi_kb=512, role="ESME"):
    """Smallest -X heapsize (KB, to 8 KB) with which the role's demo script passes, or None."""
    from smetsbench.cli import demo

    def passes(kb):
        try:
            with Bench(heap="%dK" % kb, runtime=runtime) as bench:
                if role == "GSME":
                    dev = bench.add_virtual("GSME", init={"mprn": demo.MPRN})
                    results = demo.run_gas_script(bench, dev, out=lambda *a: None)
                else:
                    dev = bench.add_virtual("ESME", init={"mpan_import": "1312345678111",
                                                          "power_w": 500})
                    results = demo.run_script(bench, dev, out=lambda *a: None)
                return all(r.passed for r in results)
        except Exception:
            return False

    from smetsbench.boards import heap as board_heap

    return board_heap.smallest(passes, lo_kb, hi_kb)


def fleet(n=1000, use_cases=("ECS52", "ECS17b", "ECS43"), out=print):
    """Drive `n` in-process ESMEs from one process; returns a dict of figures."""
    import resource

    t0 = time.perf_counter()
    with Bench() as bench:
        devices = []
        for i in range(n):
            devices.append(bench.add_inprocess("ESME", eui="00db1234%08x" % (0x56780000 + i),
                                               init={"mpan_import": "1312345678111"}))
            if out and (i + 1) % 100 == 0:
                out("  %d devices up (%.1f s)" % (i + 1, time.perf_counter() - t0))
        setup_s = time.perf_counter() - t0
        rss_setup = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        per_uc = {}
        failed = 0
        for name in use_cases:
            t1 = time.perf_counter()
            for dev in devices:
                if not bench.run(dev, name).passed:
                    failed += 1
            per_uc[name] = time.perf_counter() - t1
    return {
        "devices": n,
        "setup_s": setup_s,
        "per_use_case_s": per_uc,
        "failed": failed,
        "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
        "rss_after_setup_mb": rss_setup / 1024.0,
    }


def main_fleet(n, out=print):
    out("smetsbench bench --fleet: %d ESMEs in this process (firmware cores in-process, same "
        "link frames, checked with cryptography)" % n)
    f = fleet(n, out=out)
    out("")
    out("%-22s %10s %14s %16s" % ("step", "total s", "per device ms", "commands / s"))
    out("-" * 66)
    out("%-22s %10.1f %14.1f %16s" % ("start + provision", f["setup_s"],
                                      f["setup_s"] * 1000.0 / n, "-"))
    for name, secs in f["per_use_case_s"].items():
        out("%-22s %10.1f %14.2f %16.0f" % (name + " to every device", secs, secs * 1000.0 / n,
                                            n / secs if secs else 0))
    out("-" * 66)
    out("peak RSS %.0f MB (%.0f MB after set-up); %d failed exchanges" % (
        f["max_rss_mb"], f["rss_after_setup_mb"], f["failed"]))
    return 1 if f["failed"] else 0


def main(rounds=50, heap="256K", runtime="auto", search_heap=True, out=print, role="ESME"):
    t0 = time.time()
    rows, heap_info = measure_commands(rounds, heap, runtime, role)
    out("smetsbench bench: %s on a virtual board (%s, -X heapsize=%s, crypto %s), %d rounds "
        "per use case" % (role, heap_info["implementation"], heap, heap_info.get("crypto"),
                          rounds))
    if role == "GSME":
        out("(a sleeping meter: the bench presses its button for every command, so the round "
            "trip holds its poll)")
    out("")
    out("%-13s %-12s %10s %10s %10s %10s %8s" % (
        "use case", "kind", "cpu p50 ms", "cpu p99 ms", "rtt p50 ms", "rtt p99 ms", "budget"))
    out("-" * 79)
    worst = {True: 0.0, False: 0.0}
    for name, row in rows.items():
        dev = [us / 1000.0 for us in row["device_us"]]
        kind = "critical" if row["critical"] else "non-critical"
        budget = BUDGET_CRITICAL_MS if row["critical"] else BUDGET_NON_CRITICAL_MS
        p99 = _pct(dev, 99)
        worst[row["critical"]] = max(worst[row["critical"]], _pct(dev, 50))
        out("%-13s %-12s %10.2f %10.2f %10.2f %10.2f %7.0f%s" % (
            name, kind, _pct(dev, 50), p99, statistics.median(row["rtt_ms"]),
            _pct(row["rtt_ms"], 99), budget, "" if _pct(dev, 50) <= budget else " OVER"))
    out("-" * 79)
    # The targets are the measured role's (issue 13); the Type 1 rows ("PPMID CS08") have
    # their worst case said apart.
    own = {name: row for name, row in rows.items() if " " not in name}
    p50 = {crit: max(_pct(row["device_us"], 50) for row in own.values()
                     if row["critical"] == crit) / 1000.0 for crit in (False, True)}
    out("device CPU p50, worst use case: non-critical %.2f ms (target <= %.1f) %s, critical "
        "%.2f ms (target <= %.1f) %s" % (
            p50[False], TARGET_NON_CRITICAL_MS,
            "OK" if p50[False] <= TARGET_NON_CRITICAL_MS else "OVER",
            p50[True], TARGET_CRITICAL_MS, "OK" if p50[True] <= TARGET_CRITICAL_MS else "OVER"))
    type1 = [(_pct(row["device_us"], 50) / 1000.0, name) for name, row in rows.items()
             if " " in name]
    if type1:
        out("Type 1 devices, worst use case: %s %.2f ms p50 (budget %.0f ms)" % (
            max(type1)[1], max(type1)[0], BUDGET_CRITICAL_MS))
    rej = heap_info["rejected"]
    out("rejected command (wrong MAC, %d back to back): %.2f ms p50 logged and alerted (%d), "
        "%.3f ms p50 past the flood throttle (%d)" % (
            REJECT_FLOOD, _pct(rej["logged"], 50) / 1000.0, len(rej["logged"]),
            _pct(rej["suppressed"], 50) / 1000.0, len(rej["suppressed"])))
    out("")
    if heap_info["implementation"] == "micropython":
        print_crypto(out)
        out("")
    if heap_info.get("join_ms") is not None:
        out("HAN join (association -> network key -> joined, ZigBee security on): %.0f ms" %
            heap_info["join_ms"])
    out("heap: %d B live after provisioning, %d B after the run (budget %d B, target %d B)" % (
        heap_info["after_provision"], heap_info["after_run"], BUDGET_HEAP, TARGET_HEAP))
    sleepy = heap_info.get("sleepy")
    if sleepy:
        real = sleepy["real_s"]
        out("")
        out("a command to the sleeping meter, answered at its own next wake-up (every %d s of "
            "its clock):" % sleepy["wake_s"])
        out("  clock at %dx: %.2f s mean, %.2f s max real (%.0f s mean, %.0f s max of device "
            "clock) over %d commands" % (
                sleepy["rate"], statistics.mean(real), max(real),
                statistics.mean(real) * sleepy["rate"], max(real) * sleepy["rate"], len(real)))
        out("  clock at 1x (default): the same device-clock times in real time: %.0f s mean, "
            "%d s at most (the wake-up period)" % (statistics.mean(real) * sleepy["rate"],
                                                   sleepy["wake_s"]))
    if heap_info["implementation"] == "micropython":
        from smetsbench.boards import heap as board_heap

        out("")
        out("heap per role (provisioned, code in ROMFS, -X heapsize=%s for data):" % heap)
        board_heap.print_table(board_heap.role_figures(heap=heap), out=out)
    if search_heap and heap_info["implementation"] == "micropython":
        kb = minimum_heap(runtime, role=role)
        out("smallest data heap (-X heapsize beside the ROM image) that passes the %s demo "
            "script: %s" % (role, "%d KB" % kb if kb else "more than 512 KB"))
    out("(%.1f s)" % (time.time() - t0))
    ok = worst[False] <= BUDGET_NON_CRITICAL_MS and worst[True] <= BUDGET_CRITICAL_MS
    return 0 if ok else 1


def register(sub):
    b = sub.add_parser("bench", help="measure device CPU per command, round trips and heap")
    b.add_argument("--rounds", type=int, default=50,
                   help="commands per use case after warm-up (default 50)")
    b.add_argument("--heap", default="256K",
                   help="MicroPython heap of the board, as -X heapsize= (default 256K)")
    b.add_argument("--runtime", default="auto", choices=("auto", "micropython", "cpython"),
                   help="run the firmware on the MicroPython unix port (auto: when installed) "
                        "or under CPython")
    b.add_argument("--no-heap-search", action="store_true",
                   help="skip the search for the smallest working heap")
    b.add_argument("--fleet", type=int, metavar="N",
                   help="instead: drive N in-process ESMEs from this one process")
    b.add_argument("--role", default="ESME", type=str.upper, choices=sorted(ROLE_CASES),
                   help="the device measured (default ESME; GSME adds the sleepy figures)")
    b.add_argument("--home", action="store_true",
                   help="instead: IHD and CAD heap, change-to-screen and change-to-MQTT "
                        "latency, MQTT messages per minute")
    b.set_defaults(func=_main)


def _main(a):
    if a.fleet:
        return main_fleet(a.fleet)
    if a.home:
        from smetsbench.cli import bench_home

        return bench_home.main(min(a.rounds, 50), search_heap=not a.no_heap_search)
    return main(a.rounds, a.heap, a.runtime, not a.no_heap_search, role=a.role)


if __name__ == "__main__":
    sys.exit(main())
