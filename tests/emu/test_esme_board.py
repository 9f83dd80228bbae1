"""An ESME on a virtual board, driven through the real serial path by the real host harness."""

import subprocess
import sys
import time

import pytest
from smetsbench.boards.transport import BoardError, BoardLink
from smetsbench.boards.virtual import find_micropython
from smetsbench.cli import demo
from smetsbench.session import Bench


# `smets_bench` and `esme` come from the smetsbench pytest plugin: a virtual board by default,
# the real board given with --board esme=PORT (or --bench-file) otherwise.
@pytest.fixture(scope="module")
def esme_init():
    return {"mpan_import": "1312345678111", "power_w": 500}


@pytest.fixture(scope="module")
def bench(smets_bench):
    return smets_bench


def test_demo_script_passes(bench, esme):
    lines = []
    results = demo.run_script(bench, esme, out=lines.append)
    failed = [r.report() for r in results if not r.passed]
    assert not failed, "\n".join(lines + failed)
    assert len(results) == len([s for s in demo.SCRIPT if not s[0].startswith("@")])


def test_board_status_reports_identity_and_heap(esme):
    st = esme.status()
    assert st["role"] == "ESME" and st["eui"] == esme.eui.hex()
    assert st["device"]["tunnel"] is not None
    if st["implementation"] == "micropython":
        assert st["heap_alloc"] + st["heap_free"] <= 256 * 1024


def test_garbage_on_the_line_is_counted_not_fatal(esme):
    before = esme.status()["link"]
    # Bytes outside any frame, then a frame too short to hold a CRC.
    esme.link._write(b"\x55" * 300 + b"\x7e\x01\x7e")
    # The board handles its input in order: this reply comes after it has seen the garbage.
    after = esme.status()["link"]
    assert after["garbage_bytes"] == before["garbage_bytes"] + 300
    assert after["too_short"] + after["bad_byte"] == before["too_short"] + before["bad_byte"] + 1
    assert after["frames"] > before["frames"]
    assert esme.status()["device"]["role"] == "ESME"


def test_power_cut_keeps_acknowledged_state(bench, esme):
    res = bench.run(esme, "ECS39a", mpan="1312345678999")
    assert res.passed, res.report()
    replayed = res.command
    boots = esme.board.boots
    esme.board.power_cut()
    deadline = time.time() + 10
    while esme.board.boots == boots and time.time() < deadline:
        time.sleep(0.05)
    assert esme.board.boots == boots + 1
    esme.link.control("status", timeout=10)
    bench.hub.wait_tunnel(esme.eui)
    res = bench.run(esme, "ECS40", mpan="1312345678999")
    assert res.passed, res.report()
    # The counter accepted before the power cut is still remembered: a replay is refused.
    log_before = esme.link.control("security_log")["count"]
    bench.hub.put(esme.eui, replayed)
    log_after = esme.link.control("security_log", n=1)
    assert log_after["count"] == log_before + 1
    assert log_after["entries"][-1]["event"] == "replay"


@pytest.mark.skipif(find_micropython() is None, reason="needs the MicroPython unix port")
def test_ctrl_c_gives_the_repl_to_mpremote_and_main_restarts(bench, esme):
    esme.link.interrupt()
    deadline = time.time() + 10
    while "smets: stopped, REPL" not in esme.link.console_text() and time.time() < deadline:
        time.sleep(0.02)
    assert "smets: stopped, REPL" in esme.link.console_text()
    esme.link.release()  # mpremote needs the port to itself
    try:
        ls = subprocess.run(
            [sys.executable, "-m", "mpremote", "connect", esme.board.port, "resume", "ls",
             ":/rom/lib"],
            capture_output=True, text=True, timeout=30)
        assert ls.returncode == 0, ls.stderr
        assert "smets/" in ls.stdout
        run = subprocess.run(
            [sys.executable, "-m", "mpremote", "connect", esme.board.port, "resume", "exec",
             "--no-follow", "import main"],
            capture_output=True, text=True, timeout=30)
        assert run.returncode == 0, run.stderr
    finally:
        esme.link.reopen()
    # `import main` boots the board again (a soft reset): a request sent while it restarts is
    # lost, as on a real board, so ask until it answers.
    deadline = time.time() + 15
    while True:
        try:
            st = esme.link.control("status", timeout=1.0)
            break
        except BoardError:
            if time.time() > deadline:
                raise
    assert st["role"] == "ESME"
    assert "device" in st, esme.link.control("logs")
    bench.hub.wait_tunnel(esme.eui)
    res = bench.run(esme, "ECS52")
    assert res.passed, res.report()


def test_a_board_that_vanishes_gives_a_clear_error(tmp_path):
    with Bench(work_dir=tmp_path) as b:
        dev = b.add_virtual("ESME")
        dev.board.stop()
        with pytest.raises(BoardError) as err:
            dev.link.control("status", timeout=1.0)
        assert "status" in str(err.value)


def test_missing_port_is_a_clear_error():
    with pytest.raises(BoardError) as err:
        BoardLink("/dev/does-not-exist-smetsbench", open_timeout=0.2)
    assert "cannot open port" in str(err.value)


def test_cpython_fallback_runs_the_same_firmware(tmp_path):
    # Where no MicroPython wheel exists, virtual boards run the firmware sources under CPython.
    with Bench(work_dir=tmp_path, runtime="cpython") as b:
        dev = b.add_virtual("ESME", init={"mpan_import": "1312345678111"})
        assert dev.board.runtime == "cpython"
        assert dev.status()["implementation"] == "cpython"
        for name, kw in (("ECS40", {"mpan": "1312345678111"}), ("ECS43", {}),
                         ("ECS45", {"state": 0})):
            res = b.run(dev, name, **kw)
            assert res.passed, res.report()
        assert b.run(dev, "ECS52", scenario="BAD_MAC", tamper="bad_mac").passed
