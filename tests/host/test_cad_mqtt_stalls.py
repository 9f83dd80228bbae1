"""The CAD's MQTT publisher (smets.runtime.mqtt) on the MicroPython unix port, with the bundled
umqtt.simple release, against brokers that stall: one that accepts the connection and never
answers, one that stops half-way through a packet. Each stall ends in a counted failure and a
back-off instead of holding the board (and its HAN) forever; then a working broker gets the
CAD's messages."""

import json
import socket
import subprocess
import threading
from pathlib import Path

import pytest
from smetsbench.boards import vendor
from smetsbench.boards.virtual import find_micropython

ROOT = Path(__file__).resolve().parents[2]

# Run on the unix port: the real CAD makes its messages, the publisher sends them. Time is
# the publisher's `now_ms` argument, so its back-off waits are skipped, not slept.
SCRIPT = """
import json, sys
sys.path[:0] = [%(firmware)r, %(core)r, %(lib)r]
import gbcs_fixtures as fx
from smets.devices.cad import CAD
from smets.runtime.mqtt import Publisher

NOW = 1700000000
ident = {"eui": "00db12345678909d", "hub_eui": fx.HUB_EUI.hex(), "role": "CAD"}
store = fx.scratch_store()
cad = CAD(ident, store, NOW, fresh=True, init={"mqtt": {
    "host": "127.0.0.1", "port": %(port)d, "timeout": 1}})
logs = []
pub = Publisher(cad, lambda level, text: logs.append(text))
now_ms = 0
steps = []
for _ in range(3):  # silent broker, half a packet, a working broker
    cad.make(NOW)
    wait = pub.poll(now_ms)
    steps.append({"wait": wait, "status": dict(cad.mqtt_status)})
    now_ms += wait
fx.cleanup(store)
print(json.dumps({"steps": steps, "logs": logs, "topic": cad.topic("STATE")}))
"""


class StallingBroker:
    """Connection 0 is accepted and never answered; connection 1 gets a CONNACK and half a
    PINGRESP (D0 without its length), then silence; later ones a CONNACK, and what they
    send is kept."""

    def __init__(self):
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.conns = []
        self.received = {}
        self._stop = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        self.sock.settimeout(0.2)
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            n = len(self.conns)
            self.conns.append(conn)
            threading.Thread(target=self._talk, args=(n, conn), daemon=True).start()

    def _talk(self, n, conn):
        got = bytearray()
        self.received[n] = got
        try:
            if n == 1:
                conn.sendall(b"\x20\x02\x00\x00\xd0")
            elif n >= 2:
                conn.sendall(b"\x20\x02\x00\x00")
            while not self._stop.is_set():
                data = conn.recv(4096)
                if not data:
                    return
                got.extend(data)
        except OSError:
            return

    def close(self):
        self._stop.set()
        for c in self.conns + [self.sock]:
            c.close()


def test_stalled_brokers_cost_a_failure_and_a_back_off_not_the_board(tmp_path):
    mp = find_micropython()
    if mp is None:
        pytest.skip("MicroPython unix port not installed")
    libs = vendor.files()
    if "lib/umqtt/simple.py" not in libs:
        pytest.skip("umqtt.simple release not available (offline, empty vendor cache)")
    (tmp_path / "umqtt").mkdir()
    (tmp_path / "umqtt" / "__init__.py").write_text("")
    (tmp_path / "umqtt" / "simple.py").write_bytes(libs["lib/umqtt/simple.py"])
    broker = StallingBroker()
    try:
        script = SCRIPT % {"firmware": str(ROOT / "firmware"), "core": str(ROOT / "tests/core"),
                           "lib": str(tmp_path), "port": broker.port}
        try:
            proc = subprocess.run([str(mp), "-X", "heapsize=2M", "-c", script],
                                  capture_output=True, text=True, timeout=120)
        except subprocess.TimeoutExpired:
            pytest.fail("the publisher hung on a stalled broker")
        assert proc.returncode == 0, proc.stdout + proc.stderr
        out = json.loads(proc.stdout.strip().splitlines()[-1])
        silent, half, good = (s["status"] for s in out["steps"])
        # The broker that never answers the CONNECT: a failed connect, retried in 1 s.
        assert silent["state"] == "down" and silent["failures"] == 1
        assert silent["last_error"].startswith("connect: OSError")
        assert out["steps"][0]["wait"] == 1000
        # The one that stops mid-packet: connected and published, then the read gives up.
        assert half["connects"] == 1 and half["published"] >= 1
        assert half["state"] == "down" and half["failures"] == 2
        assert half["last_error"].startswith("connection: OSError")
        assert out["steps"][1]["wait"] == 2000  # the back-off doubled
        # A working broker: connected again, the CAD's messages arrive.
        assert good["state"] == "connected" and good["connects"] == 2
        assert good["failures"] == 2 and good["published"] > half["published"]
        assert out["topic"].encode() in bytes(broker.received[2])
        assert sum("retry in" in line for line in out["logs"]) == 2
    finally:
        broker.close()
