"""`smetsbench share`: a virtual board's pty served over RFC 2217 and driven through it."""

import os
import pty
import subprocess
import sys
import time

import pytest
from smetsbench.boards.transport import BoardLink
from smetsbench.boards.virtual import VirtualBoard, find_micropython
from smetsbench.session import Bench
from smetsbench.tools.errors import ToolError
from smetsbench.tools.probe import open_link
from smetsbench.tools.share import RFC2217Server


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    board = VirtualBoard(tmp_path_factory.mktemp("shared") / "board", name="shared")
    board.start()
    server = RFC2217Server(board.port, tcp_port=0, host="127.0.0.1").start()
    yield board, server
    server.stop()
    board.stop()


def _until(predicate, timeout=5.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met within %.0f s" % timeout)
        time.sleep(0.05)


def test_boardlink_over_rfc2217(shared):
    board, server = shared
    assert server.url.startswith("rfc2217://127.0.0.1:")
    with BoardLink(server.url) as link:
        st = link.control("status", timeout=10)
        assert st["board"] == "virtual" and st["implementation"] == "micropython"
    _until(lambda: server._client is None)


def test_second_client_is_turned_away_with_a_clear_error(shared):
    board, server = shared
    first = open_link(server.url)
    try:
        with pytest.raises(ToolError) as err:
            open_link(server.url)
        assert "is `smetsbench share` running there, and is no one else connected" in \
            str(err.value)
        assert first.control("status", timeout=10)["board"] == "virtual"
    finally:
        first.close()
    _until(lambda: server._client is None)


def test_bench_runs_gbcs_over_rfc2217(shared, tmp_path):
    board, server = shared
    with Bench(work_dir=tmp_path) as bench:
        esme = bench.add_board("ESME", server.url)
        for name, params in (("ECS52", {}), ("ECS43", {}), ("ECS45", {"state": 0})):
            result = bench.run(esme, name, **params)
            assert result.passed, result.report()
    _until(lambda: server._client is None)


@pytest.mark.skipif(find_micropython() is None, reason="needs the MicroPython unix port")
def test_mpremote_over_rfc2217(shared):
    board, server = shared
    link = open_link(server.url)
    link.interrupt()  # the firmware hands the port to the REPL
    time.sleep(0.3)
    link.close()
    _until(lambda: server._client is None)
    try:
        ls = subprocess.run([sys.executable, "-m", "mpremote", "connect", server.url, "resume",
                             "ls", ":/rom/lib"], capture_output=True, text=True, timeout=60)
        assert ls.returncode == 0, ls.stderr
        assert "smets/" in ls.stdout
    finally:
        _until(lambda: server._client is None)
        board.power_cut()  # back to the firmware


def test_status_of_a_share_that_is_not_running():
    from smetsbench.tools.status import board_status

    row = board_status("rfc2217://127.0.0.1:9")  # discard port: nothing listens
    assert row["state"] == "unreachable"
    assert "is `smetsbench share` running there" in row["problems"][0]


def test_sharing_a_missing_or_busy_port_is_clear(shared):
    board, server = shared
    with pytest.raises(ToolError, match="no such port /dev/ttyUSB-absent"):
        RFC2217Server("/dev/ttyUSB-absent").start()
    # The server holds the board's port: a second share of it is refused.
    with pytest.raises(ToolError, match="is busy"):
        RFC2217Server(board.port).start()
    master, slave = pty.openpty()
    try:
        with pytest.raises(ToolError, match="TCP port in use"):
            RFC2217Server(os.ttyname(slave), tcp_port=server.tcp_port).start()
    finally:
        os.close(master)
        os.close(slave)
