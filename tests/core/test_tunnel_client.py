"""The GBCS tunnel client (GBCS 7.2): always-on and sleepy behaviour, sans-IO.

Runs on CPython and on the MicroPython unix port (tools/mptest.py)."""

from smets.han import ApsFrame
from smets.tunnel_client import TUNNEL_RETRY_S, TunnelClient
from smets.zcl import tunnel
from smets.zcl.frame import TYPE_CLUSTER, ZCLFrame

DEV = bytes.fromhex("00db1234567890a1")
HUB = bytes.fromhex("00db1234567890a2")
T0 = 1000


def _client(sleepy, poll_s=30):
    seen = []

    def on_message(message, now):
        seen.append(message)
        return [b"reply-to-" + message]

    return TunnelClient(DEV, HUB, on_message, sleepy=sleepy, poll_s=poll_s), seen


def _from_hub(command, payload, src=HUB):
    zcl = ZCLFrame(command, payload, frame_type=TYPE_CLUSTER, seq=1, server_to_client=True,
                   disable_default_response=True)
    aps = ApsFrame(src, DEV, tunnel.CLUSTER, zcl.to_bytes())
    return aps, ZCLFrame.from_bytes(aps.payload)


def _commands(frames):
    """(ZCL command, GBCS tunnel command or None, message) of each frame sent to the hub."""
    out = []
    for aps in frames:
        assert aps.dst_eui == HUB and aps.cluster == tunnel.CLUSTER
        zcl = ZCLFrame.from_bytes(aps.payload)
        if zcl.command == tunnel.TRANSFER_DATA_C2S:
            _tid, data = tunnel.parse_transfer_data(zcl.payload)
            cmd, message, _remaining = tunnel.parse_gbcs_tunnel(data)
            out.append((zcl.command, cmd, message))
        else:
            out.append((zcl.command, None, None))
    return out


def _open(client, now=T0):
    assert _commands(client.tick(now)) == [(tunnel.REQUEST_TUNNEL, None, None)]
    aps, zcl = _from_hub(tunnel.REQUEST_TUNNEL_RESPONSE, tunnel.request_tunnel_response(5))
    return client.on_frame(aps, zcl, now)


def _get_response(client, message, remaining, now):
    data = tunnel.gbcs_get_response(message, remaining)
    aps, zcl = _from_hub(tunnel.TRANSFER_DATA_S2C, tunnel.transfer_data(5, data))
    return _commands(client.on_frame(aps, zcl, now))


def test_request_tunnel_is_retried_until_the_chf_grants_it():
    client, _ = _client(sleepy=False)
    assert _commands(client.tick(T0)) == [(tunnel.REQUEST_TUNNEL, None, None)]
    assert client.tick(T0 + TUNNEL_RETRY_S - 1) == []
    assert client.next_due(T0) == T0 + TUNNEL_RETRY_S
    assert _commands(client.tick(T0 + TUNNEL_RETRY_S)) == [(tunnel.REQUEST_TUNNEL, None, None)]
    aps, zcl = _from_hub(tunnel.REQUEST_TUNNEL_RESPONSE,
                         tunnel.request_tunnel_response(5, tunnel.TUNNEL_BUSY))
    client.on_frame(aps, zcl, T0 + TUNNEL_RETRY_S)
    assert client.tunnel_id is None  # refused: still asking
    assert _open(client, T0 + 2 * TUNNEL_RETRY_S) == []
    assert client.tunnel_id == 5 and client.tick(T0 + 10 * TUNNEL_RETRY_S) == []


def test_always_on_sends_what_was_queued_and_answers_pushed_puts():
    client, seen = _client(sleepy=False)
    assert client.send(b"alert-1") == [] and client.outbox == [b"alert-1"]
    sent = _commands(_open(client))
    assert sent == [(tunnel.TRANSFER_DATA_C2S, tunnel.GBCS_PUT, b"alert-1")]
    assert client.outbox == []
    aps, zcl = _from_hub(tunnel.TRANSFER_DATA_S2C,
                         tunnel.transfer_data(5, tunnel.gbcs_put(b"cmd")))
    sent = _commands(client.on_frame(aps, zcl, T0))
    assert seen == [b"cmd"]
    assert sent == [(tunnel.TRANSFER_DATA_C2S, tunnel.GBCS_PUT, b"reply-to-cmd")]
    assert client.gets == 0  # an always-on device never polls


def test_sleepy_polls_and_empties_the_queue_in_one_wake_up():
    client, seen = _client(sleepy=True, poll_s=60)
    sent = _commands(_open(client))
    assert sent == [(tunnel.TRANSFER_DATA_C2S, tunnel.GBCS_GET, None)]  # at once on opening
    # Two messages queued: the first comes with remaining=1, so the device asks again at once.
    sent = _get_response(client, b"m1", 1, T0)
    assert sent == [(tunnel.TRANSFER_DATA_C2S, tunnel.GBCS_PUT, b"reply-to-m1"),
                    (tunnel.TRANSFER_DATA_C2S, tunnel.GBCS_GET, None)]
    sent = _get_response(client, b"m2", 0, T0)
    assert sent == [(tunnel.TRANSFER_DATA_C2S, tunnel.GBCS_PUT, b"reply-to-m2")]
    assert seen == [b"m1", b"m2"]
    # Nothing queued: a GET-RESPONSE with no message, and no further GET until the period.
    assert _get_response(client, None, 0, T0) == []
    assert client.tick(T0 + 59) == []
    assert client.next_due(T0 + 1) == T0 + 60
    assert _commands(client.tick(T0 + 60)) == [(tunnel.TRANSFER_DATA_C2S, tunnel.GBCS_GET,
                                                None)]
    assert client.gets == 3


def test_tunnel_frames_from_anyone_but_the_hub_are_dropped_and_counted():
    client, seen = _client(sleepy=True)
    _open(client)
    aps, zcl = _from_hub(tunnel.TRANSFER_DATA_S2C,
                         tunnel.transfer_data(5, tunnel.gbcs_get_response(b"evil", 0)),
                         src=bytes.fromhex("00db1234567890ee"))
    assert client.on_frame(aps, zcl, T0) == [] and seen == []
    assert client.stats["zcl_errors"] == 1


def test_a_lost_tunnel_is_asked_for_again():
    client, _ = _client(sleepy=False)
    _open(client)
    aps, zcl = _from_hub(tunnel.TUNNEL_CLOSURE_NOTIFICATION, tunnel.tunnel_closure(5))
    client.on_frame(aps, zcl, T0)
    assert client.tunnel_id is None
    assert _commands(client.tick(T0 + 1)) == [(tunnel.REQUEST_TUNNEL, None, None)]


def test_a_woken_sleepy_device_polls_at_once_and_counts_its_emptied_wake_ups():
    client, seen = _client(sleepy=True, poll_s=1800)
    _open(client)
    _get_response(client, None, 0, T0)
    assert client.drained == 1 and client.last_poll == T0
    assert client.tick(T0 + 5) == [] and client.next_due(T0 + 5) == T0 + 1800
    client.wake()  # the button, or an alert of its own (GBCS 10.3)
    assert client.next_due(T0 + 5) == T0 + 5
    assert _commands(client.tick(T0 + 5)) == [(tunnel.TRANSFER_DATA_C2S, tunnel.GBCS_GET,
                                               None)]
    # A message with more behind it does not end the wake-up; the empty answer does.
    _get_response(client, b"m1", 1, T0 + 5)
    assert client.drained == 1
    _get_response(client, b"m2", 0, T0 + 5)
    assert client.drained == 2 and seen == [b"m1", b"m2"]
    assert client.next_due(T0 + 6) == T0 + 5 + 1800
