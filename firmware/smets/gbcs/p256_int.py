"""P-256 point arithmetic in Python ints: the "int" backend of smets.gbcs.p256 (CPython, where
ints are fast C code, and the reference the viper limbs are tested against).

Field elements are reduced with `%` after every product (one mpz division is cheaper on
MicroPython than any shift-and-add special reduction written in Python); inverses use the
extended Euclidean algorithm (5x faster than pow(x, p-2, p) on MicroPython, whose 3-argument
pow also silently returns 0 for a negative exponent).
"""

import hashlib

from .p256 import (
    _CHECK_LEN,
    _HDR,
    _POINT_END,
    _TABLE_MAGIC,
    _WNAF_WIDTH,
    P,
    P256Error,
    _table_len,
    encode_point,
)

_FLUSH = 16  # Jacobian points converted to affine per inversion while building a table


def _inv_euclid(x, m):
    """x^-1 mod m for 0 < x < m (m prime)."""
    a, b = m, x % m
    u, v = 0, 1
    while b:
        q = a // b
        a, b = b, a - q * b
        u, v = v, u - q * v
    if a != 1:
        raise P256Error("no inverse")
    return u % m


def _inv_pow(x, m):
    x %= m
    if not x:
        raise P256Error("no inverse")
    return pow(x, -1, m)


try:
    _inv = _inv_pow if pow(3, -1, 7) == 5 else _inv_euclid  # MicroPython returns 0
except (ValueError, TypeError):
    _inv = _inv_euclid


# --- point arithmetic ----------------------------------------------------------------------


def _dbl(X, Y, Z, p=P):
    """2*(X, Y, Z), Jacobian, a = -3 (dbl-2001-b)."""
    if not Z:
        return X, Y, 0
    delta = Z * Z % p
    gamma = Y * Y % p
    beta4 = (X * gamma << 2) % p
    alpha = 3 * (X - delta) * (X + delta) % p
    X3 = (alpha * alpha - (beta4 << 1)) % p
    return X3, (alpha * (beta4 - X3) - (gamma * gamma << 3)) % p, (Y * Z << 1) % p


def _madd(X1, Y1, Z1, x2, y2, p=P):
    """(X1, Y1, Z1) + affine (x2, y2); handles infinity, equal and opposite points."""
    if not Z1:
        return x2, y2, 1
    z1z1 = Z1 * Z1 % p
    h = x2 * z1z1 % p - X1
    r = y2 * Z1 * z1z1 % p - Y1
    if not h:
        if not r:
            return _dbl(X1, Y1, Z1)
        return 0, 1, 0
    hh = h * h % p
    hhh = h * hh % p
    v = X1 * hh % p
    X3 = (r * r - hhh - (v << 1)) % p
    return X3, (r * (v - X3) - Y1 * hhh) % p, Z1 * h % p


def _affine(X, Y, Z, p=P):
    if not Z:
        return None
    zi = _inv(Z, p)
    zi2 = zi * zi % p
    return X * zi2 % p, Y * zi2 * zi % p


def _batch_affine(points, p=P):
    """Affine (x, y) of Jacobian points (none at infinity) with one inversion."""
    acc = []
    c = 1
    for _X, _Y, Z in points:
        if not Z:
            raise P256Error("unexpected point at infinity")
        c = c * Z % p
        acc.append(c)
    inv = _inv(c, p)
    out = [None] * len(points)
    for i in range(len(points) - 1, -1, -1):
        X, Y, Z = points[i]
        zi = inv * acc[i - 1] % p if i else inv
        inv = inv * Z % p
        zi2 = zi * zi % p
        out[i] = (X * zi2 % p, Y * zi2 * zi % p)
    return out


def _odd_multiples(x, y, count=1 << (_WNAF_WIDTH - 2)):
    """Affine P, 3P, 5P, ... (count points) for wNAF."""
    x2, y2 = _affine(*_dbl(x, y, 1))
    jac = [(x, y, 1)]
    X, Y, Z = x, y, 1
    for _ in range(count - 1):
        X, Y, Z = _madd(X, Y, Z, x2, y2)
        jac.append((X, Y, Z))
    return _batch_affine(jac)


def _evaluate(combs, naf=None, naf_points=None, p=P):
    """Jacobian sum of comb terms and one optional wNAF term.

    combs: list of (indices, memoryview, base, columns) where entry j of the table is at
    base + 64*j. The accumulator is doubled once per column; comb column c and wNAF digit c
    both carry weight 2^c, so every term shares the same doublings.
    """
    nlen = len(naf) if naf else 0
    top = nlen
    for job in combs:
        top = max(top, job[3])
    X = Y = Z = 0
    for c in range(top - 1, -1, -1):
        if Z:
            # inline _dbl
            delta = Z * Z % p
            gamma = Y * Y % p
            beta4 = (X * gamma << 2) % p
            alpha = 3 * (X - delta) * (X + delta) % p
            Z = (Y * Z << 1) % p
            X = (alpha * alpha - (beta4 << 1)) % p
            Y = (alpha * (beta4 - X) - (gamma * gamma << 3)) % p
        for idx, mv, base, d in combs:
            if c >= d:
                continue
            j = idx[c]
            if not j:
                continue
            o = base + (j << 6)
            x2 = int.from_bytes(mv[o : o + 32], "big")
            y2 = int.from_bytes(mv[o + 32 : o + 64], "big")
            if not Z:
                X, Y, Z = x2, y2, 1
                continue
            # inline _madd
            z1z1 = Z * Z % p
            h = x2 * z1z1 % p - X
            r = y2 * Z * z1z1 % p - Y
            if not h:
                X, Y, Z = _madd(X, Y, Z, x2, y2)
                continue
            hh = h * h % p
            hhh = h * hh % p
            v = X * hh % p
            X = (r * r - hhh - (v << 1)) % p
            Y = (r * (v - X) - Y * hhh) % p
            Z = Z * h % p
        if c < nlen:
            m = naf[c]
            if m:
                if m > 0:
                    x2, y2 = naf_points[m >> 1]
                else:
                    x2, y2 = naf_points[(-m) >> 1]
                    y2 = p - y2
                X, Y, Z = _madd(X, Y, Z, x2, y2)
    return X, Y, Z



def _build_table(x, y, w):
    d = (256 + w - 1) // w
    blob = bytearray(_table_len(w))
    blob[:4] = _TABLE_MAGIC
    blob[4] = w
    blob[_HDR:_POINT_END] = encode_point(x, y)
    base = _POINT_END - 64
    # Teeth bases 2^(i*d) * P.
    jac = [(x, y, 1)]
    X, Y, Z = x, y, 1
    for _ in range(1, w):
        for _ in range(d):
            X, Y, Z = _dbl(X, Y, Z)
        jac.append((X, Y, Z))
    bases = _batch_affine(jac)
    jac = None
    # Entries 2^i .. 2^(i+1)-1 are entries 0 .. 2^i-1 plus base i; convert to affine in
    # batches so at most _FLUSH Jacobian points are alive.
    for i in range(w):
        bx, by = bases[i]
        lo = 1 << i
        pending = []
        start = lo
        for j in range(lo):
            if j == 0:
                pending.append((bx, by, 1))
            else:
                o = base + (j << 6)
                ex = int.from_bytes(blob[o : o + 32], "big")
                ey = int.from_bytes(blob[o + 32 : o + 64], "big")
                pending.append(_madd(ex, ey, 1, bx, by))
            if len(pending) == _FLUSH or j == lo - 1:
                for px, py in _batch_affine(pending):
                    o = base + (start << 6)
                    blob[o : o + 64] = encode_point(px, py)
                    start += 1
                pending = []
    end = len(blob) - _CHECK_LEN
    blob[end:] = hashlib.sha256(memoryview(blob)[:end]).digest()[:_CHECK_LEN]
    return blob
