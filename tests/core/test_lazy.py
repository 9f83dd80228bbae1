"""smets.lazy: a rarely used module that does not fit the heap is tried once more after the
device lets go of what it can load again."""

import sys

import gbcs_fixtures as fx
from smets import lazy


def _fail(times):
    # A fresh import each time (CPython keeps modules lazy.call has loaded).
    sys.modules.pop("lazy_victim", None)
    fx.LAZY_FAILS = times


def test_an_import_that_does_not_fit_is_retried_once_after_sparing():
    spared = []
    _fail(1)
    try:
        assert lazy.call("lazy_victim", "answer", (), spare=lambda: spared.append(1)) == 42
        assert spared == [1]
    finally:
        fx.LAZY_FAILS = 0


def test_without_spare_or_twice_short_the_memory_error_stands():
    for fails, spare in ((1, None), (2, lambda: None)):
        _fail(fails)
        try:
            fx.raises(MemoryError, lazy.call, "lazy_victim", "answer", (), (), spare)
        finally:
            fx.LAZY_FAILS = 0
