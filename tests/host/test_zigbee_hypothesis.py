"""The HAN security layers against arbitrary input, and the firmware's ZigBee crypto against
`cryptography` (smetsbench.han.zcrypto): each side checks the other.

Decoders (802.15.4, NWK, APS, auxiliary header) raise only FrameError; a device's stack and the
hub's trust center take any bytes and drop what they cannot use, counted, never raising; a
secured frame changed anywhere its MIC covers is never accepted.
"""

import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from smets.han import ApsFrame
from smets.store import Store
from smets.zigbee import frames as F
from smets.zigbee import sec, security
from smets.zigbee.coordinator import Coordinator
from smets.zigbee.stack import JOINED, HanStack
from smetsbench.han import zcrypto

HUB = bytes.fromhex("00db1234567890a2")
DEV = bytes.fromhex("00db1234567890a0")
CODE = bytes(range(16))
SETTINGS = settings(max_examples=300, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


# -- firmware crypto == cryptography ----------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(st.binary(min_size=16, max_size=16), st.binary(min_size=13, max_size=13),
       st.binary(max_size=40), st.binary(max_size=300), st.sampled_from((4, 8, 16)))
def test_ccm_star_matches_cryptography(key, nonce, a, m, mic):
    ours = sec.seal(sec.key(key), nonce, a, m, mic)
    assert ours == zcrypto.seal(zcrypto.key(key), nonce, a, m, mic)
    assert bytes(sec.open_(sec.key(key), nonce, a, ours, mic)) == m
    assert zcrypto.open_(zcrypto.key(key), nonce, a, ours, mic) == m


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_aes_mmo_and_keyed_hash_match_cryptography(data):
    assert sec.mmo(data) == zcrypto.mmo(data)
    if len(data) >= 16:
        key = data[:16]
        assert sec.transport_key_key(key) == sec.keyed_hash(key, 0, zcrypto.mmo)
        assert sec.load_key_key(key) == sec.keyed_hash(key, 2, zcrypto.mmo)


def test_install_code_keys_agree():
    for n in (6, 8, 12, 16):
        code = os.urandom(n)
        assert sec.install_code_key(code) == zcrypto.install_code_key(code)


# -- decoders ---------------------------------------------------------------------------------


@SETTINGS
@given(st.binary(max_size=120))
def test_decoders_raise_only_their_error(data):
    for decode in (F.MacFrame.from_bytes, F.NwkFrame.from_bytes, F.ApsPdu.from_bytes):
        try:
            decode(data)
        except F.FrameError:
            pass
    try:
        F.Aux.from_bytes(data, 0)
    except F.FrameError:
        pass


@SETTINGS
@given(st.integers(0, 0xFFFF), st.integers(0, 0xFFFF), st.integers(0, 255),
       st.one_of(st.none(), st.binary(min_size=8, max_size=8)),
       st.one_of(st.none(), st.binary(min_size=8, max_size=8)), st.binary(max_size=60),
       st.integers(0, 0xFFFFFFFF), st.integers(0, 255))
def test_nwk_frames_round_trip_secured(dst, src, seq, dst_eui, src_eui, payload, counter, kseq):
    key = zcrypto.key(bytes(16))
    nwk = F.NwkFrame(F.NWK_DATA, dst, src, seq, dst_eui=dst_eui, src_eui=src_eui)
    aux = F.Aux(F.KEY_NETWORK, counter, DEV, kseq)
    nwk.aux = aux
    wire = security.seal(zcrypto, key, nwk.header_bytes(), aux, payload)
    back = F.NwkFrame.from_bytes(wire)
    assert (back.dst, back.src, back.seq, back.dst_eui, back.src_eui) == (
        dst, src, seq, dst_eui, src_eui)
    assert (back.aux.counter, back.aux.key_seq, back.aux.src_eui) == (counter, kseq, DEV)
    assert bytes(security.open_frame(sec, sec.key(bytes(16)), back)) == payload


# -- the stacks against arbitrary frames ------------------------------------------------------


def _joined(tmp_path):
    log = {DEV: (CODE, True)}
    tc = Coordinator(HUB, lambda e, n: (b"", True) if e is None else log.get(e), crypto=zcrypto)
    store = Store(str(tmp_path / ("s%s" % os.urandom(4).hex())))
    dev = HanStack({"eui": DEV.hex(), "hub_eui": HUB.hex(),
                    "install_code": sec.install_code_with_crc(CODE).hex()}, store)
    queue = []
    dev.tick(0)
    queue += dev.take()
    while queue:
        for ev in tc.receive(queue.pop(0), 0):
            if ev[0] == "tx":
                dev.receive(ev[2], 0)
                queue += dev.take()
    assert dev.state == JOINED and tc.joined(DEV)
    return tc, dev


@SETTINGS
@given(data=st.binary(max_size=150))
def test_a_device_stack_and_the_trust_center_take_any_bytes(tmp_path, data):
    tc, dev = _joined(tmp_path)
    assert dev.receive(data, 1) == []  # nothing raises, nothing opens without the key
    for ev in tc.receive(data, 1):
        assert ev[0] in ("dropped", "tx", "refused", "associated")


@SETTINGS
@given(data=st.data())
def test_a_secured_frame_changed_under_its_mic_is_never_accepted(tmp_path, data):
    tc, dev = _joined(tmp_path)
    # A hub frame to the device (NWK and APS security) and a device frame to the hub.
    (down,) = tc.send(ApsFrame(HUB, DEV, 0x0704, b"\x19\x01\x03payload"), 1)
    dev.send(ApsFrame(DEV, HUB, 0x0704, b"\x11\x02\x01payload"), 1)
    (up,) = dev.take()
    mac_len = 9  # data frame, PAN ID compression, short addresses
    for frame, receive in ((down[2], lambda f: dev.receive(f, 2)),
                           (up, lambda f: [e for e in tc.receive(f, 2) if e[0] == "aps"])):
        i = data.draw(st.integers(mac_len, len(frame) - 1))
        bit = data.draw(st.integers(0, 7))
        bad = bytearray(frame)
        bad[i] ^= 1 << bit
        nwk = F.NwkFrame.from_bytes(frame[mac_len:])
        if i == mac_len + len(nwk.header) and bit < 3:
            continue  # the level bits: sent as 0, replaced by the receiver (ZigBee 4.3.1.2)
        assert receive(bytes(bad)) == []
