"""`smetsbench provision --port P --role ESME|GSME|IHD|CAD`: give a board its identity.

    from smetsbench.tools.provision import provision
    result = provision("/dev/ttyUSB0", "ESME", bench="lab")
    result.record.eui, result.record.install_code, result.certificates

The identity comes from the bench directory (smetsbench.tools.benchdir): an EUI-64 (given, the
one the board already has on this bench, or a new one), KA and DS P-256 key pairs generated for
the device, their SMKI-profile device certificates from the bench's Device CA, a ZigBee install
code (and the link key it derives, for HAN joining) and initial register values. The device is
added to the bench hub's CHF device log (`admit_to_hub`: CCS01, as a supplier would, into the
CHF kept in the bench directory's hub/ that later runs' hubs carry on with). Over the link
(CONTROL "provision") the board gets its role, EUI, private keys, hub, the remote parties it
trusts and the install code; then (CONTROL "certificates") its own certificates, the bench root
CA and the remote parties' certificates, which it keeps in flash. Re-provisioning an EUI the
bench knows reuses its keys and certificates after checking that they still belong together.

Only roles the firmware emulates (its status lists them) can be provisioned on a board; for
the others the tool says so, nothing on it changes, and the identity stays in the bench for later.
`issue_identity` (CLI --issue-only) makes an identity without a board.
"""

import base64
import datetime
import json
import os
import re
import time

from cryptography.hazmat.primitives import serialization
from smets import roles
from smets.gbcs import envelope

from smetsbench.boards.transport import BoardError
from smetsbench.session import device_identity
from smetsbench.tools.benchdir import (
    BenchDir,
    BenchError,
    BoardEntry,
    fingerprint,
    parse_eui,
    parse_role,
)
from smetsbench.tools.errors import ToolError, cli_command
from smetsbench.tools.probe import firmware_status, open_link, restart

# A CONTROL frame carries at most link.MAX_PAYLOAD (about 4 KB): certificates go in batches.
_CERT_BATCH_CHARS = 2800


class ProvisionResult:
    def __init__(self, record, status=None, certificates=None, board=None, created=False,
                 admitted=None):
        self.record = record
        self.status = status
        self.certificates = certificates or {}
        self.board = board
        self.created = created
        self.admitted = admitted  # the CCS01 Result that put it in the CHF device log

    def summary(self):
        rec = self.record
        code = rec.install_code.hex().upper()
        lines = ["%s %s%s" % (rec.role, rec.eui.hex(), " (new identity)" if self.created
                              else " (existing identity)"),
                 "  KA certificate serial %032x" % rec.ka_cert.serial_number,
                 "  DS certificate serial %032x" % rec.ds_cert.serial_number,
                 "  install code %s (link key %s)" % (
                     " ".join(code[i:i + 4] for i in range(0, len(code), 4)),
                     rec.link_key.hex())]
        if self.status is not None:
            lines.append("  board: %s, firmware %s, %d certificates held" % (
                self.status.get("board"), self.status.get("firmware"), len(self.certificates)))
        if self.board is not None:
            lines.append("  bench.toml: board %r on %s" % (self.board.name, self.board.port))
        if self.admitted is not None:
            lines.append("  CHF device log: added by CCS01 (%s, counter %d)" % (
                self.admitted.outcome, envelope.decode(self.admitted.command).counter))
        return "\n".join(lines)


def admit_to_hub(bench, record, join_period=3600):
    """CCS01 for a device of the bench into the bench hub's CHF device log (kept in the bench
    directory), as the supplier's command through the DCC; the use case's Result."""
    from smets.zigbee.stack import split_install_code

    from smetsbench.session import Bench, DeviceHandle, gbcs_device_type

    bench = _load_bench(bench)
    with Bench(dcc=bench.dcc(), hub_dir=bench.hub_dir, hub_eui=bench.hub_eui) as session:
        handle = DeviceHandle(record.role, record.eui, record.ka_key, record.ds_key, None,
                              install_code=split_install_code(record.install_code))
        res = session.run(session.chf, "CCS01", eui=record.eui,
                          install_code=handle.install_code,
                          device_type=gbcs_device_type(record.role), join_period=join_period)
    if not res.passed:
        raise ToolError("CCS01 for %s into the hub's CHF device log failed:\n%s"
                        % (record.eui.hex(), res.report()))
    return res


def _load_bench(bench):
    return bench if isinstance(bench, BenchDir) else BenchDir.load(bench)


def issue_identity(bench, role, eui=None, init=None, new_keys=False):
    """The identity of (role, eui) in the bench: the existing one, checked, or a new one.
    Returns (DeviceRecord, created)."""
    bench = _load_bench(bench)
    role = parse_role(role)
    eui = parse_eui(eui) if isinstance(eui, str) else eui
    record = bench.device(eui) if eui is not None else None
    if record is not None and not new_keys:
        if record.role != role:
            raise BenchError("EUI %s is a %s on bench %s, not a %s: give another --eui, or "
                             "--new-keys to re-issue it as a %s"
                             % (eui.hex(), record.role, bench.name, role, role))
        record.check(bench.pki, "bench device %s" % eui.hex())
        if init is not None and init != record.info.get("init"):
            record.info["init"] = dict(init)
            bench.save_device_info(record)
        return record, False
    return bench.issue_identity(role, eui, init), True


def identity_for_board(bench, record):
    """The identity record sent in CONTROL provision (session.device_identity plus the install
    code; the firmware ignores keys it does not use)."""
    identity = device_identity(record.role, record.eui, record.ka_key, record.ds_key,
                               bench.hub_eui, bench.dcc())
    identity["install_code"] = record.install_code.hex()
    return identity


def provision_link(link, bench, record, init=None, timeout=30.0, set_time=True,
                   restart_first=True):
    """Provision the board on an open link with `record`; returns (status, {name: sha256}).
    A board that is already provisioned is restarted first (probe.restart), unless
    restart_first is False."""
    bench = _load_bench(bench)
    identity = identity_for_board(bench, record)
    before = link.control("status", timeout=timeout)
    # The board's status lists the roles its firmware emulates (smets.roles).
    supported = before.get("roles") or ()
    if record.role not in supported:
        raise ToolError("the smets firmware on %s does not emulate %s yet (it emulates: %s); "
                        "the board was not changed. The %s identity %s stays in %s for "
                        "when it does." % (link.url, record.role, ", ".join(supported),
                                           record.role, record.eui.hex(), bench.devices_dir))
    if restart_first and before.get("role"):
        restart(link)
    try:
        status = link.control("provision", identity=identity, init=init or {}, timeout=timeout)
    except BoardError as exc:
        raise ToolError("%s: provisioning failed: %s" % (link.url, exc)) from None
    expected = {}
    batches = [{}]
    size = 0
    for name, cert in bench.board_certificates(record).items():
        b64 = base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()
        expected[name] = fingerprint(cert)
        if size + len(b64) > _CERT_BATCH_CHARS and batches[-1]:
            batches.append({})
            size = 0
        batches[-1][name] = b64
        size += len(b64) + len(name) + 6
    try:
        held = None
        for i, batch in enumerate(batches):
            held = link.control("certificates", clear=(i == 0), put=batch, timeout=timeout)
        if set_time:
            link.control("time", epoch=int(time.time()))
    except BoardError as exc:
        raise ToolError("%s: storing the certificates failed: %s" % (link.url, exc)) from None
    if held != expected:
        wrong = sorted(n for n in expected if held.get(n) != expected[n])
        raise ToolError("%s: the board holds other certificates than were sent (%s)"
                        % (link.url, ", ".join(wrong) or "extra entries"))
    return status, held


def check_board(link, bench, status=None):
    """What does not match between the board on `link` and the bench's record of it: a list
    of problems (empty when the board holds the identity and certificates the bench issued)."""
    bench = _load_bench(bench)
    status = status or link.control("status")
    eui = status.get("eui")
    if not eui:
        return ["the board is not provisioned"]
    record = bench.device(eui)
    if record is None:
        return ["the board's EUI %s is not a device of bench %s (provisioned from another "
                "bench?)" % (eui, bench.name)]
    problems = []
    if record.role != status.get("role"):
        problems.append("the board is a %s, the bench issued %s as a %s"
                        % (status.get("role"), eui, record.role))
    try:
        record.check(bench.pki)
    except BenchError as exc:
        problems.append(str(exc))
    try:
        held = link.control("certificates")
    except BoardError as exc:
        return problems + ["cannot read the board's certificates: %s" % exc]
    expected = {n: fingerprint(c) for n, c in bench.board_certificates(record).items()}
    for usage in ("ka", "ds"):
        if held.get(usage) is None:
            problems.append("the board holds no %s certificate" % usage.upper())
        elif held[usage] != expected[usage]:
            problems.append("the board's %s certificate is not the one bench %s issued for %s: "
                            "re-provision it" % (usage.upper(), bench.name, eui))
    others = sorted(n for n in expected if n not in ("ka", "ds") and held.get(n) != expected[n])
    if others:
        problems.append("trusted certificates differ from the bench's: %s" % ", ".join(others))
    return problems


def provision(port, role, bench, eui=None, init=None, new_keys=False, name=None, board=None,
              link=None, out=None, timeout=30.0):
    """Give the board on `port` the identity (role, eui) from `bench` and record it in
    bench.toml. Returns a ProvisionResult; ToolError (BenchError) on any failure."""
    bench = _load_bench(bench)
    role = parse_role(role)
    eui = parse_eui(eui) if isinstance(eui, str) else eui
    own_link = link is None
    if own_link:
        link = open_link(port)
    try:
        status = firmware_status(link)
        if eui is None and not new_keys and status.get("eui"):
            known = bench.device(status["eui"])
            if known is not None and known.role == role:
                eui = known.eui  # re-provision the identity this board already has
        record, created = issue_identity(bench, role, eui, init, new_keys)
        status, held = provision_link(link, bench, record,
                                      init if init is not None else record.info.get("init"),
                                      timeout=timeout)
        admitted = admit_to_hub(bench, record)
    finally:
        if own_link:
            link.close()
    entry = bench.board(name) if name else bench.board(port)
    entry = BoardEntry(name or (entry.name if entry else bench.unique_board_name(role)), port,
                       board or (entry.board if entry else None) or status.get("board")
                       or "virtual", role, record.eui.hex(), entry.note if entry else None)
    bench.set_board(entry)
    bench.save()
    record.info["provisioned"] = {
        "at": datetime.datetime.now(datetime.UTC).replace(microsecond=0).isoformat(),
        "port": port, "board": entry.name, "firmware": status.get("firmware")}
    bench.save_device_info(record)
    result = ProvisionResult(record, status, held, entry, created, admitted)
    if out:
        out(result.summary())
    return result


# --- CLI -----------------------------------------------------------------------------------


def default_bench():
    """The bench a command uses without --bench: $SMETSBENCH_BENCH, ./bench.toml, ./bench."""
    env = os.environ.get("SMETSBENCH_BENCH")
    if env:
        return env
    if os.path.exists("bench.toml"):
        return "."
    return "bench"


def parse_init(items):
    """{key: value} from KEY=VALUE strings. A value that is a number becomes one, except digit
    strings of 10 or more digits or with a leading zero (identifiers such as MPANs), which stay
    text, as does anything else; KEY:=JSON gives any JSON value."""
    init = {}
    for item in items or ():
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ToolError("--init wants KEY=VALUE or KEY:=JSON, got %r" % item)
        if key.endswith(":"):
            try:
                init[key[:-1]] = json.loads(value)
            except ValueError as exc:
                raise ToolError("--init %s: not JSON: %s" % (item, exc)) from None
        elif re.fullmatch(r"-?(0|[1-9][0-9]{0,8})", value):
            init[key] = int(value)
        else:
            init[key] = value
    return init


def register(sub):
    p = sub.add_parser(
        "provision",
        help="give a board its identity: EUI, keys, SMKI-profile certificates, install code",
        description=__doc__.split("\n\n")[0],
    )
    p.add_argument("--port", help="the board's port (any pyserial URL)")
    p.add_argument("--role", required=True, type=str.upper,
                   choices=roles.bench_roles(), help="device role")
    p.add_argument("--eui", help="EUI-64 (16 hex digits); default: the board's identity on "
                   "this bench if it has one, else a new EUI")
    p.add_argument("--bench", default=None,
                   help="bench directory (default: $SMETSBENCH_BENCH, ., or ./bench)")
    p.add_argument("--name", help="board name in bench.toml (default: role-N)")
    p.add_argument("--board", help="board type for bench.toml (default: what the board says)")
    p.add_argument("--init", action="append", metavar="KEY=VALUE",
                   help="initial register value, e.g. --init mpan_import=1312345678111 "
                   "--init import_wh=1200 (repeatable; KEY:=JSON for any JSON value)")
    p.add_argument("--new-keys", action="store_true",
                   help="issue a fresh identity (keys, certificates, install code) even if the "
                   "bench has one for this EUI")
    p.add_argument("--issue-only", action="store_true",
                   help="only issue the identity in the bench; no board")
    p.set_defaults(func=_main)


@cli_command
def _main(args):
    bench = args.bench or default_bench()
    init = parse_init(args.init) if args.init else None
    if args.issue_only:
        record, created = issue_identity(bench, args.role, args.eui, init, args.new_keys)
        print(ProvisionResult(record, created=created).summary())
        return 0
    if not args.port:
        raise ToolError("--port is required (or --issue-only)")
    provision(args.port, args.role, bench, eui=args.eui, init=init, new_keys=args.new_keys,
              name=args.name, board=args.board, out=print)
    return 0
