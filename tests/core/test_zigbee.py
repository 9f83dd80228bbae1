"""The ZigBee HAN layers (smets.zigbee): crypto vectors, frame codecs, security, counters, and a
device joining the hub's trust center. Runs under pytest and on the MicroPython unix port."""


from gbcs_fixtures import raises as _raises
from gbcs_fixtures import scratch_store
from smets.han import ApsFrame
from smets.zigbee import frames as F
from smets.zigbee import sec, security
from smets.zigbee.coordinator import Coordinator
from smets.zigbee.stack import JOINED, HanStack, split_install_code

HUB = bytes.fromhex("00db1234567890a2")
DEV = bytes.fromhex("00db1234567890a0")
CODE = bytes.fromhex("83fed3407a939723a5c639b26916d505")


# -- crypto vectors ---------------------------------------------------------------------------


def test_install_code_crc_and_link_key_match_the_published_example():
    # The install code example of the ZigBee install code documentation (Silicon Labs AN1089):
    # CRC C3B5 (sent B5C3 -> low byte first), link key 66B6...02BB.
    assert sec.crc16(CODE) == 0xB5C3
    assert sec.install_code_with_crc(CODE)[-2:] == b"\xc3\xb5"
    assert sec.install_code_key(CODE) == bytes.fromhex("66b6900981e1ee3ca4206b6b861c02bb")
    assert split_install_code(sec.install_code_with_crc(CODE)) == CODE
    assert split_install_code(CODE) == CODE
    _raises(ValueError, split_install_code, CODE[:15])
    _raises(ValueError, sec.install_code_with_crc, b"\x01\x02\x03")


def test_ccm_star_is_nist_ccm_rfc3610_packet_vector_1():
    key = bytes(range(0xC0, 0xD0))
    nonce = bytes.fromhex("00000003020100a0a1a2a3a4a5")
    a = bytes(range(8))
    m = bytes(range(8, 0x1F))
    c = sec.seal(sec.key(key), nonce, a, m, 8)
    assert c == bytes.fromhex("588c979a61c663d2f066d0c2c0f989806d5f6b61dac38417e8d12cfdf926e0")
    assert sec.open_(sec.key(key), nonce, a, c, 8) == m
    for i in range(len(c)):
        bad = bytearray(c)
        bad[i] ^= 0x40
        _raises(sec.SecurityError, sec.open_, sec.key(key), nonce, a, bytes(bad), 8)
    _raises(sec.SecurityError, sec.open_, sec.key(key), nonce, a, c[:3], 4)
    _raises(sec.SecurityError, sec.seal, key, nonce[:12], a, m, 4)
    _raises(sec.SecurityError, sec.seal, key, nonce, a, m, 6)


def test_mmo_pads_to_blocks_and_the_keyed_hash_is_hmac():
    # Lengths around the padding boundaries all hash to 16 bytes, all differently.
    seen = set()
    for n in (0, 1, 13, 14, 15, 16, 17, 29, 30, 31, 32, 33):
        h = sec.mmo(bytes(n))
        assert len(h) == 16
        seen.add(h)
    assert len(seen) == 12
    link = bytes(range(16))
    assert sec.transport_key_key(link) != sec.load_key_key(link)
    inner = sec.mmo(bytes(b ^ 0x36 for b in link) + b"\x00")
    assert sec.transport_key_key(link) == sec.mmo(bytes(b ^ 0x5C for b in link) + inner)


# -- frame codecs -----------------------------------------------------------------------------


def test_mac_frames_round_trip_in_every_address_mode():
    for dst, src, pan_src in ((0x1234, 0x0000, 0x5555), (DEV, HUB, 0x5555), (0xFFFF, None, None),
                              (0x0000, DEV, 0xFFFF)):
        f = F.MacFrame(F.MAC_COMMAND, 7, 0x5555, dst, pan_src, src, b"\x01\x8c", ack_req=True)
        g = F.MacFrame.from_bytes(f.to_bytes())
        assert (g.ftype, g.seq, g.dst_pan, g.dst, g.src_pan, g.src, g.payload, g.ack_req) == (
            F.MAC_COMMAND, 7, 0x5555, dst, pan_src, src, b"\x01\x8c", True)
    b = F.MacFrame(F.MAC_DATA, 1, 0x1A62, 0x0000, 0x1A62, 0x90A0, b"xyz", True).to_bytes()
    assert b[:3] == b"\x61\x88\x01"  # data, ack request, PAN ID compression, short addresses
    for n in range(len(b) - 3):
        _raises(F.FrameError, F.MacFrame.from_bytes, b[:n])
    _raises(F.FrameError, F.MacFrame.from_bytes, b"\x09\x88\x01" + b[3:])  # MAC security
    _raises(F.FrameError, F.MacFrame.from_bytes, b"\x05\x88\x01" + b[3:])  # reserved type


def test_nwk_and_aps_frames_round_trip_and_reject_truncations():
    n = F.NwkFrame(F.NWK_DATA, 0x0000, 0x90A0, 9, b"payload", dst_eui=HUB, src_eui=DEV)
    b = n.to_bytes()
    m = F.NwkFrame.from_bytes(b)
    assert (m.ftype, m.dst, m.src, m.seq, m.dst_eui, m.src_eui, m.payload, m.aux) == (
        F.NWK_DATA, 0, 0x90A0, 9, HUB, DEV, b"payload", None)
    assert m.header == b[:24]
    for k in range(24):
        _raises(F.FrameError, F.NwkFrame.from_bytes, b[:k])
    _raises(F.FrameError, F.NwkFrame.from_bytes, b"\x04" + b[1:])  # protocol version 1
    for delivery, group in ((F.APS_UNICAST, None), (F.APS_BROADCAST, None), (F.APS_GROUP, 7)):
        a = F.ApsPdu(F.APS_DATA, 3, b"zcl", cluster=0x0704, profile=0x0109, dst_ep=1,
                     src_ep=2, delivery=delivery, group=group, ack_req=True)
        c = F.ApsPdu.from_bytes(a.to_bytes())
        assert (c.cluster, c.profile, c.src_ep, c.counter, c.payload, c.delivery, c.group,
                c.ack_req) == (0x0704, 0x0109, 2, 3, b"zcl", delivery, group, True)
        assert c.dst_ep == (0 if delivery == F.APS_GROUP else 1)
    cmd = F.ApsPdu.from_bytes(F.ApsPdu(F.APS_COMMAND, 4, b"\x05\x01").to_bytes())
    assert (cmd.ftype, cmd.counter, cmd.payload) == (F.APS_COMMAND, 4, b"\x05\x01")
    raw = F.ApsPdu(F.APS_DATA, 3, b"", cluster=1, profile=2).to_bytes()
    for k in range(len(raw)):
        _raises(F.FrameError, F.ApsPdu.from_bytes, raw[:k])


def test_aux_header_and_nonce_follow_zigbee_4_5_1():
    aux = F.Aux(F.KEY_NETWORK, 0x01020304, DEV, 5)
    b = aux.to_bytes()
    assert b[0] == 0x28  # level 0 on the air, network key (1 << 3), extended nonce (0x20)
    assert b[1:5] == b"\x04\x03\x02\x01" and b[5:13] == bytes(reversed(DEV)) and b[13] == 5
    assert aux.to_bytes(5)[0] == 0x2D
    back, p = F.Aux.from_bytes(b, 0)
    assert (back.key_id, back.counter, back.src_eui, back.key_seq, p) == (1, 0x01020304, DEV,
                                                                          5, 14)
    assert aux.nonce() == bytes(reversed(DEV)) + b"\x04\x03\x02\x01\x2d"
    _raises(F.FrameError, F.Aux(F.KEY_DATA, 1).nonce)
    _raises(F.FrameError, F.Aux.from_bytes, b"\xe8" + b[1:], 0)


def test_secured_frames_open_only_with_their_key_and_unchanged_bytes():
    k = sec.key(bytes(range(16)))
    n = F.NwkFrame(F.NWK_DATA, 0, 0x90A0, 1, src_eui=DEV)
    aux = F.Aux(F.KEY_NETWORK, 77, DEV, 0)
    n.aux = aux
    wire = security.seal(sec, k, n.header_bytes(), aux, b"secret payload")
    got = F.NwkFrame.from_bytes(wire)
    assert got.aux.counter == 77 and got.aux.level == 0
    assert security.open_frame(sec, k, got) == b"secret payload"
    assert b"secret" not in wire
    _raises(sec.SecurityError, security.open_frame, sec, sec.key(bytes(16)), got)
    level_at = len(n.header_bytes())  # the level bits: sent as 0, the receiver uses 5 (4.3.1.2)
    for i in range(len(wire)):
        bad = bytearray(wire)
        bad[i] ^= 0x08 if i == level_at else 0x01
        try:
            f = F.NwkFrame.from_bytes(bytes(bad))
        except F.FrameError:
            continue
        if f.aux is None:
            continue
        _raises(sec.SecurityError, security.open_frame, sec, k, f)


def test_frame_counters_never_repeat_across_a_restart_and_stale_ones_are_refused():
    out = security.OutCounter(0)
    values = []
    saves = 0
    for _ in range(security.COUNTER_BLOCK + 3):
        v, save = out.take()
        values.append(v)
        saves += save
    assert values == list(range(security.COUNTER_BLOCK + 3)) and saves == 2
    # A reboot resumes from the saved ceiling: above anything handed out before.
    again = security.OutCounter(out.ceiling)
    assert again.take()[0] > max(values)
    _raises(sec.SecurityError, security.OutCounter(security.MAX_COUNTER).take)
    inc = security.InCounters()
    assert inc.accept(DEV, 5) and not inc.accept(DEV, 5) and not inc.accept(DEV, 4)
    assert inc.accept(DEV, 6) and inc.fresh(HUB, 0)
    assert security.InCounters(inc.to_record()).next == {DEV: 7}


# -- joining ----------------------------------------------------------------------------------


class Log:
    """A CHF device log for the trust center: eui -> (install code, may join)."""

    def __init__(self):
        self.devices = {}

    def __call__(self, eui, now):
        if eui is None:
            return (b"", True) if any(v[1] for v in self.devices.values()) else None
        return self.devices.get(eui)


def _identity(code=CODE, eui=DEV):
    return {"eui": eui.hex(), "hub_eui": HUB.hex(),
            "install_code": sec.install_code_with_crc(code).hex()}


def _pump(tc, stacks, now, frames_in=None):
    """Carry frames between the device stacks and the trust center until quiet; the APS frames
    the devices received and the trust center's events."""
    got = []
    events = []
    queue = []
    for st in stacks:
        st.tick(now)
        queue += [(st, f) for f in st.take()]
    while queue:
        st, frame = queue.pop(0)
        for ev in tc.receive(frame, now // 1000):
            events.append(ev)
            if ev[0] == "tx":
                for dst in stacks:
                    if ev[1] in (None, dst.eui):
                        got += dst.receive(ev[2], now)
                        queue += [(dst, f) for f in dst.take()]
    return got, events


def test_a_device_in_the_log_joins_and_its_frames_are_secured_both_ways():
    log = Log()
    log.devices[DEV] = (CODE, True)
    tc = Coordinator(HUB, log)
    st = HanStack(_identity(), scratch_store())
    st.send(ApsFrame(DEV, HUB, 0x0704, b"held until joined"), 0)
    _got, events = _pump(tc, [st], 0)
    kinds = [e[0] for e in events if e[0] != "tx"]
    assert kinds[:2] == ["associated", "joined"] and st.state == JOINED
    assert tc.joined(DEV) and st.short == tc.member(DEV).short
    aps = [e[1] for e in events if e[0] == "aps"]
    assert [a.payload for a in aps] == [b"held until joined"] and aps[0].flags & 0x04
    # The hub's frame to the device: opened, with its Smart Energy cluster APS-secured.
    (tx,) = tc.send(ApsFrame(HUB, DEV, 0x0704, b"to the meter"), 1)
    (got,) = st.receive(tx[2], 1000)
    assert (got.src_eui, got.payload, got.flags & 0x04) == (HUB, b"to the meter", 0x04)
    # The same frame again: a replay, dropped and counted.
    assert st.receive(tx[2], 1000) == [] and st.stats["replayed"] == 1
    # One bit flipped in the MIC: dropped and counted.
    bad = tx[2][:-1] + bytes((tx[2][-1] ^ 1,))
    (tx2,) = tc.send(ApsFrame(HUB, DEV, 0x0704, b"x"), 1)
    bad = tx2[2][:-1] + bytes((tx2[2][-1] ^ 1,))
    assert st.receive(bad, 1000) == [] and st.stats["bad_mic"] == 1
    # A general cluster (Basic) goes with NWK security only; a Smart Energy cluster sent
    # without APS security is refused by the trust center.
    (tx3,) = tc.send(ApsFrame(HUB, DEV, 0x0000, b"\x00\x01\x00"), 2)
    (basic,) = st.receive(tx3[2], 2000)
    assert not basic.flags & 0x04


def test_devices_not_in_the_log_or_with_the_wrong_install_code_never_get_the_network_key():
    log = Log()
    tc = Coordinator(HUB, log)
    stranger = HanStack(_identity(eui=bytes.fromhex("00db1234567890b7")), scratch_store())
    log.devices[bytes.fromhex("00db1234567890c1")] = (CODE, True)  # joining is open
    _got, events = _pump(tc, [stranger], 0)
    assert ("refused" in [e[0] for e in events]) and stranger.stats["refused"] == 1
    assert not tc.joined(stranger.eui) and stranger.nwk_key is None
    # In the log with another install code: the Transport Key does not open.
    wrong = HanStack(_identity(code=bytes(16), eui=bytes.fromhex("00db1234567890c1")),
                     scratch_store())
    _got, events = _pump(tc, [wrong], 0)
    assert wrong.stats["bad_mic"] == 1 and wrong.nwk_key is None and wrong.state != JOINED
    assert not tc.joined(wrong.eui)
    failed = tc.tick(60)
    assert [e[0] for e in failed] == ["join_failed"] and tc.member(wrong.eui) is None
    # The join period over: a device in the log that never joined is refused too.
    late = bytes.fromhex("00db1234567890c2")
    log.devices[late] = (CODE, False)
    st = HanStack(_identity(eui=late), scratch_store())
    _got, events = _pump(tc, [st], 0)
    assert ("refused", late, "its join period is over") in events


def test_a_rebooted_device_rejoins_above_its_old_counters_and_a_removed_one_cannot():
    log = Log()
    log.devices[DEV] = (CODE, True)
    tc = Coordinator(HUB, log)
    store = scratch_store()
    st = HanStack(_identity(), store)
    _pump(tc, [st], 0)
    for i in range(5):
        st.send(ApsFrame(DEV, HUB, 0x0704, b"%d" % i), 10)
    for f in st.take():
        tc.receive(f, 1)
    before = tc.nwk_in.next[DEV]
    # Power cut: nothing saved since; a new stack from the same store resumes the network.
    again = HanStack(_identity(), store)
    assert again.state != JOINED and again.nwk_raw == st.nwk_raw
    _got, events = _pump(tc, [again], 5000)
    assert ("rejoined", DEV) in events and again.state == JOINED
    assert tc.nwk_in.next[DEV] > before and again.stats["rejoins"] == 1
    # Removed from the log: told to leave, it forgets the network; its rejoin is refused.
    log.devices.pop(DEV)
    events = tc.remove(DEV, 6)
    (leave,) = [e for e in events if e[0] == "tx"]
    again.receive(leave[2], 6000)
    assert again.nwk_key is None and again.stats["leaves"] == 1
    log.devices[bytes.fromhex("00db1234567890c3")] = (CODE, True)  # the PAN permits joining
    _got, events = _pump(tc, [again], 10 ** 6)
    assert ("refused", DEV, "not in the CHF device log") in events
    assert not tc.joined(DEV)


def test_a_sleepy_device_polls_for_what_its_parent_holds_and_hears_nothing_asleep():
    log = Log()
    log.devices[DEV] = (CODE, True)
    tc = Coordinator(HUB, log)
    store = scratch_store()
    st = HanStack(_identity(), store, capability=0x80)  # battery, receiver off when idle
    assert st.sleepy
    _pump(tc, [st], 0)
    assert st.state == JOINED and tc.member(DEV).sleepy
    # Asleep after its announce: nothing due, nothing heard.
    st.tick(5000)
    assert st.next_due(5000) is None and st.status()["awake"] is False
    # The hub's frames are held for it (802.15.4 indirect transmission), not sent.
    assert tc.send(ApsFrame(HUB, DEV, 0x0704, b"one"), 6) == [("held", DEV)]
    assert tc.send(ApsFrame(HUB, DEV, 0x0704, b"two"), 6) == [("held", DEV)]
    # A broadcast to the devices with receivers on leaves it out.
    assert all(e[1] != DEV for e in tc.send(ApsFrame(HUB, b"\xff" * 8, 0x000A, b"t"), 6))
    # A frame that reaches it while it sleeps (e.g. sent unasked) is not heard.
    basic = tc.send(ApsFrame(HUB, DEV, 0x0000, b"\x00\x01\x00"), 6)
    assert basic == [("held", DEV)]
    # It wakes to send; right after the frame it polls (MAC Data Request).
    st.send(ApsFrame(DEV, HUB, 0x0704, b"GET"), 7000)
    frames = st.take()
    assert len(frames) == 1 and st.next_due(7000) == 7000
    st.tick(7000)
    (poll,) = st.take()
    mac = F.MacFrame.from_bytes(poll)
    assert (mac.ftype, bytes(mac.payload), mac.src) == (F.MAC_COMMAND, b"\x04", st.short)
    got = []
    for frame in frames + [poll]:
        for ev in tc.receive(frame, 7):
            if ev[0] == "tx":
                got.append(ev[2])
    # The oldest held frame, with the frame pending bit: it polls again at once.
    (first,) = got
    assert F.MacFrame.from_bytes(first).pending
    assert [a.payload for a in st.receive(first, 7010)] == [b"one"]
    assert st.next_due(7010) == 7010
    payloads = []
    for t in range(7010, 9000, 50):
        st.tick(t)
        for frame in st.take():
            for ev in tc.receive(frame, 7):
                if ev[0] == "tx":
                    payloads += [bytes(a.payload) for a in st.receive(ev[2], t)]
    # Then the rest, then an empty frame (nothing held); then asleep again.
    assert payloads == [b"two", b"\x00\x01\x00"]
    assert st.stats["polls"] >= 4 and tc.stats["polled"] >= 4 and tc.indirect == {}
    assert st.next_due(9000) is None
    # Awake or not, the parent now sends it nothing unasked; a frame forced on it while it
    # sleeps is dropped and counted (its receiver is off).
    held = tc.send(ApsFrame(HUB, DEV, 0x0704, b"late"), 9)
    assert held == [("held", DEV)]
    frame = tc.indirect[st.short][0]
    assert st.receive(frame, 9500) == [] and st.stats["asleep"] == 1
    # Removed while asleep: the Leave waits for its next poll.
    log.devices.pop(DEV)
    assert [e[0] for e in tc.remove(DEV, 10)] == ["left"]
    st.send(ApsFrame(DEV, HUB, 0x0704, b"GET"), 10000)
    for t in range(10000, 12000, 50):
        st.tick(t)
        for frame in st.take():
            for ev in tc.receive(frame, 10):
                if ev[0] == "tx":
                    st.receive(ev[2], t)
    assert st.stats["leaves"] == 1 and st.nwk_key is None


def test_malformed_and_foreign_frames_are_dropped_and_counted_never_raised():
    log = Log()
    log.devices[DEV] = (CODE, True)
    tc = Coordinator(HUB, log)
    st = HanStack(_identity(), scratch_store())
    _pump(tc, [st], 0)
    (tx,) = tc.send(ApsFrame(HUB, DEV, 0x0704, b"frame"), 1)
    good = tx[2]
    radius = bytearray(good)
    radius[9 + 6] ^= 0x01  # the NWK radius: covered by the MIC
    junk = [b"", b"\x01", b"\xff" * 40, good[:10], good[:-6], bytes(radius)]
    for data in junk:
        assert st.receive(data, 1) == []
        events = tc.receive(data, 1)
        assert all(e[0] == "dropped" for e in events)
    assert st.stats["bad_frames"] + st.stats["not_for_us"] >= 3
    assert tc.stats["bad_frames"] >= 3


# -- Type 2 devices: Smart Energy frames under the network key only ---------------------------
IHD = bytes.fromhex("00db12345678909c")
PPMID = bytes.fromhex("00db1234567890a4")
IHD_CODE = bytes(range(16))
PPMID_CODE = bytes(range(16, 32))
TYPE_2 = 6
SE = 0x0109


def _home():
    """A trust center whose CHF device log holds a meter, an IHD (Type 2) and a PPMID (Type 1),
    all joined; the meter's device log joined the IHD by Method B and the PPMID by Method A
    (types as GBCS JoinDevice: 6 Type 2, 5 PPMID)."""
    log = Log()
    for eui, code in ((DEV, CODE), (IHD, IHD_CODE), (PPMID, PPMID_CODE)):
        log.devices[eui] = (code, True)
    tc = Coordinator(HUB, log, nwk_only=lambda eui: eui == IHD)
    meter_log = {IHD: TYPE_2, PPMID: 5}
    # As smets.devices.gbcsdev.GBCSDevice.han_nwk_only and the consumer's.
    meter = HanStack(_identity(), scratch_store(),
                     nwk_only=lambda eui: eui != HUB and meter_log.get(eui) in (None, TYPE_2))
    ihd = HanStack(_identity(IHD_CODE, IHD), scratch_store(), nwk_only=lambda eui: True)
    ppmid = HanStack(_identity(PPMID_CODE, PPMID), scratch_store(), nwk_only=lambda eui: False)
    _pump(tc, [meter, ihd, ppmid], 0)
    assert all(tc.joined(e) for e in (DEV, IHD, PPMID))
    return tc, meter, ihd, ppmid


def _carry(tc, sender, stacks, now):
    """The frames `sender` queued, through the trust center: (APS frames the stacks received,
    the trust center's events, the APS frames inside the frames sent on the air)."""
    got, events, on_air = [], [], []
    for frame in sender.take():
        on_air.append(_aps_inside(tc, frame))
        for ev in tc.receive(frame, now // 1000):
            events.append(ev)
            if ev[0] == "tx":
                for st in stacks:
                    if ev[1] == st.eui:
                        on_air.append(_aps_inside(tc, ev[2]))
                        got += st.receive(ev[2], now)
    return got, events, on_air


def _aps_inside(tc, frame):
    """The APS frame inside a frame on the air, opened with the network key."""
    nwk = F.NwkFrame.from_bytes(F.MacFrame.from_bytes(frame).payload)
    return F.ApsPdu.from_bytes(security.open_frame(sec, tc.nwk_key, nwk, nwk.aux.src_eui))


def test_a_type2_device_and_its_meter_talk_smart_energy_under_the_network_key_only():
    tc, meter, ihd, _ppmid = _home()
    read = b"\x00\x05\x00\x00\x00"  # Read Attributes: Metering CurrentSummationDelivered
    ihd.send(ApsFrame(IHD, DEV, 0x0702, read, dst_short=tc.member(DEV).short, profile=SE), 10)
    got, _events, on_air = _carry(tc, ihd, [meter], 10)
    # On the air (the IHD's frame and the hub's relay of it): NWK security, no APS security.
    assert len(on_air) == 2 and all(a.aux is None and a.cluster == 0x0702 for a in on_air)
    (req,) = got
    assert (req.src_eui, bytes(req.payload), req.flags & 0x04) == (IHD, read, 0)
    answer = b"\x18\x05\x01\x00\x00\x00\x25\x39\x30\x00\x00\x00\x00"
    meter.send(req.reply(0x0702, answer), 20)
    got, _events, on_air = _carry(tc, meter, [ihd], 20)
    assert all(a.aux is None for a in on_air)
    (rsp,) = got
    assert (rsp.src_eui, bytes(rsp.payload), rsp.flags & 0x04) == (DEV, answer, 0)
    assert meter.stats["unsecured"] == 0 and ihd.stats["unsecured"] == 0


def test_partners_sharing_a_link_key_keep_aps_security_and_are_refused_without_it():
    tc, meter, ihd, ppmid = _home()
    # The hub and the meter (the GBCS tunnel): APS-secured both ways, as before.
    (tx,) = tc.send(ApsFrame(HUB, DEV, 0x0704, b"\x09\x01\x03command"), 1)
    assert _aps_inside(tc, tx[2]).aux.key_id == F.KEY_DATA
    (down,) = meter.receive(tx[2], 1000)
    assert down.flags & 0x04
    meter.send(ApsFrame(DEV, HUB, 0x0704, b"\x01\x02\x00response"), 1000)
    _got, events, on_air = _carry(tc, meter, [], 1000)
    assert on_air[0].aux is not None and [e[1].flags & 0x04 for e in events if e[0] == "aps"]
    # The PPMID (Method A: a link key with the meter, once agreed; none here) sends nothing
    # of a Smart Energy cluster without it.
    ppmid.send(ApsFrame(PPMID, DEV, 0x0705, b"\x01\x07\x00", profile=SE), 2000)
    assert ppmid.take() == [] and ppmid.stats["dropped"] == 1
    # A PPMID that sends one under the network key only anyway: the meter drops it and
    # answers FAILURE (ZSE 1.4 5.4.6), under the network key only.
    rogue = HanStack(_identity(PPMID_CODE, PPMID), ppmid.store, nwk_only=lambda eui: True)
    _pump(tc, [rogue], 3000)  # it resumes the PPMID's network (a secured rejoin)
    assert rogue.state == JOINED
    rogue.send(ApsFrame(PPMID, DEV, 0x0705, b"\x01\x07\x00", dst_short=tc.member(DEV).short,
                        profile=SE), 3000)
    got, _events, _on_air = _carry(tc, rogue, [meter], 3000)
    assert got == [] and meter.stats["unsecured"] == 1
    got, _events, on_air = _carry(tc, meter, [rogue], 3000)
    (refusal,) = got
    assert bytes(refusal.payload) == b"\x18\x07\x0b\x00\x01" and on_air[0].aux is None
    # The trust center does the same for the hub's own Smart Energy clusters: it refuses an
    # unsecured tunnel frame of a member that is not a Type 2 device.
    rogue.send(ApsFrame(PPMID, HUB, 0x0704, b"\x01\x08\x00tunnel"), 4000)
    _got, events, _on_air = _carry(tc, rogue, [], 4000)
    assert [e[0] for e in events] == ["dropped", "tx"] and tc.stats["unsecured"] == 1
    assert bytes(_aps_inside(tc, events[1][2]).payload) == b"\x18\x08\x0b\x00\x01"
    # An IHD's frame to the hub goes under the network key only, and is taken.
    ihd.send(ApsFrame(IHD, HUB, 0x0702, b"\x00\x09\x00\x00\x00", profile=SE), 5000)
    _got, events, on_air = _carry(tc, ihd, [], 5000)
    assert on_air[0].aux is None and [e[0] for e in events] == ["aps"]


def test_a_method_a_partners_agreed_key_secures_their_smart_energy_frames_end_to_end():
    tc, meter, _ihd, ppmid = _home()
    agreed = bytes(range(100, 116))  # as a Method A key agreement would give both
    meter.partner_key = lambda eui: agreed if eui == PPMID else None
    ppmid.partner_key = lambda eui: agreed if eui == DEV else None
    top_up = b"\x01\x0a\x00\x01\x02"
    ppmid.send(ApsFrame(PPMID, DEV, 0x0705, top_up, dst_short=tc.member(DEV).short,
                        profile=SE), 1000)
    got, _events, on_air = _carry(tc, ppmid, [meter], 1000)
    # APS-secured with the agreed key (key identifier: data), untouched by the hub's relay.
    assert [a.aux.key_id for a in on_air] == [F.KEY_DATA, F.KEY_DATA]
    assert on_air[0].aux.counter == on_air[1].aux.counter
    (frame,) = got
    assert bytes(frame.payload) == top_up and frame.flags & 0x04
    # A meter that does not hold the key cannot open it: dropped, nothing delivered.
    meter.partner_key = lambda eui: bytes(16) if eui == PPMID else None
    ppmid.send(ApsFrame(PPMID, DEV, 0x0705, top_up, dst_short=tc.member(DEV).short,
                        profile=SE), 2000)
    got, _events, _on_air = _carry(tc, ppmid, [meter], 2000)
    assert got == [] and meter.stats["bad_mic"] == 1


def test_a_partner_known_by_its_eui_alone_is_found_through_the_hubs_discovery_cache():
    from smets import zdo

    tc, meter, _ihd, ppmid = _home()
    agreed = bytes(range(100, 116))
    meter.partner_key = lambda eui: agreed if eui == PPMID else None
    ppmid.partner_key = lambda eui: agreed if eui == DEV else None
    top_up = b"\x01\x0b\x00\x01\x02"
    # The PPMID's device log names its meter by EUI-64 only: the frame waits while the hub is
    # asked for the meter's network address (NWK_addr_req, ZigBee 2.4.3.1.1).
    ppmid.send(ApsFrame(PPMID, DEV, 0x0705, top_up, profile=SE), 1000)
    _got, events, on_air = _carry(tc, ppmid, [], 1000)
    (req,) = [e[1] for e in events if e[0] == "aps"]
    assert (req.profile, req.cluster, on_air[0].aux) == (0, zdo.NWK_ADDR_REQ, None)
    tsn, asked, _kind = zdo.parse_nwk_addr_req(req.payload)
    assert asked == DEV and len(ppmid.resolving) == 1
    # Asked again within the wait: held too, no second question.
    ppmid.send(ApsFrame(PPMID, DEV, 0x0705, top_up, profile=SE), 1100)
    assert ppmid.take() == [] and len(ppmid.resolving) == 2
    (tx,) = tc.send(ApsFrame(HUB, PPMID, zdo.NWK_ADDR_RSP, zdo.ieee_addr_rsp(
        tsn, DEV, tc.member(DEV).short), src_ep=0, dst_ep=0, profile=0), 1)
    assert ppmid.receive(tx[2], 1200) == []  # the stack's own: not for the device model
    got, _events, on_air = _carry(tc, ppmid, [meter], 1200)
    assert [bytes(f.payload) for f in got] == [top_up, top_up] and ppmid.resolving == []
    assert all(a.aux is not None for a in on_air)  # still APS-secured with the agreed key
    # A partner the hub does not know: what waited for it is dropped, counted.
    stranger = bytes.fromhex("00db1234567890ee")
    ppmid.send(ApsFrame(PPMID, stranger, 0x0000, b"\x00\x01\x00\x00\x00", profile=SE), 2000)
    _got, events, _on_air = _carry(tc, ppmid, [], 2000)
    (req,) = [e[1] for e in events if e[0] == "aps"]
    tsn = zdo.parse_nwk_addr_req(req.payload)[0]
    dropped = ppmid.stats["dropped"]
    (tx,) = tc.send(ApsFrame(HUB, PPMID, zdo.NWK_ADDR_RSP, zdo.ieee_addr_rsp(
        tsn, stranger, 0xFFFF, zdo.DEVICE_NOT_FOUND), src_ep=0, dst_ep=0, profile=0), 2)
    assert ppmid.receive(tx[2], 2100) == [] and ppmid.take() == []
    assert ppmid.stats["dropped"] == dropped + 1 and ppmid.resolving == []
