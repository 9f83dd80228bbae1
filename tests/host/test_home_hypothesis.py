"""Arbitrary HAN input at the home's devices never raises: the ESME's SE server (any cluster,
command and payload from a joined IHD), the IHD and the CAD (any frame from their meter, any
ZDO frame). Bad input ends as a ZCL status, a count or silence."""

import sys
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from smets.devices.cad import CAD
from smets.devices.esme import ESME
from smets.devices.ihd import IHD
from smets.han import ApsFrame

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "core"))
import gbcs_fixtures as fx  # noqa: E402 - the core tests' keys and identity

NOW = 1700000000
IHD_EUI = bytes.fromhex("00db12345678909c")
CLUSTERS = st.sampled_from([0x0000, 0x0700, 0x0702, 0x0703, 0x0705, 0x0708, 0x0B04, 0x8006])

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
       payload=st.binary(max_size=60), profile=st.sampled_from([0x0109, 0x0000]))
def test_arbitrary_frames_never_raise(cluster, fc, command, payload, profile):
    d = _devices()
    zcl = bytes((fc, 7, command)) + payload
    out = d["esme"].on_han(ApsFrame(IHD_EUI, fx.DEVICE_EUI, cluster, zcl, profile=profile), NOW)
    assert all(isinstance(a, ApsFrame) for a in out)
    for name in ("ihd", "cad"):
        dev = d[name]
        frame = ApsFrame(fx.DEVICE_EUI, IHD_EUI, cluster, zcl if profile else payload,
                         profile=profile)
        assert all(isinstance(a, ApsFrame) for a in dev.on_han(frame, NOW))
        dev.tick(NOW)
        dev.fuel("elec", NOW)
        dev.alerts()
