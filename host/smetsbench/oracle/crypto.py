"""GBCS crypto on the host with `cryptography`: the checker's oracle.

Independent of the firmware crypto (smets.aes, smets.gbcs.gcm/kdf/p256/crypto): only the
envelope codec is shared, for parsing. Keys are `cryptography` objects; public keys travel as
64-byte X||Y, signatures as 64-byte r||s (GBCS), converted to and from DER here.

GBCS facts used (each checked against every RTDS 4.5.0 file):
  KDF   key = SHA-256(00000001 || Z || 60 85 74 06 08 03 00 || originator title || 09 || mode ||
        counter (8) || recipient title)[:16], mode 1 command, 2 response, 3 alert, 4 payload.
  MAC   AES-128-GCM, empty plaintext, IV = originator title || 00000000, 12-byte tag,
        AAD = 11 00000000 00 || General Signing APDU with its signature field.
  Payload encryption: mode 4 key, same IV, AAD = 31, 12-byte tag; wire form
        31 00000000 || ciphertext || tag.
"""

import hashlib
import hmac
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    Prehashed,
    decode_dss_signature,
    encode_dss_signature,
)
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

MODE_COMMAND = 1
MODE_RESPONSE = 2
MODE_ALERT = 3
MODE_PAYLOAD = 4
MAC_LEN = 12
PAYLOAD_AAD = b"\x31"
PAYLOAD_HEADER = b"\x31\x00\x00\x00\x00"

_CURVE = ec.SECP256R1()
_ALGORITHM_ID = bytes.fromhex("60857406080300")


class GBCSCryptoError(ValueError):
    """Bad key material, tag or parameters in the host GBCS crypto."""


# --- key loading and conversion -----------------------------------------------------------


def _pem(src):
    if isinstance(src, (bytes, bytearray)):
        return bytes(src)
    return Path(src).read_bytes()


def load_private_key(src):
    """A P-256 private key from a PEM file path or PEM bytes (PKCS#8 or SEC 1)."""
    key = serialization.load_pem_private_key(_pem(src), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != _CURVE.name:
        raise GBCSCryptoError("not a P-256 private key: %s" % src)
    return key


def load_certificate(src):
    return x509.load_pem_x509_certificate(_pem(src))


def load_certificate_public_key(src):
    """The 64-byte X||Y public key of a PEM certificate (path or bytes)."""
    return public_key_raw(load_certificate(src).public_key())


def public_key_raw(key):
    """64-byte X||Y of a public or private key object."""
    if isinstance(key, ec.EllipticCurvePrivateKey):
        key = key.public_key()
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != _CURVE.name:
        raise GBCSCryptoError("not a P-256 key")
    point = key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return point[1:]


def public_key_from_raw(pub):
    """EllipticCurvePublicKey from 64-byte X||Y (or 65-byte 04||X||Y); validates the point."""
    pub = bytes(pub)
    if len(pub) == 64:
        pub = b"\x04" + pub
    if len(pub) != 65 or pub[0] != 4:
        raise GBCSCryptoError("public key must be 64 bytes X||Y")
    try:
        return ec.EllipticCurvePublicKey.from_encoded_point(_CURVE, pub)
    except ValueError as e:
        raise GBCSCryptoError("invalid P-256 public key: %s" % e) from None


def private_key_int(key):
    """The private scalar of a key object, PEM path or PEM bytes."""
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        key = load_private_key(key)
    return key.private_numbers().private_value


def private_key_from_int(d):
    return ec.derive_private_key(d, _CURVE)


def generate_private_key():
    return ec.generate_private_key(_CURVE)


def _priv(key):
    if isinstance(key, int):
        return private_key_from_int(key)
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return key
    return load_private_key(key)


def _pub(key):
    if isinstance(key, ec.EllipticCurvePublicKey):
        return key
    return public_key_from_raw(key)


# --- primitives ---------------------------------------------------------------------------


def ecdh(private_key, public_key):
    """Z = x-coordinate of the ECDH shared point (32 bytes)."""
    return _priv(private_key).exchange(ec.ECDH(), _pub(public_key))


def raw_to_der(sig):
    if len(sig) != 64:
        raise GBCSCryptoError("raw ECDSA signature must be 64 bytes")
    return encode_dss_signature(int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big"))


def der_to_raw(der):
    r, s = decode_dss_signature(der)
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def ecdsa_sign_digest(private_key, digest):
    """Raw r||s ECDSA signature of a SHA-256 digest (random nonce, OpenSSL)."""
    der = _priv(private_key).sign(digest, ec.ECDSA(Prehashed(hashes.SHA256())))
    return der_to_raw(der)


def ecdsa_sign(private_key, data):
    """Raw r||s ECDSA P-256/SHA-256 signature of data."""
    return ecdsa_sign_digest(private_key, hashlib.sha256(data).digest())


def ecdsa_verify_digest(public_key, digest, sig):
    if len(sig) != 64:
        return False
    try:
        _pub(public_key).verify(raw_to_der(sig), digest, ec.ECDSA(Prehashed(hashes.SHA256())))
    except InvalidSignature:
        return False
    return True


def ecdsa_verify(public_key, data, sig):
    return ecdsa_verify_digest(public_key, hashlib.sha256(data).digest(), sig)


def derive_key(z, originator_title, mode, counter, recipient_title):
    """GBCS KDF: first 16 bytes of SHA-256(00000001 || Z || OtherInfo)."""
    if len(z) != 32 or len(originator_title) != 8 or len(recipient_title) != 8:
        raise GBCSCryptoError("KDF needs a 32-byte Z and 8-byte system titles")
    if mode not in (MODE_COMMAND, MODE_RESPONSE, MODE_ALERT, MODE_PAYLOAD):
        raise GBCSCryptoError("bad KDF mode %r" % mode)
    info = (
        _ALGORITHM_ID
        + bytes(originator_title)
        + bytes([9, mode])
        + counter.to_bytes(8, "big")
        + bytes(recipient_title)
    )
    return hashlib.sha256(b"\x00\x00\x00\x01" + bytes(z) + info).digest()[:16]


def gcm_encrypt(key, iv, plaintext, aad=b"", tag_len=MAC_LEN):
    """AES-GCM ciphertext || tag truncated to tag_len."""
    enc = Cipher(algorithms.AES(bytes(key)), modes.GCM(bytes(iv))).encryptor()
    enc.authenticate_additional_data(bytes(aad))
    ct = enc.update(bytes(plaintext)) + enc.finalize()
    return ct + enc.tag[:tag_len]


def gcm_decrypt(key, iv, data, aad=b"", tag_len=MAC_LEN):
    """AES-GCM plaintext; GBCSCryptoError on a bad (truncated) tag."""
    data = bytes(data)
    if len(data) < tag_len:
        raise GBCSCryptoError("GCM input shorter than its tag")
    ct, tag = data[: len(data) - tag_len], data[len(data) - tag_len :]
    dec = Cipher(
        algorithms.AES(bytes(key)), modes.GCM(bytes(iv), tag, min_tag_length=tag_len)
    ).decryptor()
    dec.authenticate_additional_data(bytes(aad))
    try:
        return dec.update(ct) + dec.finalize()
    except InvalidTag:
        raise GBCSCryptoError("GCM tag mismatch") from None


def gmac(key, iv, aad, tag_len=MAC_LEN):
    return gcm_encrypt(key, iv, b"", aad, tag_len)


# --- GBCS level ---------------------------------------------------------------------------


def iv_for(originator_title):
    return bytes(originator_title) + b"\x00\x00\x00\x00"


def message_mac(z, originator, mode, counter, recipient, aad):
    """12-byte GBCS message MAC."""
    key = derive_key(z, originator, mode, counter, recipient)
    return gmac(key, iv_for(originator), aad)


def verify_message_mac(msg, z):
    """True if the decoded message's MAC is right for the shared secret z (mode = CRA flag)."""
    if msg.mac is None:
        return False
    mac = message_mac(z, msg.originator, msg.cra, msg.counter, msg.recipient, msg.mac_aad)
    return hmac.compare_digest(mac, msg.mac)


def sign_general_signing(private_key, general_signing):
    """Signature of a General Signing APDU (DF ... content, no signature field)."""
    if not general_signing or general_signing[0] != 0xDF:
        raise GBCSCryptoError("not a General Signing APDU")
    return ecdsa_sign(private_key, bytes(general_signing[1:]))


def verify_message_signature(msg, public_key):
    if msg.signature is None:
        return False
    return ecdsa_verify(public_key, msg.signed_bytes, msg.signature)


def payload_kdf_inputs(msg):
    """(originator, counter, recipient) for the payload-encryption KDF of a message.

    The other-information of the General Signing header may carry a supplementary remote party
    ID (bytes 2..10) and a supplementary originator counter (bytes 18..26, when it is exactly
    26 bytes); they replace the recipient title and the originator counter when present.
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
    """Ciphertext || 12-byte tag of a payload part (mode 04 key)."""
    key = derive_key(z, originator, MODE_PAYLOAD, counter, recipient)
    return gcm_encrypt(key, iv_for(originator), plaintext, aad)


def decrypt_payload(z, originator, counter, recipient, data, aad=PAYLOAD_AAD):
    """Plaintext of ciphertext || tag; GBCSCryptoError on a bad tag."""
    key = derive_key(z, originator, MODE_PAYLOAD, counter, recipient)
    return gcm_decrypt(key, iv_for(originator), data, aad)


# --- key store ----------------------------------------------------------------------------


class KeyStore:
    """A directory of `<eui>-<ds|ka|pp-ka>.pem` certificates and `.key` private keys (RTDS)."""

    def __init__(self, path):
        self.path = Path(path)
        self._cache = {}

    @staticmethod
    def _name(title):
        if isinstance(title, (bytes, bytearray)):
            title = bytes(title).hex()
        return title.lower()

    def _file(self, title, usage, ext):
        return self.path / ("%s-%s.%s" % (self._name(title), usage, ext))

    def has_public(self, title, usage="ka"):
        return self._file(title, usage, "pem").exists()

    def has_private(self, title, usage="ka"):
        return self._file(title, usage, "key").exists()

    def public(self, title, usage="ka"):
        """64-byte public key from `<title>-<usage>.pem`."""
        key = ("pub", self._name(title), usage)
        if key not in self._cache:
            self._cache[key] = load_certificate_public_key(self._file(title, usage, "pem"))
        return self._cache[key]

    def private(self, title, usage="ka"):
        """Private key object from `<title>-<usage>.key`."""
        key = ("priv", self._name(title), usage)
        if key not in self._cache:
            self._cache[key] = load_private_key(self._file(title, usage, "key"))
        return self._cache[key]

    def titles(self):
        return sorted({p.name.split("-")[0] for p in self.path.iterdir() if "-" in p.name})
