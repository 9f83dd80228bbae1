"""Native (viper) code on a virtual board: the image carries it compiled for the unix port's
architecture, the board loads it, and GBCS commands are checked with it."""

import pytest
from smetsbench.boards import build
from smetsbench.boards.virtual import find_micropython, unix_port_arch
from smetsbench.tools import boarddefs

pytestmark = pytest.mark.skipif(find_micropython() is None,
                                reason="needs the MicroPython unix port")


@pytest.fixture(scope="module")
def esme_init():
    return {"mpan_import": "1312345678111"}


def test_image_has_native_modules_for_the_board_arch():
    arch = unix_port_arch()
    assert arch in boarddefs.MPY_ARCHS and arch is not None
    assert build.march_for(boarddefs.load("virtual")) == arch
    assert build.march_for(boarddefs.load("esp32-devkitc")) == "xtensawin"
    native = "lib/smets/gbcs/p256_w26.mpy"
    assert native in build.image_files(march=arch)
    # A bytecode-only image leaves native modules out (the firmware then uses Python ints).
    plain = build.image_files(march=None)
    assert native not in plain and "lib/smets/gbcs/p256.mpy" in plain
    for name in ("p256_w13", "ghash_v"):
        assert "lib/smets/gbcs/%s.mpy" % name in build.image_files(march="xtensawin")


def test_board_runs_viper_crypto(smets_bench, esme):
    st = esme.status()
    if st["implementation"] != "micropython":
        pytest.skip("board runs CPython")
    # The generator table is built at provisioning: p256 is loaded and its limbs chosen.
    assert st.get("crypto") == "w26", st.get("crypto")
    for name in ("ECS43", "ECS52"):  # critical (signature) and non-critical (MAC)
        res = smets_bench.run(esme, name)
        assert res.passed, res.report()
