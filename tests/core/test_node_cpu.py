"""The board's CPU samples stay bounded whatever the commands (random message codes from a
hostile sender must not grow the table).

Runs on CPython and on the MicroPython unix port (tools/mptest.py)."""

import gbcs_fixtures as fx
from smets import node


class _Keyed:
    key = None

    def cpu_key(self):
        return self.key


def test_cpu_samples_are_bounded_in_keys_and_per_key():
    store = fx.scratch_store()
    try:
        n = node.Node({"name": "test"}, store, 0)
        n.device = _Keyed()
        for code in range(200):
            n.device.key = "%04X:unknown_code" % code
            n._cpu_sample(code)
        assert len(n.cpu) == node._CPU_KEYS + 1  # the first keys, and "other"
        assert len(n.cpu["other"]) == node._CPU_KEEP
        assert n.cpu["other"][-1] == 199  # the latest samples are the ones kept
        n.device.key = "0000:unknown_code"  # a key already held keeps its own samples
        n._cpu_sample(7)
        assert n.cpu["0000:unknown_code"] == [0, 7]
        n.device.key = None  # a frame that was no command: no sample
        n._cpu_sample(9)
        assert sum(len(v) for v in n.cpu.values()) == node._CPU_KEYS + 1 + node._CPU_KEEP
    finally:
        fx.cleanup(store)
