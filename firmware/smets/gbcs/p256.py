"""NIST P-256 (secp256r1) ECDH and ECDSA in Python ints, for MicroPython and CPython.

Points are 64-byte X||Y on the wire (65 bytes with a leading 04 are accepted too), affine
(x, y) ints or Jacobian (X, Y, Z) ints inside (x = X/Z^2, y = Y/Z^3; Z == 0 is the point at
infinity). Additions are mixed: Jacobian accumulator + affine table point. Field elements are
reduced with `%` after every product (one mpz division is cheaper on MicroPython than any
shift-and-add special reduction written in Python); inverses use the extended Euclidean
algorithm (5x faster than pow(x, p-2, p) on MicroPython, whose 3-argument pow also silently
returns 0 for a negative exponent).

Fixed-base multiplication uses a Lim-Lee comb. With w teeth and d = ceil(256/w) columns, entry j
(1 <= j < 2^w) of a `Table` is sum(2^(i*d) * P for every bit i set in j), stored as affine X||Y
bytes; k*P then costs at most d-1 doublings and d mixed additions, and u1*G + u2*Q with two
tables shares the doublings (max(d_G, d_Q) - 1). Tables serialise to bytes (`to_bytes` /
`from_bytes`) so the firmware can keep them on flash; `from_bytes` keeps a memoryview of the
buffer it is given (no copy), so a table costs its size in RAM while loaded and nothing else:

  teeth  columns  table bytes   build    k*G sign   u1*G + u2*Q verify (G with 6 teeth)
    4       64       1 040      2.7 ms                  2.1 ms
    5       52       2 064      3.1 ms                  1.8 ms
    6       43       4 112      3.9 ms   1.15 ms        1.6 ms
    7       37       8 208      5.3 ms   1.03 ms
    8       32      16 400      8.1 ms   0.91 ms
(MicroPython unix port, x86-64). Defaults: GENERATOR_TEETH = 6 (4 KB, built on first use or
installed from flash with `set_generator_table`), KEY_TEETH = 5 (2 KB per trusted key).
Without a key table, verify uses width-5 wNAF for u2*Q (eight odd multiples built per call,
~1 KB transient) sharing its doublings with the G comb: ~4.1 ms; a cold ECDH ~5 ms. A table
is one contiguous buffer: on a small heap create or load tables early (at boot), before the
heap fragments; MicroPython's GC does not compact.

Not constant time (secret-indexed table look-ups, data-dependent branches, Python ints): this is
emulator crypto for a test bench, not a hardened implementation.
"""

import hashlib
from array import array

P = 0xFFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFF
N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
B = 0x5AC635D8AA3A93E7B3EBBD55769886BC651D06B0CC53B0F63BCE3C3E27D2604B
GX = 0x6B17D1F2E12C4247F8BCE6E563A440F277037D812DEB33A0F4A13945D898C296
GY = 0x4FE342E2FE1A7F9B8EE7EB4A7C0F9E162BCE33576B315ECECBB6406837BF51F5

GENERATOR_TEETH = 6
KEY_TEETH = 5
_WNAF_WIDTH = 5

_TABLE_MAGIC = b"P2C\x01"
_HDR = 8  # magic(4) teeth(1) reserved(3)
_POINT_END = _HDR + 64
_CHECK_LEN = 8
_FLUSH = 16  # Jacobian points converted to affine per inversion while building a table


class P256Error(ValueError):
    """Invalid key, point, scalar or table."""


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


# --- encoding and validation -------------------------------------------------------------


def is_on_curve(x, y):
    return 0 <= x < P and 0 <= y < P and (y * y - (x * x - 3) * x - B) % P == 0


def decode_point(pub):
    """(x, y) of a 64-byte X||Y (or 65-byte 04||X||Y) public key; P256Error unless on the curve."""
    if len(pub) == 65 and pub[0] == 4:
        pub = pub[1:]
    if len(pub) != 64:
        raise P256Error("public key must be 64 bytes X||Y, not %d" % len(pub))
    x = int.from_bytes(pub[:32], "big")
    y = int.from_bytes(pub[32:64], "big")
    if not is_on_curve(x, y):
        raise P256Error("point not on P-256")
    return x, y


def encode_point(x, y):
    return x.to_bytes(32, "big") + y.to_bytes(32, "big")


def private_scalar(d):
    """A private key as an int in [1, n-1] (accepts an int or 32 big-endian bytes)."""
    if not isinstance(d, int):
        if len(d) != 32:
            raise P256Error("private key must be 32 bytes")
        d = int.from_bytes(d, "big")
    if not 0 < d < N:
        raise P256Error("private key out of range [1, n-1]")
    return d


def _digest_int(digest):
    """bits2int of SEC 1 / RFC 6979: the leftmost 256 bits of the digest."""
    e = int.from_bytes(digest, "big")
    if len(digest) > 32:
        e >>= 8 * (len(digest) - 32)
    return e


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


def _comb_indices(k, w, d):
    """Column indices of a w-tooth comb: bit i of index c is bit i*d + c of k."""
    out = bytearray(d)
    mask = (1 << d) - 1
    bit = 1
    for i in range(w):
        chunk = (k >> (i * d)) & mask
        c = 0
        while chunk:
            if chunk & 1:
                out[c] |= bit
            chunk >>= 1
            c += 1
        bit <<= 1
    return out


def _wnaf(k, w=_WNAF_WIDTH):
    """Width-w NAF digits of k >= 0, least significant first (odd digits |m| < 2^(w-1))."""
    out = array("b")  # signed bytes: ~260 bytes instead of a list of ~260 object slots
    full = 1 << w
    half = full >> 1
    mask = full - 1
    zeros = array("b", bytes(w - 1))
    while k:
        if k & 1:
            m = k & mask
            if m >= half:
                m -= full
            k -= m
            out.append(m)
            out.extend(zeros)
            k >>= w
        else:
            out.append(0)
            k >>= 1
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


# --- fixed-base tables ---------------------------------------------------------------------


class Table:
    """Comb table of a fixed point (the generator or a trusted public key).

    Table(point, teeth) builds it (point = 64-byte X||Y or (x, y)); Table.from_bytes(buf)
    loads a serialised one without copying. Layout: "P2C" 01 | teeth | 000000 | X||Y |
    entries 1 .. 2^teeth - 1 (64 bytes each) | first 8 bytes of SHA-256 of all before.
    """

    def __init__(self, point, teeth=KEY_TEETH, _blob=None):
        if _blob is None:
            if not 2 <= teeth <= 8:
                raise P256Error("comb teeth must be 2..8")
            if isinstance(point, tuple):
                x, y = point
                if not is_on_curve(x, y):
                    raise P256Error("point not on P-256")
            else:
                x, y = decode_point(point)
            _blob = memoryview(_build_table(x, y, teeth))
        self._mv = _blob
        self.teeth = _blob[4]
        self.columns = (256 + self.teeth - 1) // self.teeth
        self.point = bytes(_blob[_HDR:_POINT_END])
        self._base = _POINT_END - 64

    @property
    def nbytes(self):
        return len(self._mv)

    @property
    def buffer(self):
        """The serialised table as a memoryview (write it to flash without a copy; read-only)."""
        return self._mv

    def to_bytes(self):
        return bytes(self._mv)

    @staticmethod
    def from_bytes(buf):
        """Load a serialised table; P256Error if it is damaged or not a P-256 comb table."""
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

    def _job(self, k):
        return (_comb_indices(k, self.teeth, self.columns), self._mv, self._base, self.columns)

    def mul(self, k):
        """k*P as affine (x, y), or None for the point at infinity."""
        return _affine(*_evaluate([self._job(k % N)]))


def _table_len(teeth):
    return _POINT_END + ((1 << teeth) - 1) * 64 + _CHECK_LEN


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


G_BYTES = encode_point(GX, GY)
_g_table = None


def generator_table():
    """The comb table of G (built on first use, GENERATOR_TEETH teeth)."""
    global _g_table
    if _g_table is None:
        _g_table = Table((GX, GY), GENERATOR_TEETH)
    return _g_table


def set_generator_table(table):
    """Install a generator table (e.g. loaded from flash with Table.from_bytes)."""
    global _g_table
    if table.point != G_BYTES:
        raise P256Error("table is not for the generator")
    _g_table = table


# --- scalar multiplication -----------------------------------------------------------------


def mul_base(k):
    """k*G as affine (x, y) or None."""
    return generator_table().mul(k)


def mul(k, point):
    """k*point (point = 64-byte X||Y, (x, y) or Table) as affine (x, y) or None."""
    if isinstance(point, Table):
        return point.mul(k)
    if isinstance(point, tuple):
        x, y = point
        if not is_on_curve(x, y):
            raise P256Error("point not on P-256")
    else:
        x, y = decode_point(point)
    k %= N
    if not k:
        return None
    return _affine(*_evaluate([], _wnaf(k), _odd_multiples(x, y)))


def generate_private_key(randbytes=None):
    """A uniformly random private key in [1, n-1] (randbytes(n) defaults to os.urandom)."""
    if randbytes is None:
        import os

        randbytes = os.urandom
    while True:
        d = int.from_bytes(randbytes(32), "big")
        if 0 < d < N:
            return d


def public_key(d):
    """64-byte X||Y of the private key d."""
    x, y = mul_base(private_scalar(d))
    return encode_point(x, y)


def ecdh(d, pub):
    """ECDH shared secret Z: the 32-byte x-coordinate of d*pub (pub: X||Y bytes or a Table)."""
    r = mul(private_scalar(d), pub)
    if r is None:
        raise P256Error("ECDH result is the point at infinity")
    return r[0].to_bytes(32, "big")


# --- HMAC-SHA256 and RFC 6979 --------------------------------------------------------------

_IPAD = int.from_bytes(b"\x36" * 64, "big")
_OPAD = int.from_bytes(b"\x5c" * 64, "big")


def hmac_sha256(key, data):
    """HMAC-SHA256 (RFC 2104) over hashlib; MicroPython may lack the hmac module."""
    if len(key) > 64:
        key = hashlib.sha256(key).digest()
    k = int.from_bytes(bytes(key) + bytes(64 - len(key)), "big")
    inner = hashlib.sha256((k ^ _IPAD).to_bytes(64, "big"))
    inner.update(data)
    outer = hashlib.sha256((k ^ _OPAD).to_bytes(64, "big"))
    outer.update(inner.digest())
    return outer.digest()


def rfc6979_nonces(d, digest):
    """Deterministic ECDSA nonces k (RFC 6979 3.2, HMAC-SHA256, qlen = 256), in order."""
    x = d.to_bytes(32, "big")
    h = (_digest_int(digest) % N).to_bytes(32, "big")
    v = b"\x01" * 32
    k = b"\x00" * 32
    k = hmac_sha256(k, v + b"\x00" + x + h)
    v = hmac_sha256(k, v)
    k = hmac_sha256(k, v + b"\x01" + x + h)
    v = hmac_sha256(k, v)
    while True:
        v = hmac_sha256(k, v)
        t = int.from_bytes(v, "big")
        if 0 < t < N:
            yield t
        k = hmac_sha256(k, v + b"\x00")
        v = hmac_sha256(k, v)


# --- ECDSA ---------------------------------------------------------------------------------


def sign_with_nonce(d, digest, k):
    """ECDSA signature r||s with the given nonce (known-answer tests); None if r or s is 0."""
    d = private_scalar(d)
    if not 0 < k < N:
        raise P256Error("nonce out of range")
    R = mul_base(k)
    r = R[0] % N
    if not r:
        return None
    s = _inv(k, N) * (_digest_int(digest) + r * d) % N
    if not s:
        return None
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def sign(d, digest):
    """Deterministic ECDSA (RFC 6979) over a message digest: 64-byte r||s."""
    d = private_scalar(d)
    for k in rfc6979_nonces(d, digest):
        sig = sign_with_nonce(d, digest, k)
        if sig is not None:
            return sig


def verify(pub, digest, sig):
    """True if sig (64-byte r||s) is a valid ECDSA signature of digest under pub.

    pub is 64-byte X||Y (P256Error if it is not a valid point) or a Table (fast path).
    """
    if len(sig) != 64:
        return False
    r = int.from_bytes(sig[:32], "big")
    s = int.from_bytes(sig[32:], "big")
    if not (0 < r < N and 0 < s < N):
        return False
    w = _inv(s, N)
    u1 = _digest_int(digest) * w % N
    u2 = r * w % N
    combs = []
    if u1:
        combs.append(generator_table()._job(u1))
    naf = naf_points = None
    if isinstance(pub, Table):
        if u2:
            combs.append(pub._job(u2))
    else:
        x, y = decode_point(pub)
        if u2:
            naf = _wnaf(u2)
            naf_points = _odd_multiples(x, y)
    X, _, Z = _evaluate(combs, naf, naf_points)
    if not Z:
        return False
    # x(R) mod n == r without inverting Z: X == x * Z^2 (mod p) for x in {r, r + n} below p.
    z2 = Z * Z % P
    if (X - r * z2) % P == 0:
        return True
    return r + N < P and (X - (r + N) * z2) % P == 0
