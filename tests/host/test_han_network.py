"""The sans-IO HAN network: routing, the GBCS tunnel server, one mailbox per device.

Fake devices speak the Tunneling cluster with the firmware's own codecs (smets.zcl.tunnel):
an always-on one (messages pushed in PUT) and a sleepy one (polls with GET). Frames are
checked byte for byte.
"""

import pytest
from smets.gbcs import envelope
from smets.han import ApsFrame
from smets.zcl import tunnel
from smets.zcl.frame import DEFAULT_RESPONSE, TYPE_CLUSTER, UNSUPPORTED_CLUSTER, ZCLFrame
from smetsbench.han.network import (
    CHF_EUI,
    Delivered,
    HanNetwork,
    MailboxFull,
    NetworkError,
    Received,
    Transmit,
    TunnelOpened,
)

ESME = bytes.fromhex("00db1234567890a0")
GSME = bytes.fromhex("00db1234567890a1")
IHD = bytes.fromhex("00db1234567890b3")
T0 = 1_700_000_000


SUPPLIER = bytes.fromhex("90b3d51f30010000")


def _gbcs(cra, counter, originator, recipient):
    """A GBCS message (General Ciphering around unsigned General Signing, MAC zeros): the
    network reads only its header, so nothing here needs keys."""
    signed = envelope.with_signature(envelope.encode_general_signing(
        cra, counter, originator, recipient, 0x0001, b"\x01\x02\x03"))
    return envelope.wrap_ciphering(signed, bytes(12))


def command_message(counter=1):
    return _gbcs(envelope.CRA_COMMAND, counter, SUPPLIER, ESME)


def response_message(counter=1):
    return _gbcs(envelope.CRA_RESPONSE, counter, ESME, SUPPLIER)


def alert_message(counter=1):
    return _gbcs(envelope.CRA_ALERT, counter, GSME, SUPPLIER)


class FakeDevice:
    """A HAN device at the APS level: builds its frames and reads the hub's."""

    def __init__(self, eui, name):
        self.eui = eui
        self.link = name  # the network only compares links by identity
        self.seq = 0
        self.tunnel_id = None

    def frame(self, cluster, command, payload, dst=CHF_EUI, dst_ep=1, frame_type=TYPE_CLUSTER):
        self.seq += 1
        zcl = ZCLFrame(command, payload, frame_type=frame_type, seq=self.seq,
                       disable_default_response=True)
        return ApsFrame(self.eui, dst, cluster, zcl.to_bytes(), dst_ep=dst_ep,
                        counter=self.seq).to_bytes()

    def request_tunnel(self, protocol=tunnel.PROTOCOL_GB_HRGP):
        return self.frame(tunnel.CLUSTER, tunnel.REQUEST_TUNNEL,
                          tunnel.request_tunnel(max_incoming=1200, protocol=protocol))

    def transfer(self, data, tunnel_id=None):
        tid = self.tunnel_id if tunnel_id is None else tunnel_id
        return self.frame(tunnel.CLUSTER, tunnel.TRANSFER_DATA_C2S,
                          tunnel.transfer_data(tid, data))

    def put(self, message):
        return self.transfer(tunnel.gbcs_put(message))

    def get(self):
        return self.transfer(tunnel.gbcs_get())

    def open(self, net, now=T0):
        events = net.receive(self.link, self.request_tunnel(), now)
        resp = tunnel.parse_request_tunnel_response(_zcl(events[0]).payload)
        self.tunnel_id = resp["tunnel_id"]
        return events


def _zcl(tx):
    assert isinstance(tx, Transmit)
    return ZCLFrame.from_bytes(tx.aps.payload)


def _tunnel_data(tx):
    zcl = _zcl(tx)
    assert zcl.command == tunnel.TRANSFER_DATA_S2C and zcl.server_to_client
    return tunnel.parse_transfer_data(zcl.payload)


def _network(**kw):
    net = HanNetwork(**kw)
    esme, gsme = FakeDevice(ESME, "esme-link"), FakeDevice(GSME, "gsme-link")
    net.add_device(ESME, esme.link, role="ESME")
    net.add_device(GSME, gsme.link, sleepy=True, role="GSME")
    return net, esme, gsme


def test_request_tunnel_gets_an_id_and_the_exact_response():
    net, esme, gsme = _network()
    events = net.receive(esme.link, esme.request_tunnel(), T0)
    tx, opened = events
    assert tx.link == esme.link and tx.t == T0
    # APS header: hub -> ESME, Tunneling, endpoint 1 to the endpoint the request came from.
    assert tx.data[:29] == bytes.fromhex(
        "0104" "a29078563412db00" "a09078563412db00" "feff" "feff" "01" "01" "0901" "0407" "01")
    # ZCL: cluster-specific, server to client, no default response; seq 1;
    # RequestTunnelResponse(tunnel 1, success, hub max incoming 1500 = 0x05dc).
    assert tx.data[29:] == bytes.fromhex("1901" "00" "0100" "00" "dc05")
    assert isinstance(opened, TunnelOpened) and opened.tunnel_id == 1 and opened.t == T0
    assert net.devices[ESME].max_incoming == 1200
    # The GSME gets the next id; the ESME asking again (a reboot) keeps its own.
    gsme.open(net)
    assert net.devices[GSME].tunnel_id == 2
    again = net.receive(esme.link, esme.request_tunnel(), T0 + 5)
    assert tunnel.parse_request_tunnel_response(_zcl(again[0]).payload)["tunnel_id"] == 1
    assert net.devices[ESME].tunnel_opened == T0 + 5


def test_a_tunnel_for_another_protocol_is_refused():
    net, esme, _ = _network()
    (tx,) = net.receive(esme.link, esme.request_tunnel(protocol=2), T0)
    assert _zcl(tx).payload == tunnel.request_tunnel_response(
        0xFFFF, tunnel.TUNNEL_PROTOCOL_NOT_SUPPORTED, 1500)
    assert net.devices[ESME].tunnel_id is None


def test_an_always_on_device_gets_its_message_pushed_at_once():
    net, esme, _ = _network()
    esme.open(net)
    cmd = command_message()
    ticket, events = net.put(ESME, cmd, T0 + 1)
    tx, delivered = events
    assert tx.link == esme.link
    assert _tunnel_data(tx) == (1, b"\x03" + cmd)  # GBCS PUT
    assert isinstance(delivered, Delivered) and delivered.ticket is ticket
    assert ticket.queued == ticket.delivered == T0 + 1
    assert net.pending(ESME) == 0


def test_messages_wait_for_an_always_on_device_until_its_tunnel_opens():
    net, esme, _ = _network()
    first, second = command_message(counter=1), command_message(counter=2)
    t1, events = net.put(ESME, first, T0)
    assert events == [] and t1.delivered is None
    net.put(ESME, second, T0 + 1)
    events = esme.open(net, T0 + 2)
    pushed = [_tunnel_data(e)[1] for e in events[2:] if isinstance(e, Transmit)]
    assert pushed == [b"\x03" + first, b"\x03" + second]
    assert t1.delivered == T0 + 2


def test_a_sleepy_device_gets_its_mailbox_in_order_on_get_with_the_remaining_count():
    net, _, gsme = _network()
    gsme.open(net)
    msgs = [command_message(counter=c) for c in (10, 11, 12)]
    tickets = []
    for i, m in enumerate(msgs):
        ticket, events = net.put(GSME, m, T0 + i)
        assert events == []  # nothing is sent to a sleepy device before it asks
        tickets.append(ticket)
    assert net.pending(GSME) == 3
    got = []
    for i in range(3):
        tx, delivered = net.receive(gsme.link, gsme.get(), T0 + 10 + i)
        tid, data = _tunnel_data(tx)
        assert tid == gsme.tunnel_id == 1
        got.append(data)
        assert delivered.ticket is tickets[i] and tickets[i].delivered == T0 + 10 + i
    # GBCS 7.2.2: 02, messages still waiting after this one, the message.
    assert got == [b"\x02\x02" + msgs[0], b"\x02\x01" + msgs[1], b"\x02\x00" + msgs[2]]
    # An empty mailbox answers "nothing queued".
    (tx,) = net.receive(gsme.link, gsme.get(), T0 + 20)
    assert tx.data[29:] == bytes.fromhex("1905" "01" "0100" "0200")
    assert net.devices[GSME].last_poll == T0 + 20


def test_mailboxes_are_bounded_and_an_overflow_is_counted():
    net, _, gsme = _network(mailbox_size=2)
    gsme.open(net)
    net.put(GSME, command_message(counter=1), T0)
    net.put(GSME, command_message(counter=2), T0)
    with pytest.raises(MailboxFull):
        net.put(GSME, command_message(counter=3), T0)
    assert net.errors["mailbox_overflow"] == 1 and net.pending(GSME) == 2
    net.receive(gsme.link, gsme.get(), T0 + 1)
    net.put(GSME, command_message(counter=3), T0 + 2)  # room again
    assert net.pending(GSME) == 2
    with pytest.raises(ValueError):
        HanNetwork(mailbox_size=256)  # the remaining count is one byte


def test_responses_and_alerts_from_devices_are_events_with_the_time_given():
    net, esme, gsme = _network()
    esme.open(net)
    gsme.open(net)
    resp, alert = response_message(), alert_message()
    (rec,) = net.receive(esme.link, esme.put(resp), T0 + 7)
    assert isinstance(rec, Received) and rec.kind == "response" and rec.t == T0 + 7
    assert rec.device == ESME and rec.raw == resp and rec.counter == rec.msg.counter
    (rec,) = net.receive(gsme.link, gsme.put(alert), T0 + 8)
    assert rec.kind == "alert" and rec.device == GSME
    # A bare GBCS message (no tunnel command byte) is accepted too.
    (rec,) = net.receive(esme.link, esme.transfer(resp), T0 + 9)
    assert rec.kind == "response"
    (rec,) = net.receive(esme.link, esme.put(b"\xdd\x00\x01"), T0 + 9)
    assert rec.kind == "other" and rec.error and net.errors["unexpected_gbcs"] == 1


def test_transfer_data_on_another_devices_tunnel_is_refused():
    net, esme, gsme = _network()
    esme.open(net)
    gsme.open(net)
    (tx,) = net.receive(esme.link, esme.transfer(tunnel.gbcs_put(response_message()),
                                                 tunnel_id=2), T0)
    zcl = _zcl(tx)
    assert zcl.command == tunnel.TRANSFER_DATA_ERROR_S2C
    assert zcl.payload == tunnel.transfer_data_error(2, tunnel.NO_SUCH_TUNNEL)
    assert net.errors["no_such_tunnel"] == 1


def test_frames_between_devices_are_routed_by_eui_and_endpoint_for_any_cluster():
    net, esme, _ = _network()
    ihd = FakeDevice(IHD, "ihd-link")
    net.add_device(IHD, ihd.link, endpoints=(1, 2), role="IHD")
    # An IHD reads the ESME's Metering cluster (0x0702): Read Attributes CurrentSummationDelivered.
    read = ihd.frame(0x0702, 0x00, b"\x00\x00", dst=ESME, frame_type=0)
    (tx,) = net.receive(ihd.link, read, T0)
    assert tx.link == esme.link and tx.data == read  # the same frame, untouched
    answer = ApsFrame.from_bytes(read).reply(0x0702, b"\x18\x01\x01\x00\x00\x00\x25" + bytes(6))
    answer.src_eui, answer.dst_eui, answer.dst_ep = ESME, IHD, 2
    (tx,) = net.receive(esme.link, answer.to_bytes(), T0 + 1)
    assert tx.link == ihd.link and tx.data == answer.to_bytes()
    # Wrong endpoint, unknown destination: counted, not routed.
    answer.dst_ep = 9
    assert net.receive(esme.link, answer.to_bytes(), T0) == []
    assert net.receive(ihd.link, ihd.frame(0x0702, 0, b"", dst=bytes(8)), T0) == []
    assert net.errors["unknown_endpoint"] == 1 and net.errors["unknown_destination"] == 1


def test_unknown_devices_and_bad_frames_are_counted_never_raised():
    net, esme, gsme = _network()
    stranger = FakeDevice(bytes.fromhex("00db1234567890ff"), "esme-link")
    assert net.receive(stranger.link, stranger.request_tunnel(), T0) == []
    # A registered EUI on the wrong link is a stranger too.
    assert net.receive("gsme-link", esme.request_tunnel(), T0) == []
    assert net.errors["unknown_device"] == 2
    assert net.receive(esme.link, b"\x01\x00garbage", T0) == []
    assert net.errors["bad_han"] == 1
    bad_zcl = ApsFrame(ESME, CHF_EUI, tunnel.CLUSTER, b"\x19").to_bytes()
    assert net.receive(esme.link, bad_zcl, T0) == []
    assert net.errors["bad_zcl"] == 1
    short = esme.frame(tunnel.CLUSTER, tunnel.REQUEST_TUNNEL, b"\x06")
    assert net.receive(esme.link, short, T0) == []
    assert net.errors["bad_tunnel"] == 1
    # A cluster the hub does not serve: ZCL Default Response UNSUPPORTED_CLUSTER (an error is
    # answered whatever the disable-default-response bit says, ZCL 2.5.12.2).
    (tx,) = net.receive(esme.link, esme.frame(0x0000, 0x00, b""), T0)
    answer = ZCLFrame.from_bytes(tx.aps.payload)
    assert (answer.command, answer.payload[1]) == (DEFAULT_RESPONSE, UNSUPPORTED_CLUSTER)
    assert net.errors["unsupported_cluster"] == 1
    with pytest.raises(NetworkError):
        net.put(bytes(8), command_message(), T0)


def test_taps_see_every_frame_with_its_time_and_a_broken_tap_is_counted():
    net, esme, _ = _network()
    seen = []
    net.taps.append(lambda d, aps, eui, t: seen.append((d, aps.cluster, eui, t)))
    net.taps.append(lambda *a: 1 / 0)
    esme.open(net, T0 + 3)
    assert seen == [("up", tunnel.CLUSTER, ESME, T0 + 3), ("down", tunnel.CLUSTER, ESME, T0 + 3)]
    assert net.errors["tap_failed"] == 2


def test_removing_a_device_frees_its_tunnel_and_mailbox():
    net, esme, gsme = _network()
    gsme.open(net)
    net.put(GSME, command_message(), T0)
    assert net.remove_device(GSME).tunnel_id == 1
    assert GSME not in net.devices
    net.add_device(GSME, gsme.link, sleepy=True)
    assert net.pending(GSME) == 0
    (tx,) = net.receive(gsme.link, gsme.get(), T0)  # its old tunnel is gone
    assert _zcl(tx).command == tunnel.TRANSFER_DATA_ERROR_S2C
