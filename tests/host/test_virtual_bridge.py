"""The pty bridge of a virtual board: both directions at full volume at once must not deadlock.

A board busy writing its output does not read its input; a bridge that blocks writing the
host's bytes to it then stops draining that output, and both sides wait for ever."""

import os
import pty
import threading
import tty

from smetsbench.boards.virtual import _Bridge

VOLUME = 256 * 1024  # far beyond any pty buffer


def _pump_out(fd, total, done):
    chunk = b"\x55" * 1024
    sent = 0
    while sent < total:
        sent += os.write(fd, chunk)
    done.set()


def _drain(fd, total, got):
    while got[0] < total:
        data = os.read(fd, 65536)
        if not data:
            return
        got[0] += len(data)


def test_the_bridge_drains_a_talking_board_while_the_host_talks_too():
    dev_master, dev_slave = pty.openpty()  # the board process holds dev_slave
    pub_master, pub_slave = pty.openpty()  # the host opens pub_slave
    for fd in (dev_slave, pub_slave):
        tty.setraw(fd)
    os.set_blocking(dev_master, False)
    os.set_blocking(pub_master, False)
    bridge = _Bridge(dev_master, pub_master, pub_slave, "test-bridge")
    bridge.start()
    try:
        board_done, host_done = threading.Event(), threading.Event()
        # The board writes a lot and reads nothing until it has finished writing; the host
        # writes a lot too and reads what the board sends.
        threading.Thread(target=_pump_out, args=(dev_slave, VOLUME, board_done),
                         daemon=True).start()
        threading.Thread(target=_pump_out, args=(pub_slave, VOLUME, host_done),
                         daemon=True).start()
        got_host = [0]
        reader = threading.Thread(target=_drain, args=(pub_slave, VOLUME, got_host), daemon=True)
        reader.start()
        assert board_done.wait(20), "the board blocked writing: the bridge stopped draining it"
        reader.join(20)
        assert got_host[0] == VOLUME
        # Now the board reads: what the host sent is there (up to the bridge's buffer).
        got_board = [0]
        _drain_thread = threading.Thread(target=_drain, args=(dev_slave, VOLUME, got_board),
                                         daemon=True)
        _drain_thread.start()
        assert host_done.wait(20)
        _drain_thread.join(20)
        assert got_board[0] == VOLUME
        assert bridge.bytes_to_board == VOLUME and bridge.bytes_from_board == VOLUME
        assert bridge.lost_from_board == 0
    finally:
        bridge.stop()
        bridge.join(5)
        bridge.close()
        for fd in (dev_master, dev_slave, pub_master, pub_slave):
            os.close(fd)
