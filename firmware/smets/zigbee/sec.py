"""ZigBee cryptographic primitives on AES-128 (ZigBee spec 05-3474 Annex A and B), pure Python on
the one AES block function of the firmware (smets.aes: `cryptolib` on a board).

- CCM* (Annex A; the CCM of NIST SP 800-38C / RFC 3610 with a 13-byte nonce, L = 2): ZigBee
  secures NWK and APS frames at security level 5, ENC-MIC-32 (4.3.1.1, 4.4.1.1).
- The Matyas-Meyer-Oseas hash on AES-128 (B.6, "AES-MMO") and the keyed hash built on it
  (B.1.4, HMAC with ipad 0x36 / opad 0x5c): the key-transport key and key-load key are the keyed
  hash of a link key with the byte 0x00 / 0x02 (4.5.3).
- Install codes (ZigBee SE 1.x 5.4.8.1; Base Device Behavior 5.3.1): 6, 8, 12 or 16 bytes with a
  CRC-16 (ITU-T X.25) appended low byte first; the preconfigured link key is AES-MMO(code || CRC).
  GBCS CCS01 carries 16-byte install codes without the CRC: the CHF (and the device) append it.

The host implements the same functions with `cryptography` (smetsbench.han.zcrypto), so each
side checks the other; Wireshark's ZigBee dissector is the third opinion (tests/host).
Not constant time: emulator crypto, not a hardened implementation.
"""

try:
    from micropython import const
except ImportError:  # CPython

    def const(x):  # type: ignore[misc]  # CPython has no micropython.const
        return x


from smets.aes import AES128

NONCE_LEN = const(13)
INSTALL_CODE_SIZES = (6, 8, 12, 16)
_L_FLAGS = const(0x01)  # CCM flags of the counter blocks: L - 1 with L = 2 (15 - nonce length)


class SecurityError(ValueError):
    """A MIC that does not verify, or a key, nonce or length CCM* cannot use."""


class Key:
    """A 128-bit key and its AES key schedule (made once per key, not per frame)."""

    __slots__ = ("raw", "aes")

    def __init__(self, raw):
        self.raw = bytes(raw)
        self.aes = AES128(self.raw)


def key(raw):
    return Key(raw)


# -- CCM* -----------------------------------------------------------------------------------------
def _mac(aes, nonce, a, m, mic_len):
    """The CBC-MAC T of CCM* over L(a) || a || pad || m || pad (Annex A.2.2)."""
    x = bytearray(16)
    y = bytearray(16)
    x[0] = (0x40 if a else 0) | (((mic_len - 2) // 2) << 3) | _L_FLAGS
    x[1:14] = nonce
    x[14] = len(m) >> 8
    x[15] = len(m) & 0xFF
    aes.encrypt_into(x, y)
    if a:
        la = len(a)
        head = bytearray(2 + la)
        head[0] = la >> 8
        head[1] = la & 0xFF
        head[2:] = a
        y, x = _absorb(aes, y, x, head)
    if m:
        y, x = _absorb(aes, y, x, m)
    return y


def _absorb(aes, y, x, data):
    """CBC over `data` padded with zeros to whole blocks, chaining value y, x a scratch block;
    returns (last output, scratch)."""
    n = len(data)
    for p in range(0, n, 16):
        # XOR in place, inline: a call per block would allocate a frame on a board's heap.
        for j in range(min(16, n - p)):
            y[j] ^= data[p + j]
        aes.encrypt_into(y, x)
        x, y = y, x
    return y, x


def _ctr(aes, nonce, data, out, first, off=0):
    """CTR mode from counter block `first` (Annex A.2.3): out[off:] = data XOR E(A_first) || ..."""
    a = bytearray(16)
    s = bytearray(16)
    a[0] = _L_FLAGS
    a[1:14] = nonce
    n = len(data)
    i = first
    for p in range(0, n, 16):
        a[14] = i >> 8
        a[15] = i & 0xFF
        aes.encrypt_into(a, s)
        for j in range(min(16, n - p)):
            out[off + p + j] = data[p + j] ^ s[j]
        i += 1


def _check(k, nonce, mic_len):
    if len(nonce) != NONCE_LEN:
        raise SecurityError("CCM* nonce must be %d bytes, not %d" % (NONCE_LEN, len(nonce)))
    if mic_len not in (4, 8, 16):
        raise SecurityError("CCM* MIC length %d (ZigBee uses 4, 8 or 16)" % mic_len)
    return k.aes if isinstance(k, Key) else AES128(k)


def seal(k, nonce, a, m, mic_len=4):
    """Encrypt `m` and authenticate `a` || `m`: the encrypted payload followed by the
    encrypted MIC U (CCM* forward transformation, levels 5-7), as a bytearray."""
    out = bytearray(len(m) + mic_len)
    seal_into(k, nonce, a, m, mic_len, out, 0)
    return out


def seal_into(k, nonce, a, m, mic_len, out, off):
    """`seal` written into out[off:off + len(m) + mic_len]: a frame is built in one buffer,
    header, auxiliary header and secured payload, without a copy per layer."""
    aes = _check(k, nonce, mic_len)
    t = _mac(aes, nonce, a, m, mic_len)
    _ctr(aes, nonce, m, out, 1, off)
    u = bytearray(16)
    _ctr(aes, nonce, memoryview(t)[:mic_len], u, 0)
    end = off + len(m)
    for j in range(mic_len):
        out[end + j] = u[j]


def open_(k, nonce, a, c, mic_len=4):
    """The payload (a bytearray) of a CCM*-secured `c` (ciphertext || U); SecurityError if the
    MIC does not verify (CCM* inverse transformation)."""
    aes = _check(k, nonce, mic_len)
    n = len(c) - mic_len
    if n < 0:
        raise SecurityError("secured payload of %d bytes is shorter than its %d-byte MIC"
                            % (len(c), mic_len))
    mv = memoryview(c)
    m = bytearray(n)
    _ctr(aes, nonce, mv[:n], m, 1)
    t = _mac(aes, nonce, a, m, mic_len)
    u = bytearray(mic_len)
    _ctr(aes, nonce, mv[n:], u, 0)
    diff = 0
    for j in range(mic_len):
        diff |= u[j] ^ t[j]
    if diff:
        raise SecurityError("MIC check failed")
    return m  # a bytearray: no second copy of a large payload (a 4 KB CS02b command)


# -- AES-MMO hash and the keyed hash --------------------------------------------------------------
def mmo(data):
    """The ZigBee cryptographic hash of `data` (B.6): Matyas-Meyer-Oseas over AES-128, the
    message padded with a 1 bit, zeros and its 16-bit length in bits (messages under 2^16 bits,
    the only ones ZigBee hashes)."""
    n = len(data)
    if n >= 8192:
        raise SecurityError("AES-MMO input of %d bytes: ZigBee hashes less than 8 KB" % n)
    pad = (14 - (n + 1)) % 16
    buf = bytearray(n + 3 + pad)
    buf[:n] = data
    buf[n] = 0x80
    bits = n * 8
    buf[-2] = bits >> 8
    buf[-1] = bits & 0xFF
    h = bytearray(16)
    e = bytearray(16)
    mv = memoryview(buf)
    for p in range(0, len(buf), 16):
        block = mv[p:p + 16]
        AES128(h).encrypt_into(block, e)
        for j in range(16):
            h[j] = e[j] ^ block[j]
    return bytes(h)


def keyed_hash(key16, c, hash_fn=mmo):
    """HMAC of the one-byte message `c` keyed with a 128-bit key, on the MMO hash (B.1.4):
    H((key ^ opad) || H((key ^ ipad) || c))."""
    inner = bytearray(17)
    outer = bytearray(32)
    for j in range(16):
        inner[j] = key16[j] ^ 0x36
        outer[j] = key16[j] ^ 0x5C
    inner[16] = c
    outer[16:] = hash_fn(inner)
    return hash_fn(outer)


def transport_key_key(link_key, hash_fn=mmo):
    """The key-transport key of a link key (4.5.3: keyed hash with 0x00): secures APS Transport
    Key commands carrying a network key or a trust center link key."""
    return keyed_hash(link_key, 0x00, hash_fn)


def load_key_key(link_key, hash_fn=mmo):
    """The key-load key of a link key (4.5.3: keyed hash with 0x02): secures application link
    keys the trust center sends."""
    return keyed_hash(link_key, 0x02, hash_fn)


# -- install codes --------------------------------------------------------------------------------
def crc16(data):
    """CRC-16 of an install code: ITU-T X.25 / CRC-16/IBM-SDLC (reflected polynomial 0x1021,
    initial 0xFFFF, final XOR 0xFFFF)."""
    crc = 0xFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ 0x8408 if crc & 1 else crc >> 1
    return crc ^ 0xFFFF


def install_code_with_crc(code):
    """An install code without its CRC (6, 8, 12 or 16 bytes, as GBCS CCS01 carries it) with
    the CRC-16 appended, low byte first, as on a device label."""
    code = bytes(code)
    if len(code) not in INSTALL_CODE_SIZES:
        raise SecurityError("an install code is 6, 8, 12 or 16 bytes, not %d" % len(code))
    crc = crc16(code)
    return code + bytes((crc & 0xFF, crc >> 8))


def install_code_key(code, hash_fn=mmo):
    """The preconfigured trust center link key of an install code (without its CRC):
    AES-MMO(code || CRC-16)."""
    return hash_fn(install_code_with_crc(code))
