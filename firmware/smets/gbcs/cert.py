"""X.509 certificates of the GB SMKI profiles, as far as a device needs them (GBCS section 12).

`parse(der)` reads what a device checks and stores: the signed TBS bytes and the ECDSA
signature, the P-256 public key, keyUsage, subject / authority key identifiers, the entity
identifier (an organisation certificate's x500UniqueIdentifier, a device certificate's
hardwareModuleName serial number) and the remote party role (the subject OU, two hex digits).
Only ecPublicKey / prime256v1 keys and ecdsa-with-SHA256 signatures are accepted, as in SMKI.

`key_identifier(public_key)` is the SMKI key identifier of a public key: 0100 || the low 60 bits
of the SHA-1 of the subjectPublicKey BIT STRING value (RFC 5280 4.2.1.2 method 2; every RTDS
4.5.0 certificate's subjectKeyIdentifier follows it).
"""

import hashlib

from . import asn1
from .asn1 import ASN1Error, read, read_as

KU_DIGITAL_SIGNATURE = 0x80
KU_KEY_AGREEMENT = 0x08
KU_KEY_CERT_SIGN = 0x04

_EC_PUBLIC_KEY = b"\x2a\x86\x48\xce\x3d\x02\x01"
_PRIME256V1 = b"\x2a\x86\x48\xce\x3d\x03\x01\x07"
_ECDSA_SHA256 = b"\x2a\x86\x48\xce\x3d\x04\x03\x02"
_KEY_USAGE = b"\x55\x1d\x0f"
_SKI = b"\x55\x1d\x0e"
_AKI = b"\x55\x1d\x23"
_SAN = b"\x55\x1d\x11"
_OU = b"\x55\x04\x0b"
_UNIQUE_ID = b"\x55\x04\x2d"
_HW_MODULE_NAME = b"\x2b\x06\x01\x05\x05\x07\x08\x04"


class Certificate:
    __slots__ = ("der", "tbs", "signature", "serial", "issuer", "subject", "not_before",
                 "not_after", "public_key", "key_usage", "ski", "aki", "entity", "role",
                 "san")

    def __init__(self):
        self.key_usage = None
        self.ski = None
        self.aki = None
        self.entity = None
        self.role = None
        self.san = None


def key_identifier(public_key):
    """8-byte SMKI key identifier of a 64-byte X||Y (or 65-byte 04||X||Y) public key."""
    pub = bytes(public_key)
    if len(pub) == 64:
        pub = b"\x04" + pub
    h = hashlib.sha1(pub).digest()
    return bytes((0x40 | (h[12] & 0x0F),)) + h[13:20]


def _signature(body):
    """64-byte r||s of a signatureValue BIT STRING holding ECDSA-Sig-Value."""
    if not len(body) or body[0] != 0:
        raise ASN1Error("signature BIT STRING with unused bits")
    seq, _ = read_as(body[1:], asn1.SEQUENCE)
    out = b""
    for _ in range(2):
        v, seq = asn1.read_int(seq)
        if not 0 < v < (1 << 256):
            raise ASN1Error("ECDSA signature value out of range")
        out += v.to_bytes(32, "big")
    return out


def signature_value(rs):
    """DER ECDSA-Sig-Value of a 64-byte r||s."""
    return asn1.sequence(asn1.integer(int.from_bytes(rs[:32], "big")),
                         asn1.integer(int.from_bytes(rs[32:], "big")))


def _algorithm(data):
    body, rest = read_as(data, asn1.SEQUENCE)
    oid, _ = read_as(body, asn1.OID)
    if bytes(oid) != _ECDSA_SHA256:
        raise ASN1Error("signature algorithm is not ecdsa-with-SHA256")
    return rest


def public_key_of(spki):
    """64-byte X||Y of a SubjectPublicKeyInfo body (P-256, uncompressed)."""
    alg, rest = read_as(spki, asn1.SEQUENCE)
    oid, alg = read_as(alg, asn1.OID)
    curve, _ = read_as(alg, asn1.OID)
    if bytes(oid) != _EC_PUBLIC_KEY or bytes(curve) != _PRIME256V1:
        raise ASN1Error("public key is not P-256")
    key, _ = read_as(rest, asn1.BIT_STRING)
    if len(key) != 66 or key[0] != 0 or key[1] != 4:
        raise ASN1Error("P-256 public key must be uncompressed")
    return bytes(key[2:])


def _name(c, body):
    # Name: SEQUENCE OF SET OF {type, value}; the role (OU) and entity id (x500UniqueIdentifier).
    for _tag, rdn in asn1.elements(body):
        for _tag2, atv in asn1.elements(rdn):
            oid, value = read_as(atv, asn1.OID)
            (tag, v), _ = read(value)
            oid = bytes(oid)
            if oid == _OU and len(v) == 2:
                try:
                    c.role = int(bytes(v).decode(), 16)
                except ValueError:
                    pass
            elif oid == _UNIQUE_ID and tag == asn1.BIT_STRING and len(v) == 9 and v[0] == 0:
                c.entity = bytes(v[1:])


def _extensions(c, body):
    seq, _ = read_as(body, asn1.SEQUENCE)
    for _tag, ext in asn1.elements(seq):
        oid, rest = read_as(ext, asn1.OID)
        _, rest = asn1.optional(rest, asn1.BOOLEAN)
        value, _ = read_as(rest, asn1.OCTET_STRING)
        oid = bytes(oid)
        if oid == _KEY_USAGE:
            c.key_usage, _ = asn1.read_bits(value)
        elif oid == _SKI:
            c.ski = bytes(read_as(value, asn1.OCTET_STRING)[0])
        elif oid == _AKI:
            aki, _ = read_as(value, asn1.SEQUENCE)
            keyid, _ = asn1.optional(aki, asn1.CONTEXT)
            if keyid is not None:
                c.aki = bytes(keyid)
        elif oid == _SAN:
            c.san = bytes(value)
            names, _ = read_as(value, asn1.SEQUENCE)
            other, _ = asn1.optional(names, asn1.CONTEXT_CONSTRUCTED)
            if other is not None:
                # otherName {id-on-hardwareModuleName, [0] {hwType OID, hwSerialNum}}
                oid, rest = read_as(other, asn1.OID)
                if bytes(oid) == _HW_MODULE_NAME:
                    hw, _ = read_as(rest, asn1.CONTEXT_CONSTRUCTED)
                    hw, _ = read_as(hw, asn1.SEQUENCE)
                    _, hw = read_as(hw, asn1.OID)
                    serial, _ = read_as(hw, asn1.OCTET_STRING)
                    c.entity = bytes(serial)


def parse(der):
    """A Certificate from DER bytes; ASN1Error if it is not an SMKI-shaped P-256 certificate.
    The certificate keeps memoryviews into `der` (no copies of the large parts)."""
    c = Certificate()
    whole, rest = asn1.element(der)
    if len(rest):
        raise ASN1Error("%d bytes after the certificate" % len(rest))
    c.der = whole
    body, _ = read_as(whole, asn1.SEQUENCE)
    c.tbs, rest = asn1.element(body)
    rest = _algorithm(rest)
    sig, _ = read_as(rest, asn1.BIT_STRING)
    c.signature = _signature(sig)
    tbs, _ = read_as(c.tbs, asn1.SEQUENCE)
    _, tbs = asn1.optional(tbs, asn1.CONTEXT_CONSTRUCTED)  # [0] version
    c.serial, tbs = read_as(tbs, asn1.INTEGER)
    tbs = _algorithm(tbs)
    c.issuer, tbs = read_as(tbs, asn1.SEQUENCE)
    validity, tbs = read_as(tbs, asn1.SEQUENCE)
    c.not_before, validity = asn1.read_time(validity)
    c.not_after, _ = asn1.read_time(validity)
    c.subject, tbs = read_as(tbs, asn1.SEQUENCE)
    _name(c, c.subject)
    spki, tbs = read_as(tbs, asn1.SEQUENCE)
    c.public_key = public_key_of(spki)
    ext, _ = asn1.optional(tbs, asn1.CONTEXT_CONSTRUCTED | 3)
    if ext is not None:
        _extensions(c, ext)
    return c


def verify(c, issuer_key):
    """True if the certificate's signature verifies with the issuer's public key (64-byte
    X||Y or p256.Table)."""
    from . import p256

    try:
        return p256.verify(issuer_key, hashlib.sha256(c.tbs).digest(), c.signature)
    except p256.P256Error:
        return False
