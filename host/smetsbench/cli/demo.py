"""`smetsbench demo`: an ESME and a GSME on one HAN, driven through the GBCS use cases end to end.

Starts virtual boards (the firmware on the MicroPython unix port behind a pty), an electricity
meter and a gas meter, puts each in the Communications Hub's CHF device log (CCS01) and
provisions it with fresh keys and its install code; they join the secured HAN (the gas meter as
a sleepy end device) and the hub starts its Gas Proxy Function for the gas meter. Then plays the
supplier and network operator through the Communications Hub: reads, writes, load-switch
control, encrypted register reads, and commands the meter must refuse; on the gas side reads of
the sleeping meter (the bench presses its button so it polls), a top-up, the valve closed, armed
and opened at the meter, a top-up typed on the keypad (its alert), and the same reads answered
by the GPF from its mirror of the meter. Then the home (smetsbench.cli.home, unless --no-home):
an IHD and a CAD join the HAN, an MQTT broker starts (or --mqtt names one), and a tariff change,
a top-up, a supplier message and a day of consumption must show on the IHD's screens (--screens
DIR keeps them as PNGs) and in the CAD's MQTT messages, electricity from the ESME and gas from
the GPF's mirror. Then the HAN (`han_script`): a device that is not in the device log is
refused, one whose install code is wrong never gets the network key, the CHF's device log and
security log are read, and the ESME is removed (CCS02): told to leave, it cannot rejoin. Prints
one line per exchange and exits non-zero if any check fails.
"""

import sys
import time

from smets.gbcs import envelope

from smetsbench.han.trace import Tracer
from smetsbench.oracle import checker
from smetsbench.oracle.parties import DCC
from smetsbench.payloads import zcl_names
from smetsbench.session import Bench
from smetsbench.usecases import gbz as gbz_use_cases
from smetsbench.usecases import library as usecases

# (use case, scenario, run options, expectation parameters)
SCRIPT = [
    # The meter draws nothing until the script says so: register values do not depend on how
    # long the steps take on a busy machine.
    ("@load", 0, {}, {}),
    ("ECS52", "SUCCESS", {}, {}),
    ("ECS40", "SUCCESS", {}, {"mpan": "1312345678111"}),
    ("ECS39a", "SUCCESS", {}, {"mpan": "1312345678333"}),
    ("ECS40", "AFTER_SET", {}, {"mpan": "1312345678333"}),
    ("ECS45", "CONNECTED", {}, {"state": 1}),
    ("ECS43", "SUCCESS", {}, {}),
    ("ECS45", "DISCONNECTED", {}, {"state": 0}),
    ("ECS44", "SUCCESS", {}, {}),
    ("ECS45", "ARMED", {}, {"state": 2}),
    ("ECS42", "SUCCESS", {}, {}),
    ("ECS45", "RECONNECTED", {}, {"state": 1}),
    ("ECS17b", "SUCCESS", {}, {"import_wh": 0}),
    ("@load", 500, {}, {}),
    ("@advance", 3600, {}, {}),
    ("@load", 0, {}, {}),
    ("ECS17b", "ONE_HOUR_LATER", {}, {"import_wh": 500}),
    ("ECS17b", "NETWORK_OPERATOR", {"party": "network_operator"}, {"import_wh": 500}),
    ("ECS52", "BAD_MAC", {"tamper": "bad_mac"}, {}),
    ("ECS52", "REPLAY", {"tamper": "replay"}, {}),
    ("ECS52", "WRONG_RECIPIENT", {"tamper": "wrong_recipient"}, {}),
    ("ECS52", "UNKNOWN_CODE", {"tamper": "unknown_code"}, {}),
    ("ECS52", "MALFORMED", {"tamper": "malformed"}, {}),
    ("ECS42", "BAD_SIGNATURE", {"tamper": "bad_signature"}, {}),
    ("ECS42", "NO_SIGNATURE", {"tamper": "no_signature"}, {}),
    ("ECS42", "NOT_AUTHORISED", {"tamper": "not_authorised", "party": "network_operator"}, {}),
]


# The gas meter (a sleepy GSME; its flow in litres per hour) and the hub's GPF. The valve can
# only be opened at the meter: GCS39 arms it, the consumer's button opens it (GBCS 10.3).
MPRN = "1234567890"
GAS_SCRIPT = [
    ("@flow", 0, {}, {}),
    ("GCS38", "SUCCESS", {}, {}),
    ("GCS46", "SUCCESS", {}, {"mprn": MPRN}),
    ("GCS13a", "SUCCESS", {}, {"volume": 0}),
    ("@flow", 1000, {}, {}),
    ("@advance", 3600, {}, {}),
    ("@flow", 0, {}, {}),
    ("GCS13a", "ONE_HOUR_LATER", {}, {"volume": 1000}),
    ("@mirror", 0, {}, {}),
    ("GCS13a", "FROM_GPF_MIRROR", {"device": "GPF"}, {"volume": 1000}),
    ("GCS14", "SUCCESS", {}, {"credit": 0}),
    ("CS01b", "TOP_UP_5_POUNDS", {}, {"value": 500, "credit": 500000}),
    ("@mirror", 0, {}, {}),
    ("GCS14", "FROM_GPF_MIRROR", {"device": "GPF"}, {"credit": 500000}),
    ("GCS32", "SUCCESS", {}, {}),
    ("GCS33", "CLOSED", {}, {"state": 0}),
    ("GCS39", "SUCCESS", {}, {}),
    ("GCS33", "ARMED", {}, {"state": 1}),
    ("@button", 0, {}, {}),
    ("GCS33", "OPENED_AT_METER", {}, {"state": 2}),
    ("@keypad", 200, {}, {"credit": 700000}),
    ("GCS13a", "BAD_MAC", {"tamper": "bad_mac"}, {}),
    ("GCS32", "NOT_AUTHORISED", {"tamper": "not_authorised", "party": "network_operator"}, {}),
]

HEADER = "%-8s %-6s %-18s %-6s %-8s %7s  %s" % ("use case", "device", "scenario", "result",
                                               "checks", "rtt ms", "details")


def _row(name, device, scenario, outcome="", checks="", rtt="", details=""):
    return "%-8s %-6s %-18s %-6s %-8s %7s  %s" % (name, device, scenario, outcome, checks, rtt,
                                                  details)


def run_script(bench, esme, out=print, script=SCRIPT):
    """Run `script` against `esme` (or the device a step names: {"device": "GPF"})."""
    results = []
    for name, scenario, opts, params in script:
        dev = esme
        if opts.get("device") == "GPF":
            dev = bench.gpf
        opts = {k: v for k, v in opts.items() if k != "device"}
        if name.startswith("@"):
            res = _step(bench, dev, name, scenario, params, out)
            if res is not None:
                results.append(res)
            continue
        res = bench.run(dev, name, scenario=scenario, **opts, **params)
        results.append(res)
        party = opts.get("party", usecases.get(name).originator)
        rtt = "%.1f" % res.rtt_ms if res.rtt_ms is not None else "-"
        out(_row(name, dev.role, scenario, res.outcome, res.checks.summary(), rtt,
                 _summary(res, party)))
        _failures(res, out)
    return results


def run_gas_script(bench, gsme, out=print):
    return run_script(bench, gsme, out, GAS_SCRIPT)


def _failures(res, out):
    if not res.passed:
        for c in res.checks.failures():
            out("           FAIL %s: %s" % (c.name, c.detail))
        if res.note:
            out("           " + res.note.replace("\n", "\n           "))


def _step(bench, dev, name, value, params, out):
    """A bench action between use cases (no GBCS command); a Result when it is checked."""
    if name == "@advance":
        bench.advance_clock(dev, value)
        out(_row("(clock)", dev.role, "+%d s" % value))
    elif name == "@load":
        dev.link.control("set_load", power_w=value, reactive_var=value // 10)
        out(_row("(load)", dev.role, "%d W" % value))
    elif name == "@flow":
        dev.link.control("set_flow", flow_lph=value)
        out(_row("(flow)", dev.role, "%d l/h" % value))
    elif name == "@mirror":
        took = bench.update_mirror(dev)
        out(_row("(wake)", dev.role, "MIRROR_UPDATE", "", "", "%.1f" % (took * 1000),
                 "the meter reported to the GPF's mirror"))
    elif name == "@button":
        done = dev.link.control("button")["done"]
        out(_row("(button)", dev.role, "pressed", details=done))
    elif name == "@keypad":
        res = bench.keypad_top_up(dev, value, **params)
        rtt = "%.1f" % res.rtt_ms if res.rtt_ms is not None else "-"
        out(_row("(keypad)", dev.role, "TOP_UP_%d_PENCE" % value, res.outcome,
                 res.checks.summary(), rtt, _summary(res, "consumer")))
        _failures(res, out)
        return res
    else:
        raise ValueError("unknown demo step %s" % name)
    return None


class Step:
    """A HAN demonstration step: passed or not, and what it showed."""

    def __init__(self, name, scenario, passed, text):
        self.usecase = name
        self.scenario = scenario
        self.passed = passed
        self.text = text
        self.outcome = "PASS" if passed else "FAIL"


def _wait(predicate, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return bool(predicate())


def _events(bench, eui, kind):
    return [e for e in list(bench.hub.han_events) if e.device == eui and e.kind == kind]


def join_ms(bench, eui):
    """Milliseconds from a device's association to its first frame under the network key."""
    assoc = _events(bench, eui, "associated")
    joined = _events(bench, eui, "joined")
    if not assoc or not joined:
        return None
    return (joined[-1].t - assoc[-1].t) * 1000


def han_script(bench, esme, out=print):
    """The HAN's admission control, shown with virtual boards (see the module docstring)."""
    import os

    steps = []

    def step(name, scenario, passed, text):
        steps.append(Step(name, scenario, passed, text))
        out("%-8s %-18s %-6s %-8s %7s  %s" % (name, scenario, steps[-1].outcome, "", "", text))

    ms = join_ms(bench, esme.eui)
    step("CCS01", "ESME_JOINED", bench.hub.coordinator.joined(esme.eui),
         "ESME %s in the CHF device log, joined the HAN%s" % (
             esme.eui.hex(), " in %.0f ms" % ms if ms is not None else ""))
    # A device that is not in the device log: refused at association.
    stranger = bench.add_virtual("HANTEST", eui="00db1234567890b7", admit=False)
    _wait(lambda: _events(bench, stranger.eui, "refused"), 10)
    refused = _events(bench, stranger.eui, "refused")
    step("(HAN)", "NOT_IN_DEVICE_LOG", bool(refused) and not bench.hub.coordinator.joined(
        stranger.eui), "%s refused: %s" % (stranger.eui.hex(), refused[-1].detail if refused
                                           else "no refusal seen"))
    # In the log with another install code: its link key differs, the Transport Key carrying
    # the network key does not open, it never joins.
    wrong = bench.add_virtual("HANTEST", eui="00db1234567890b8", admit=os.urandom(16))

    def bad_key():
        han = wrong.link.control("status").get("han") or {}
        return han.get("bad_mic", 0) > 0 and han.get("state") != "joined"

    got = _wait(bad_key, 10)
    step("(HAN)", "WRONG_INSTALL_CODE", got and not bench.hub.coordinator.joined(wrong.eui),
         "%s never got the network key (%s)" % (wrong.eui.hex(), "the Transport Key did not "
                                                "open" if got else "unexpected state"))
    res = bench.run(bench.chf, "CCS05CCS04", eui=esme.eui)
    step("CCS05", "DEVICE_LOG", res.passed, "acb: %d devices in the CHF device log" % (
        len(res.values[0].value) if res.values else 0))
    res = bench.run(bench.chf, "ECS35d")
    n = len(res.values[0].value[1]) if res.passed and res.values else 0
    step("ECS35d", "CHF_SECURITY_LOG", res.passed, "acb: %d security log entries" % n)
    # Removed from the log: told to leave; after a power cut it tries to join again and is
    # refused.
    res = bench.remove(esme)
    left = _wait(lambda: _events(bench, esme.eui, "left"), 5)
    step("CCS02", "REMOVE_ESME", res.passed and bool(left),
         "ESME %s removed from the device log and told to leave" % esme.eui.hex())
    since = time.time()
    esme.board.power_cut()
    again = _wait(lambda: [e for e in _events(bench, esme.eui, "refused") if e.t >= since], 20)
    step("(HAN)", "REMOVED_REJOIN", bool(again) and not bench.hub.coordinator.joined(esme.eui),
         "after a power cut ESME %s asked to join again: %s" % (
             esme.eui.hex(), "refused" if again else "not refused"))
    return steps


def _summary(res, party):
    if not res.alerts and isinstance(res.values, gbz_use_cases.GBZValues):
        text = _gbz_short(res.values, getattr(usecases.get(res.usecase), "show", ()))
        return ("%s: %s" % (party, text)) if text else party
    if not res.alerts:
        vals = []
        for v in res.values[:2]:
            vals.append(_short(v))
        text = ", ".join(vals) if vals else ""
        if res.alerts:
            text += " +%d alert(s)" % len(res.alerts)
        return ("%s: %s" % (party, text)) if text else party
    codes = []
    for raw in res.alerts:
        code = checker.alert_code(envelope.decode(raw))
        codes.append("%04X" % code if code is not None else "?")
    if res.command is None:
        return "%s: alert %s" % (party, ",".join(codes))
    return "%s: discarded, alert %s" % (party, ",".join(codes))


def _gbz_short(values, show=()):
    """The attributes the use case shows (else the last two read), or the answer's cluster
    command and its last field."""
    if values.attrs:
        items = [(k, values.attrs[k]) for k in show if k in values.attrs]
        items = items or list(values.attrs.items())[-2:]
        parts = []
        for (cluster, attr), (_status, _t, v) in items:
            if isinstance(v, (bytes, bytearray)):
                v = bytes(v).decode() if all(0x20 <= c < 0x7F for c in v) else bytes(v).hex()
            elif (cluster, attr) == (0x0702, 0x0014):
                v = gbz_use_cases.SUPPLY_STATES.get(v, v)
            parts.append("%s %s" % (zcl_names.attribute(cluster, attr) or "%04x" % attr, v))
        return ", ".join(parts)
    if values.commands:
        cluster, cmd, fields = values.commands[-1]
        name = zcl_names.command(cluster, 0x09, cmd) or "%02x" % cmd
        names = (zcl_names.fields(cluster, True, cmd) or ([], []))[0]
        if cluster == 0x0702 and cmd == 0x0C:
            return "%s %s" % (name, gbz_use_cases.SUPPLY_STATES.get(fields[-1], fields[-1]))
        if names and fields:
            return "%s %s %s" % (name, names[len(fields) - 1], fields[-1])
        return name
    if values.defaults:
        return "done" if all(d[2] == 0 for d in values.defaults) else "NOT_FOUND"
    return ""


def _short(d):
    from smets.dlms import axdr

    if d.tag == axdr.OCTET_STRING:
        raw = bytes(d.value)
        if not raw:
            return "''"
        if all(0x20 <= c < 0x7F for c in raw):
            return raw.decode()
        return raw.hex()
    if d.tag == axdr.ENUM:
        return usecases.CONTROL_STATES.get(d.value, str(d.value))
    if d.tag == axdr.STRUCTURE:
        flat = []
        _flatten(d, flat)
        nums = [str(x) for x in flat if isinstance(x, int)]
        return "registers " + "/".join(nums[:2]) if nums else "structure"
    if d.tag == axdr.NULL:
        return "ok"
    return repr(d.value)


def _flatten(d, out):
    from smets.dlms import axdr

    if d.tag in (axdr.STRUCTURE, axdr.ARRAY):
        for x in d.value:
            if x.tag == axdr.STRUCTURE and len(x.value) == 2 and x.value[1].tag == axdr.ENUM:
                continue  # scaler_unit
            _flatten(x, out)
    elif isinstance(d.value, int) and not isinstance(d.value, bool):
        out.append(d.value)


# The demo's boards: the ESME serving its IHD and CAD on the secured HAN (ZigBee stack, SE
# server, GBCS pipeline) leaves about 44 KB of a 256 KB heap free after its script, and so
# fragmented that CONTROL replies of 1.5 KB failed (MemoryError) during the home's day; 320 KB
# runs the whole demo. The role budget (DESIGN: 256 KB) is the firmware's to meet again.
DEMO_HEAP = "320K"


def main(trace_dir=None, keystore=None, heap=DEMO_HEAP, runtime="auto", work_dir=None, pcap=None,
         verbose=False, gas=True, home=True, screens_dir=None, mqtt_url=None):
    dcc = DCC.from_keystore(keystore) if keystore else DCC.fresh()
    tracer = Tracer(trace_dir, dcc) if trace_dir else None
    started = time.perf_counter()
    with Bench(dcc=dcc, work_dir=work_dir, heap=heap, runtime=runtime, tracer=tracer) as bench:
        capture = None
        if pcap:
            from smetsbench.han.capture import PcapWriter

            # The frames on the air, and the keys that open them (PCAP.keys).
            capture = PcapWriter(pcap, hub_eui=bench.hub.eui, keys=bench.han_keys)
            bench.hub.air_taps.append(capture.air_tap)
        # No load until the script sets one: the home joins and reads the meter first (CS03B
        # round trips), and the registers must not depend on how long that takes.
        esme = bench.add_virtual("ESME", init={"mpan_import": "1312345678111", "power_w": 0})
        devices = [esme]
        if gas:
            devices.append(bench.add_virtual("GSME", init={"mprn": MPRN}))
        board = esme.board
        st = esme.status()
        print("smetsbench demo: %s on virtual boards (%s, heap %s), one HAN" % (
            " and ".join("%s %s on %s" % (d.role, d.eui.hex(), d.link.url) for d in devices),
            st["implementation"], heap))
        if gas:
            print("  the hub runs the GPF %s (the gas meter's mirror)" % bench.gpf.eui.hex())
        if board.runtime != "micropython":
            print("  note: MicroPython unix port not available here; the firmware runs under "
                  "CPython")
        print("  remote parties: %s" % dcc.source)
        print()
        print(HEADER)
        print("-" * 104)
        figures = None
        house = None
        if home:
            # The IHD and the CAD come with the meter, as an installer fits them: they join
            # and read it from the start (and the meter's SE server takes its heap then).
            from smetsbench.cli.home import Home, gas_note

            house = Home(bench, esme, print, screens_dir, mqtt_url,
                         gsme=devices[1] if gas else None)
            house.start()
            print()
        try:
            results = run_script(bench, esme)
            if gas:
                results += run_gas_script(bench, devices[1])
            if house is not None:
                print()
                print("the home: the IHD and the CAD follow the meter" + (
                    "; screens in %s" % screens_dir if screens_dir else ""))
                note = gas_note()
                if note:
                    print("  note: " + note)
                print("-" * 104)
                steps, figures = house.run()
                results.extend(_Step(*s) for s in steps)
        finally:
            if house is not None:
                house.close()
        statuses = [(d, d.status()) for d in devices]
        results += han_script(bench, esme)
        if capture:
            capture.close()
    failed = [r for r in results if not r.passed]
    print("-" * 104)
    print("%d exchanges, %d passed, %d failed in %.1f s" % (
        len(results), len(results) - len(failed), len(failed), time.perf_counter() - started))
    for d, st in statuses:
        dev = st.get("device", {})
        heap_text = ("heap %d B used / %d B free" % (st["heap_alloc"], st["heap_free"])
                     if "heap_alloc" in st else "heap n/a under CPython")
        print("  %s: %d accepted, %d rejected, %d alerts, %s" % (
            d.role, dev.get("stats", {}).get("accepted", 0),
            dev.get("stats", {}).get("rejected", 0), dev.get("stats", {}).get("alerts", 0),
            heap_text))
    if trace_dir:
        print("trace: %d GBCS files and keystore/ in %s" % (len(tracer.files), trace_dir))
    if pcap:
        from smetsbench.han.capture import read_keys, tshark_args

        print("capture: %s (keys: %s.keys); decrypt it with:" % (pcap, pcap))
        print("  tshark -r %s %s -V" % (pcap, " ".join(
            "'%s'" % a if a != "-o" else a for a in tshark_args(read_keys(pcap + ".keys")))))
    if figures:
        print("home: change to IHD screen %s s, to MQTT %s s; %d MQTT messages (%s/min); "
              "heap IHD %s B, CAD %s B" % (
                  figures.get("change_to_screen_s", "-"), figures.get("change_to_mqtt_s", "-"),
                  figures.get("mqtt_messages", 0), figures.get("mqtt_per_minute", "-"),
                  figures.get("ihd_heap_alloc", "-"), figures.get("cad_heap_alloc", "-")))
        for path, text in figures.get("screens", ()):
            print("screen: %s  (%s)" % (path, " | ".join(text[:3])))
    return 1 if failed else 0


class _Step:
    """A home step in the demo's results (passed like a use case Result)."""

    def __init__(self, name, ok, detail):
        self.usecase = name
        self.passed = ok
        self.detail = detail


if __name__ == "__main__":
    sys.exit(main())


def register(sub):
    d = sub.add_parser("demo", help="run the GBCS use cases against a virtual ESME and GSME "
                                    "and their home")
    d.add_argument("--trace", metavar="DIR", help="write every GBCS message and the keystore here")
    d.add_argument("--keystore", metavar="DIR",
                   help="remote-party keys to use (e.g. ../shared/rtds/keystore); default: fresh")
    d.add_argument("--pcap", metavar="FILE", help="capture the HAN traffic to a pcap file")
    d.add_argument("--heap", default=DEMO_HEAP, help="MicroPython heap of the virtual boards "
                                                    "(default %s)" % DEMO_HEAP)
    d.add_argument("--runtime", default="auto", choices=("auto", "micropython", "cpython"),
                   help="run the firmware on the MicroPython unix port (auto: when installed) "
                        "or under CPython")
    d.add_argument("--dir", help="keep the virtual board's directory here (default: temporary)")
    d.add_argument("--no-gas", action="store_true", help="no GSME (and no GPF)")
    d.add_argument("--screens", metavar="DIR", help="save the IHD's screen after each home "
                                                     "step as a PNG here")
    d.add_argument("--mqtt", metavar="URL", help="the CAD publishes to this broker "
                                                 "(mqtt://host:port); default: one started here")
    d.add_argument("--no-home", action="store_true",
                   help="the meters' use cases only (no IHD, CAD or broker)")
    d.set_defaults(func=lambda a: main(
        trace_dir=a.trace, keystore=a.keystore, heap=a.heap, runtime=a.runtime, work_dir=a.dir,
        pcap=a.pcap, verbose=a.verbose, gas=not a.no_gas, home=not a.no_home,
        screens_dir=a.screens, mqtt_url=a.mqtt))
