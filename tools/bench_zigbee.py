"""Micro-benchmark of the HAN security a board runs (smets.zigbee); MicroPython and CPython.

    micropython -X heapsize=256K tools/bench_zigbee.py [--quick]
    python tools/bench_zigbee.py [--quick]

Microseconds per operation (best of several rounds) for what a device's stack does per frame:
CCM* alone (seal and open, 4-byte MIC) for a short frame and a GBCS tunnel frame, a frame sent
(APS security with the link key, NWK security with the network key, the 802.15.4 header) and a
frame received (both opened, the replay checks), the AES-MMO hash of an install code (once per
start) and the key-transport key (once per join). On MicroPython also the heap: the live bytes
the stack's modules and one joined stack take, and the bytes a frame sent / received
allocates (garbage the GC reclaims later).
"""

import gc
import os
import sys

from microbench import MICROPYTHON, QUICK, allocated, best_us, use_firmware

use_firmware("tools/bench_zigbee.py")


def _time(fn, n):
    return best_us(fn, n, 2 if QUICK else 5)


def main():
    gc.collect()
    base = gc.mem_alloc() if MICROPYTHON else 0
    from smets.han import ApsFrame
    from smets.store import Store
    from smets.zigbee import sec
    from smets.zigbee.stack import HanStack

    gc.collect()
    code_heap = gc.mem_alloc() - base if MICROPYTHON else None
    hub = bytes.fromhex("00db1234567890a2")
    dev = bytes.fromhex("00db1234567890a0")
    code = bytes(range(16))
    key = sec.key(bytes(range(16)))
    nonce = bytes(13)
    n = 20 if QUICK else 200
    rows = []
    for size in (40, 250):
        m = bytes(size)
        a = bytes(26)
        c = sec.seal(key, nonce, a, m, 4)
        rows.append(("CCM* seal, %d-byte payload" % size, _time(lambda a=a, m=m: sec.seal(
            key, nonce, a, m, 4), n)))
        rows.append(("CCM* open, %d-byte payload" % size, _time(lambda a=a, c=c: sec.open_(
            key, nonce, a, c, 4), n)))
    rows.append(("AES-MMO of an install code", _time(lambda: sec.install_code_key(code), n)))
    rows.append(("key-transport key (keyed hash)", _time(
        lambda: sec.transport_key_key(code), n)))
    # A joined stack (the network state as a join leaves it).
    root = (os.getenv("TMPDIR") or "/tmp") + "/smets-bench-zb"
    store = Store(root)
    store.save("zigbee", {"id": None})
    st = HanStack({"eui": dev.hex(), "hub_eui": hub.hex(),
                   "install_code": sec.install_code_with_crc(code).hex()}, store)
    st.state = 5
    st.pan = 0x1A62
    st.short = 0x90A0
    st.nwk_raw = bytes(range(16, 32))
    st.nwk_key = sec.key(st.nwk_raw)
    st.store = _NoStore()
    gc.collect()
    stack_heap = gc.mem_alloc() - base - code_heap if MICROPYTHON else None
    frames = {}
    for size in (40, 250):
        zcl = bytes(size)

        def send(zcl=zcl):
            st.send(ApsFrame(dev, hub, 0x0704, zcl), 0)
            return st.take()[0]

        frames[size] = send()
        rows.append(("frame sent (APS + NWK security), %d-byte ZCL" % size, _time(send, n)))
    # Frames received: the hub's (its trust center, firmware crypto), to this device.
    from smets.zigbee.coordinator import Coordinator, Member

    tc = Coordinator(hub, lambda eui, now: None, nwk_key=st.nwk_raw, pan_id=st.pan)
    tc.members[dev] = Member(dev, st.short, st.link_raw, sec, "joined", 0)
    for size in (40, 250):
        frame = tc.send(ApsFrame(hub, dev, 0x0704, bytes(size)), 0)[0][2]

        def receive(frame=frame):
            # The same frame each time, its counters forgotten first (else: a replay).
            st.nwk_in.next.clear()
            st.aps_in.next.clear()
            assert st.receive(frame, 0)

        rows.append(("frame received (NWK + APS opened), %d-byte ZCL" % size,
                     _time(receive, n)))
        received = receive
    print("smets.zigbee on %s %s" % (sys.implementation.name, ".".join(
        str(x) for x in sys.implementation.version[:3])))
    for name, us in rows:
        print("  %-48s %8.1f us" % (name, us))
    if MICROPYTHON:
        print("  heap: modules %d B, a joined stack %d B" % (code_heap, stack_heap))
        print("  allocated per frame sent (250-byte ZCL): %d B" % allocated(
            lambda: (st.send(ApsFrame(dev, hub, 0x0704, bytes(250)), 0), st.take())))
        print("  allocated per frame received (250-byte ZCL): %d B" % allocated(received))
    return rows


class _NoStore:
    """A store that keeps nothing (the benchmark measures the frames, not flash writes)."""

    def save(self, name, value):
        pass

    def load(self, name, default=None):
        return default


if __name__ == "__main__":
    main()
