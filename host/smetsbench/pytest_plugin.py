"""pytest plugin: the bench, its hub, remote parties and devices as fixtures (pytest11).

Tests take fixtures; where the devices are is a command-line choice:

    def test_reads_mpan(smets_bench, esme):
        assert smets_bench.run(esme, "ECS40", mpan="1312345678111").passed

    pytest tests/                                  # virtual boards (default)
    pytest tests/ --board esme=/dev/ttyUSB0        # a real ESME board, any pyserial URL
    pytest tests/ --bench-file lab/bench.toml      # the boards and keys of a bench directory

Fixtures (module scope unless noted):
- smets_bench: a smetsbench.session.Bench; with --bench-file its remote parties are the
  bench's (parties/) and real boards are provisioned with the identities the bench issued;
- hub, dcc: smets_bench.hub (the Communications Hub) and smets_bench.dcc (remote parties);
- esme, gsme, ihd, cad: a DeviceHandle for that role, provisioned and with its GBCS tunnel
  open (ihd, cad: joined with CS03B to the esme fixture's meter; they have no tunnel): a
  virtual board, or the real board given for the role. A real board's `board` is a
  RealBoard (port, boots, power_cut) so tests written for virtual boards run unchanged.
  Roles the firmware does not emulate yet are skipped on virtual boards;
- esme_init, gsme_init, ihd_init, cad_init: initial register values ({}; the CAD's: publish
  to the mqtt_broker fixture); override them in a test module to start a device from known
  values;
- mqtt_broker: an MQTT broker on a loopback port (amqtt, in this process) for the CAD;
- smets_boards (session): {role: BoardSpec} of the real boards given.

Tests marked `hil` need real boards: they are skipped unless every device role they use has
a board given with --board or in the bench file. Every test that uses these fixtures gets its
own log file (all smetsbench loggers at DEBUG, board LOG frames included; --smets-log-dir, by
default under pytest's basetemp), and a failing test's report shows the log path and the last
frames exchanged on each board link.
"""

import logging
import re
import tempfile
import threading
import time
from pathlib import Path

import pytest
from smets import roles as _roles
from smets.zigbee.stack import split_install_code

ROLES = _roles.bench_roles()  # the firmware's role table (smets.roles)
_DEVICE_FIXTURES = {role.lower(): role for role in ROLES}
_SMETS_FIXTURES = {"smets_bench", "hub", "dcc", "mqtt_broker"} | set(_DEVICE_FIXTURES)
_ACTIVE_BENCHES = []
_LOG_KEY = pytest.StashKey[Path]()
_SPECS_KEY = pytest.StashKey[dict]()
_BENCH_DIR_KEY = pytest.StashKey[object]()


class BoardSpec:
    """A real board given on the command line or in the bench file."""

    def __init__(self, role, url, entry=None):
        self.role = role
        self.url = url
        self.entry = entry  # BoardEntry from bench.toml, if any

    def __repr__(self):
        return "<BoardSpec %s %s>" % (self.role, self.url)


class RealBoard:
    """What a test uses of a VirtualBoard, for a board on a real port."""

    runtime = "hardware"

    def __init__(self, link, spec=None):
        self.link = link
        self.spec = spec
        self.name = link.name

    @property
    def port(self):
        return self.link.url

    @property
    def boots(self):
        """Firmware starts seen on the link ("smets ... up" LOG lines) since it was opened."""
        return self.link.boots

    def power_cut(self):
        """Reset the chip abruptly, as a power cut would: EN pulled low through RTS with DTR
        released (the USB-UART auto-reset circuit of DevKitC boards; esptool's hard reset).
        A port without control lines (a pty, a socket) cannot do that: then, or when no boot
        is seen within 3 s, the firmware is asked to reset itself (CONTROL reset)."""
        before = self.link.boots
        serial_port = self.link.serial
        try:
            serial_port.dtr = False
            serial_port.rts = True
            time.sleep(0.1)
            serial_port.rts = False
            pulsed = True
        except Exception:  # noqa: BLE001 - pty, socket: no control lines
            pulsed = False

        def fallback():
            if pulsed:
                time.sleep(3.0)
                if self.link.boots != before:
                    return
            try:
                self.link.control("reset", timeout=2.0)
            except Exception:  # noqa: BLE001 - it may reset before it answers
                pass

        threading.Thread(target=fallback, daemon=True, name="power-cut").start()

    reset = power_cut

    def __repr__(self):
        return "<RealBoard %s>" % self.port


# --- options and configuration -------------------------------------------------------------


def pytest_addoption(parser):
    group = parser.getgroup("smetsbench", "smetsbench boards")
    group.addoption("--board", action="append", default=[], metavar="ROLE=URL",
                    help="use a real board for a device role, e.g. esme=/dev/ttyUSB0 or "
                    "esme=rfc2217://benchpc:4000 (repeatable)")
    group.addoption("--bench-file", default=None, metavar="PATH",
                    help="bench.toml (or its directory): its boards, remote parties and keys")
    group.addoption("--smets-log-dir", default=None, metavar="DIR",
                    help="directory for the per-test smetsbench logs")
    group.addoption("--smets-heap", default="256K",
                    help="MicroPython heap of virtual boards (default 256K)")


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "hil: runs against real boards given with --board or --bench-file; "
        "skipped otherwise")
    specs = {}
    bench_file = config.getoption("--bench-file", None)
    bench_dir = None
    if bench_file:
        from smetsbench.tools.benchdir import BenchDir
        from smetsbench.tools.errors import ToolError

        try:
            bench_dir = BenchDir.load(bench_file)
        except ToolError as exc:
            raise pytest.UsageError("--bench-file: %s" % exc) from None
        for entry in bench_dir.boards:
            if entry.role and entry.role not in specs:
                specs[entry.role] = BoardSpec(entry.role, entry.port, entry)
    for item in config.getoption("--board", None) or ():
        role, sep, url = item.partition("=")
        role = role.strip().upper()
        if not sep or not url or role not in ROLES:
            raise pytest.UsageError("--board wants ROLE=URL with ROLE one of %s, got %r"
                                    % ("/".join(r.lower() for r in ROLES), item))
        entry = bench_dir.board(url) if bench_dir is not None else None
        specs[role] = BoardSpec(role, url, entry)
    config.stash[_SPECS_KEY] = specs
    config.stash[_BENCH_DIR_KEY] = bench_dir


def _specs(config):
    return config.stash.get(_SPECS_KEY, {})


def _bench_dir(config):
    return config.stash.get(_BENCH_DIR_KEY, None)


def pytest_collection_modifyitems(config, items):
    specs = _specs(config)
    for item in items:
        if item.get_closest_marker("hil") is None:
            continue
        if not specs:
            item.add_marker(pytest.mark.skip(
                reason="needs real boards: give --board ROLE=PORT or --bench-file"))
            continue
        missing = sorted(_DEVICE_FIXTURES[f] for f in getattr(item, "fixturenames", ())
                         if f in _DEVICE_FIXTURES and _DEVICE_FIXTURES[f] not in specs)
        if missing:
            item.add_marker(pytest.mark.skip(
                reason="needs a real board for %s (--board %s=PORT)"
                % (", ".join(missing), missing[0].lower())))


# --- fixtures ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
def smets_boards(request):
    """{role: BoardSpec} of the real boards given (empty: virtual boards only)."""
    return dict(_specs(request.config))


@pytest.fixture(scope="module")
def smets_bench(request, tmp_path_factory):
    """A Bench: hub, remote parties, devices; closed (boards stopped, ports freed) at the end
    of the module."""
    from smetsbench.session import Bench

    bench_dir = _bench_dir(request.config)
    dcc = bench_dir.dcc() if bench_dir is not None else None
    bench = Bench(dcc=dcc, work_dir=tmp_path_factory.mktemp("smets-boards"),
                  heap=request.config.getoption("--smets-heap"),
                  hub_dir=bench_dir.hub_dir if bench_dir is not None else None,
                  hub_eui=bench_dir.hub_eui if bench_dir is not None else None)
    bench.bench_dir = bench_dir
    _ACTIVE_BENCHES.append(bench)
    try:
        yield bench
    finally:
        _ACTIVE_BENCHES.remove(bench)
        bench.close()


@pytest.fixture(scope="module")
def hub(smets_bench):
    return smets_bench.hub


@pytest.fixture(scope="module")
def dcc(smets_bench):
    return smets_bench.dcc


def _device_fixture(role):
    def fixture(request, smets_bench):
        init = request.getfixturevalue(role.lower() + "_init")
        return add_device(smets_bench, role, request.config, init)

    fixture.__name__ = role.lower()
    fixture.__doc__ = ("A provisioned %s with its GBCS tunnel open: a virtual board, or the "
                       "board given with --board %s=PORT / in the bench file." % (role,
                                                                                 role.lower()))
    return pytest.fixture(scope="module", name=role.lower())(fixture)


def _init_fixture(role):
    def fixture():
        return {}

    fixture.__doc__ = "Initial register values of the %s fixture (override in a module)." % role
    return pytest.fixture(scope="module", name=role.lower() + "_init")(fixture)


esme = _device_fixture("ESME")
gsme = _device_fixture("GSME")


def join_consumer(bench, meter, device):
    """Join a Type 2 device (IHD, CAD) to a meter the GBCS way (CS03B, Method B), where the
    firmware's meter keeps a device log; False where it does not (it answers any device)."""
    from smetsbench.usecases import library as usecases

    if "CS03B" not in usecases.USE_CASES:
        return False
    res = bench.run(meter, "CS03B", other=device.eui.hex(), other_type=device.role)
    if not res.passed:
        pytest.fail("CS03B join of %s to %s: %s" % (device.role, meter.role, res.report()),
                    pytrace=False)
    return True


def _consumer_fixture(role):
    def fixture(request, smets_bench, esme):
        init = request.getfixturevalue(role.lower() + "_init")
        device = add_device(smets_bench, role, request.config, init)
        join_consumer(smets_bench, esme, device)
        return device

    fixture.__name__ = role.lower()
    fixture.__doc__ = ("A provisioned %s joined (CS03B) to the `esme` fixture's meter: a "
                       "virtual board, or the board given with --board %s=PORT." % (
                           role, role.lower()))
    return pytest.fixture(scope="module", name=role.lower())(fixture)


ihd = _consumer_fixture("IHD")
cad = _consumer_fixture("CAD")
esme_init = _init_fixture("ESME")
gsme_init = _init_fixture("GSME")
ihd_init = _init_fixture("IHD")


@pytest.fixture(scope="module")
def mqtt_broker():
    """An MQTT broker on a loopback port for the CAD to publish to (amqtt, in this
    process); `.url` is mqtt://127.0.0.1:PORT (smetsbench.mqtt.Watcher reads it)."""
    from smetsbench.mqtt import EmbeddedBroker

    with EmbeddedBroker() as broker:
        yield broker


@pytest.fixture(scope="module", name="cad_init")
def cad_init(mqtt_broker):
    """Initial values of the CAD fixture: it publishes to the `mqtt_broker` fixture (override
    in a module for another broker, prefix or interval)."""
    from smetsbench.mqtt import parse_url

    host, port = parse_url(mqtt_broker.url)
    return {"mqtt": {"host": host, "port": port}}
ppmid = _device_fixture("PPMID")
hcalcs = _device_fixture("HCALCS")
ppmid_init = _init_fixture("PPMID")
hcalcs_init = _init_fixture("HCALCS")


def add_device(bench, role, config=None, init=None):
    """The device for `role` on `bench`: the real board given for it in `config`, or a new
    virtual board (skipped when the firmware does not emulate the role)."""
    from smets.node import ROLES as FIRMWARE_ROLES

    spec = _specs(config).get(role) if config is not None else None
    if spec is None:
        if role not in FIRMWARE_ROLES:
            pytest.skip("the firmware does not emulate %s yet" % role)
        return bench.add_virtual(role, init=init)
    return attach_board(bench, role, spec.url, getattr(bench, "bench_dir", None),
                        spec.entry.eui if spec.entry else None, init, spec)


def attach_board(bench, role, url, bench_dir=None, eui=None, init=None, spec=None):
    """Adopt the board on `url` into `bench` as its `role` device: check its firmware,
    provision it (with the bench directory's identity for it when there is one, else with
    fresh keys) and wait for its GBCS tunnel. Returns the DeviceHandle."""
    from smetsbench.oracle import crypto as ocrypto
    from smetsbench.session import DEFAULT_EUIS, DeviceHandle
    from smetsbench.tools.errors import ToolError
    from smetsbench.tools.probe import firmware_status, open_link, restart
    from smetsbench.tools.provision import issue_identity, provision_link

    try:
        link = open_link(url)
    except ToolError as exc:
        pytest.fail("%s board: %s" % (role, exc), pytrace=False)
    bench.links.append(link)
    try:
        if firmware_status(link, timeout=10.0).get("role"):
            # A clean heap for the new device model (and no stale tunnel request).
            restart(link)
        if bench_dir is not None:
            record, _ = issue_identity(bench_dir, role, eui)
            handle = DeviceHandle(role, record.eui, record.ka_key, record.ds_key, link,
                                  RealBoard(link, spec))
            handle.install_code = split_install_code(record.install_code)
            bench.hub.attach(link, handle.eui, role)
            # In the CHF device log (CCS01), as provision put it there; then the identity, and
            # the board joins the HAN.
            since = time.time()
            bench.admit(handle)
            # The test module's initial values, else those the bench recorded for the device.
            provision_link(link, bench_dir, record, init=init or record.info.get("init"),
                           restart_first=False)
            if bench.tracer:
                bench.tracer.device(handle)
            if not bench.hub.wait_joined(handle.eui, bench.join_timeout, since=since):
                pytest.fail("%s board %s did not join the HAN: %s" % (
                    role, handle.eui.hex(), link.control("status").get("han")), pytrace=False)
        else:
            handle = DeviceHandle(role, eui or DEFAULT_EUIS.get(role, "00db1234567890b0"),
                                  ocrypto.generate_private_key(),
                                  ocrypto.generate_private_key(), link,
                                  RealBoard(link, spec))
            bench.hub.attach(link, handle.eui, role)
            bench.provision(handle, init)
    except ToolError as exc:
        pytest.fail("%s board: %s" % (role, exc), pytrace=False)
    bench.devices.append(handle)
    if _roles.needs(role, _roles.GBCS):
        bench.hub.wait_tunnel(handle.eui, timeout=15.0)
    return handle


# --- one log per test, and the frames of a failure -----------------------------------------


def _uses_smets(item):
    names = set(getattr(item, "fixturenames", ()))
    return bool(names & _SMETS_FIXTURES) or item.get_closest_marker("hil") is not None


def _log_dir(config):
    option = config.getoption("--smets-log-dir", None)
    if option:
        path = Path(option)
    else:
        factory = getattr(config, "_tmp_path_factory", None)
        try:
            path = factory.getbasetemp() / "smetsbench-logs"
        except Exception:  # noqa: BLE001 - no tmp_path plugin
            path = Path(tempfile.gettempdir()) / "smetsbench-logs"
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    if not _uses_smets(item):
        yield
        return
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", item.nodeid).strip("_")[:150]
    path = _log_dir(item.config) / (name + ".log")
    handler = logging.FileHandler(path, mode="w", encoding="utf-8")
    handler.setLevel(logging.DEBUG)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logger = logging.getLogger("smetsbench")
    level = logger.level
    logger.setLevel(logging.DEBUG)
    logger.addHandler(handler)
    item.stash[_LOG_KEY] = path
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
        handler.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if not report.failed or not _uses_smets(item):
        return
    lines = []
    path = item.stash.get(_LOG_KEY, None)
    if path is not None:
        lines.append("log: %s" % path)
    for bench in list(_ACTIVE_BENCHES):
        for link in bench.links:
            try:
                lines.append(link.tail())
            except Exception as exc:  # noqa: BLE001 - a report must not fail
                lines.append("%s: no frames (%s)" % (getattr(link, "name", "?"), exc))
    if lines:
        report.sections.append(("smetsbench", "\n".join(lines)))
