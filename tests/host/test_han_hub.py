"""The Communications Hub around the HAN network: links, threads, waiting for responses.

A fake board link holds a tiny GBCS device built from smets.zcl.tunnel codecs: it opens its
tunnel, answers each command with a response of the same counter, and (when sleepy) only gets
its messages by polling with GET from a thread of its own.
"""

import threading
import time

import pytest
from smets.gbcs import envelope
from smets.han import ApsFrame
from smets.zcl import tunnel
from smets.zcl.frame import TYPE_CLUSTER, ZCLFrame
from smetsbench.han.hub import CHF_EUI, CommsHub, HubError, NoResponse

GSME = bytes.fromhex("00db1234567890a1")
ESME = bytes.fromhex("00db1234567890a0")
SUPPLIER = bytes.fromhex("90b3d51f30010000")


def _gbcs(cra, counter, originator, recipient):
    signed = envelope.with_signature(envelope.encode_general_signing(
        cra, counter, originator, recipient, 0x0001, b"\x01"))
    return envelope.wrap_ciphering(signed, bytes(12))


class FakeLink:
    """A board link whose device answers every GBCS command with a response."""

    def __init__(self, eui, answer=True):
        self.eui = eui
        self.name = eui.hex()
        self.on_han = None
        self.answer = answer
        self.tunnel_id = None
        self.got = []  # (tunnel command, remaining) of each TransferData from the hub
        self.seq = 0
        self.lock = threading.Lock()

    def tail(self):
        return ""

    def _send(self, command, payload):
        self.seq += 1
        zcl = ZCLFrame(command, payload, frame_type=TYPE_CLUSTER, seq=self.seq & 0xFF,
                       disable_default_response=True)
        self.on_han(self, ApsFrame(self.eui, CHF_EUI, tunnel.CLUSTER, zcl.to_bytes()).to_bytes())

    def request_tunnel(self):
        self._send(tunnel.REQUEST_TUNNEL, tunnel.request_tunnel())

    def poll(self):
        self._send(tunnel.TRANSFER_DATA_C2S, tunnel.transfer_data(self.tunnel_id,
                                                                   tunnel.gbcs_get()))

    def send_han(self, payload):  # the hub -> this device
        aps = ApsFrame.from_bytes(payload)
        zcl = ZCLFrame.from_bytes(aps.payload)
        if zcl.command == tunnel.REQUEST_TUNNEL_RESPONSE:
            self.tunnel_id = tunnel.parse_request_tunnel_response(zcl.payload)["tunnel_id"]
            return
        _, data = tunnel.parse_transfer_data(zcl.payload)
        command, message, remaining = tunnel.parse_gbcs_tunnel(data)
        with self.lock:
            self.got.append((command, remaining))
        if message is not None and self.answer:
            cmd = envelope.decode(message)
            reply = _gbcs(envelope.CRA_RESPONSE, cmd.counter, self.eui, bytes(cmd.originator))
            self._send(tunnel.TRANSFER_DATA_C2S, tunnel.transfer_data(
                self.tunnel_id, tunnel.gbcs_put(reply)))


def _cmd(counter, recipient):
    return _gbcs(envelope.CRA_COMMAND, counter, SUPPLIER, recipient)


def test_a_command_to_an_always_on_device_is_answered_at_once():
    hub = CommsHub(secure=False)
    link = FakeLink(ESME)
    hub.attach(link, ESME, "ESME")
    link.request_tunnel()
    assert hub.wait_tunnel(ESME, 1.0) == 1
    rec = hub.command(ESME, _cmd(41, ESME), timeout=1.0)
    assert rec.kind == "response" and rec.msg.counter == 41 and rec.device == ESME
    assert link.got == [(tunnel.GBCS_PUT, 0)]


def test_a_command_to_a_sleepy_device_waits_for_its_get():
    hub = CommsHub(secure=False)
    link = FakeLink(GSME)
    hub.attach(link, GSME, "GSME", sleepy=True)
    link.request_tunnel()
    hub.wait_tunnel(GSME, 1.0)
    first = hub.put(GSME, _cmd(7, GSME))
    second = hub.put(GSME, _cmd(8, GSME))
    assert link.got == [] and first.delivered is None

    def wake():
        time.sleep(0.05)
        link.poll()  # the hub answers with message 7 and "1 more"
        link.poll()  # message 8, "0 more"
        link.poll()  # nothing queued

    threading.Thread(target=wake).start()
    rec = hub.take_response(GSME, 8, timeout=5.0)
    assert rec is not None and rec.msg.counter == 8
    assert hub.take_response(GSME, 7, timeout=1.0).msg.counter == 7
    assert hub.wait_delivered(second, 1.0) and first.delivered <= second.delivered
    time.sleep(0.05)
    assert link.got == [(tunnel.GBCS_GET_RESPONSE, 1), (tunnel.GBCS_GET_RESPONSE, 0),
                        (tunnel.GBCS_GET_RESPONSE, 0)]


def test_a_timeout_to_a_sleepy_device_says_when_it_last_polled():
    hub = CommsHub(secure=False)
    link = FakeLink(GSME, answer=False)
    hub.attach(link, GSME, "GSME", sleepy=True)
    link.request_tunnel()
    hub.wait_tunnel(GSME, 1.0)
    with pytest.raises(NoResponse, match="still in the device's mailbox; the device has not "
                                         "polled"):
        hub.command(GSME, _cmd(1, GSME), timeout=0.05)
    link.poll()  # takes message 1; no answer
    with pytest.raises(NoResponse, match=r"still in the device's mailbox; the device last "
                                         r"polled \d+\.\d s ago"):
        hub.command(GSME, _cmd(2, GSME), timeout=0.05)


def test_a_full_mailbox_and_an_unknown_device_are_hub_errors():
    hub = CommsHub(mailbox_size=1, secure=False)
    link = FakeLink(GSME)
    hub.attach(link, GSME, sleepy=True)
    link.request_tunnel()
    hub.wait_tunnel(GSME, 1.0)
    hub.put(GSME, _cmd(1, GSME))
    with pytest.raises(HubError, match="full"):
        hub.put(GSME, _cmd(2, GSME))
    assert hub.errors["mailbox_overflow"] == 1
    with pytest.raises(HubError, match="no device"):
        hub.put(bytes(8), _cmd(1, GSME))


def test_records_carry_the_hubs_clock():
    t = [1_700_000_000.0]
    hub = CommsHub(clock=lambda: t[0], secure=False)
    link = FakeLink(ESME)
    hub.attach(link, ESME)
    seen = []
    hub.taps.append(lambda d, aps, eui, when: seen.append((d, when)))
    link.request_tunnel()
    t[0] += 5
    rec = hub.command(ESME, _cmd(3, ESME), timeout=1.0)
    assert rec.t == 1_700_000_005.0
    assert seen[0] == ("up", 1_700_000_000.0) and seen[-1] == ("up", 1_700_000_005.0)
