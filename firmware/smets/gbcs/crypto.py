"""GBCS message security on the device: MACs, signatures, payload encryption, ECDH cache.

Built on kdf, gcm, p256 and envelope.Message; every rule below holds on every RTDS 4.5.0 file:
- MAC: AES-128-GCM of an empty plaintext, key = KDF(Z, originator, CRA flag, originator
  counter, recipient), IV = originator system title || 00000000, AAD = Message.mac_aad, 12-byte
  tag. Commands are MACed by the ACB: Z = ECDH(ACB KA, device KA); responses and alerts by the
  device: Z = ECDH(device KA, recipient KA).
- Signature: ECDSA P-256/SHA-256, raw r||s, over Message.signed_bytes (the General Signing APDU
  after the DF tag, up to the end of the content).
- Payload encryption (DLMS Get-Protected-Attributes, encrypted GBZ components): key = KDF(Z,
  originator, 04, counter, recipient) with the supplementary remote party ID and supplementary
  originator counter of the other-information replacing the recipient title and the counter
  when present (payload_kdf_inputs); Z = ECDH(device KA, that remote party's KA); same IV;
  AAD = 31; wire form 31 00000000 || ciphertext || 12-byte tag.
"""

import hashlib

from . import envelope, p256
from .gcm import GCM, TAG_LEN, GCMError, ct_equal
from .kdf import MODE_PAYLOAD, derive_key

PAYLOAD_AAD = b"\x31"
PAYLOAD_HEADER = b"\x31\x00\x00\x00\x00"  # security control 31, invocation counter 0
_IV_TAIL = b"\x00\x00\x00\x00"


def iv_for(originator):
    """GCM IV of every GBCS MAC and payload: originator system title || 00000000."""
    return bytes(originator) + _IV_TAIL


# --- MAC ------------------------------------------------------------------------------------


def message_mac(z, originator, mode, counter, recipient, aad):
    """12-byte GBCS MAC of `aad` (mode = CRA flag of the message)."""
    key = derive_key(z, originator, mode, counter, recipient)
    return GCM(key).mac(iv_for(originator), aad, TAG_LEN)


def verify_message_mac(msg, z):
    """True if the decoded Message carries a MAC and it is right for the shared secret z."""
    if msg.mac is None:
        return False
    mac = message_mac(z, msg.originator, msg.cra, msg.counter, msg.recipient, msg.mac_aad)
    return ct_equal(mac, msg.mac)


def add_mac(z, signed_apdu):
    """General Ciphering message around a General Signing APDU (with its signature field)."""
    msg = envelope.decode(signed_apdu)
    aad = envelope.mac_aad_for(signed_apdu)
    mac = message_mac(z, msg.originator, msg.cra, msg.counter, msg.recipient, aad)
    return envelope.wrap_ciphering(signed_apdu, mac)


# --- signatures -----------------------------------------------------------------------------


def sign_digest(d, digest):
    """Deterministic ECDSA (RFC 6979) r||s of a SHA-256 digest with the private key d."""
    return p256.sign(d, digest)


def sign_apdu(d, general_signing):
    """Signature of a General Signing APDU (DF ... content, without the signature field)."""
    if not general_signing or general_signing[0] != 0xDF:
        raise ValueError("not a General Signing APDU")
    return p256.sign(d, hashlib.sha256(general_signing[1:]).digest())


def verify_message_signature(msg, pub_or_table):
    """True if the Message is signed and the signature verifies (64-byte key or p256.Table)."""
    if msg.signature is None:
        return False
    digest = hashlib.sha256(msg.signed_view()).digest()
    return p256.verify(pub_or_table, digest, msg.signature)


# --- payload encryption ---------------------------------------------------------------------


def payload_kdf_inputs(msg):
    """(originator, counter, recipient) feeding the mode-04 KDF of a Message's payload parts.

    Other-information of the GBCS grouping header: message code (2) [supplementary remote
    party ID (8) [supplementary remote party counter (8) [supplementary originator counter (8)
    | remote party certificate]]]. The supplementary remote party ID replaces the recipient;
    the supplementary originator counter (other-information exactly 26 bytes) the counter.
    """
    info = msg.other_info
    recipient = msg.recipient
    counter = msg.counter
    if len(info) >= 10:
        recipient = bytes(info[2:10])
    if len(info) == 26:
        counter = int.from_bytes(info[18:26], "big")
    return bytes(msg.originator), counter, bytes(recipient)


def encrypt_payload(z, originator, counter, recipient, plaintext, aad=PAYLOAD_AAD):
    """Ciphertext || 12-byte tag of a payload part."""
    key = derive_key(z, originator, MODE_PAYLOAD, counter, recipient)
    return GCM(key).encrypt(iv_for(originator), plaintext, aad, TAG_LEN)


def decrypt_payload(z, originator, counter, recipient, data, aad=PAYLOAD_AAD):
    """Plaintext of ciphertext || tag; raises gcm.GCMError on a bad tag."""
    key = derive_key(z, originator, MODE_PAYLOAD, counter, recipient)
    return GCM(key).decrypt(iv_for(originator), data, aad, TAG_LEN)


def protect_payload(z, originator, counter, recipient, plaintext):
    """Wire form of an encrypted payload part: 31 00000000 || ciphertext || tag."""
    return PAYLOAD_HEADER + encrypt_payload(z, originator, counter, recipient, plaintext)


def unprotect_payload(z, originator, counter, recipient, octets):
    """Plaintext of `31 00000000 || ciphertext || tag`; GCMError if malformed or forged."""
    if bytes(octets[:5]) != PAYLOAD_HEADER:
        raise GCMError("encrypted payload must start 31 00000000")
    return decrypt_payload(z, originator, counter, recipient, octets[5:])


# --- ECDH cache -----------------------------------------------------------------------------


def _peer_key(pub):
    """Cache key of a public key: 64-byte X||Y (a 65-byte 04||X||Y loses its prefix)."""
    pub = bytes(pub)
    if len(pub) == 65 and pub[0] == 4:
        return pub[1:]
    return pub


class ZCache:
    """ECDH shared secrets of one local KA key with each remote party, computed once.

    Keys are the peer's 64-byte X||Y public key (a p256.Table is accepted and makes the single
    ECDH cheaper); values the 32-byte Z. At most `max_entries` are kept (least recently used
    dropped). `items()`/`put()` let the firmware persist the secrets across reboots.
    """

    def __init__(self, private_key, max_entries=16):
        self._d = p256.private_scalar(private_key)
        self._max = max_entries
        self._z = {}
        self._order = []
        self.misses = 0

    def __len__(self):
        return len(self._z)

    def z(self, peer):
        """Z with the peer (64-byte public key or p256.Table); P256Error for an invalid key."""
        key = peer.point if isinstance(peer, p256.Table) else _peer_key(peer)
        z = self._z.get(key)
        if z is None:
            self.misses += 1
            z = p256.ecdh(self._d, peer)
            self.put(key, z)
        elif self._order[-1] != key:
            self._order.remove(key)
            self._order.append(key)
        return z

    def put(self, peer_key, z):
        peer_key = _peer_key(peer_key)
        if len(z) != 32:
            raise ValueError("Z must be 32 bytes")
        if peer_key in self._z:
            self._order.remove(peer_key)
        self._z[peer_key] = bytes(z)
        self._order.append(peer_key)
        while len(self._order) > self._max:
            del self._z[self._order.pop(0)]

    def forget(self, peer_key):
        peer_key = _peer_key(peer_key)
        if peer_key in self._z:
            del self._z[peer_key]
            self._order.remove(peer_key)

    def clear(self):
        self._z = {}
        self._order = []

    def items(self):
        return [(k, self._z[k]) for k in self._order]
