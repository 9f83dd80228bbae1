"""The hub's secured HAN with an in-process meter: the Time cluster it serves, and bad input
at the hub (replayed frames, garbage, frames of strangers, malformed ZCL inside good security)
dropped, counted, reported to the CHF, never raised."""

import time

import pytest
from smets.han import ApsFrame
from smets.zcl import foundation
from smets.zcl.frame import READ_ATTRIBUTES, TYPE_GLOBAL, ZCLFrame
from smets.zigbee import frames as F
from smets.zigbee import sec, security
from smetsbench.session import Bench


@pytest.fixture
def bench(tmp_path):
    with Bench(work_dir=tmp_path) as b:
        yield b


def _device_sends(handle, aps):
    """The in-process board's HAN stack sends `aps` as its device model would."""
    link = handle.link
    with link._write_lock:
        link.node._send_han([aps], 0)
        link.node._flush_han()
        link._drain()


def test_the_hub_is_the_time_source(bench):
    esme = bench.add_inprocess("ESME")
    down = []
    bench.hub.taps.append(lambda d, aps, eui, t: down.append(aps) if d == "down" else None)
    ask = ZCLFrame(READ_ATTRIBUTES, b"".join(
        bytes((i, 0)) for i in range(10)), frame_type=TYPE_GLOBAL, seq=7)
    _device_sends(esme, ApsFrame(esme.eui, bench.hub.eui, 0x000A, ask.to_bytes()))
    (resp,) = [a for a in down if a.cluster == 0x000A]
    records = {r.id: r.value for r in foundation.decode(
        0x01, ZCLFrame.from_bytes(resp.payload).payload)}
    assert records[0x0001] == 0x0F  # Master, Synchronized, MasterZoneDst, Superseding
    assert abs(records[0x0000] - (time.time() - 946684800)) < 5
    assert records[0x0002] == 0 and records[0x0005] == 3600
    assert records[0x0003] < records[0x0004]  # BST starts in March, ends in October
    assert resp.flags & 0x04 == 0  # a general cluster: NWK security only


def test_bad_input_at_the_hub_is_dropped_counted_and_reported(bench):
    esme = bench.add_inprocess("ESME")
    hub = bench.hub
    air = []
    hub.air_taps.append(lambda d, frame, eui, t: air.append(frame) if d == "up" else None)
    res = bench.run(esme, "ECS52")
    assert res.passed, res.report()
    last_up = air[-1]
    seen = sum(hub.errors.values())
    # The same frame again: a replay.
    esme.link.on_han(esme.link, last_up)
    assert hub.errors["air_dropped"] == 1 and hub.coordinator.stats["replayed"] == 1
    # Garbage, and frames cut short.
    for junk in (b"", b"\x00", b"\xff" * 30, last_up[:12], last_up[:-3]):
        esme.link.on_han(esme.link, junk)
    assert sum(hub.errors.values()) >= seen + 6
    # A stranger with a network key of its own.
    stranger = bytes.fromhex("00db1234567890c9")
    nwk = F.NwkFrame(F.NWK_DATA, 0, 0x1234, 1, src_eui=stranger)
    nwk.aux = F.Aux(F.KEY_NETWORK, 1, stranger, 0)
    wire = security.seal(sec, sec.key(bytes(16)), nwk.header_bytes(), nwk.aux, b"\x00" * 8)
    pan = hub.coordinator.pan
    esme.link.on_han(esme.link, F.MacFrame(F.MAC_DATA, 1, pan, 0, pan, 0x1234, wire).to_bytes())
    assert hub.coordinator.stats["bad_mic"] >= 1
    # Good security around a malformed ZCL frame, and a cluster the hub does not serve.
    before = hub.errors["bad_zcl"]
    _device_sends(esme, ApsFrame(esme.eui, hub.eui, 0x0704, b"\x19"))
    assert hub.errors["bad_zcl"] == before + 1
    down = []
    hub.taps.append(lambda d, aps, eui, t: down.append(aps) if d == "down" else None)
    _device_sends(esme, ApsFrame(esme.eui, hub.eui, 0x0006, b"\x01\x05\x02"))
    assert [a.cluster for a in down] == [0x0006]  # a Default Response (unsupported cluster)
    # The meter is still on the HAN and answers; the CHF's security log has the attempts.
    res = bench.run(esme, "ECS40")
    assert res.passed, res.report()
    res = bench.run(bench.chf, "ECS35d")
    assert res.passed, res.report()
    assert 0x8F3E in [e.value[1].value for e in res.values[0].value[1]]


def test_a_gbcs_joins_link_key_is_the_same_on_the_board_and_with_cryptography():
    from smets.devices import keyest
    from smetsbench.han import zcrypto
    from smetsbench.oracle import crypto as ocrypto

    meter, ppmid = ocrypto.generate_private_key(), ocrypto.generate_private_key()

    class Board:
        ka_key = ocrypto.private_key_int(meter)

    firmware = keyest.link_key(Board, ocrypto.public_key_raw(ppmid))
    assert len(firmware) == 16
    assert firmware == zcrypto.partner_link_key(meter, ocrypto.public_key_raw(ppmid))
    assert firmware == zcrypto.partner_link_key(ppmid, ocrypto.public_key_raw(meter))
    other = ocrypto.generate_private_key()
    assert firmware != zcrypto.partner_link_key(other, ocrypto.public_key_raw(meter))
