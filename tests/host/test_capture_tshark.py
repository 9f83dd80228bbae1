"""HAN captures dissect in Wireshark: tshark's ZigBee and GBCS dissectors are independent oracles.

RTDS messages (real DCC test data) wrapped in unsecured HAN frames, and a bench run's secured
HAN as it is on the air, are written to pcap and read back with tshark: every frame of the
secured run opens with the keys the capture wrote beside it (Wireshark's own CCM*, AES-MMO key
hashes and NWK / APS parsing), and every message is recognised as GBCS with the CRA flag,
message code and originator counter we put in. scapy parses the same frames' headers.
"""

import shutil
import subprocess

import pytest
from smets.gbcs import envelope
from smets.han import ApsFrame
from smets.zcl import tunnel
from smets.zcl.frame import ZCLFrame
from smetsbench.han.capture import PcapWriter, read_keys, tshark_args
from smetsbench.paths import rtds_dir

TSHARK = shutil.which("tshark")
pytestmark = pytest.mark.skipif(TSHARK is None, reason="tshark (Debian package) not installed")

HUB = bytes.fromhex("00db1234567890a2")
ESME = bytes.fromhex("00db1234567890a0")


def tshark_fields(path, *fields):
    cmd = [TSHARK, "-r", str(path), "-Y", "gbcs_message", "-T", "fields"]
    for f in fields:
        cmd += ["-e", f]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=True).stdout
    return [line.split("\t") for line in out.splitlines()]


def _tunnel_frame(message, to_device, seq):
    command = tunnel.TRANSFER_DATA_S2C if to_device else tunnel.TRANSFER_DATA_C2S
    zcl = ZCLFrame(command, tunnel.transfer_data(1, tunnel.gbcs_put(message)),
                   server_to_client=to_device, disable_default_response=True, seq=seq)
    src, dst = (HUB, ESME) if to_device else (ESME, HUB)
    return ApsFrame(src, dst, tunnel.CLUSTER, zcl.to_bytes(), counter=seq)


def test_rtds_messages_dissect_with_our_header_values(tmp_path):
    rtds = rtds_dir()
    if rtds is None:
        pytest.skip("../shared/rtds not present")
    files = sorted((rtds / "RTDS-4.5.0").glob("*/*_GBCS.HEX"))
    files = [f for f in files if "_PRECOMMAND_" not in f.name]
    expected = []
    path = tmp_path / "rtds.pcap"
    with PcapWriter(path, hub_eui=HUB) as pcap:
        for i, f in enumerate(files):
            raw = bytes.fromhex(f.read_text().strip())
            msg = envelope.decode(raw)
            pcap.write(_tunnel_frame(raw, msg.cra == envelope.CRA_COMMAND, i & 0xFF))
            expected.append((msg.cra, msg.message_code, msg.counter))
    rows = tshark_fields(path, "gbcs_message.grouping_header.cra_flag",
                         "gbcs_message.grouping_header.message_code",
                         "gbcs_message.grouping_header.originator_counter")
    got = [(int(c, 16), int(m, 16), int(n)) for c, m, n in rows]
    assert len(got) == len(expected)
    assert got == expected


def _tshark(path, keys, *args):
    cmd = [TSHARK, "-r", str(path)] + (tshark_args(keys) if keys else []) + list(args)
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120,
                          check=True).stdout.splitlines()


def test_secured_han_capture_decrypts_with_its_key_file(tmp_path):
    """A bench run's capture holds the frames as on the air (802.15.4, NWK-secured, APS-secured
    Smart Energy clusters): tshark opens every one with the keys in FILE.keys and shows every
    GBCS message; without the keys it shows none."""
    from smetsbench.session import Bench

    path = tmp_path / "han.pcap"
    sent = []
    with Bench(work_dir=tmp_path / "boards") as bench:
        pcap = PcapWriter(path, hub_eui=bench.hub.eui, keys=bench.hub.coordinator.keys)
        bench.hub.air_taps.append(pcap.air_tap)
        esme = bench.add_virtual("ESME")
        for name in ("ECS52", "ECS45", "ECS17b", "ECS43"):
            res = bench.run(esme, name)
            assert res.passed, res.report()
            sent += [envelope.decode(res.command), envelope.decode(res.response)]
        res = bench.run(esme, "ECS52", scenario="BAD_MAC", tamper="bad_mac")
        assert res.passed, res.report()
        sent += [envelope.decode(res.command), envelope.decode(res.alerts[0])]
        pcap.close()
    keys = read_keys(str(path) + ".keys")
    assert [label for label, _ in keys] == ["network key, sequence 0",
                                            "trust center link key %s" % esme.eui.hex()]
    # Without the keys: the NWK payloads stay encrypted, no GBCS shows.
    plain = _tshark(path, None, "-T", "fields", "-e", "frame.protocols")
    assert not any("gbcs" in p for p in plain)
    assert sum(p == "wpan:zbee_nwk:data" for p in plain) >= len(sent)
    # With them: every NWK and APS payload opens (nothing left as undissected data after a
    # ZigBee layer), no expert warning, and the GBCS messages are the ones sent, in order.
    rows = _tshark(path, keys, "-T", "fields", "-e", "frame.protocols", "-e",
                   "_ws.expert.message")
    assert len(rows) == len(plain)
    for row in rows:
        protocols, _, expert = row.partition("\t")
        assert not protocols.endswith(("zbee_nwk:data", "zbee_aps:data")), row
        assert expert == "", row
    layers = {r.split("\t")[0] for r in rows}
    assert "wpan:zbee_nwk:zbee_aps:zbee_zdp" in layers  # Device_annce
    assert any(p.startswith("wpan:zbee_nwk:zbee_aps") and "gbcs_message" not in p
               and "zbee_zcl" not in p for p in layers)  # the Transport Key
    got = [line.split("\t") for line in _tshark(
        path, keys, "-Y", "gbcs_message", "-T", "fields", "-e", "gbcs_tunnel.command",
        "-e", "gbcs_message.grouping_header.cra_flag",
        "-e", "gbcs_message.grouping_header.message_code",
        "-e", "gbcs_message.grouping_header.originator_counter")]
    got = [(int(t, 16), int(c, 16), int(m, 16), int(n)) for t, c, m, n in got]
    assert got == [(3, m.cra, m.message_code, m.counter) for m in sent]
    # scapy reads the same headers from every frame as our codecs (a third opinion on the
    # 802.15.4 and NWK layers; it does no ZigBee crypto).
    _scapy_agrees(path)


def _scapy_agrees(path):
    from scapy.config import conf
    from scapy.layers.dot15d4 import Dot15d4FCS
    from scapy.layers.zigbee import ZigbeeNWK, ZigbeeSecurityHeader
    from scapy.utils import rdpcap
    from smets.zigbee import frames

    conf.dot15d4_protocol = "zigbee"
    for pkt in rdpcap(str(path)):
        raw = bytes(pkt)
        ours = frames.MacFrame.from_bytes(raw[:-2])
        theirs = Dot15d4FCS(raw)
        assert theirs.fcs == int.from_bytes(raw[-2:], "little")
        assert theirs.seqnum == ours.seq
        if ours.ftype != frames.MAC_DATA:
            continue
        assert (theirs.dest_addr, theirs.src_addr) == (ours.dst, ours.src)
        nwk = frames.NwkFrame.from_bytes(ours.payload)
        sn = theirs[ZigbeeNWK]
        assert (sn.destination, sn.source, sn.seqnum, sn.radius) == (
            nwk.dst, nwk.src, nwk.seq, nwk.radius)
        if nwk.src_eui is not None:
            assert int(sn.ext_src) == int.from_bytes(nwk.src_eui, "big")
        if nwk.aux is not None:
            sec = sn[ZigbeeSecurityHeader]
            assert (sec.fc, sec.key_type, sec.extended_nonce) == (
                nwk.aux.counter, nwk.aux.key_id, 1)
            assert int(sec.source) == int.from_bytes(nwk.aux.src_eui, "big")
