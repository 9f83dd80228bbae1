"""AES-128-GCM with a 96-bit IV and truncated tags (NIST SP 800-38D).

GHASH runs in viper on MicroPython (smets.gbcs.ghash_v: 16-bit words, no allocation) and in
Python ints elsewhere (CPython, or a MicroPython port without the native emitter), as below.

GBCS derives a fresh AES key for every message (one KDF per message), so the per-key
set-up of GHASH must be cheap next to the handful of blocks it then authenticates. Blocks are
ints in "block order" (`int.from_bytes(block, 'big')`: the most significant bit is the
coefficient of x^0). X*H is computed unreduced by Horner over the 16 bytes of X with a per-key
table of the 16 nibble multiples of H (and the same shifted by 4), then reduced modulo
x^128 + x^7 + x^2 + x + 1 once per block with shifts and a 128-entry small-int table.

Measured on the MicroPython unix port (x86-64), per key / per 16-byte block:
  this (4-bit table, one reduction per block)            ~5 us / ~6.5 us
  8-bit table (256 big ints), one reduction per block   ~31 us / ~5 us  (wins only above
                                                          ~22 blocks, by <15 %; not used)
  Shoup 4-bit table, reduction per nibble                ~5 us / ~14 us
  bit-serial (SP 800-38D algorithm 1)                     0    / ~180 us
A 150-byte GBCS MAC (11 blocks incl. lengths) costs ~2 us AES + ~5 us table + ~70 us GHASH.

Not constant time (table look-ups indexed by secret-dependent data, Python ints): this is
emulator crypto, not a hardened implementation.
"""

import sys

from .aes import AES128

TAG_LEN = 12
IV_LEN = 12

_V = None  # smets.gbcs.ghash_v in use, False for Python ints, None: not chosen yet


def backend(name=None):
    """The GHASH in use: "viper" or "int"; `name` switches (tests compare them)."""
    global _V
    if name is None and _V is not None:
        return "viper" if _V else "int"
    if name is None:
        name = "viper" if sys.implementation.name == "micropython" else "int"
    _V = False
    if name == "viper":
        try:
            from . import ghash_v

            _V = ghash_v
        except (ImportError, SyntaxError, ValueError, NotImplementedError):
            _V = False  # no native emitter on this port
    elif name != "int":
        raise GCMError("unknown GHASH backend %r" % (name,))
    return "viper" if _V else "int"


def _viper():
    if _V is None:
        backend()
    return _V

_M127 = (1 << 127) - 1
_R7 = None  # built on first use


class GCMError(ValueError):
    """Authentication failure or unusable GCM parameters."""


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


def _check(iv, tag_len):
    if len(iv) != IV_LEN:
        raise GCMError("GCM IV must be 12 bytes, not %d" % len(iv))
    if not 4 <= tag_len <= 16:
        raise GCMError("GCM tag length %d out of range 4..16" % tag_len)


def ct_equal(a, b):
    """Compare two byte strings without stopping at the first difference."""
    if len(a) != len(b):
        return False
    acc = 0
    for i in range(len(a)):
        acc |= a[i] ^ b[i]
    return acc == 0


class GCM:
    """AES-128-GCM state for one key: the cipher and H = E_K(0^128); GHASH table on demand."""

    def __init__(self, key):
        self._aes = AES128(key)
        self._buf = bytearray(16)
        self._aes.encrypt_into(bytes(16), self._buf)
        self._v = _viper()
        if self._v:
            self._tab = self._v.table(self._buf, bytearray(self._v.TABLE_BYTES))
        else:
            self._h = int.from_bytes(self._buf, "big")
            self._t4 = None

    def _tables4(self):
        if self._t4 is None:
            # T[n] = n * H for a nibble n, carry-less and unreduced (at most 131 bits).
            h = self._h
            t = [0, h, h << 1, 0, h << 2, 0, 0, 0, h << 3, 0, 0, 0, 0, 0, 0, 0]
            for j in (3, 5, 6, 7, 9, 10, 11, 12, 13, 14, 15):
                low = j & -j
                t[j] = t[j ^ low] ^ t[low]
            self._t4 = (t, [v << 4 for v in t])
        return self._t4

    def ghash(self, aad, ct=b""):
        """GHASH_H(A || pad || C || pad || len(A) || len(C)) as a 128-bit int (block order)."""
        if self._v:
            return int.from_bytes(self._ghash_v(aad, ct), "big")
        la = len(aad)
        lc = len(ct)
        r7 = _r7()
        m127 = _M127
        lengths = ((la * 8) << 64) | (lc * 8)
        y = 0
        t, ts = self._tables4()
        for data in (aad, ct, None):
            n = 16 if data is None else len(data)
            for o in range(0, n, 16):
                if data is None:
                    x = y ^ lengths
                else:
                    chunk = data[o : o + 16]
                    v = int.from_bytes(chunk, "big")
                    if len(chunk) < 16:
                        v <<= 8 * (16 - len(chunk))
                    x = y ^ v
                acc = 0
                for b in x.to_bytes(16, "big"):
                    acc = (acc << 8) ^ ts[b >> 4] ^ t[b & 15]
                # acc = X*H unreduced (255 bits, bit 254-k = coefficient of x^k). Fold the
                # x^128..x^254 part (low 127 bits) back with x^128 = x^7 + x^2 + x + 1: the
                # product by 1 + x + x^2 + x^7 is exact in s (135 bits); its low 7 bits hold
                # x^128..x^134 and fold once more through the table.
                lo = acc & m127
                s = (lo << 8) ^ (lo << 7) ^ (lo << 6) ^ (lo << 1)
                y = (acc >> 127) ^ (s >> 7) ^ (r7[s & 127] << 114)
        return y

    def _ghash_v(self, aad, ct):
        """GHASH as 16 bytes (viper)."""
        v = self._v
        y = bytearray(16)
        v.update(self._tab, y, aad, len(aad))
        v.update(self._tab, y, ct, len(ct))
        lens = self._buf
        lens[0:8] = (len(aad) * 8).to_bytes(8, "big")
        lens[8:16] = (len(ct) * 8).to_bytes(8, "big")
        v.update(self._tab, y, lens, 16)
        return y

    def _ctr(self, iv, data):
        """GCTR from inc32(J0) = IV || 00000002."""
        n = len(data)
        out = bytearray(n)
        buf = self._buf
        enc = self._aes.encrypt_into
        if self._v:
            xor = self._v.xor
            cb = bytearray(16)
            cb[0:12] = iv
            ctr = 2
            for o in range(0, n, 16):
                cb[12] = (ctr >> 24) & 0xFF
                cb[13] = (ctr >> 16) & 0xFF
                cb[14] = (ctr >> 8) & 0xFF
                cb[15] = ctr & 0xFF
                enc(cb, buf)
                xor(out, o, data, buf, min(16, n - o))
                ctr += 1
            return bytes(out)
        ctr = 2
        for o in range(0, n, 16):
            chunk = data[o : o + 16]
            k = len(chunk)
            ks = int.from_bytes(enc(iv + ctr.to_bytes(4, "big"), buf), "big")
            if k < 16:
                ks >>= 8 * (16 - k)
            out[o : o + k] = (int.from_bytes(chunk, "big") ^ ks).to_bytes(k, "big")
            ctr += 1
        return bytes(out)

    def _tag(self, iv, aad, ct, tag_len):
        if self._v:
            s = self._ghash_v(aad, ct)
            j0 = bytearray(16)
            j0[0:12] = iv
            j0[15] = 1
            ek = self._aes.encrypt_into(j0, self._buf)
            self._v.xor(s, 0, s, ek, tag_len)
            return bytes(s[:tag_len])
        s = self.ghash(aad, ct)
        ek = int.from_bytes(self._aes.encrypt_into(iv + b"\x00\x00\x00\x01", self._buf), "big")
        return (s ^ ek).to_bytes(16, "big")[:tag_len]

    def encrypt(self, iv, plaintext, aad=b"", tag_len=TAG_LEN):
        """Ciphertext || tag."""
        iv = bytes(iv)
        _check(iv, tag_len)
        ct = self._ctr(iv, plaintext)
        return ct + self._tag(iv, aad, ct, tag_len)

    def decrypt(self, iv, data, aad=b"", tag_len=TAG_LEN):
        """Plaintext of ciphertext || tag; GCMError if the tag does not match."""
        iv = bytes(iv)
        _check(iv, tag_len)
        if len(data) < tag_len:
            raise GCMError("GCM input of %d bytes is shorter than the tag" % len(data))
        ct = data[: len(data) - tag_len]
        if not ct_equal(self._tag(iv, aad, ct, tag_len), data[len(data) - tag_len :]):
            raise GCMError("GCM tag mismatch")
        return self._ctr(iv, ct)

    def mac(self, iv, aad, tag_len=TAG_LEN):
        """GMAC: the tag of an empty plaintext."""
        iv = bytes(iv)
        _check(iv, tag_len)
        return self._tag(iv, aad, b"", tag_len)


def gcm_encrypt(key, iv, plaintext, aad=b"", tag_len=TAG_LEN):
    """AES-128-GCM: ciphertext || tag (tag_len bytes)."""
    return GCM(key).encrypt(iv, plaintext, aad, tag_len)


def gcm_decrypt(key, iv, data, aad=b"", tag_len=TAG_LEN):
    """AES-128-GCM: plaintext of ciphertext || tag; raises GCMError on a bad tag."""
    return GCM(key).decrypt(iv, data, aad, tag_len)


def gmac(key, iv, aad, tag_len=TAG_LEN):
    """GMAC tag of `aad` (AES-128-GCM with an empty plaintext)."""
    return GCM(key).mac(iv, aad, tag_len)


def gmac_verify(key, iv, aad, tag):
    """True when `tag` is the GMAC of `aad` (length of `tag` = tag length)."""
    if not 4 <= len(tag) <= 16:
        return False
    return ct_equal(GCM(key).mac(iv, aad, len(tag)), tag)
