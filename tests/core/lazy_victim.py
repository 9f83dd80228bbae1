"""A module for test_lazy.py: its import fails with MemoryError as many times as the test
asks (gbcs_fixtures.LAZY_FAILS), as a rarely used module that does not fit the heap does."""

import gbcs_fixtures as fx

if getattr(fx, "LAZY_FAILS", 0):
    fx.LAZY_FAILS -= 1
    raise MemoryError("no room for lazy_victim")


def answer():
    return 42
