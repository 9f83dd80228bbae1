"""The pytest plugin: the same ESME tests on a virtual board and on a "real" board given with
--board or a bench file (here a standalone virtual board on its pty, which the plugin treats
exactly as hardware: it does not start, stop or reach into it)."""

import os
import subprocess
import sys

import pytest
from smetsbench import paths
from smetsbench.boards.virtual import VirtualBoard, find_micropython
from smetsbench.tools.benchinit import bench_init
from smetsbench.tools.provision import provision

pytestmark = pytest.mark.skipif(find_micropython() is None,
                                reason="needs the MicroPython unix port")

ROOT = paths.repo_dir()
ESME_TESTS = "tests/emu/test_esme_board.py"
HIL_TESTS = "tests/hil"


def _pytest(tmp_path, *args, timeout=300):
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly",
         "--basetemp", str(tmp_path / "basetemp"), "-o", "addopts=", *args],
        cwd=ROOT, capture_output=True, text=True, timeout=timeout, env=dict(os.environ))
    return proc.returncode, proc.stdout + proc.stderr


def test_plugin_is_registered(request):
    assert request.config.pluginmanager.get_plugin("smetsbench") is not None, \
        "the smetsbench pytest plugin is not installed: pip install -e ."


def test_hil_tests_skip_without_boards(tmp_path):
    code, out = _pytest(tmp_path, HIL_TESTS, "-rs")
    assert code == 0, out
    assert "passed" not in out.split("\n")[-2]
    assert "needs real boards: give --board ROLE=PORT or --bench-file" in out


def test_esme_and_hil_tests_run_unchanged_on_a_board_given_with_board(tmp_path):
    with VirtualBoard(tmp_path / "standin", name="standin") as board:
        code, out = _pytest(tmp_path, ESME_TESTS, HIL_TESTS, "--board", "esme=" + board.port,
                            "-rs")
    assert code == 0, out
    assert " failed" not in out and " error" not in out, out
    assert "skipped" not in out.split("\n")[-2] or "needs --bench-file" in out, out


def test_hil_tests_with_a_bench_file(tmp_path):
    bench = bench_init(tmp_path / "bench")
    with VirtualBoard(tmp_path / "standin", name="standin") as board:
        provision(board.port, "ESME", bench, name="esme-1")
        # The bench-specific tests (the full hil run is the --board test above).
        code, out = _pytest(tmp_path, HIL_TESTS, "--bench-file", str(bench.file), "-rs", "-k",
                            "certificates or current_firmware")
    assert code == 0, out
    assert "2 passed" in out and "skipped" not in out.split("\n")[-2], out


def test_failures_show_the_log_and_the_last_frames(tmp_path):
    test = tmp_path / "test_fails.py"
    test.write_text(
        "def test_fails(smets_bench, esme):\n"
        "    assert smets_bench.run(esme, 'ECS52').passed\n"
        "    assert esme.status()['role'] == 'GSME'\n")
    code, out = _pytest(tmp_path, str(test), "--smets-log-dir", str(tmp_path / "logs"))
    assert code == 1, out
    assert "smetsbench" in out and "last frames on esme-" in out
    assert "> CONTROL" in out and "< CONTROL" in out and "> HAN" in out
    logs = list((tmp_path / "logs").glob("*test_fails*.log"))
    assert len(logs) == 1 and "log: %s" % logs[0] in out
    text = logs[0].read_text()
    assert "provisioned as ESME" in text and "smetsbench.link" in text


def test_bad_board_options_are_usage_errors(tmp_path):
    code, out = _pytest(tmp_path, HIL_TESTS, "--board", "meter=/dev/ttyUSB0")
    assert code == 4 and "--board wants ROLE=URL" in out
    code, out = _pytest(tmp_path, HIL_TESTS, "--bench-file", str(tmp_path / "none.toml"))
    assert code == 4 and "no bench at" in out
