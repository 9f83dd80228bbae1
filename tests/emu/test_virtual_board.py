"""Virtual boards never outlive the bench, and a board whose cable is pulled stops."""

import os
import subprocess
import sys
import textwrap
import time

import pytest
from smetsbench.boards.transport import BoardLink
from smetsbench.boards.virtual import VirtualBoard, find_micropython

pytestmark = pytest.mark.skipif(find_micropython() is None, reason="needs the unix port")


def _gone(pid, timeout=5.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with open("/proc/%d/stat" % pid) as f:
                if f.read().split()[2] == "Z":  # exited, waiting to be reaped
                    return True
        except FileNotFoundError:
            return True
        time.sleep(0.05)
    return False


def test_board_dies_with_a_host_that_crashes(tmp_path):
    script = textwrap.dedent("""
        import os
        from smetsbench.boards.virtual import VirtualBoard
        vb = VirtualBoard(%r)
        vb.start()
        print(vb.process.pid, flush=True)
        os._exit(1)  # the host dies without stopping its board
    """ % str(tmp_path / "board"))
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=60)
    pid = int(out.stdout.split()[0])
    assert _gone(pid), "board process %d outlived its host" % pid


def test_board_stops_when_its_port_hangs_up(tmp_path):
    vb = VirtualBoard(tmp_path / "board")
    vb.start()
    try:
        # The app must be up and owning its port (a slow boot would otherwise still be going
        # when the supervisor, told to stop, takes the process down with it).
        link = BoardLink(vb.port, name="hangup")
        try:
            link.control("status", timeout=30)
        finally:
            link.close()
        proc = vb.process
        vb._stopping.set()
        vb._bridge.stop()
        vb._bridge.join(1)
        os.close(vb._device_master)
        vb._device_master = None
        assert proc.wait(timeout=5) == 0
    finally:
        vb.stop()


def test_stop_during_a_reboot_leaves_no_process(tmp_path):
    # Stop a board the moment it loses power, many times: the supervisor is then respawning
    # it, the window in which a stop used to leave a process behind.
    pids = set()
    for i in range(8):
        vb = VirtualBoard(tmp_path / ("board%d" % i))
        vb.start()
        pids.add(vb.process.pid)
        vb.power_cut()
        if i % 2:
            time.sleep(0.005 * i)  # land at different points of the respawn
        vb.stop()
        pids.add(vb.process.pid)
    assert all(_gone(p, 2.0) for p in pids)


def test_bytewise_stdio_like_an_esp32_answers(tmp_path):
    # The ESP32 has no termios: its stdin gives one blocking byte at a time. A board definition
    # can force that read path on the unix port, so it is tested without hardware.
    import json

    from smetsbench import paths
    from smetsbench.session import Bench

    board = json.loads((paths.boards_dir() / "virtual.json").read_text())
    board["link"]["bytewise"] = True
    path = tmp_path / "bytewise.json"
    path.write_text(json.dumps(board))
    with Bench(work_dir=tmp_path / "boards") as bench:
        vb = VirtualBoard(tmp_path / "boards" / "esme", board=str(path))
        port = vb.start()
        bench.boards.append(vb)
        esme = bench.add_board("ESME", port, board=vb, init={"mpan_import": "1312345678111"})
        for name in ("ECS52", "ECS17b", "ECS43"):
            res = bench.run(esme, name)
            assert res.passed, res.report()


def test_stopped_boards_release_their_file_descriptors(tmp_path):
    def open_fds():
        return len(os.listdir("/proc/self/fd"))

    warm = VirtualBoard(tmp_path / "warm")
    warm.start()
    warm.power_cut()  # exercise a reboot (a replaced device fd) too
    time.sleep(0.3)
    warm.stop()
    before = open_fds()
    for i in range(3):
        vb = VirtualBoard(tmp_path / ("b%d" % i))
        vb.start()
        vb.power_cut()
        time.sleep(0.3)
        vb.stop()
        vb.stop()  # idempotent
    assert open_fds() == before
