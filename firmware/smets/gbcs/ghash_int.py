"""GHASH and CTR keystream XOR in Python ints: smets.gbcs.gcm's engine on CPython (and on a
MicroPython port without the native emitter); smets.gbcs.ghash_v is the viper one.

Blocks are ints in "block order" (`int.from_bytes(block, 'big')`: the most significant bit is
the coefficient of x^0). X*H is computed unreduced by Horner over the 16 bytes of X with a
per-key table of the 16 nibble multiples of H (and the same shifted by 4), then reduced modulo
x^128 + x^7 + x^2 + x + 1 once per block with shifts and a 128-entry small-int table.

Measured on the MicroPython unix port (x86-64), per key / per 16-byte block:
  this (4-bit table, one reduction per block)            ~5 us / ~6.5 us
  8-bit table (256 big ints), one reduction per block   ~31 us / ~5 us  (wins only above
                                                          ~22 blocks, by <15 %; not used)
  Shoup 4-bit table, reduction per nibble                ~5 us / ~14 us
  bit-serial (SP 800-38D algorithm 1)                     0    / ~180 us
(the viper engine: ~1.5 us per block, nothing allocated).
"""

NAME = "int"
_M127 = (1 << 127) - 1
_R7 = None  # built on first use


def _r7():
    """Reduction of the x^128..x^134 overflow: entry v, shifted left by 114, is the block-order
    value of v's polynomial times x^128 mod g (14 bits, so a tuple of small ints: one heap
    block, no per-entry big ints)."""
    global _R7
    if _R7 is None:
        r = []
        for v in range(128):
            t = v << 121
            r.append((t ^ (t >> 1) ^ (t >> 2) ^ (t >> 7)) >> 114)
        _R7 = tuple(r)
    return _R7


def table(h):
    """T[n] = n * H for a nibble n, carry-less and unreduced (at most 131 bits), and the same
    shifted by 4."""
    h = int.from_bytes(h, "big")
    t = [0, h, h << 1, 0, h << 2, 0, 0, 0, h << 3, 0, 0, 0, 0, 0, 0, 0]
    for j in (3, 5, 6, 7, 9, 10, 11, 12, 13, 14, 15):
        low = j & -j
        t[j] = t[j ^ low] ^ t[low]
    return t, [v << 4 for v in t]


def update(tab, y, data, n):
    """y (16-byte GHASH state) after the n bytes of data, the last block zero-padded."""
    t, ts = tab
    r7 = _r7()
    m127 = _M127
    acc_y = int.from_bytes(y, "big")
    for o in range(0, n, 16):
        chunk = data[o : min(o + 16, n)]
        v = int.from_bytes(chunk, "big")
        if len(chunk) < 16:
            v <<= 8 * (16 - len(chunk))
        x = acc_y ^ v
        acc = 0
        for b in x.to_bytes(16, "big"):
            acc = (acc << 8) ^ ts[b >> 4] ^ t[b & 15]
        # acc = X*H unreduced (255 bits, bit 254-k = coefficient of x^k). Fold the
        # x^128..x^254 part (low 127 bits) back with x^128 = x^7 + x^2 + x + 1: the
        # product by 1 + x + x^2 + x^7 is exact in s (135 bits); its low 7 bits hold
        # x^128..x^134 and fold once more through the table.
        lo = acc & m127
        s = (lo << 8) ^ (lo << 7) ^ (lo << 6) ^ (lo << 1)
        acc_y = (acc >> 127) ^ (s >> 7) ^ (r7[s & 127] << 114)
    y[0:16] = acc_y.to_bytes(16, "big")


def xor(out, o, a, b, n):
    """out[o + i] = a[o + i] ^ b[i] for i < n."""
    v = int.from_bytes(a[o : o + n], "big") ^ int.from_bytes(b[:n], "big")
    out[o : o + n] = v.to_bytes(n, "big")
