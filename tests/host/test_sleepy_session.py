"""A bench session with a device the hub treats as sleepy: commands wait in its mailbox until
it polls, and the session waits for the response (or the rejection's evidence) itself.

The firmware's ESME is always-on; here the hub is told it sleeps and a thread polls (GBCS GET)
in its name, as a sleepy tunnel client would, with the ESME's own frames: sent by the ESME's
HAN stack (its network key, link key and frame counters).
"""

import threading

from smets.han import ApsFrame
from smets.zcl import tunnel
from smets.zcl.frame import TYPE_CLUSTER, ZCLFrame
from smetsbench import session
from smetsbench.han.hub import NoResponse
from smetsbench.session import Bench


class Poller(threading.Thread):
    """Sends GET for `dev` every `interval` s; counts the polls."""

    def __init__(self, hub, dev, interval=0.1):
        super().__init__(daemon=True)
        self.hub, self.dev, self.interval = hub, dev, interval
        self.stop = threading.Event()
        self.polls = 0

    def run(self):
        while not self.stop.wait(self.interval):
            rec = self.hub.devices[self.dev.eui]
            zcl = ZCLFrame(tunnel.TRANSFER_DATA_C2S,
                           tunnel.transfer_data(rec.tunnel_id, tunnel.gbcs_get()),
                           frame_type=TYPE_CLUSTER, seq=self.polls & 0xFF,
                           disable_default_response=True)
            aps = ApsFrame(self.dev.eui, self.hub.eui, tunnel.CLUSTER, zcl.to_bytes())
            self.polls += 1
            link = self.dev.link  # an in-process board: its Node is here
            with link._write_lock:
                link.node._send_han([aps], 0)
                link.node._flush_han()
                link._drain()


def test_a_sleepy_device_gets_commands_when_it_polls(tmp_path, monkeypatch):
    monkeypatch.setattr(session, "SLEEPY_ROLES", ("ESME",))
    with Bench(work_dir=tmp_path, response_timeout=3.0) as bench:
        esme = bench.add_inprocess("ESME", init={"mpan_import": "1312345678111"})
        assert bench.hub.devices[esme.eui].sleepy
        # Nobody polls: the command stays in the mailbox, and the timeout says so.
        try:
            bench.hub.command(esme.eui, bench.dcc.build_command(
                bench.dcc["supplier"], esme.eui, esme.ka_public, 0x0000, b"",
                counter=bench.dcc["supplier"].next_counter())[0], timeout=0.2)
            raise AssertionError("a sleepy device that never polls answered")
        except NoResponse as exc:
            assert "still in the device's mailbox" in str(exc)
            assert "has not polled" in str(exc)
        bench.hub.network.devices[esme.eui].mailbox.clear()
        poller = Poller(bench.hub, esme)
        poller.start()
        try:
            res = bench.run(esme, "ECS40", mpan="1312345678111")
            assert res.passed, res.report()
            # Discarded commands: the evidence (security log entry, alert) comes after the poll.
            for tamper in ("bad_mac", "wrong_recipient"):
                res = bench.run(esme, "ECS52", scenario=tamper.upper(), tamper=tamper)
                assert res.passed, res.report()
        finally:
            poller.stop.set()
        assert poller.polls >= 3
        assert bench.hub.devices[esme.eui].last_poll is not None
