"""`smetsbench status`: each board of the bench (or given ports): role, identity, firmware, heap.

    from smetsbench.tools.status import bench_status, board_status
    for row in bench_status("lab"):
        print(row["name"], row["state"], row.get("problems"))

A row's state is "ok", or what is wrong: "missing" (no such port), "busy", "unreachable"
(the port or rfc2217 server cannot be opened), "no firmware"
(MicroPython without the smets firmware, or silence), "old firmware", "unprovisioned", or
"mismatch" (the board's role, EUI or certificates are not what the bench issued for it).
"""

import json

from smetsbench.tools.benchdir import BenchDir
from smetsbench.tools.errors import ToolError, cli_command
from smetsbench.tools.probe import check_firmware_version, firmware_status, open_link
from smetsbench.tools.provision import check_board, default_bench


def _state_of_error(text):
    lowered = text.lower()
    if "no such port" in lowered:
        return "missing"
    if "busy" in lowered:
        return "busy"
    if "cannot open" in lowered or "cannot use" in lowered:
        return "unreachable"
    if "older than" in lowered:
        return "old firmware"
    return "no firmware"


def board_status(port, bench=None, expect=None, timeout=3.0):
    """Status row of the board on `port`: a dict with port, state, problems and, when the
    firmware answers, role, eui, firmware, board, heap_free/heap_total and the raw status.
    With `bench`, also checks the board's identity and certificates against the bench;
    `expect` (a BoardEntry) adds its name, board type and expected role/EUI."""
    row = {"port": port, "state": "ok", "problems": []}
    if expect is not None:
        row.update(name=expect.name, board=expect.board, expected_role=expect.role,
                   expected_eui=expect.eui)
    try:
        link = open_link(port)
    except ToolError as exc:
        row.update(state=_state_of_error(str(exc)), problems=[str(exc)])
        return row
    try:
        try:
            status = firmware_status(link, timeout=timeout, require_current=False)
        except ToolError as exc:
            row.update(state="no firmware", problems=[str(exc)])
            return row
        heap_free = status.get("heap_free")
        heap_total = heap_free + status["heap_alloc"] if heap_free is not None else None
        row.update(role=status.get("role"), eui=status.get("eui"),
                   firmware=status.get("firmware"), implementation=status.get("implementation"),
                   heap_free=heap_free, heap_total=heap_total, status=status)
        row.setdefault("board", status.get("board"))
        try:
            check_firmware_version(port, status)
        except ToolError as exc:
            row.update(state="old firmware", problems=[str(exc)])
            return row
        if not status.get("role"):
            row.update(state="unprovisioned",
                       problems=["not provisioned: `smetsbench provision --port %s --role ROLE`"
                                 % port])
            return row
        problems = []
        if expect is not None:
            if expect.role and expect.role != status.get("role"):
                problems.append("bench.toml says %s, the board is a %s"
                                % (expect.role, status.get("role")))
            if expect.eui and expect.eui != status.get("eui"):
                problems.append("bench.toml says EUI %s, the board has %s"
                                % (expect.eui, status.get("eui")))
        if bench is not None:
            problems += check_board(link, bench, status)
        if problems:
            row.update(state="mismatch", problems=problems)
        return row
    finally:
        link.close()


def bench_status(bench, ports=None, timeout=3.0):
    """Status rows for every board of the bench (and any extra `ports`)."""
    bench = bench if isinstance(bench, BenchDir) else BenchDir.load(bench)
    rows = []
    for entry in bench.boards:
        rows.append(board_status(entry.port, bench, entry, timeout))
    for port in ports or ():
        if bench.board(port) is None:
            rows.append(board_status(port, bench, None, timeout))
    return rows


def format_rows(rows):
    header = ("NAME", "PORT", "BOARD", "ROLE", "EUI", "FIRMWARE", "HEAP FREE", "STATE")
    table = [header]
    for r in rows:
        heap = ("%d/%d KB" % (r["heap_free"] // 1024, r["heap_total"] // 1024)
                if r.get("heap_free") is not None else "-")
        table.append((r.get("name") or "-", r["port"], r.get("board") or "-",
                      r.get("role") or "-", r.get("eui") or "-", r.get("firmware") or "-",
                      heap, r["state"]))
    widths = [max(len(str(row[i])) for row in table) for i in range(len(header))]
    lines = ["  ".join(str(v).ljust(w) for v, w in zip(row, widths, strict=True)).rstrip()
             for row in table]
    for r in rows:
        for problem in r["problems"]:
            lines.append("%s: %s" % (r.get("name") or r["port"], problem))
    return "\n".join(lines)


def register(sub):
    p = sub.add_parser(
        "status",
        help="show each board's role, identity, firmware version and heap",
        description=__doc__.split("\n\n")[0],
    )
    p.add_argument("--bench", help="bench directory or bench.toml (default: $SMETSBENCH_BENCH, "
                   "., or ./bench when present)")
    p.add_argument("--port", action="append", default=[],
                   help="a board's port (repeatable); without --bench only these are shown")
    p.add_argument("--json", action="store_true", help="print JSON rows")
    p.add_argument("--timeout", type=float, default=3.0, help="seconds to wait per board")
    p.set_defaults(func=_main)


@cli_command
def _main(args):
    bench = args.bench
    if bench is None and not args.port:
        bench = default_bench()
    if bench is not None:
        rows = bench_status(bench, args.port, args.timeout)
    else:
        rows = [board_status(p, None, None, args.timeout) for p in args.port]
    if args.json:
        print(json.dumps([{k: v for k, v in r.items() if k != "status"} for r in rows],
                         indent=2))
    else:
        print(format_rows(rows) if rows else "no boards in the bench (add one with "
              "`smetsbench provision`)")
    return 0 if all(r["state"] == "ok" for r in rows) else 1

