"""The hub's Gas Proxy Function: the gas meter reports into its mirror (ZSE D.3.4 mirroring),
and the mirror is a ZCL server on the hub's endpoint 2 that any HAN device may read (the
IHD's and CAD's gas data), beside the GPF's own GBCS use cases."""

import threading

from smets.han import ApsFrame
from smets.zcl import foundation
from smets.zcl.frame import TYPE_GLOBAL, ZCLFrame
from smetsbench.session import GPF_MIRROR_EP, Bench

IHD = bytes.fromhex("00db1234567890c1")
METERING = 0x0702
PREPAYMENT = 0x0705


class ReaderLink:
    """A HAN device that reads ZCL attributes from the hub (an IHD, without its firmware)."""

    def __init__(self, eui):
        self.eui = eui
        self.name = "reader"
        self.on_han = None
        self.frames = []
        self.got = threading.Event()

    def tail(self):
        return ""

    def read(self, hub_eui, cluster, attrs, endpoint=GPF_MIRROR_EP, seq=1):
        zcl = ZCLFrame(foundation.READ_ATTRIBUTES,
                       foundation.encode(foundation.READ_ATTRIBUTES, attrs), seq=seq,
                       frame_type=TYPE_GLOBAL)
        self.got.clear()
        self.on_han(self, ApsFrame(self.eui, hub_eui, cluster, zcl.to_bytes(),
                                   dst_ep=endpoint).to_bytes())

    def send_han(self, payload):
        self.frames.append(ApsFrame.from_bytes(payload))
        self.got.set()


def test_an_ihd_reads_gas_data_from_the_gpf_mirror(tmp_path):
    with Bench(work_dir=tmp_path) as bench:
        gsme = bench.add_inprocess("GSME", init={"volume": 123456, "credit": 4200})
        took = bench.update_mirror(gsme)
        assert took < 5
        st = bench.gpf.link.control("status")["device"]
        assert st["volume"] == 123456 and st["credit"] == 4200
        reader = ReaderLink(IHD)
        bench.hub.attach(reader, IHD, "IHD")
        reader.read(bench.hub.eui, METERING, [0x0000, 0x0014, 0x7777], seq=9)
        assert reader.got.wait(5), bench.hub.network.errors
        aps = reader.frames[-1]
        # The answer comes from the hub's mirror endpoint, as the hub.
        assert aps.src_eui == bench.hub.eui and aps.src_ep == GPF_MIRROR_EP
        zcl = ZCLFrame.from_bytes(aps.payload)
        assert zcl.command == foundation.READ_ATTRIBUTES_RESPONSE and zcl.seq == 9
        recs = {r.id: r for r in foundation.decode(zcl.command, zcl.payload)}
        assert recs[0x0000].value == 123456
        assert recs[0x0014].value == 2  # the valve open
        assert recs[0x7777].status == 0x86  # UNSUPPORTED_ATTRIBUTE
        reader.read(bench.hub.eui, PREPAYMENT, [0x0001], seq=10)
        assert reader.got.wait(5)
        zcl = ZCLFrame.from_bytes(reader.frames[-1].payload)
        assert foundation.decode(zcl.command, zcl.payload)[0].value == 4200


def test_the_gpf_answers_gbcs_reads_from_what_the_meter_reported(tmp_path):
    with Bench(work_dir=tmp_path) as bench:
        gsme = bench.add_inprocess("GSME", init={"volume": 5000})
        assert bench.run(gsme, "GCS13a", volume=5000).passed
        bench.update_mirror(gsme)
        res = bench.run(bench.gpf, "GCS13a", volume=5000)
        assert res.passed, res.report()
        res = bench.run(bench.gpf, "GCS61", days=3)
        assert res.passed, res.report()
