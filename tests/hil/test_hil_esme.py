"""Real boards: an ESME board given with --board esme=PORT or in a bench file (--bench-file).

    pytest tests/hil --board esme=/dev/ttyUSB0
    pytest tests/hil --bench-file lab/bench.toml

Skipped without boards. The board needs MicroPython and the current firmware (`smetsbench
flash`, `smetsbench deploy`); it is provisioned afresh for the run (with its bench identity
when a bench file is given), which resets its registers and security log.
"""

import time

import pytest
from smets.node import FIRMWARE_VERSION
from smetsbench.cli import demo
from smetsbench.tools.deploy import deploy
from smetsbench.tools.provision import check_board
from smetsbench.tools.status import board_status

pytestmark = pytest.mark.hil


@pytest.fixture(scope="module")
def esme_init():
    # What the demo script expects to read back (demo.SCRIPT).
    return {"mpan_import": "1312345678111", "power_w": 500}


def _wait_tunnel(device, timeout=30.0):
    deadline = time.monotonic() + timeout
    while True:
        st = device.link.control("status", timeout=10.0)
        if (st.get("device") or {}).get("tunnel") is not None:
            return st
        if time.monotonic() > deadline:
            raise AssertionError("no GBCS tunnel %.0f s after the restart" % timeout)
        time.sleep(0.2)


def test_board_runs_the_current_firmware_as_an_esme(esme):
    st = esme.status()
    assert st["firmware"] == FIRMWARE_VERSION
    assert st["role"] == "ESME" and st["eui"] == esme.eui.hex()
    assert st["device"]["tunnel"] is not None


def test_demo_script_passes_on_the_board(smets_bench, esme):
    lines = []
    results = demo.run_script(smets_bench, esme, out=lines.append)
    failed = [r.report() for r in results if not r.passed]
    assert not failed, "\n".join(lines + failed)


def test_board_holds_the_certificates_its_bench_issued(smets_bench, esme):
    if smets_bench.bench_dir is None:
        pytest.skip("needs --bench-file (with --board the keys are fresh test keys)")
    assert check_board(esme.link, smets_bench.bench_dir) == []


def test_status_and_deploy_leave_the_board_working(smets_bench, esme):
    spec = getattr(esme.board, "spec", None)
    board_type = spec.entry.board if spec is not None and spec.entry is not None else None
    url = esme.link.url
    esme.link.release()  # status and deploy open the port themselves
    try:
        row = board_status(url, smets_bench.bench_dir, spec.entry if spec else None)
        assert row["state"] == "ok", row["problems"]
        assert row["heap_free"] > 0
        result = deploy(url, board=board_type)
        assert result.copied == [] and result.removed == []  # the board is up to date
        assert result.firmware == FIRMWARE_VERSION
    finally:
        esme.link.reopen()
    _wait_tunnel(esme)
    result = smets_bench.run(esme, "ECS52")
    assert result.passed, result.report()
