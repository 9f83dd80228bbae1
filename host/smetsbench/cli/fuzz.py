"""`smetsbench fuzz`: hostile input at a board, real or virtual, and what became of it.

Two kinds of input, mixed:
- link garbage: random bytes, frames with bad CRCs or escapes, oversize and unterminated frames,
  stray REPL control bytes inside frames (never a Ctrl-C outside one: that stops the app by
  design);
- mutated GBCS commands through the hub's tunnel: bit flips, truncations, damaged length fields,
  random contents with a good MAC (they pass the MAC check and reach the payload decoders),
  and replays of commands the board has already run.

After each input the board must still answer CONTROL status. An input after which it does not
answer within the timeout is a *wedge* (the board is then waited for); a board that answers with
its counters back at zero has *restarted*. The report gives the counts per kind, the board's
link error counters and its heap before and after.

    fuzz(bench, device, inputs=2000, seed=1) -> FuzzReport
"""

import random
import time

from smets import link

from smetsbench.han.hub import HubError
from smetsbench.usecases import library as usecases

# Use cases whose valid commands the mutations start from (reads: the meter's state is left
# alone by the ones that get through).
_SEEDS = ("ECS52", "ECS40", "ECS17b", "ECS45")
GARBAGE_KINDS = ("random", "bad_crc", "bad_escape", "oversize", "unterminated", "control_byte")
GBCS_KINDS = ("bit_flip", "truncate", "length", "random_content", "replay")


class FuzzReport:
    def __init__(self):
        self.inputs = {}  # kind -> count
        self.wedges = []  # (kind, input index)
        self.restarts = []
        self.heap_before = None
        self.heap_after = None
        self.link_before = {}
        self.link_after = {}
        self.seconds = 0.0

    @property
    def ok(self):
        return not self.wedges and not self.restarts

    def table(self):
        rows = ["%-16s %7s" % ("input kind", "inputs")]
        for kind in GARBAGE_KINDS + GBCS_KINDS:
            if kind in self.inputs:
                rows.append("%-16s %7d" % (kind, self.inputs[kind]))
        rows.append("%-16s %7d" % ("total", sum(self.inputs.values())))
        rows.append("wedges (no status answer): %d %s" % (len(self.wedges), self.wedges[:5]))
        rows.append("restarts: %d %s" % (len(self.restarts), self.restarts[:5]))
        rows.append("heap alloc before/after: %s / %s bytes" % (self.heap_before,
                                                               self.heap_after))
        errs = {k: self.link_after.get(k, 0) - self.link_before.get(k, 0)
                for k in ("garbage_bytes", "bad_crc", "bad_escape", "bad_byte", "too_short",
                          "oversize", "aborted")}
        rows.append("link counters added: " + ", ".join("%s %d" % kv for kv in errs.items()))
        rows.append("%.1f s" % self.seconds)
        return "\n".join(rows)


def _garbage(kind, rng):
    if kind == "random":
        return bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 300))).replace(b"\x03",
                                                                                      b"\x13")
    if kind == "bad_crc":
        frame = bytearray(link.encode(link.HAN, rng.randint(0, 255), rng.randbytes(40)))
        frame[-2] ^= 0x40 if frame[-2] not in (0x7D, 0x3D) else 0x01
        return bytes(frame)
    if kind == "bad_escape":
        body = bytes(b for b in rng.randbytes(20) if b not in (1, 2, 3, 4, 5, 0x7D, 0x7E))
        return b"\x7e\x11\x05" + body + b"\x7d" + bytes((rng.choice((0, 0x41, 0x7D)),)) \
            + b"\x7e"
    if kind == "oversize":
        return b"\x7e" + rng.randbytes(rng.randint(4200, 9000)).replace(b"\x7e", b"A") \
            .replace(b"\x03", b"C").replace(b"\x01", b"B") + b"\x7e"
    if kind == "unterminated":
        return b"\x7e" + b"\x41" * rng.randint(5000, 12000)
    # a REPL control byte (raw REPL, paste mode...) inside a frame: a framing error there
    return b"\x7e\x02\x11" + bytes((rng.choice((1, 2, 4, 5)),)) + b"abc\x7e"


def _mutate(kind, bench, device, rng, sent):
    party = bench.dcc["supplier"]
    uc = usecases.get(rng.choice(_SEEDS))
    if kind == "replay" and sent:
        return rng.choice(sent)
    counter = party.next_counter()
    content = uc.build(counter, party, device.eui)
    if kind == "random_content":
        content = rng.randbytes(rng.randint(0, 200))
    raw, _ = bench.dcc.build_command(party, device.eui, device.ka_public, uc.code, content,
                                     critical=uc.critical, counter=counter)
    if kind in ("random_content", "replay"):
        sent.append(raw)
        del sent[:-20]
        return raw
    raw = bytearray(raw)
    if kind == "bit_flip":
        for _ in range(rng.randint(1, 4)):
            i = rng.randrange(len(raw))
            raw[i] ^= 1 << rng.randrange(8)
    elif kind == "truncate":
        raw = raw[:rng.randrange(1, len(raw))]
    else:  # a length field: the general-ciphering length, or the content's first length
        i = rng.choice((7, 8, 9, 10, rng.randrange(len(raw))))
        raw[i] = rng.choice((0, 0x7F, 0x80, 0x81, 0x82, 0xFF, raw[i] + 1))
    return bytes(raw)


def _status(device, timeout):
    return device.link.control("status", timeout=timeout)


def fuzz(bench, device, inputs=2000, seed=1, timeout=5.0, out=None):
    """Send `inputs` hostile inputs to `device` (a DeviceHandle of `bench`); a FuzzReport."""
    rng = random.Random(seed)
    rep = FuzzReport()
    st = _status(device, timeout)
    rep.heap_before = st.get("heap_alloc")
    rep.link_before = dict(st["link"])
    control_seen = st["counters"]["control"]
    sent = []
    t0 = time.monotonic()
    for i in range(inputs):
        kind = rng.choice(GARBAGE_KINDS + GBCS_KINDS)
        rep.inputs[kind] = rep.inputs.get(kind, 0) + 1
        try:
            if kind in GARBAGE_KINDS:
                device.link._write(_garbage(kind, rng))
            else:
                bench.hub.put(device.eui, _mutate(kind, bench, device, rng, sent))
        except HubError:
            pass  # the tunnel was down (a board that restarted): counted below
        try:
            st = _status(device, timeout)
        except Exception:  # noqa: BLE001 - a board that does not answer is the finding
            rep.wedges.append((kind, i))
            if out:
                out("input %d (%s): no status answer within %.0f s" % (i, kind, timeout))
            try:
                st = _status(device, 30.0)
            except Exception:  # noqa: BLE001
                break
        if st["counters"]["control"] <= control_seen:
            rep.restarts.append((kind, i))
        control_seen = st["counters"]["control"]
    rep.seconds = time.monotonic() - t0
    st = _status(device, timeout)
    rep.heap_after = st.get("heap_alloc")
    rep.link_after = dict(st["link"])
    return rep


def main(args):
    from smetsbench.session import Bench

    with Bench(heap=args.heap) as bench:
        if args.port:
            device = bench.add_board(args.role, args.port)
        else:
            device = bench.add_virtual(args.role)
        rep = fuzz(bench, device, args.inputs, args.seed, out=print)
        print(rep.table())
        return 0 if rep.ok else 1


def register(sub):
    f = sub.add_parser("fuzz", help="drive link garbage and mutated GBCS at a board; report "
                                    "wedges, restarts and heap")
    f.add_argument("--port", help="a board's pyserial URL (default: a new virtual board); it "
                                  "is provisioned afresh by this bench")
    f.add_argument("--role", default="ESME")
    f.add_argument("--inputs", type=int, default=2000)
    f.add_argument("--seed", type=int, default=1)
    f.add_argument("--heap", default="256K", help="heap of a virtual board (default 256K)")
    f.set_defaults(func=main)

