"""`smetsbench deploy --port P`: install the smets firmware on a board running MicroPython.

    from smetsbench.tools.deploy import deploy
    result = deploy("/dev/ttyUSB0", board="esp32-devkitc")
    result.copied, result.removed, result.unchanged

Steps, each with its own error when it fails:
1. stop the firmware: a Ctrl-C outside a frame returns a running board to its REPL (the port
   must be free: a busy port is reported, not fought over);
2. ask the board, through `mpremote ... resume exec`, for its MicroPython version,
   `sys.implementation._mpy` (.mpy version and native architecture), `_machine` (chip) and
   the SHA-256 of every firmware file it holds; refuse a board without MicroPython, with a
   MicroPython older than its board definition's `min_version`, that cannot load the .mpy
   files mpy-cross makes, or whose chip is not the board definition's;
3. compile firmware/ with mpy-cross for that architecture (smetsbench.boards.build caches them) and
   copy with `mpremote cp` only the files whose hash differs; remove firmware files the new
   image does not have (a .py shadowing a .mpy); install /board.json;
4. check the hashes on the board again, restart it (machine.reset(); on a virtual board the
   process exits and comes back) and wait until the new firmware answers.

mpremote is used as a command (its Python API is not stable), always with `resume` so that
it does not soft-reset into the firmware it has just stopped.
"""

import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from smets.node import FIRMWARE_VERSION

from smetsbench.boards import build, heap
from smetsbench.boards.transport import BoardError
from smetsbench.tools import boarddefs
from smetsbench.tools.errors import ToolError, cli_command
from smetsbench.tools.probe import busy_message, check_port_exists, open_link, probe_repl

_MARK = "@@SMETS@@"

# Runs on the board (MicroPython, also the unix port): facts and firmware file hashes.
_SCAN = """
import sys, os, json
try:
    import hashlib, binascii
except ImportError:
    hashlib = None
def _h(p):
    if hashlib is None:
        return None
    h = hashlib.sha256()
    b = bytearray(512)
    with open(p, 'rb') as f:
        while True:
            n = f.readinto(b)
            if not n:
                break
            h.update(b if n == 512 else b[:n])
    return binascii.hexlify(h.digest()).decode()
def _walk(d, out):
    try:
        ents = list(os.ilistdir(d))
    except OSError:
        return
    for e in ents:
        p = d + '/' + e[0]
        if e[1] & 0x4000:
            _walk(p, out)
        else:
            out[p] = _h(p)
_f = {}
for _p in ('main.py', 'boot.py', 'board.json', 'romfs.img'):
    try:
        _f[_p] = _h(_p)
    except OSError:
        pass
for _d in ('lib/smets', 'lib/umqtt'):
    _walk(_d, _f)
_i = sys.implementation
_rom = None
try:
    import vfs
    if hasattr(vfs, 'rom_ioctl') and vfs.rom_ioctl(1) > 0:
        _dev = vfs.rom_ioctl(2, 0)
        _rom = {'size': _dev.ioctl(4, 0) * _dev.ioctl(5, 0) if hasattr(_dev, 'ioctl')
                else len(_dev), 'sha256': None}
        if not hasattr(_dev, 'ioctl') and hashlib and bytes(_dev[:3]) == b'\xd2\xcd\x31':
            # The image in the partition: header, its length (7-bit groups), the records.
            _n, _k = 0, 3
            while True:
                _n = (_n << 7) | (_dev[_k] & 0x7f)
                _k += 1
                if not _dev[_k - 1] & 0x80:
                    break
            _h = hashlib.sha256()
            _h.update(memoryview(_dev)[:_k + _n])
            _rom['sha256'] = binascii.hexlify(_h.digest()).decode()
    _vfsrom = hasattr(vfs, 'VfsRom')
except ImportError:
    _vfsrom = False
# Whether the MicroPython image has smets frozen in: import it from .frozen alone, with a
# running firmware's own smets (from ROM or lib) set aside meanwhile.
_path, _held = sys.path[:], sys.modules.pop('smets', None)
sys.path[:] = ['.frozen']
try:
    import smets
    _frozen = True
except ImportError:
    _frozen = False
sys.path[:] = _path
sys.modules.pop('smets', None)
if _held is not None:
    sys.modules['smets'] = _held
import gc
gc.collect()
# A line per file: one JSON text of every hash would need a block of several KB of a heap the
# firmware's .mpy code may be filling.
for _p in _f:
    print('@@F@@%s %s' % (_p, _f[_p]))
print('@@SMETS@@' + json.dumps({'name': _i.name, 'version': list(_i.version[:3]),
    'mpy': getattr(_i, '_mpy', 0), 'machine': getattr(_i, '_machine', ''),
    'platform': sys.platform, 'rom_partition': _rom, 'vfsrom': _vfsrom,
    'frozen': _frozen, 'heap_free': gc.mem_free() if hasattr(gc, 'mem_free') else None})
    + '@@')
"""

_PREPARE = """
import os
for _d in %r:
    try:
        os.mkdir(_d)
    except OSError:
        pass
for _p in %r:
    try:
        os.remove(_p)
    except OSError:
        pass
"""

# machine.reset() on an ESP32 (after mpremote has let go); the unix port has no machine.reset:
# the process exits and the virtual board's supervisor starts it again, like a reboot.
_RESTART = """
import sys, time
time.sleep_ms(100)
try:
    import machine
    machine.reset()
except (ImportError, AttributeError):
    pass
sys.exit(0)
"""


class DeployResult:
    def __init__(self):
        self.port = None
        self.board = None
        self.micropython = None
        self.arch = None
        self.code = None
        self.heap = None
        self.copied = []
        self.removed = []
        self.unchanged = 0
        self.firmware = None
        self.seconds = None

    def summary(self):
        return ("%s: MicroPython %s (%s), code in %s, %d file(s) copied, %d removed, "
                "%d unchanged; firmware %s running" % (
                    self.port, self.micropython, self.arch or "bytecode only", self.code,
                    len(self.copied),
                    len(self.removed), self.unchanged, self.firmware or "not restarted"))


def mpremote(port, *args, timeout=60.0):
    """Run `mpremote connect PORT resume ARGS...`; returns stdout. ToolError on failure."""
    cmd = [sys.executable, "-m", "mpremote", "connect", port, "resume", *args]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        raise ToolError("mpremote on %s did not finish within %.0f s (board hung, or not "
                        "running MicroPython?): %s" % (port, timeout, _tail(exc.stdout))) \
            from None
    if proc.returncode != 0:
        text = (proc.stderr or "") + (proc.stdout or "")
        lowered = text.lower()
        if "in use by another program" in lowered or "busy" in lowered \
                or "could not exclusively lock" in lowered:
            raise ToolError(busy_message(port))
        if "could not enter raw repl" in lowered or "failed to access" in lowered \
                or "no device found" in lowered:
            raise ToolError("no MicroPython REPL on %s (%s): the board has no MicroPython "
                            "(flash it with `smetsbench flash`), is in its ROM bootloader, or "
                            "another program answers" % (port, _tail(text)))
        raise ToolError("mpremote failed on %s: %s" % (port, _tail(text)))
    return proc.stdout


def _tail(text, n=400):
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    text = (text or "").strip()
    return text[-n:] if text else "no output"


def _parse_scan(port, stdout):
    start = stdout.rfind(_MARK)
    end = stdout.rfind("@@")
    if start < 0 or end <= start:
        raise ToolError("%s: unexpected answer from the board's REPL: %s" % (port, _tail(stdout)))
    try:
        info = json.loads(stdout[start + len(_MARK):end])
    except ValueError:
        raise ToolError("%s: unreadable answer from the board's REPL: %s"
                        % (port, _tail(stdout))) from None
    files = info.setdefault("files", {})
    for line in stdout.splitlines():
        if line.startswith("@@F@@"):
            path, _, digest = line[5:].strip().rpartition(" ")
            files[path] = None if digest == "None" else digest
    return info


def stop_firmware(port, settle=0.3):
    """Return a board to its REPL: Ctrl-C outside a frame. Returns the firmware's status if it
    answered first (None when no smets firmware was running, but a MicroPython prompt did).
    ToolError when neither answers."""
    link = open_link(port)
    try:
        try:
            status = link.control("status", timeout=1.5)
        except BoardError:
            status = None
        if status is not None:
            try:
                link.interrupt()
            except Exception as exc:  # noqa: BLE001 - a port that fails here fails mpremote too
                raise ToolError("%s: cannot send Ctrl-C: %s" % (port, exc)) from None
            time.sleep(settle)
    finally:
        link.close()
    if status is None:
        kind, data = probe_repl(port)
        if kind != "repl":
            raise ToolError("no MicroPython REPL on %s (%s): the board has no MicroPython "
                            "(flash it with `smetsbench flash`), is in its ROM bootloader, or "
                            "another program answers" % (
                                port, "%d other bytes: %r" % (len(data), data[:40]) if data
                                else "no answer to Ctrl-C"))
    return status


def scan(port, timeout=60.0):
    """What the board's MicroPython says about itself and its firmware files (via mpremote)."""
    return _parse_scan(port, mpremote(port, "exec", _SCAN, timeout=timeout))


def check_board_python(port, info, defn):
    """ToolError unless the board's MicroPython can run this firmware and is the board
    definition's chip. Returns the -march to compile for (None: bytecode only)."""
    if info.get("name") != "micropython":
        raise ToolError("%s runs %s, not MicroPython: deploy needs MicroPython on the board"
                        % (port, info.get("name")))
    version = boarddefs.parse_version(info.get("version"))
    mpy_version, _sub, arch = boarddefs.decode_mpy(info.get("mpy"))
    if defn is not None:
        minimum = boarddefs.parse_version(defn["micropython"]["min_version"])
        if version < minimum:
            raise ToolError("%s runs MicroPython %s, older than %s which board %s needs: flash a "
                            "newer MicroPython (%s) with `smetsbench flash`" % (
                                port, boarddefs.version_text(version),
                                boarddefs.version_text(minimum), defn["name"],
                                defn["micropython"].get("firmware", "see micropython.org")))
        want_arch = defn["micropython"].get("mpy_arch")
        if want_arch and arch and want_arch != arch:
            raise ToolError("%s runs MicroPython for %s, but board %s (%s) runs %s: wrong "
                            "--board, or another board on this port"
                            % (port, arch, defn["name"], defn.get("chip"), want_arch))
        chip = boarddefs.chip_from_machine(info.get("machine"))
        if chip and defn.get("chip") and chip != defn["chip"].lower():
            raise ToolError("%s is a %s (%s), but board %s has a %s: wrong --board, or another "
                            "board on this port" % (port, chip, info.get("machine"),
                                                    defn["name"], defn["chip"]))
        if defn.get("chip") is None and info.get("platform") != "linux" \
                and info.get("platform") != "darwin":
            raise ToolError("%s is a %s board, not a virtual one: give its --board"
                            % (port, info.get("platform")))
    if mpy_version != boarddefs.MPY_VERSION:
        raise ToolError("%s runs MicroPython %s, which loads .mpy version %d; this mpy-cross "
                        "makes version %d (MicroPython 1.19 or newer): flash a newer "
                        "MicroPython" % (port, boarddefs.version_text(version), mpy_version,
                                         boarddefs.MPY_VERSION))
    return arch


def _guess_board(info):
    if info.get("platform") in ("linux", "darwin"):
        return boarddefs.load("virtual")
    chip = boarddefs.chip_from_machine(info.get("machine"))
    for name in boarddefs.names():
        defn = boarddefs.load(name)
        if chip and (defn.get("chip") or "").lower() == chip:
            return defn
    raise ToolError("cannot tell which board this is (%s): give --board (one of %s)"
                    % (info.get("machine"), ", ".join(boarddefs.names())))


# Where the firmware's code goes on a board, best first: frozen into the MicroPython image
# (firmware/manifest.py), a ROMFS partition (MicroPython >= 1.25 built with one: bytecode runs
# in place from flash), a virtual board's ROM file (the unix port maps romfs.img the same way),
# or .mpy files on the filesystem, which the board loads into its heap.
FROZEN, ROMFS, ROMFS_FILE, FILESYSTEM = "frozen", "romfs", "romfs-file", "filesystem"


def code_placement(info, asked="auto"):
    """Where this board's firmware code goes (one of the four above), from its scan; `asked`
    "filesystem" keeps .mpy files on the filesystem even where a ROM could take them."""
    if asked == FILESYSTEM and not info.get("frozen"):
        return FILESYSTEM
    if info.get("frozen"):
        return FROZEN
    if info.get("rom_partition"):
        return ROMFS
    if info.get("vfsrom") and info.get("platform") in ("linux", "darwin"):
        return ROMFS_FILE
    return FILESYSTEM


def image(defn, arch, placement=FILESYSTEM):
    """{board path: bytes} to install on the filesystem: main.py, boot.py, /board.json and the
    code where it goes there (.mpy files, or a virtual board's romfs.img)."""
    if placement == FILESYSTEM:
        files = build.image_files(march=arch)
    else:
        files = build.image_files(march=arch, romfs=placement == ROMFS_FILE)
        files = {p: d for p, d in files.items() if not p.startswith("lib/")}
    if defn is not None:
        files["board.json"] = boarddefs.board_json(defn)
    return files


def _sha(data):
    return hashlib.sha256(data).hexdigest()


def deploy(port, board=None, restart=True, out=None, timeout=120.0, boot_timeout=30.0,
           code="auto", role=None):
    """Install the firmware on the board on `port` (see the module docstring); returns a
    DeployResult. `board`: a board definition name or path (default: from the board's chip);
    `code`: "auto" (the best place the board has, `code_placement`) or "filesystem"; `role`:
    the role the board must be able to hold (default: its provisioned role, else ESME)."""
    t0 = time.monotonic()
    check_port_exists(port)
    defn = boarddefs.load(board) if board else None
    result = DeployResult()
    result.port = port
    say = out or (lambda text: None)
    before = stop_firmware(port)
    role = role or (before or {}).get("role") or "ESME"
    say("%s: %s" % (port, "stopped smets firmware %s" % before.get("firmware") if before
                    else "no smets firmware answered; using the REPL"))
    info = scan(port, timeout=timeout)
    defn = defn or _guess_board(info)
    result.board = defn["name"]
    arch = check_board_python(port, info, defn)
    result.micropython = boarddefs.version_text(info.get("version"))
    result.arch = arch
    result.code = placement = code_placement(info, code)
    files = image(defn, arch, placement)
    if before is None:  # a bare REPL: its free heap is what the firmware will have
        _precheck_heap(port, info, placement, files, role)
    held = info.get("files") or {}
    changed = sorted(p for p, data in files.items() if held.get(p) != _sha(data))
    stale = sorted(p for p in held if p not in files and (
        p.startswith(("lib/smets/", "lib/umqtt/")) and p.endswith((".py", ".mpy"))
        or p == build.ROMFS_IMAGE))
    if placement == ROMFS:
        _deploy_romfs(port, info["rom_partition"], build.romfs_image(arch), timeout, say)
    result.unchanged = len(files) - len(changed)
    say("%s: MicroPython %s %s, board %s: %d to copy, %d to remove, %d unchanged" % (
        port, result.micropython, arch or "", defn["name"], len(changed), len(stale),
        result.unchanged))
    if changed or stale:
        _copy(port, files, changed, stale, timeout, say)
        after = scan(port, timeout=timeout).get("files") or {}
        # None: the board has no hashlib to check with.
        wrong = [p for p in changed if p not in after
                 or after[p] not in (None, _sha(files[p]))]
        if wrong:
            raise ToolError("%s: after copying, %d file(s) differ on the board (%s): flash "
                            "full or failing?" % (port, len(wrong), ", ".join(wrong[:5])))
        left = [p for p in stale if p in after]
        if left:
            raise ToolError("%s: could not remove %s" % (port, ", ".join(left)))
    result.copied = changed
    result.removed = stale
    if restart:
        mpremote(port, "exec", "--no-follow", _RESTART, timeout=timeout)
        result.firmware = _wait_firmware(port, boot_timeout)
        if result.firmware != FIRMWARE_VERSION:
            raise ToolError("%s restarted with smets firmware %s, expected %s"
                            % (port, result.firmware, FIRMWARE_VERSION))
        result.heap = _check_heap(port, placement, role)
    result.seconds = time.monotonic() - t0
    say(result.summary())
    return result


def _heap_advice(placement):
    if placement == FILESYSTEM:
        return ("put the code in a ROMFS partition (MicroPython >= 1.25 built with one) or "
                "freeze it into the MicroPython image (firmware/manifest.py)")
    return "use a board with more RAM (PSRAM), or freeze the code (firmware/manifest.py)"


def _precheck_heap(port, info, placement, files, role):
    """Refuse before copying anything a board whose free heap cannot hold even the bytecode
    of .mpy files on the filesystem (it is loaded into the heap) and a role's data."""
    free = info.get("heap_free")
    if free is None:
        return
    need = heap.DATA_HEAP_BUDGET
    what = "%d KB for the %s's data" % (need // 1024, role)
    if placement == FILESYSTEM:
        code = sum(len(d) for p, d in files.items() if p.startswith("lib/"))
        need += code
        what = "%d KB of .mpy bytecode loaded into the heap and %s" % (code // 1024, what)
    if free < need:
        raise ToolError("%s has %d KB of heap free, less than the %d KB it needs (%s): %s"
                        % (port, free // 1024, need // 1024, what, _heap_advice(placement)))


def _check_heap(port, placement, role):
    """After the restart: load the role's code on the board and check that the heap left can
    hold the role's data. Returns the board's `heap` reply."""
    link = open_link(port)
    try:
        reply = link.control("heap", load=role, timeout=30)
    except BoardError as exc:
        raise ToolError("%s: the firmware cannot load the %s's code: %s (%s)"
                        % (port, role, exc, _heap_advice(placement))) from None
    finally:
        link.close()
    free = reply.get("free")
    if free is not None and free < heap.DATA_HEAP_BUDGET:
        raise ToolError("%s: the firmware is installed, but with the %s's code loaded (code in "
                        "%s) only %d KB of heap are left, less than the %d KB its data needs: "
                        "%s" % (port, role, placement, free // 1024,
                                heap.DATA_HEAP_BUDGET // 1024, _heap_advice(placement)))
    return reply


def _deploy_romfs(port, partition, rom, timeout, say):
    """Write the ROMFS image to the board's ROM partition with `mpremote romfs deploy`, unless
    the partition already holds it."""
    if partition.get("sha256") == _sha(rom):
        say("%s: ROMFS partition holds this image already" % port)
        return
    if len(rom) > partition["size"]:
        raise ToolError("%s: the firmware's ROMFS image (%d bytes) does not fit the board's "
                        "ROM partition (%d bytes): freeze it into the MicroPython image instead "
                        "(firmware/manifest.py)" % (port, len(rom), partition["size"]))
    with tempfile.TemporaryDirectory(prefix="smetsbench-romfs-") as tmp:
        path = Path(tmp) / build.ROMFS_IMAGE
        path.write_bytes(rom)
        say("  romfs deploy %d bytes" % len(rom))
        mpremote(port, "romfs", "deploy", str(path), timeout=timeout)


def _copy(port, files, changed, stale, timeout, say):
    staging = Path(tempfile.mkdtemp(prefix="smetsbench-deploy-"))
    try:
        dirs = set()
        for path in changed:
            parts = path.split("/")[:-1]
            for i in range(1, len(parts) + 1):
                dirs.add("/".join(parts[:i]))
            local = staging / path
            local.parent.mkdir(parents=True, exist_ok=True)
            local.write_bytes(files[path])
        args = ["exec", _PREPARE % (sorted(dirs, key=lambda d: d.count("/")), stale)]
        for path in changed:
            args += ["+", "fs", "cp", "-f", str(staging / path), ":" + path]
        for path in changed:
            say("  copy %s" % path)
        for path in stale:
            say("  remove %s" % path)
        mpremote(port, *args, timeout=timeout)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _wait_firmware(port, timeout):
    deadline = time.monotonic() + timeout
    last = None
    link = None
    try:
        while time.monotonic() < deadline:
            if link is None or link.error:
                if link is not None:
                    link.close()
                try:
                    link = open_link(port, open_timeout=1.0)
                except ToolError as exc:
                    link, last = None, exc
                    time.sleep(0.3)
                    continue
            # Short polls: a request sent while the board is still rebooting is lost.
            try:
                return link.control("status", timeout=0.5)["firmware"]
            except BoardError as exc:
                last = exc
    finally:
        if link is not None:
            link.close()
    raise ToolError("%s: the firmware did not come up within %.0f s after the restart (%s)"
                    % (port, timeout, last))


def register(sub):
    p = sub.add_parser(
        "deploy",
        help="compile the firmware with mpy-cross and copy what changed to a board (mpremote)",
        description=__doc__.split("\n\n")[0],
    )
    p.add_argument("--port", required=True, help="the board's port (any pyserial URL)")
    p.add_argument("--board", help="board definition name or .json path (default: from the "
                   "board's chip; %s)" % ", ".join(boarddefs.names()))
    p.add_argument("--no-restart", action="store_true",
                   help="leave the board at its REPL after copying")
    p.add_argument("--code", choices=("auto", FILESYSTEM), default="auto",
                   help="where the firmware's code goes: auto = frozen, else a ROMFS partition "
                   "(or a virtual board's ROM file), else .mpy files; filesystem = .mpy files")
    p.add_argument("--role", help="the role the board must be able to hold (default: its "
                   "provisioned role, else ESME); deploy refuses a board whose heap cannot")
    p.add_argument("--timeout", type=float, default=120.0, help="seconds per mpremote call")
    p.set_defaults(func=_main)


@cli_command
def _main(args):
    deploy(args.port, board=args.board, restart=not args.no_restart, out=print,
           timeout=args.timeout, code=args.code, role=args.role)
    return 0
