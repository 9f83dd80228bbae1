"""The ZigBee crypto primitives on the host, with `cryptography`: an independent check of the
firmware's pure-Python ones (smets.zigbee.sec), and the provider the host's trust center
(smets.zigbee.coordinator, run by the hub) secures frames with.

Same calls as smets.zigbee.sec: key(raw), seal(key, nonce, a, m, mic_len),
open_(key, nonce, a, c, mic_len), mmo(data), install_code_key(code). CCM* at the levels ZigBee
uses (ENC-MIC-32/64/128) is NIST CCM: `cryptography`'s AESCCM with a 13-byte nonce. AES-MMO
(ZigBee B.6) is built here on `cryptography`'s raw AES block.
"""

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESCCM
from smets.zigbee.sec import SecurityError, install_code_with_crc


class Key:
    __slots__ = ("raw", "_ccm")

    def __init__(self, raw):
        if len(raw) != 16:
            raise SecurityError("a ZigBee key is 16 bytes, not %d" % len(raw))
        self.raw = bytes(raw)
        self._ccm = {}

    def ccm(self, mic_len):
        c = self._ccm.get(mic_len)
        if c is None:
            c = self._ccm[mic_len] = AESCCM(self.raw, tag_length=mic_len)
        return c


def key(raw):
    return Key(raw)


def _key(k):
    return k if isinstance(k, Key) else Key(k)


def seal(k, nonce, a, m, mic_len=4):
    return _key(k).ccm(mic_len).encrypt(bytes(nonce), bytes(m), bytes(a) or None)


def seal_into(k, nonce, a, m, mic_len, out, off):
    c = seal(k, nonce, a, m, mic_len)
    out[off:off + len(c)] = c


def open_(k, nonce, a, c, mic_len=4):
    if len(c) < mic_len:
        raise SecurityError("secured payload of %d bytes is shorter than its MIC" % len(c))
    try:
        return _key(k).ccm(mic_len).decrypt(bytes(nonce), bytes(c), bytes(a) or None)
    except InvalidTag:
        raise SecurityError("MIC check failed") from None


def mmo(data):
    """AES-MMO: H_0 = 0, H_i = E_{H_(i-1)}(M_i) xor M_i over the message, a 1 bit, zeros to 14
    mod 16 bytes and the 16-bit bit length (ZigBee B.6, messages under 2^16 bits)."""
    data = bytes(data)
    if len(data) >= 8192:
        raise SecurityError("AES-MMO input of %d bytes" % len(data))
    pad_to = -(len(data) + 3) % 16
    message = data + b"\x80" + bytes(pad_to) + (len(data) * 8).to_bytes(2, "big")
    digest = bytes(16)
    for i in range(0, len(message), 16):
        block = message[i:i + 16]
        out = Cipher(algorithms.AES(digest), modes.ECB()).encryptor().update(block)
        digest = (int.from_bytes(out, "big") ^ int.from_bytes(block, "big")).to_bytes(16, "big")
    return digest


def install_code_key(code):
    """The link key of an install code (without its CRC): AES-MMO(code || CRC-16)."""
    return mmo(install_code_with_crc(code))


def partner_link_key(ka_private_key, partner_ka_public):
    """The link key of two devices a GBCS Method A or C join paired (the firmware's
    smets.devices.keyest.link_key): KeyData, the second 16 bytes of SHA-256(Z || 00000001),
    Z the static ECDH secret of the one's key agreement private key (a `cryptography` key or
    its integer) and the other's public key (X||Y), here computed by `cryptography`."""
    import hashlib

    from smetsbench.oracle import crypto as ocrypto

    z = ocrypto.ecdh(ka_private_key, partner_ka_public)
    return hashlib.sha256(z + b"\x00\x00\x00\x01").digest()[16:]
