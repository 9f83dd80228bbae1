"""Certificates for replaying the RTDS security-credential use cases (CS02x) on a device that
has its own keys.

- `issuer_public_key(cert, issuer_ski)`: the public key that signed a certificate, recovered
  from its ECDSA signature (SEC 1 4.1.6 public key recovery) and picked by its SMKI key
  identifier. The RTDS keystore holds no root certificate, but every CS02b command carries the
  organisation CA certificate the root signed, whose authority key identifier names the root
  key: recovering it lets a device hold the RTDS root trust anchor and check certification
  paths as a real one does (and reject the RTDS CS02g ERROR path, whose signature is broken).
- `rtds_root_key(scenarios)`: that key, from the first CS02b / CS02g command that yields it.
- `reissue(cert_der, public_key)`: an RTDS device certificate re-issued for the device's own
  key: same serial, names, validity and extensions (subject key identifier recomputed), signed
  by a throwaway key. A device cannot check its own certificate's issuer (it holds no device CA)
  and the shape comparison never looks at signatures; what matters is that the certificate
  carries the device's key, as the one in a real CS02d does.
"""

import hashlib

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from smets.gbcs import asn1, cert, p256

from smetsbench.oracle import crypto as ocrypto

# Message codes whose payload carries a certification path (CS02b, CS02g).
PATH_CODES = tuple(range(0x0100, 0x010A)) + (0x0125, 0x0126)


def _add(a, b):
    """Affine P-256 point addition (None = infinity)."""
    if a is None:
        return b
    if b is None:
        return a
    (x1, y1), (x2, y2) = a, b
    p = p256.P
    if x1 == x2:
        if (y1 + y2) % p == 0:
            return None
        lam = (3 * x1 * x1 - 3) * pow(2 * y1, -1, p) % p
    else:
        lam = (y2 - y1) * pow(x2 - x1, -1, p) % p
    x3 = (lam * lam - x1 - x2) % p
    return x3, (lam * (x1 - x3) - y1) % p


def recover_public_keys(digest, signature):
    """Every P-256 public key (64-byte X||Y) for which `signature` (r||s) verifies `digest`."""
    n, p = p256.N, p256.P
    r = int.from_bytes(signature[:32], "big")
    s = int.from_bytes(signature[32:], "big")
    e = int.from_bytes(digest, "big") % n
    out = []
    for x in (r, r + n):
        if x >= p:
            continue
        y = pow((x * x * x - 3 * x + p256.B) % p, (p + 1) // 4, p)
        if (y * y - (x * x * x - 3 * x + p256.B)) % p:
            continue
        for yy in (y, p - y):
            q = _add(p256.mul(s, (x, yy)), p256.mul((n - e) % n, (p256.GX, p256.GY)))
            if q is None:
                continue
            q = p256.mul(pow(r, -1, n), q)
            if q is not None:
                out.append(q[0].to_bytes(32, "big") + q[1].to_bytes(32, "big"))
    return out


def issuer_public_key(cert_der, issuer_ski=None):
    """The key that signed a certificate whose issuer has key identifier `issuer_ski` (default:
    the certificate's authority key identifier), or None."""
    c = cert.parse(cert_der)
    ski = issuer_ski or c.aki
    digest = hashlib.sha256(c.tbs).digest()
    for pub in recover_public_keys(digest, c.signature):
        if ski is None or cert.key_identifier(pub) == ski:
            if cert.verify(c, pub):
                return pub
    return None


def path_certificates(content):
    """The certification path certificates (DER) of a CS02b / CS02g payload."""
    body, _ = asn1.read_as(bytes(content), asn1.SEQUENCE)
    _, body = asn1.read(body)  # authorising remote party control
    _, body = asn1.read(body)  # replacements
    path, _ = asn1.read_as(body, asn1.SEQUENCE)
    out = []
    while len(path):
        der, path = asn1.element(path)
        out.append(bytes(der))
    return out


def rtds_root_key(scenarios, message):
    """(root key X||Y, its key identifier) recovered from the RTDS CS02b / CS02g commands of
    `scenarios` (`message(path)` decodes a file), or None."""
    for sc in scenarios:
        if sc.kind != "command" or sc.message_code not in PATH_CODES:
            continue
        try:
            content = message(sc.command).content
            for der in path_certificates(content):
                c = cert.parse(der)
                pub = issuer_public_key(der)
                if pub is not None and c.aki is not None:
                    return pub, c.aki
        except ValueError:
            continue
    return None


def reissue(cert_der, public_key, issuer_key=None):
    """DER of `cert_der` with its subject public key replaced by `public_key` (64-byte X||Y
    or a cryptography key) and its subject key identifier recomputed, signed by `issuer_key`
    (default: a fresh throwaway key)."""
    old = x509.load_der_x509_certificate(bytes(cert_der))
    if isinstance(public_key, (bytes, bytearray)):
        public_key = ec.EllipticCurvePublicKey.from_encoded_point(
            ec.SECP256R1(), b"\x04" + bytes(public_key))
    raw = ocrypto.public_key_raw(public_key)
    builder = (x509.CertificateBuilder()
               .subject_name(old.subject).issuer_name(old.issuer)
               .serial_number(old.serial_number)
               .not_valid_before(old.not_valid_before_utc)
               .not_valid_after(old.not_valid_after_utc)
               .public_key(public_key))
    for ext in old.extensions:
        value = ext.value
        if isinstance(value, x509.SubjectKeyIdentifier):
            value = x509.SubjectKeyIdentifier(cert.key_identifier(raw))
        builder = builder.add_extension(value, ext.critical)
    key = issuer_key or ec.generate_private_key(ec.SECP256R1())

    return builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)
