"""HAN captures dissect in Wireshark: tshark's GBCS dissector is an independent oracle.

RTDS messages (real DCC test data) and bench-built messages are wrapped in HAN frames the way
the hub sends them, written to pcap, and read back with tshark: every message must be
recognised as GBCS with the CRA flag, message code and originator counter we put in.
"""

import shutil
import subprocess

import pytest
from smets.gbcs import envelope
from smets.han import ApsFrame
from smets.zcl import tunnel
from smets.zcl.frame import ZCLFrame
from smetsbench.han.capture import PcapWriter
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


def test_bench_traffic_dissects(tmp_path):
    from smetsbench.session import Bench

    path = tmp_path / "han.pcap"
    sent = []
    with Bench(work_dir=tmp_path / "boards") as bench:
        pcap = PcapWriter(path, hub_eui=bench.hub.eui)
        bench.hub.taps.append(pcap.tap)
        esme = bench.add_virtual("ESME")
        for name in ("ECS52", "ECS45", "ECS17b", "ECS43"):
            res = bench.run(esme, name)
            assert res.passed, res.report()
            sent += [envelope.decode(res.command), envelope.decode(res.response)]
        res = bench.run(esme, "ECS52", scenario="BAD_MAC", tamper="bad_mac")
        assert res.passed, res.report()
        sent += [envelope.decode(res.command), envelope.decode(res.alerts[0])]
        pcap.close()
    rows = tshark_fields(path, "gbcs_tunnel.command", "gbcs_message.grouping_header.cra_flag",
                         "gbcs_message.grouping_header.message_code",
                         "gbcs_message.grouping_header.originator_counter")
    got = [(int(t, 16), int(c, 16), int(m, 16), int(n)) for t, c, m, n in rows]
    assert got == [(3, m.cra, m.message_code, m.counter) for m in sent]
