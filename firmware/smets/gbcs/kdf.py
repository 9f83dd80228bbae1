"""GBCS key derivation: the NIST SP 800-56A single-step (concatenation) KDF with SHA-256.

key = first 16 bytes of SHA-256(00000001 || Z || OtherInfo), where
OtherInfo = AlgorithmID(60 85 74 06 08 03 00) || originator system title (8) ||
            09 || mode (1) || originator counter (8) || recipient system title (8).
For message MACs `mode` is the CRA flag of the message (command, response, alert); for payload
encryption it is 04 (see crypto.payload_kdf_inputs for which counter and titles feed it).
"""

import hashlib

try:
    from micropython import const
except ImportError:  # CPython

    def const(x):  # type: ignore[misc]  # CPython has no micropython.const
        return x


MODE_COMMAND = const(1)
MODE_RESPONSE = const(2)
MODE_ALERT = const(3)
MODE_PAYLOAD = const(4)

_ALGORITHM_ID = b"\x60\x85\x74\x06\x08\x03\x00"
_ROUND_1 = b"\x00\x00\x00\x01"
_MAX_COUNTER = const(0xFFFFFFFFFFFFFFFF)


def other_info(originator_title, mode, counter, recipient_title):
    """The 33-byte OtherInfo of the GBCS KDF."""
    if len(originator_title) != 8 or len(recipient_title) != 8:
        raise ValueError("system titles must be 8 bytes")
    if not 1 <= mode <= 4:
        raise ValueError("KDF mode %d not in 1..4" % mode)
    if not 0 <= counter <= _MAX_COUNTER:
        raise ValueError("counter out of 64-bit range")
    return (
        _ALGORITHM_ID
        + bytes(originator_title)
        + bytes((9, mode))
        + counter.to_bytes(8, "big")
        + bytes(recipient_title)
    )


def derive_key(z, originator_title, mode, counter, recipient_title):
    """16-byte AES key from the ECDH secret `z` (32 bytes) and the message identifiers."""
    if len(z) != 32:
        raise ValueError("shared secret Z must be 32 bytes, not %d" % len(z))
    h = hashlib.sha256(_ROUND_1)
    h.update(bytes(z))
    h.update(other_info(originator_title, mode, counter, recipient_title))
    return h.digest()[:16]
