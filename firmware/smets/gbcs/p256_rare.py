"""The rarely run parts of smets.gbcs.p256, loaded for one call (smets.lazy): comb tables built,
loaded and serialised (once per key: the generator at start-up, each trusted key once, then
from flash) and key generation. The limb workspace and helpers stay in p256 (`p.`).
"""

import hashlib

from . import p256 as p
from .p256 import (
    _CHECK_LEN,
    _HDR,
    _POINT_END,
    _TABLE_MAGIC,
    N,
    P256Error,
    Table,
    _table_len,
    decode_point,
)


def from_mont(buf, start, end):
    run = p._LM.run
    prog = p._LM.FROM_MONT
    ws = p._ws
    for o in range(start, end, 32):
        run(ws, prog, buf, o)


def build(x, y, w):
    """Entries 1 .. 2^w - 1 of a comb table (64 bytes each from offset 0, Montgomery form)."""
    L = p._L
    ws = p._ws
    run = L.run
    d = (256 + w - 1) // w
    ent = bytearray(((1 << w) - 1) << 6)
    p._lb_point(x, y, ent)
    # Teeth bases 2^(i*d) * P are entries 2^i.
    run(ws, L.SET, ent, 0)
    for i in range(1, w):
        for _ in range(d):
            run(ws, L.DBL, p._io, 0)
        p._lb_store_affine(ent, ((1 << i) - 1) << 6)
    # Entries 2^i + j (0 < j < 2^i) are entry j plus base i.
    for i in range(1, w):
        lo = 1 << i
        for j in range(1, lo):
            run(ws, L.SET, ent, (lo - 1) << 6)
            if p._lb_add(L.MADD, ent, (j - 1) << 6):
                raise P256Error("unexpected point at infinity")
            p._lb_store_affine(ent, (lo + j - 1) << 6)
    return ent


def entries(blob):
    """The entries of a serialised table, in Montgomery form (a new buffer)."""
    ent = bytearray(blob[_POINT_END : len(blob) - _CHECK_LEN])
    p._lb_to_mont(ent, 0, len(ent))
    return ent


def generate_private_key(randbytes=None):
    """A uniformly random private key in [1, n-1] (randbytes(n) defaults to os.urandom)."""
    if randbytes is None:
        import os

        randbytes = os.urandom
    while True:
        d = int.from_bytes(randbytes(32), "big")
        if 0 < d < N:
            return d


def serialise(table):
    """The serialised bytes of a table held in Montgomery form."""
    blob = bytearray(_table_len(table.teeth))
    blob[:4] = _TABLE_MAGIC
    blob[4] = table.teeth
    blob[_HDR:_POINT_END] = table.point
    end = len(blob) - _CHECK_LEN
    blob[_POINT_END:end] = table._ent
    from_mont(blob, _POINT_END, end)
    blob[end:] = hashlib.sha256(memoryview(blob)[:end]).digest()[:_CHECK_LEN]
    return bytes(blob)


def load(buf):
    """Table.from_bytes: check a serialised table, then load it."""
    mv = memoryview(buf)
    if len(mv) < _HDR or bytes(mv[:4]) != _TABLE_MAGIC:
        raise P256Error("not a P-256 comb table")
    teeth = mv[4]
    if not 2 <= teeth <= 8 or len(mv) != _table_len(teeth):
        raise P256Error("comb table length %d does not match %d teeth" % (len(mv), teeth))
    end = len(mv) - _CHECK_LEN
    if hashlib.sha256(mv[:end]).digest()[:_CHECK_LEN] != bytes(mv[end:]):
        raise P256Error("comb table checksum mismatch")
    decode_point(mv[_HDR:_POINT_END])
    if bytes(mv[_HDR:_POINT_END]) != bytes(mv[_POINT_END : _POINT_END + 64]):
        raise P256Error("comb table entry 1 is not its point")
    return Table(None, teeth, mv)
