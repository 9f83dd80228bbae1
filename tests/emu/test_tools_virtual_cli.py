"""`smetsbench virtual`: a standalone virtual board that other tools use like a real one."""

import os
import signal
import subprocess
import sys
import time

import pytest
from smetsbench.boards.virtual import find_micropython
from smetsbench.tools.benchinit import bench_init
from smetsbench.tools.probe import open_link

pytestmark = pytest.mark.skipif(find_micropython() is None,
                                reason="needs the MicroPython unix port")


def _start(args, cwd):
    proc = subprocess.Popen([sys.executable, "-m", "smetsbench.cli", "virtual", *args],
                            cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    port = proc.stdout.readline().strip()
    if not port:
        proc.kill()
        raise AssertionError("no port printed: %s" % proc.stderr.read())
    return proc, port


def _stop(proc):
    proc.send_signal(signal.SIGINT)
    try:
        out, err = proc.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise
    return proc.returncode, err


def _status(port):
    link = open_link(port)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                return link.control("status", timeout=1.0)
            except Exception:
                if time.monotonic() > deadline:
                    raise
    finally:
        link.close()


def test_virtual_prints_its_port_serves_until_interrupted_and_keeps_its_flash(tmp_path):
    port_file = tmp_path / "port"
    proc, port = _start(["--role", "ESME", "--dir", "esme", "--port-file", str(port_file)],
                        tmp_path)
    try:
        assert port.startswith("/dev/") and os.path.exists(port)
        assert port_file.read_text().strip() == port
        st = _status(port)
        assert st["role"] is None and st["board"] == "virtual"
    finally:
        code, err = _stop(proc)
    assert code == 0, err
    assert "provision it with: smetsbench provision --port %s --role ESME" % port in err
    assert "virtual board stopped" in err
    assert not port_file.exists()
    assert (tmp_path / "esme" / "main.py").exists()


def test_virtual_with_a_bench_is_provisioned_and_remembers_it(tmp_path):
    bench = bench_init(tmp_path / "bench")
    proc, port = _start(["--role", "esme", "--dir", "esme", "--bench", str(bench.path)],
                        tmp_path)
    try:
        st = _status(port)
        assert st["role"] == "ESME"
        eui = st["eui"]
    finally:
        code, err = _stop(proc)
    assert code == 0, err
    assert "ESME %s (new identity)" % eui in err
    # Started again on the same directory (the board's flash), it has the same identity.
    proc, port = _start(["--role", "ESME", "--dir", "esme"], tmp_path)
    try:
        st = _status(port)
        assert (st["role"], st["eui"]) == ("ESME", eui)
    finally:
        _stop(proc)


def test_virtual_without_firmware_is_a_bare_repl_for_deploy(tmp_path):
    proc, port = _start(["--role", "ESME", "--dir", "bare", "--no-firmware"], tmp_path)
    try:
        deploy = subprocess.run([sys.executable, "-m", "smetsbench.cli", "deploy", "--port",
                                 port], capture_output=True, text=True, timeout=120)
        assert deploy.returncode == 0, deploy.stderr
        assert "firmware" in deploy.stdout and "running" in deploy.stdout
        assert _status(port)["board"] == "virtual"
    finally:
        code, err = _stop(proc)
    assert "`smetsbench deploy --port %s` installs it" % port in err


def test_mpremote_works_first_time_on_a_running_board(tmp_path):
    # As a user does it: a virtual board that has just booted its firmware, then mpremote at
    # once, with nothing sent to the board before (no Ctrl-C from the host first). mpremote's
    # Ctrl-C and Ctrl-A arrive together; the firmware must leave the Ctrl-A to the REPL.
    proc, port = _start(["--role", "ESME", "--dir", "esme"], tmp_path)
    try:
        _status(port)  # the app is up and owns the port

        def mpremote(*args):
            return subprocess.run([sys.executable, "-m", "mpremote", "connect", port, *args],
                                  capture_output=True, text=True, timeout=30)

        ls = mpremote("resume", "ls")
        assert ls.returncode == 0 and "main.py" in ls.stdout, ls.stdout + ls.stderr
        ex = mpremote("resume", "exec", "print(6 * 7)")
        assert ex.returncode == 0 and "42" in ex.stdout, ex.stdout + ex.stderr
        (tmp_path / "note.txt").write_text("hello board\n")
        cp = mpremote("resume", "cp", str(tmp_path / "note.txt"), ":note.txt")
        assert cp.returncode == 0, cp.stdout + cp.stderr
        cat = mpremote("resume", "cat", ":note.txt")
        assert cat.stdout == "hello board\n", cat.stdout + cat.stderr
        # And the meter comes back: main.py boots the firmware again.
        mpremote("resume", "exec", "--no-follow", "import main")
        assert _status(port)["firmware"]
    finally:
        _stop(proc)
