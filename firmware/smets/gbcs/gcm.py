"""AES-128-GCM with a 96-bit IV and truncated tags (NIST SP 800-38D).

GBCS derives a fresh AES key for every message (one KDF per message), so the per-key set-up
of GHASH must be cheap next to the handful of blocks it then authenticates: both GHASH engines
use a 16-entry table of nibble multiples of H. smets.gbcs.ghash_v (viper, 16-bit words, no
allocation) runs on MicroPython, smets.gbcs.ghash_int (Python ints) elsewhere (CPython, or a
port without the native emitter); they have the same three functions: table, update, xor.

Not constant time (table look-ups indexed by secret-dependent data, Python ints): this is
emulator crypto, not a hardened implementation.
"""

import sys

from smets.aes import AES128

TAG_LEN = 12
IV_LEN = 12


class GCMError(ValueError):
    """Authentication failure or unusable GCM parameters."""


_E = None  # the GHASH engine in use (module), None: not chosen yet


def backend(name=None):
    """The GHASH engine in use: "viper" or "int"; `name` switches (tests compare them)."""
    global _E
    if name is None and _E is not None:
        return _E.NAME
    if name is None:
        name = "viper" if sys.implementation.name == "micropython" else "int"
    if name not in ("viper", "int"):
        raise GCMError("unknown GHASH backend %r" % (name,))
    _E = None
    if name == "viper":
        try:
            from . import ghash_v as _E
        except (ImportError, SyntaxError, ValueError, NotImplementedError):
            _E = None  # no native emitter on this port
    if _E is None:
        from . import ghash_int as _E
    return _E.NAME


def _engine():
    if _E is None:
        backend()
    return _E

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
    """AES-128-GCM state for one key: the cipher, H = E_K(0^128) and its GHASH table."""

    def __init__(self, key):
        self._aes = AES128(key)
        self._buf = bytearray(16)
        self._aes.encrypt_into(bytes(16), self._buf)
        self._e = _engine()
        self._tab = self._e.table(self._buf)

    def _ghash(self, aad, ct):
        """GHASH_H(A || pad || C || pad || len(A) || len(C)) as 16 bytes."""
        e = self._e
        y = bytearray(16)
        e.update(self._tab, y, aad, len(aad))
        e.update(self._tab, y, ct, len(ct))
        lens = self._buf
        lens[0:8] = (len(aad) * 8).to_bytes(8, "big")
        lens[8:16] = (len(ct) * 8).to_bytes(8, "big")
        e.update(self._tab, y, lens, 16)
        return y

    def ghash(self, aad, ct=b""):
        """GHASH as a 128-bit int (block order)."""
        return int.from_bytes(self._ghash(aad, ct), "big")

    def _ctr(self, iv, data):
        """GCTR from inc32(J0) = IV || 00000002."""
        n = len(data)
        out = bytearray(n)
        buf = self._buf
        enc = self._aes.encrypt_into
        xor = self._e.xor
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

    def _tag(self, iv, aad, ct, tag_len):
        s = self._ghash(aad, ct)
        j0 = bytearray(16)
        j0[0:12] = iv
        j0[15] = 1
        self._e.xor(s, 0, s, self._aes.encrypt_into(j0, self._buf), tag_len)
        return bytes(s[:tag_len])

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
