"""Arbitrary HAN input at the home's devices never raises: the ESME's SE server (any cluster,
command and payload from a joined IHD), the IHD and the CAD (any frame from their meter or from
any other EUI-64, any ZDO frame). Bad input ends as a ZCL status, a count or silence, and what
the IHD and the CAD keep stays bounded (a few meters, a fixed set of attributes each)."""

import sys
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from smets.devices import consumer
from smets.devices.cad import CAD
from smets.devices.esme import ESME
from smets.devices.ihd import IHD
from smets.han import ApsFrame

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "core"))
import gbcs_fixtures as fx  # noqa: E402 - the core tests' keys and identity

NOW = 1700000000
IHD_EUI = bytes.fromhex("00db12345678909c")
CLUSTERS = st.sampled_from([0x0000, 0x0700, 0x0702, 0x0703, 0x0705, 0x0708, 0x0B04, 0x8006])
# Their meter, or anyone: the hub, a made-up device, a neighbour's meter.
SOURCES = st.one_of(st.just(fx.DEVICE_EUI), st.just(fx.HUB_EUI),
                    st.binary(min_size=8, max_size=8))
# The attributes the consumer devices read, and so keep (at most), per meter.
WANTED = sum(len(attrs) for table in (consumer._FAST, consumer._SLOW) for _c, attrs in table)

_DEVICES = {}


def _devices():
    if not _DEVICES:
        store = fx.scratch_store()
        esme = ESME(fx.identity(), store, NOW, fresh=True, init={"power_w": 100})
        esme.han_joined = lambda eui: 6
        ident = {"eui": IHD_EUI.hex(), "hub_eui": fx.HUB_EUI.hex(), "role": "IHD"}
        ihd = IHD(ident, fx.scratch_store(), NOW, fresh=True, init={"meters": [
            fx.DEVICE_EUI.hex()]})
        ident = dict(ident, role="CAD")
        cad = CAD(ident, fx.scratch_store(), NOW, fresh=True, init={"meters": [
            fx.DEVICE_EUI.hex()]})
        _DEVICES.update(esme=esme, ihd=ihd, cad=cad)
    return _DEVICES


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cluster=CLUSTERS, fc=st.integers(0, 0x1F), command=st.integers(0, 255),
       payload=st.binary(max_size=60), profile=st.sampled_from([0x0109, 0x0000]),
       src=SOURCES, tsn=st.booleans())
def test_arbitrary_frames_never_raise(cluster, fc, command, payload, profile, src, tsn):
    d = _devices()
    zcl = bytes((fc, 7, command)) + payload
    out = d["esme"].on_han(ApsFrame(IHD_EUI, fx.DEVICE_EUI, cluster, zcl, profile=profile), NOW)
    assert all(isinstance(a, ApsFrame) for a in out)
    for name in ("ihd", "cad"):
        dev = d[name]
        body = zcl if profile else payload
        if not profile and tsn and payload and dev._disc_tsn is not None:
            body = bytes((dev._disc_tsn,)) + payload[1:]  # as if answering its discovery
        frame = ApsFrame(src, IHD_EUI, cluster, body, profile=profile)
        assert all(isinstance(a, ApsFrame) for a in dev.on_han(frame, NOW))
        dev.tick(NOW)
        dev.fuel("elec", NOW)
        dev.alerts()
        assert len(dev.meters) <= consumer.MAX_METERS
        assert all(len(m.values) <= WANTED for m in dev.meters.values())
        assert fx.DEVICE_EUI in dev.meters  # the meter it was given is never dropped
