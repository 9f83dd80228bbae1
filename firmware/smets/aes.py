"""AES-128 block encryption: the one AES primitive of the firmware (GBCS GCM, ZigBee CCM* and
the AES-MMO hash are built on it).

MicroPython: `cryptolib.aes(key, 1)` (ECB, C implementation / mbedTLS on the ESP32) writing into a
preallocated buffer. CPython: `cryptography`'s AES-ECB, the only use of `cryptography` under
firmware/ (host code never imports this module for checking; it has its own oracles).
"""

try:
    import cryptolib
except ImportError:  # CPython
    cryptolib = None  # type: ignore[assignment]

BLOCK_SIZE = 16
_MODE_ECB = 1


class AES128:
    """An AES-128 key schedule; `encrypt_block` runs the forward cipher on one 16-byte block."""

    def __init__(self, key):
        if len(key) != 16:
            raise ValueError("AES-128 key must be 16 bytes, not %d" % len(key))
        self._out = bytearray(16)
        if cryptolib is not None:
            self._aes = cryptolib.aes(bytes(key), _MODE_ECB)
            self._enc = None
        else:
            from cryptography.hazmat.primitives.ciphers import (  # type: ignore[import-not-found]
                Cipher,  # CPython only: the boards have cryptolib
                algorithms,
                modes,
            )

            self._aes = None
            self._enc = Cipher(algorithms.AES(bytes(key)), modes.ECB()).encryptor()

    def encrypt_block(self, block):
        """E_K(block) as new bytes."""
        return bytes(self.encrypt_into(block, self._out))

    def encrypt_into(self, block, out):
        """E_K(block) written into the 16-byte buffer `out` (no allocation); returns `out`."""
        if len(block) != 16:
            raise ValueError("AES block must be 16 bytes, not %d" % len(block))
        if self._aes is not None:
            self._aes.encrypt(block, out)
        else:
            out[:] = self._enc.update(bytes(block))
        return out
