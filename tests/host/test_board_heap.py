"""smetsbench.boards.heap: the bisection that finds a role's smallest working heap."""

import pytest
from smetsbench.boards import heap


@pytest.mark.parametrize("need", [65, 100, 200, 511, 512])
def test_smallest_finds_the_first_heap_that_works_to_the_step(need):
    tried = []

    def works(kb):
        tried.append(kb)
        return kb >= need

    found = heap.smallest(works, 64, 512)
    assert need <= found < need + 8
    assert len(tried) <= 8  # a bisection, not a scan


def test_smallest_is_none_when_even_the_largest_heap_fails():
    assert heap.smallest(lambda kb: False, 64, 512) is None


def test_smallest_keeps_the_link_log_level():
    import logging

    log = logging.getLogger("smetsbench.link")
    log.setLevel(logging.INFO)
    seen = []
    heap.smallest(lambda kb: seen.append(log.level) or True, 64, 128)
    assert seen and all(level == logging.CRITICAL for level in seen)
    assert log.level == logging.INFO
