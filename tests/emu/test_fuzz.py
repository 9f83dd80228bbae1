"""`smetsbench fuzz` against a virtual board: hostile input never wedges or restarts it."""

import pytest
from smetsbench.boards.virtual import find_micropython
from smetsbench.cli.fuzz import GARBAGE_KINDS, GBCS_KINDS, fuzz
from smetsbench.session import Bench

pytestmark = pytest.mark.skipif(find_micropython() is None,
                                reason="needs the MicroPython unix port")


def test_a_short_fuzz_run_neither_wedges_nor_restarts_the_board():
    with Bench() as bench:
        esme = bench.add_virtual("ESME")
        rep = fuzz(bench, esme, inputs=250, seed=7)
        assert rep.ok, rep.table()
        assert set(rep.inputs) == set(GARBAGE_KINDS + GBCS_KINDS), rep.inputs
        added = {k: rep.link_after[k] - rep.link_before[k] for k in rep.link_after
                 if isinstance(rep.link_after[k], int)}
        assert added["oversize"] >= rep.inputs["oversize"], rep.table()
        assert added["bad_crc"] >= rep.inputs["bad_crc"] and added["bad_escape"] > 0
        # The meter still does its job afterwards.
        res = bench.run(esme, "ECS52")
        assert res.passed, res.report()
