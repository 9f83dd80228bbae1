"""The use-case library builds exactly the DLMS commands of the DCC RTDS, and the checker
accepts the real RTDS responses to them (real device MACs, signatures and encryption)."""

from pathlib import Path

import pytest
from smets.gbcs import envelope
from smetsbench.oracle import checker
from smetsbench.oracle import crypto as ocrypto
from smetsbench.oracle.parties import DCC
from smetsbench.paths import rtds_dir
from smetsbench.usecases import library as usecases

RTDS = rtds_dir()
pytestmark = pytest.mark.skipif(RTDS is None, reason="../shared/rtds not present")

# (use case, RTDS folder, scenario, build parameters)
CASES = [
    ("ECS52", "11.2_ECS52", "SUCCESS", {}),
    ("ECS40", "6.2.7_ECS40", "SINGLE_SUCCESS", {}),
    ("ECS39a", "6.20.1_ECS39a", "SINGLE_SUCCESS", {"mpan": "1312345678333"}),
    ("ECS45", "7.4_ECS45", "SUCCESS", {}),
    ("ECS42", "7.1_ECS42", "SUCCESS", {}),
    ("ECS44", "7.3_ECS44", "SUCCESS", {}),
    ("ECS17b", "4.1.1_ECS17b", "SINGLE_SUCCESS", {}),
    ("ECS17b", "4.1.1_ECS17b", "TWIN_SUCCESS", {}),
]


def _read(folder, name, scenario, kind):
    path = Path(RTDS) / "RTDS-4.5.0" / folder / ("%s_%s_%s_%s_GBCS.HEX" % (
        name, folder.split("_")[0], scenario, kind))
    return envelope.decode(bytes.fromhex(path.read_text().strip()))


@pytest.fixture(scope="module")
def dcc():
    return DCC.from_keystore(Path(RTDS) / "keystore")


@pytest.mark.parametrize("name,folder,scenario,params", CASES,
                         ids=["%s-%s" % (c[0], c[2]) for c in CASES])
def test_builder_matches_rtds_and_checker_accepts_rtds_response(dcc, name, folder, scenario,
                                                                params):
    uc = usecases.get(name)
    cmd = _read(folder, name, scenario, "COMMAND")
    assert cmd.message_code == uc.code
    assert (cmd.signature is not None) == uc.critical
    party = dcc.by_eui(cmd.originator)
    content = uc.build(cmd.counter, party, cmd.recipient, **params)
    assert content == bytes(cmd.content)
    resp = _read(folder, name, scenario, "RESPONSE")
    ks = ocrypto.KeyStore(Path(RTDS) / "keystore")
    device_ka = ks.public(cmd.recipient, "ka")
    device_ds = ks.public(cmd.recipient, "ds")
    checks, decoded, msg = checker.check_response(resp.raw, cmd, party, device_ka, device_ds,
                                                  uc.critical)
    assert checks.ok, checks.failures()
    assert decoded is not None
