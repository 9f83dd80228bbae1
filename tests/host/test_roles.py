"""The role table (smets.roles) is the one list of roles: the host's lists are read from it,
and a role that does no GBCS loads no GBCS code (no P-256, no tunnel client)."""

import subprocess
import sys

import pytest
from smets import roles
from smetsbench import paths
from smetsbench.boards.virtual import find_micropython

_PROBE = r"""
import sys
sys.path.insert(0, FIRMWARE)
import gc
from smets import roles
from smets.han import ApsFrame
from smets.store import Store
from smets.zcl.frame import READ_ATTRIBUTES, TYPE_GLOBAL, ZCLFrame
gc.collect()
base = gc.mem_alloc() if hasattr(gc, "mem_alloc") else 0
cls = roles.device_class("HANTEST")
dev = cls({"eui": "00db1234567890b0", "hub_eui": "00db1234567890a2"}, Store(STORE), 0,
          fresh=True)
ask = ZCLFrame(READ_ATTRIBUTES, b"\x05\x00\x99\x00", frame_type=TYPE_GLOBAL, seq=3)
(out,) = dev.on_han(ApsFrame(bytes.fromhex("00db1234567890a2"), dev.eui, 0, ask.to_bytes()), 0)
reply = ZCLFrame.from_bytes(out.payload)
gc.collect()
used = (gc.mem_alloc() - base) if hasattr(gc, "mem_alloc") else 0
gbcs = sorted(m for m in sys.modules if m.startswith("smets.gbcs") or m == "smets.tunnel_client")
print(repr((reply.payload, gbcs, used)))
"""


def _probe(cmd, tmp_path):
    code = _PROBE.replace("FIRMWARE", repr(str(paths.firmware_dir()))).replace(
        "STORE", repr(str(tmp_path)))
    out = subprocess.run(cmd + ["-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return eval(out.stdout.strip().splitlines()[-1])  # noqa: S307 - our own repr


@pytest.mark.parametrize("runtime", ["cpython", "micropython"])
def test_a_role_without_gbcs_loads_no_gbcs_code_and_answers_zcl(runtime, tmp_path):
    if runtime == "cpython":
        cmd = [sys.executable]
    else:
        mp = find_micropython()
        if mp is None:
            pytest.skip("MicroPython unix port not installed")
        cmd = [mp, "-X", "heapsize=256K"]
    payload, gbcs, used = _probe(cmd, tmp_path)
    assert not roles.needs("HANTEST", roles.GBCS)
    assert gbcs == []  # no P-256, no envelope, no pipeline, no tunnel client
    # ModelIdentifier (0x0005) read back; 0x0099 unsupported (ZCL status 0x86).
    assert payload == b"\x05\x00\x00\x42\x07HANTEST" + b"\x99\x00\x86"
    if runtime == "micropython":
        assert 0 < used < 40_000, used  # the ESME's device code alone is ~130 KB


def test_the_hosts_role_lists_are_the_firmware_table():
    from smetsbench import pytest_plugin, session
    from smetsbench.conformance import runner
    from smetsbench.oracle import pki
    from smetsbench.tools import benchdir

    assert pytest_plugin.ROLES == benchdir.ROLES == roles.bench_roles()
    assert "ESME" in roles.bench_roles() and "HANTEST" in roles.bench_roles()
    assert session.SLEEPY_ROLES == roles.names(roles.SLEEPY) == ("GSME",)
    assert session.DEFAULT_EUIS["ESME"] == roles.default_eui("ESME")
    assert pki.DEVICE_TYPES == roles.names(roles.DEVICE_TYPE)
    assert runner.RTDS_DEVICE_TYPES[roles.default_eui("CHF")] == "CHF"
    for role in roles.emulated():
        assert roles.device_class(role).ROLE == role


def test_an_unknown_or_unemulated_role_is_refused_with_the_list():
    with pytest.raises(ValueError, match="unknown role 'XYZ'"):
        roles.default_eui("XYZ")
    with pytest.raises(ValueError, match="not emulated by this firmware"):
        roles.device_class("SAPC")
