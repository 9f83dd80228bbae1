# ruff: noqa: F821 (ptr8, ptr16: viper's pointer types)
"""GHASH and CTR keystream XOR for MicroPython's viper emitter (smets.gbcs.gcm uses them there).

GHASH (NIST SP 800-38D 6.4) by Shoup's 4-bit method: per key a table M[i] = i * H for the 16
nibble values i (256 bytes), then per block 32 steps of "Z = Z x^4, fold the 4 bits shifted
out back in through x^128 = 1 + x + x^2 + x^7, Z ^= M[nibble]". Values are 16-bit words,
exact on a 32-bit ESP32 and the 64-bit unix port alike; nothing is allocated (the Python-int
version made ~55 KB of garbage per 200-byte MAC). Word 0 holds bytes 0-1 of a block: GCM's
bit 0 (the x^0 coefficient) is the top bit of byte 0, so "times x" is a right shift.
"""

import micropython

NAME = "viper"
TABLE_BYTES = 288  # 16 entries of 8 words, then the 16-word fold table
# Fold of the 4 bits shifted out of a right shift by 4, into the top word (x^128 reduction).
_FOLD = (0x0000, 0x1C20, 0x3840, 0x2460, 0x7080, 0x6CA0, 0x48C0, 0x54E0,
         0xE100, 0xFD20, 0xD940, 0xC560, 0x9180, 0x8DA0, 0xA9C0, 0xB5E0)


@micropython.viper
def _build(tab: ptr16, h: ptr8):
    # M[8] = H; M[4], M[2], M[1] = H x, H x^2, H x^3 (right shifts, reduced by E1 || 0^120).
    i = 0
    while i < 8:
        tab[64 + i] = (h[2 * i] << 8) | h[2 * i + 1]
        tab[i] = 0
        i += 1
    e = 8
    while e > 1:
        s = e << 3
        d = s >> 1
        lsb = tab[s + 7] & 1
        i = 7
        while i > 0:
            tab[d + i] = (tab[s + i] >> 1) | ((tab[s + i - 1] & 1) << 15)
            i -= 1
        tab[d] = tab[s] >> 1
        if lsb:
            tab[d] ^= 0xE100
        e >>= 1
    # M[i + j] = M[i] ^ M[j].
    e = 2
    while e < 16:
        j = 1
        while j < e:
            i = 0
            while i < 8:
                tab[((e + j) << 3) + i] = tab[(e << 3) + i] ^ tab[(j << 3) + i]
                i += 1
            j += 1
        e <<= 1


def table(h):
    """The GHASH table (TABLE_BYTES) of the hash key h = E_K(0^128) (16 bytes)."""
    out = bytearray(TABLE_BYTES)
    _build(out, h)
    fold = memoryview(out)[256:]
    for i in range(16):
        v = _FOLD[i]
        fold[2 * i] = v & 0xFF  # native byte order is little-endian on every target
        fold[2 * i + 1] = v >> 8
    return out


@micropython.viper
def update(tab: ptr16, y: ptr8, data: ptr8, n: int):
    """y = GHASH state (16 bytes) after the n bytes of data, the last block zero-padded."""
    off = 0
    while off < n:
        i = 0
        while i < 16 and off + i < n:
            y[i] ^= data[off + i]
            i += 1
        z0 = 0
        z1 = 0
        z2 = 0
        z3 = 0
        z4 = 0
        z5 = 0
        z6 = 0
        z7 = 0
        i = 15
        while i >= 0:
            b = y[i]
            k = 0
            while k < 2:
                if k == 0:
                    nib = b & 15
                else:
                    nib = b >> 4
                if i != 15 or k != 0:
                    rem = z7 & 15
                    z7 = (z7 >> 4) | ((z6 & 15) << 12)
                    z6 = (z6 >> 4) | ((z5 & 15) << 12)
                    z5 = (z5 >> 4) | ((z4 & 15) << 12)
                    z4 = (z4 >> 4) | ((z3 & 15) << 12)
                    z3 = (z3 >> 4) | ((z2 & 15) << 12)
                    z2 = (z2 >> 4) | ((z1 & 15) << 12)
                    z1 = (z1 >> 4) | ((z0 & 15) << 12)
                    z0 = (z0 >> 4) ^ tab[128 + rem]
                t = nib << 3
                z0 ^= tab[t]
                z1 ^= tab[t + 1]
                z2 ^= tab[t + 2]
                z3 ^= tab[t + 3]
                z4 ^= tab[t + 4]
                z5 ^= tab[t + 5]
                z6 ^= tab[t + 6]
                z7 ^= tab[t + 7]
                k += 1
            i -= 1
        y[0] = z0 >> 8
        y[1] = z0 & 255
        y[2] = z1 >> 8
        y[3] = z1 & 255
        y[4] = z2 >> 8
        y[5] = z2 & 255
        y[6] = z3 >> 8
        y[7] = z3 & 255
        y[8] = z4 >> 8
        y[9] = z4 & 255
        y[10] = z5 >> 8
        y[11] = z5 & 255
        y[12] = z6 >> 8
        y[13] = z6 & 255
        y[14] = z7 >> 8
        y[15] = z7 & 255
        off += 16


@micropython.viper
def xor(out: ptr8, o: int, a: ptr8, b: ptr8, n: int):
    """out[o + i] = a[o + i] ^ b[i] for i < n."""
    i = 0
    while i < n:
        out[o + i] = a[o + i] ^ b[i]
        i += 1
