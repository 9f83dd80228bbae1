"""What the tools/bench_*.py micro-benchmarks share (MicroPython and CPython): the firmware on
sys.path, a microsecond clock, best-of-rounds timing and, on MicroPython, bytes allocated."""

import gc
import sys
import time

try:
    _ticks = time.ticks_us
    _diff = time.ticks_diff
    MICROPYTHON = True
except AttributeError:
    MICROPYTHON = False

    def _ticks():
        return int(time.perf_counter() * 1000000)

    def _diff(a, b):
        return a - b


ticks_us = _ticks
ticks_diff = _diff
QUICK = "--quick" in sys.argv


def use_firmware(script):
    """Put firmware/ (beside tools/, where `script` is) first on sys.path."""
    path = sys.argv[0] if sys.argv and sys.argv[0] else script
    i = path.rfind("/")
    tools = path[:i] if i >= 0 else "."
    sys.path.insert(0, tools + "/../firmware")


def best_us(fn, n, rounds):
    """Microseconds per call of `fn`, the best of `rounds` runs of `n` calls."""
    best = None
    for _ in range(rounds):
        t0 = _ticks()
        for _ in range(n):
            fn()
        dt = _diff(_ticks(), t0) / n
        if best is None or dt < best:
            best = dt
    return best


def allocated(fn):
    """Bytes one call of `fn` allocates, garbage included (MicroPython; None on CPython): the
    GC is off meanwhile, so nothing is freed. A first call warms up (lazy imports, caches)."""
    if not MICROPYTHON:
        return None
    fn()
    gc.collect()
    gc.disable()
    try:
        before = gc.mem_alloc()
        fn()
        return gc.mem_alloc() - before
    finally:
        gc.enable()
