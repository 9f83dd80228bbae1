"""How much of a board's heap is code and how much is data.

A board's live heap (CONTROL `heap`) holds what its code costs once loaded (function and class
objects, module dictionaries, interned names; with .mpy files on the filesystem, the bytecode
too) beside what its device keeps (registers, logs, key tables, buffers). The code part is
measured here by importing the board's resident modules into a fresh MicroPython unix port with
the code placed as on the board (a ROMFS image, or .mpy files on the filesystem); the data heap
is the rest. On the 64-bit unix port objects hold 8-byte pointers, so these figures bound an
ESP32's (4-byte pointers) from above.
"""

import subprocess
import tempfile
from pathlib import Path

from smetsbench.boards import build
from smetsbench.boards.virtual import find_micropython, unix_port_arch

_MARK = "@@HEAP@@"

# The heap a role's data may take (registers, logs, key tables, buffers and the temporaries of
# one command): the design target, which `smetsbench bench` measures each role against and
# `deploy` requires a board to have left once the role's code is loaded.
DATA_HEAP_BUDGET = 64 * 1024

# Mounts the ROM image the way firmware/main.py does, then imports the modules given.
_PROBE = """
import gc, sys
try:
    import os, vfs
    os.stat('romfs.img')
    rom = bytearray(open('romfs.img', 'rb').read())
    vfs.mount(vfs.VfsRom(rom), '/rom')
    sys.path.insert(0, '/rom/lib')
except OSError:
    sys.path.append('lib')
gc.collect()
before = gc.mem_alloc()
for name in %r:
    __import__(name)
gc.collect()
print('%s%%d' %% (gc.mem_alloc() - before))
"""


class HeapError(RuntimeError):
    pass


def smallest(works, lo_kb, hi_kb, step_kb=8):
    """Smallest heap (KB, to `step_kb`) in (lo_kb, hi_kb] for which `works(kb)` holds, by
    bisection; None when even `hi_kb` does not. Boards too small for their role report
    MemoryErrors on the link while it runs: expected here, so they are not logged."""
    import logging

    board_log = logging.getLogger("smetsbench.link")
    level = board_log.level
    board_log.setLevel(logging.CRITICAL)
    try:
        if not works(hi_kb):
            return None
        while hi_kb - lo_kb > step_kb:
            mid = (lo_kb + hi_kb) // 2
            if works(mid):
                hi_kb = mid
            else:
                lo_kb = mid
        return hi_kb
    finally:
        board_log.setLevel(level)


def code_heap(modules, romfs=True, heap="4M"):
    """Bytes of heap that importing `modules` (firmware module names, e.g. from CONTROL `heap`)
    takes on the MicroPython unix port, with the code in a ROMFS image (`romfs`) or as .mpy
    files on the filesystem."""
    exe = find_micropython()
    if exe is None:
        raise HeapError("the MicroPython unix port is not installed")
    names = [m for m in modules if m == "smets" or m.startswith("smets.")]
    arch = unix_port_arch()
    with tempfile.TemporaryDirectory(prefix="smetsbench-heap-") as tmp:
        root = Path(tmp)
        for name, data in build.image_files(march=arch, romfs=romfs).items():
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        probe = root / "probe.py"
        probe.write_text(_PROBE % (names, _MARK))
        proc = subprocess.run([exe, "-X", "heapsize=%s" % heap, str(probe)], cwd=root,
                              capture_output=True, text=True, timeout=60)
    out = proc.stdout
    if proc.returncode != 0 or _MARK not in out:
        raise HeapError("importing %d modules failed: %s" % (
            len(names), (proc.stderr or out).strip()[-400:]))
    return int(out.rsplit(_MARK, 1)[1].split()[0])


def split(heap_reply, romfs=None):
    """{"live", "code", "data", "modules"} from a board's CONTROL `heap` reply: the code part
    measured with the code placed as the board says (`romfs` overrides)."""
    if heap_reply.get("alloc") is None:
        raise HeapError("the board reports no heap (not MicroPython)")
    in_rom = heap_reply.get("code") == "romfs" if romfs is None else romfs
    code = code_heap(heap_reply["modules"], romfs=in_rom)
    live = heap_reply["alloc"]
    return {"live": live, "code": code, "data": live - code,
            "modules": len(heap_reply["modules"])}


def role_figures(roles=None, heap="256K", out=None):
    """[{"role", "live", "code", "data", "code_filesystem", "modules"}] for each role, each
    provisioned on a fresh virtual board with its code in ROMFS (`roles`: default every role
    this firmware emulates that the bench drives as a board)."""
    from smets import roles as role_table

    from smetsbench.session import Bench

    rows = []
    for role in roles or role_table.names(role_table.BENCH):
        if role not in role_table.emulated():
            continue
        with Bench(heap=heap) as bench:
            device = bench.add_virtual(role)
            reply = device.link.control("heap")
        row = split(reply)
        row["role"] = role
        row["code_filesystem"] = code_heap(reply["modules"], romfs=False)
        rows.append(row)
        if out:
            out("  %s: %d B live" % (role, row["live"]))
    return rows


def print_table(rows, out=print):
    out("%-8s %10s %10s %10s %14s   %s" % ("role", "live B", "code B", "data B",
                                          "code .mpy B", "data budget"))
    out("-" * 72)
    for r in rows:
        out("%-8s %10d %10d %10d %14d   %s" % (
            r["role"], r["live"], r["code"], r["data"], r["code_filesystem"],
            "ok (<= %d KB)" % (DATA_HEAP_BUDGET // 1024) if r["data"] <= DATA_HEAP_BUDGET
            else "OVER %d KB" % (DATA_HEAP_BUDGET // 1024)))
    out("code: heap the resident modules take loaded from ROMFS (bytecode in place); code .mpy: "
        "the same modules as .mpy files on the filesystem (bytecode in the heap); data: live "
        "minus code. 64-bit unix port: an ESP32's 4-byte pointers make both smaller.")
