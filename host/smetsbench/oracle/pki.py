"""A bench test PKI issuing certificates in the GB SMKI profiles, and RTDS-style keystores.

This is a TEST PKI for smetsbench. Its CAs are named "smetsbench TEST ..." and are not, and do
not pretend to be, the GB Smart Metering Key Infrastructure (SMKI) run by the DCC. What it
mirrors is the *shape* of SMKI certificates, so that devices and checkers on the bench handle
bench certificates exactly as they would handle real ones.

Hierarchy (all P-256, ECDSA with SHA-256):
  Root CA  "smetsbench TEST Root CA", OU=00 (RemotePartyRole root), self-signed
   +- Device CA        "smetsbench TEST DCA" (like the SMKI DCA; RTDS device issuer: CN=E357)
   |    +- device certificates
   +- Organisation CA  "smetsbench TEST OCA", OU=07 (issuingAuthority; RTDS issuer: OU=07, CN=Z1)
        +- organisation (remote party) certificates

Profile facts, established from the RTDS 4.5.0 keystore (../shared/rtds/keystore) and GBCS
section 12 ("Security Credential Documents"):
- Every certificate: X.509 v3, P-256 public key in uncompressed form, ecdsa-with-SHA256;
  keyUsage critical; subjectKeyIdentifier non-critical; certificatePolicies critical; an
  authorityKeyIdentifier [0] keyIdentifier, non-critical, except on the self-signed root; key
  identifiers are 8 octets, RFC 5280 4.2.1.2 method (2): 0100 || low 60 bits of SHA-1 of the
  subjectPublicKey BIT STRING value (every RTDS certificate matches this).
- Device certificate: empty subject; keyUsage exactly one of digitalSignature or keyAgreement;
  a single policy (RTDS: 1.2.826.0.1.1800000.1.2.1.4); subjectAltName critical, one otherName
  id-on-hardwareModuleName (1.3.6.1.5.5.7.8.4, RFC 4108) = SEQUENCE { hwType OID
  (RTDS: 1.2.826.0.1.8641679.1.2.2.1, the same for every device type), hwSerialNum OCTET STRING
  = the device's 8-byte entity identifier (EUI-64) }; notBefore = issue date (UTCTime),
  notAfter = GeneralizedTime 99991231235959Z. Extension order as RTDS: keyUsage, SKI, SAN,
  certificatePolicies, AKI.
- Organisation certificate: subject CN=<name> (optional; RTDS has it on supplier DS certificates
  only), OU=<RemotePartyRole as two hex digits>, x500UniqueIdentifier (2.5.4.45) = BIT STRING of
  the 8-byte entity identifier, all UTF8String; a single policy (RTDS:
  1.2.826.0.1.8641679.1.2.1.4); notBefore = issue date, notAfter = 10 years later minus one
  second (RTDS). Extension order: keyUsage, SKI, certificatePolicies, AKI.
- RemotePartyRole codes (the OU): see ROLE_NAMES; checked against every RTDS organisation
  certificate and the DCC Boxed tooling's certificate roles.
The policy and hwType OIDs default to the RTDS (test-environment) values, so bench certificates
pass the same checks as RTDS ones; a bench can choose others at `BenchPKI.create`.

Keystore naming (RTDS): `<eui hex, lower case>-<ka|ds|pp-ka>.pem` certificate and
`<eui>-<usage>.key` PKCS#8 PEM private key; `pp-ka` is a supplier's prepayment key agreement key.
"""

import datetime
import hashlib
import json
import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.name import _ASN1Type
from cryptography.x509.oid import ExtensionOID, NameOID
from smets import roles
from smets.codec import length_decoder, length_encoder

__all__ = [
    "BenchPKI",
    "Keystore",
    "KeystoreEntry",
    "PKIError",
    "eui_from_certificate",
    "generate_key",
    "key_identifier",
    "load_keystore",
    "profile_of",
    "profile_problems",
    "public_key_raw",
    "role_of",
    "usage_of",
    "verify_chain",
    "write_keystore",
]

# --- profile constants --------------------------------------------------------------------

ID_ON_HARDWARE_MODULE_NAME = x509.ObjectIdentifier("1.3.6.1.5.5.7.8.4")  # RFC 4108
# Defaults as found in every RTDS 4.5.0 certificate (test environment OIDs of the SMKI arc).
HW_TYPE_OID = "1.2.826.0.1.8641679.1.2.2.1"
DEVICE_POLICY_OID = "1.2.826.0.1.1800000.1.2.1.4"
ORG_POLICY_OID = "1.2.826.0.1.8641679.1.2.1.4"

DEVICE_NOT_AFTER = datetime.datetime(9999, 12, 31, 23, 59, 59, tzinfo=datetime.UTC)
ORG_VALIDITY_YEARS = 10

USAGES = ("ka", "ds")
KEYSTORE_USAGES = ("ka", "ds", "pp-ka")

# RemotePartyRole, carried as two hex digits in the OU of organisation and CA certificates.
ROLE_ROOT = "00"
ROLE_RECOVERY = "01"
ROLE_SUPPLIER = "02"
ROLE_NETWORK_OPERATOR = "03"
ROLE_ACCESS_CONTROL_BROKER = "04"
ROLE_TRANSITIONAL_COS = "05"
ROLE_WAN_PROVIDER = "06"
ROLE_ISSUING_AUTHORITY = "07"
ROLE_LOAD_CONTROLLER = "08"
ROLE_OTHER = "7F"  # 127
ROLE_XML_SIGN = "87"  # 135 (DUIS XML signing, not used by devices)
ROLE_NAMES = {
    ROLE_ROOT: "Root",
    ROLE_RECOVERY: "Recovery",
    ROLE_SUPPLIER: "Supplier",
    ROLE_NETWORK_OPERATOR: "Network Operator",
    ROLE_ACCESS_CONTROL_BROKER: "Access Control Broker",
    ROLE_TRANSITIONAL_COS: "Transitional CoS",
    ROLE_WAN_PROVIDER: "WAN Provider",
    ROLE_ISSUING_AUTHORITY: "Issuing Authority",
    ROLE_LOAD_CONTROLLER: "Load Controller",
    ROLE_OTHER: "Other",
    ROLE_XML_SIGN: "XML Sign",
}
# Role codes of the party names used by smetsbench.oracle.parties (DEFAULT_EUIS keys).
PARTY_ROLES = {
    "recovery": ROLE_RECOVERY,
    "supplier": ROLE_SUPPLIER,
    "network_operator": ROLE_NETWORK_OPERATOR,
    "acb": ROLE_ACCESS_CONTROL_BROKER,
    "tcos": ROLE_TRANSITIONAL_COS,
    "wan_provider": ROLE_WAN_PROVIDER,
    "load_controller": ROLE_LOAD_CONTROLLER,
}
_CA_ROLES = (ROLE_ROOT, ROLE_ISSUING_AUTHORITY)

# Device types with SMKI device certificates (informational: the profile does not carry the
# type; RTDS uses one hwType for ESME, GSME, CHF, GPF, PPMID and HCALCS alike).
DEVICE_TYPES = roles.names(roles.DEVICE_TYPE)  # the firmware's role table (smets.roles)

NAME_PREFIX = "smetsbench TEST"
_CURVE = ec.SECP256R1()

_ROOT_FILES = ("root-ca.pem", "root-ca.key")
_DCA_FILES = ("device-ca.pem", "device-ca.key")
_OCA_FILES = ("org-ca.pem", "org-ca.key")
_CONFIG = "pki.json"
_ISSUED_LOG = "issued.jsonl"


class PKIError(ValueError):
    """A certificate, key or keystore that does not fit the bench PKI or the SMKI profiles."""


# --- small helpers ------------------------------------------------------------------------


def generate_key():
    """A fresh P-256 private key."""
    return ec.generate_private_key(_CURVE)


def _eui(eui):
    """8 bytes from bytes or a 16-digit hex string (separators '-', ':' and spaces allowed)."""
    if isinstance(eui, str):
        text = re.sub(r"[\s:-]", "", eui)
        try:
            eui = bytes.fromhex(text)
        except ValueError:
            raise PKIError("not an EUI-64: %r" % eui) from None
    eui = bytes(eui)
    if len(eui) != 8:
        raise PKIError("an EUI-64 is 8 bytes, got %d: %s" % (len(eui), eui.hex()))
    return eui


def _usage(usage, allowed=USAGES):
    usage = str(usage).lower()
    if usage not in allowed:
        raise PKIError("usage must be one of %s, got %r" % ("/".join(allowed), usage))
    return usage


def _role(role_code):
    """Two upper-case hex digits from '02', 2, 0x7F or a party name ('supplier')."""
    if isinstance(role_code, str) and role_code.lower() in PARTY_ROLES:
        return PARTY_ROLES[role_code.lower()]
    if isinstance(role_code, int):
        value = role_code
    else:
        text = str(role_code)
        if not re.fullmatch(r"[0-9a-fA-F]{1,2}", text):
            raise PKIError("role code must be two hex digits (e.g. '02'), got %r" % role_code)
        value = int(text, 16)
    if not 0 <= value <= 0xFF:
        raise PKIError("role code out of range: %r" % role_code)
    return "%02X" % value


def _public_key(key):
    """An EC public key from a public key, a private key, 64-byte X||Y or 65-byte 04||X||Y."""
    if isinstance(key, ec.EllipticCurvePrivateKey):
        key = key.public_key()
    elif isinstance(key, (bytes, bytearray, memoryview)):
        raw = bytes(key)
        if len(raw) == 64:
            raw = b"\x04" + raw
        try:
            key = ec.EllipticCurvePublicKey.from_encoded_point(_CURVE, raw)
        except ValueError:
            raise PKIError("not a P-256 point: %s" % raw.hex()) from None
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != _CURVE.name:
        raise PKIError("not a P-256 public key: %r" % (key,))
    return key


def _point(key):
    return _public_key(key).public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)


def public_key_raw(obj):
    """64-byte X||Y of a certificate's public key (or of a public or private key)."""
    if isinstance(obj, x509.Certificate):
        obj = obj.public_key()
    return _point(obj)[1:]


def key_identifier(public_key):
    """8-byte key identifier, RFC 5280 4.2.1.2 method (2) as GBCS requires: 4-bit type 0100
    followed by the least significant 60 bits of SHA-1 of the subjectPublicKey value."""
    digest = hashlib.sha1(_point(public_key)).digest()
    return bytes([0x40 | (digest[12] & 0x0F)]) + digest[13:]


def _as_datetime(now):
    if now is None:
        return datetime.datetime.now(datetime.UTC)
    if isinstance(now, (int, float)):
        return datetime.datetime.fromtimestamp(now, datetime.UTC)
    if now.tzinfo is None:
        return now.replace(tzinfo=datetime.UTC)
    return now.astimezone(datetime.UTC)


def _issue_date(now):
    """Midnight UTC of the issue day: RTDS certificates start at 00:00:00 of their date."""
    return _as_datetime(now).replace(hour=0, minute=0, second=0, microsecond=0)


def _years_later(start, years):
    try:
        end = start.replace(year=start.year + years)
    except ValueError:  # 29 February
        end = start.replace(year=start.year + years, month=3, day=1)
    return end - datetime.timedelta(seconds=1)


def _serial():
    """A positive 16-byte serial number, as the RTDS certificates have."""
    return secrets.randbits(127) | (1 << 120)


# --- minimal DER for the hardwareModuleName otherName -------------------------------------
# Lengths: the firmware's one BER length codec, raising PKIError.
_der_len = length_encoder(PKIError)
_der_length = length_decoder(PKIError)


def _der(tag, content):
    return bytes([tag]) + _der_len(len(content)) + content


def _der_oid(dotted):
    arcs = [int(a) for a in dotted.split(".")]
    if len(arcs) < 2 or arcs[0] > 2:
        raise PKIError("bad OID: %s" % dotted)
    out = bytearray()
    for value in [arcs[0] * 40 + arcs[1]] + arcs[2:]:
        chunk = [value & 0x7F]
        value >>= 7
        while value:
            chunk.append(0x80 | (value & 0x7F))
            value >>= 7
        out += bytes(reversed(chunk))
    return _der(0x06, bytes(out))


def _der_read(data, pos=0):
    """(tag, content, next position) of the TLV at pos; PKIError when malformed."""
    if pos >= len(data):
        raise PKIError("truncated DER: %s" % data.hex())
    tag = data[pos]
    length, pos = _der_length(data, pos + 1)
    if pos + length > len(data):
        raise PKIError("truncated DER: %s" % data.hex())
    return tag, data[pos:pos + length], pos + length


def _oid_text(content):
    arcs = []
    value = 0
    for byte in content:
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            arcs.append(value)
            value = 0
    if not arcs:
        return ""
    first = min(arcs[0] // 40, 2)
    return ".".join(str(a) for a in [first, arcs[0] - 40 * first] + arcs[1:])


def hardware_module_name(hw_type, serial):
    """DER of HardwareModuleName ::= SEQUENCE { hwType OBJECT IDENTIFIER,
    hwSerialNum OCTET STRING } (RFC 4108), the value of the device SAN otherName."""
    return _der(0x30, _der_oid(hw_type) + _der(0x04, bytes(serial)))


def parse_hardware_module_name(der):
    """(hwType dotted OID, hwSerialNum bytes) of a HardwareModuleName."""
    tag, seq, end = _der_read(bytes(der))
    if tag != 0x30 or end != len(der):
        raise PKIError("hardwareModuleName is not a SEQUENCE: %s" % bytes(der).hex())
    tag, oid, pos = _der_read(seq)
    if tag != 0x06:
        raise PKIError("hardwareModuleName without hwType OID: %s" % bytes(der).hex())
    tag, serial, pos = _der_read(seq, pos)
    if tag != 0x04 or pos != len(seq):
        raise PKIError("hardwareModuleName without hwSerialNum: %s" % bytes(der).hex())
    return _oid_text(oid), serial


# --- reading certificates -----------------------------------------------------------------


def _ext(cert, oid):
    try:
        return cert.extensions.get_extension_for_oid(oid)
    except x509.ExtensionNotFound:
        return None


def _hardware_module(cert):
    ext = _ext(cert, ExtensionOID.SUBJECT_ALTERNATIVE_NAME)
    if ext is None:
        return None
    for name in ext.value:
        if isinstance(name, x509.OtherName) and name.type_id == ID_ON_HARDWARE_MODULE_NAME:
            return parse_hardware_module_name(name.value)
    return None


def profile_of(cert):
    """'device', 'org' (organisation / remote party), 'ca' or None for anything else."""
    bc = _ext(cert, ExtensionOID.BASIC_CONSTRAINTS)
    if bc is not None and bc.value.ca:
        return "ca"
    if len(cert.subject) == 0 and _hardware_module(cert) is not None:
        return "device"
    if cert.subject.get_attributes_for_oid(NameOID.X500_UNIQUE_IDENTIFIER):
        return "org"
    return None


def eui_from_certificate(cert):
    """The 8-byte entity identifier of a device certificate (SAN hardwareModuleName
    hwSerialNum) or of an organisation certificate (subject x500UniqueIdentifier)."""
    hw = _hardware_module(cert)
    if hw is not None:
        return _eui(hw[1])
    attrs = cert.subject.get_attributes_for_oid(NameOID.X500_UNIQUE_IDENTIFIER)
    if attrs:
        value = attrs[0].value
        if isinstance(value, str):
            value = value.encode("latin-1")
        # cryptography gives the BIT STRING content: unused-bits octet, then the bits.
        if len(value) == 9 and value[0] == 0:
            return value[1:]
        raise PKIError("x500UniqueIdentifier is not a 64-bit BIT STRING: %s" % value.hex())
    raise PKIError("certificate carries no entity identifier (neither hardwareModuleName nor "
                   "x500UniqueIdentifier): %s" % cert.subject.rfc4514_string())


def usage_of(cert):
    """'ka' (keyAgreement) or 'ds' (digitalSignature) from the keyUsage extension."""
    ext = _ext(cert, ExtensionOID.KEY_USAGE)
    if ext is None:
        raise PKIError("certificate has no keyUsage")
    ku = ext.value
    ka, ds = ku.key_agreement, ku.digital_signature
    if ka == ds:
        raise PKIError("keyUsage must be exactly one of keyAgreement and digitalSignature")
    return "ka" if ka else "ds"


def role_of(cert):
    """RemotePartyRole (two hex digits, e.g. '02') from the subject OU, or None."""
    attrs = cert.subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)
    if not attrs:
        return None
    try:
        return _role(attrs[0].value)
    except PKIError:
        return None


def profile_problems(cert):
    """What keeps a device or organisation certificate from the SMKI profile (GBCS section 12
    as seen in RTDS); an empty list when it fits."""
    problems = []
    profile = profile_of(cert)
    if profile not in ("device", "org"):
        return ["neither a device nor an organisation certificate"]
    if cert.version != x509.Version.v3:
        problems.append("not X.509 v3")
    try:
        _public_key(cert.public_key())
    except PKIError:
        problems.append("public key is not P-256")
    if not isinstance(cert.signature_hash_algorithm, hashes.SHA256):
        problems.append("signature is not ecdsa-with-SHA256")
    ku = _ext(cert, ExtensionOID.KEY_USAGE)
    if ku is None or not ku.critical:
        problems.append("keyUsage missing or not critical")
    else:
        try:
            usage_of(cert)
        except PKIError as exc:
            problems.append(str(exc))
        bits = ku.value
        if bits.key_cert_sign or bits.crl_sign or bits.content_commitment or \
                bits.key_encipherment or bits.data_encipherment:
            problems.append("keyUsage has bits other than digitalSignature/keyAgreement")
    ski = _ext(cert, ExtensionOID.SUBJECT_KEY_IDENTIFIER)
    if ski is None or ski.critical:
        problems.append("subjectKeyIdentifier missing or critical")
    elif len(ski.value.digest) != 8:
        problems.append("subjectKeyIdentifier is not 8 octets")
    aki = _ext(cert, ExtensionOID.AUTHORITY_KEY_IDENTIFIER)
    if aki is None or aki.critical:
        problems.append("authorityKeyIdentifier missing or critical")
    elif aki.value.key_identifier is None or len(aki.value.key_identifier) != 8:
        problems.append("authorityKeyIdentifier has no 8-octet keyIdentifier")
    cp = _ext(cert, ExtensionOID.CERTIFICATE_POLICIES)
    if cp is None or not cp.critical:
        problems.append("certificatePolicies missing or not critical")
    elif len(cp.value) != 1:
        problems.append("certificatePolicies holds %d policies, not one" % len(cp.value))
    try:
        eui_from_certificate(cert)
    except PKIError as exc:
        problems.append(str(exc))
    if profile == "device":
        san = _ext(cert, ExtensionOID.SUBJECT_ALTERNATIVE_NAME)
        if not san.critical:
            problems.append("subjectAltName not critical")
        if len(san.value) != 1:
            problems.append("subjectAltName holds %d names, not one" % len(san.value))
        if cert.not_valid_after_utc != DEVICE_NOT_AFTER:
            problems.append("notAfter is not 99991231235959Z")
    else:
        if role_of(cert) is None:
            problems.append("subject OU is not a RemotePartyRole")
        if _ext(cert, ExtensionOID.SUBJECT_ALTERNATIVE_NAME) is not None:
            problems.append("organisation certificate with a subjectAltName")
    return problems


# --- the bench PKI ------------------------------------------------------------------------


@dataclass
class CertifiedKey:
    """A CA of the bench: its certificate and private key."""

    certificate: x509.Certificate
    private_key: ec.EllipticCurvePrivateKey

    @property
    def name(self):
        return self.certificate.subject


def _ca_name(cn, ou=None):
    attrs = []
    if ou is not None:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, ou,
                                        _ASN1Type.PrintableString))
    attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, cn, _ASN1Type.PrintableString))
    return x509.Name(attrs)


def _write_private(path, pem):
    tmp = Path(str(path) + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, pem)
    finally:
        os.close(fd)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def _write_public(path, data):
    tmp = Path(str(path) + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _key_pem(key):
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _cert_pem(cert):
    return cert.public_bytes(serialization.Encoding.PEM)


class BenchPKI:
    """Root CA, Device CA and Organisation CA of a bench, persisted in a directory.

    Files: root-ca.pem/.key, device-ca.pem/.key, org-ca.pem/.key (keys PKCS#8 PEM,
    unencrypted, mode 0600: it is a test bench), pki.json (names and OIDs), issued.jsonl
    (one line per certificate issued)."""

    def __init__(self, path, root, device_ca, org_ca, config):
        self.path = Path(path)
        self.root = root
        self.device_ca = device_ca
        self.org_ca = org_ca
        self.config = dict(config)

    # -- creation and loading

    @classmethod
    def create(cls, path, *, now=None, name_prefix=NAME_PREFIX, device_policy=DEVICE_POLICY_OID,
               org_policy=ORG_POLICY_OID, hw_type=HW_TYPE_OID):
        """Make a fresh PKI in `path` (created if needed); FileExistsError if one is there."""
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        if (path / _ROOT_FILES[0]).exists() or (path / _CONFIG).exists():
            raise FileExistsError("a bench PKI already exists in %s" % path)
        for oid in (device_policy, org_policy, hw_type):
            _der_oid(oid)  # validates
        start = _issue_date(now)
        config = {
            "comment": "smetsbench TEST PKI; not the GB SMKI",
            "name_prefix": name_prefix,
            "device_policy": device_policy,
            "org_policy": org_policy,
            "hw_type": hw_type,
            "created": start.isoformat(),
        }
        root_key = generate_key()
        root_name = _ca_name("%s Root CA" % name_prefix, ROLE_ROOT)
        root_cert = cls._ca_certificate(root_name, root_key.public_key(), root_name, root_key,
                                        [device_policy, org_policy], start, path_length=1)
        root = CertifiedKey(root_cert, root_key)
        dca_key = generate_key()
        dca_cert = cls._ca_certificate(_ca_name("%s DCA" % name_prefix), dca_key.public_key(),
                                       root_name, root_key, [device_policy], start,
                                       path_length=0)
        oca_key = generate_key()
        oca_cert = cls._ca_certificate(
            _ca_name("%s OCA" % name_prefix, ROLE_ISSUING_AUTHORITY), oca_key.public_key(),
            root_name, root_key, [org_policy], start, path_length=0)
        pki = cls(path, root, CertifiedKey(dca_cert, dca_key), CertifiedKey(oca_cert, oca_key),
                  config)
        for (cert_file, key_file), ca in zip((_ROOT_FILES, _DCA_FILES, _OCA_FILES),
                                             (pki.root, pki.device_ca, pki.org_ca)):
            _write_private(path / key_file, _key_pem(ca.private_key))
            _write_public(path / cert_file, _cert_pem(ca.certificate))
        _write_public(path / _CONFIG, (json.dumps(config, indent=2) + "\n").encode())
        return pki

    @classmethod
    def load(cls, path):
        """The PKI persisted in `path`; FileNotFoundError when there is none."""
        path = Path(path)
        if not (path / _ROOT_FILES[0]).exists():
            raise FileNotFoundError("no bench PKI in %s" % path)
        config = {"device_policy": DEVICE_POLICY_OID, "org_policy": ORG_POLICY_OID,
                  "hw_type": HW_TYPE_OID, "name_prefix": NAME_PREFIX}
        if (path / _CONFIG).exists():
            config.update(json.loads((path / _CONFIG).read_text()))
        cas = []
        for cert_file, key_file in (_ROOT_FILES, _DCA_FILES, _OCA_FILES):
            cert = x509.load_pem_x509_certificate((path / cert_file).read_bytes())
            key = serialization.load_pem_private_key((path / key_file).read_bytes(), None)
            if not isinstance(key, ec.EllipticCurvePrivateKey) or \
                    _point(key) != _point(cert.public_key()):
                raise PKIError("%s does not hold the key of %s" % (key_file, cert_file))
            cas.append(CertifiedKey(cert, key))
        return cls(path, cas[0], cas[1], cas[2], config)

    @classmethod
    def load_or_create(cls, path, **kwargs):
        try:
            return cls.load(path)
        except FileNotFoundError:
            return cls.create(path, **kwargs)

    @staticmethod
    def _ca_certificate(subject, public_key, issuer, issuer_key, policies, start, path_length):
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(issuer)
            .public_key(public_key)
            .serial_number(_serial())
            .not_valid_before(start)
            .not_valid_after(DEVICE_NOT_AFTER)
            .add_extension(x509.BasicConstraints(ca=True, path_length=path_length), True)
            .add_extension(x509.KeyUsage(
                digital_signature=False, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=True,
                crl_sign=True, encipher_only=False, decipher_only=False), True)
            .add_extension(x509.SubjectKeyIdentifier(key_identifier(public_key)), False)
            .add_extension(x509.CertificatePolicies(
                [x509.PolicyInformation(x509.ObjectIdentifier(p), None) for p in policies]),
                True)
        )
        if issuer != subject:
            builder = builder.add_extension(x509.AuthorityKeyIdentifier(
                key_identifier(issuer_key.public_key()), None, None), False)
        return builder.sign(issuer_key, hashes.SHA256())

    # -- issuing

    @staticmethod
    def _key_usage(usage):
        return x509.KeyUsage(
            digital_signature=usage == "ds", content_commitment=False, key_encipherment=False,
            data_encipherment=False, key_agreement=usage == "ka", key_cert_sign=False,
            crl_sign=False, encipher_only=False, decipher_only=False)

    def issue_device_certificate(self, eui, public_key, usage, device_type=None, *, now=None,
                                 hw_type=None):
        """A certificate in the SMKI Device Certificate profile, issued by the Device CA.

        device_type (e.g. 'ESME') is recorded in issued.jsonl only: the profile carries no
        device type. hw_type overrides the hwType OID of the hardwareModuleName."""
        eui = _eui(eui)
        usage = _usage(usage)
        public_key = _public_key(public_key)
        if device_type is not None and not str(device_type).strip():
            raise PKIError("empty device type")
        hw_type = hw_type or self.config["hw_type"]
        ca = self.device_ca
        san = x509.OtherName(ID_ON_HARDWARE_MODULE_NAME, hardware_module_name(hw_type, eui))
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([]))
            .issuer_name(ca.certificate.subject)
            .public_key(public_key)
            .serial_number(_serial())
            .not_valid_before(_issue_date(now))
            .not_valid_after(DEVICE_NOT_AFTER)
            .add_extension(self._key_usage(usage), True)
            .add_extension(x509.SubjectKeyIdentifier(key_identifier(public_key)), False)
            .add_extension(x509.SubjectAlternativeName([san]), True)
            .add_extension(x509.CertificatePolicies([x509.PolicyInformation(
                x509.ObjectIdentifier(self.config["device_policy"]), None)]), True)
            .add_extension(x509.AuthorityKeyIdentifier(
                key_identifier(ca.private_key.public_key()), None, None), False)
            .sign(ca.private_key, hashes.SHA256())
        )
        self._record(cert, "device", eui, usage, device_type=device_type)
        return cert

    def issue_org_certificate(self, eui, public_key, usage, role_code, name=None, *, now=None,
                              years=ORG_VALIDITY_YEARS):
        """A certificate in the SMKI Organisation Certificate profile, issued by the
        Organisation CA: subject CN=name (left out when None, as on RTDS KA certificates),
        OU=role code, x500UniqueIdentifier=EUI. role_code: '02', 2 or a party name."""
        eui = _eui(eui)
        usage = _usage(usage)
        public_key = _public_key(public_key)
        role = _role(role_code)
        if role in _CA_ROLES:
            raise PKIError("role %s (%s) belongs to a CA, not to a remote party certificate"
                           % (role, ROLE_NAMES[role]))
        attrs = []
        if name:
            attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, str(name)))
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, role))
        attrs.append(x509.NameAttribute(NameOID.X500_UNIQUE_IDENTIFIER, b"\x00" + eui,
                                        _ASN1Type.BitString))
        start = _issue_date(now)
        ca = self.org_ca
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name(attrs))
            .issuer_name(ca.certificate.subject)
            .public_key(public_key)
            .serial_number(_serial())
            .not_valid_before(start)
            .not_valid_after(_years_later(start, years))
            .add_extension(self._key_usage(usage), True)
            .add_extension(x509.SubjectKeyIdentifier(key_identifier(public_key)), False)
            .add_extension(x509.CertificatePolicies([x509.PolicyInformation(
                x509.ObjectIdentifier(self.config["org_policy"]), None)]), True)
            .add_extension(x509.AuthorityKeyIdentifier(
                key_identifier(ca.private_key.public_key()), None, None), False)
            .sign(ca.private_key, hashes.SHA256())
        )
        self._record(cert, "org", eui, usage, role=role, name=name)
        return cert

    def _record(self, cert, profile, eui, usage, **extra):
        line = {"serial": "%032x" % cert.serial_number, "profile": profile, "eui": eui.hex(),
                "usage": usage, "not_before": cert.not_valid_before_utc.isoformat()}
        line.update({k: v for k, v in extra.items() if v is not None})
        try:
            with open(self.path / _ISSUED_LOG, "a") as log:
                log.write(json.dumps(line) + "\n")
        except OSError:
            pass  # the log is a convenience; a read-only PKI directory still issues

    # -- trust

    def ca_certificates(self):
        """[root, device CA, organisation CA] certificates."""
        return [self.root.certificate, self.device_ca.certificate, self.org_ca.certificate]

    def bundle_pem(self):
        """PEM of the three CA certificates (e.g. for `openssl verify -CAfile`)."""
        return b"".join(_cert_pem(c) for c in self.ca_certificates())

    def verify(self, cert, *, now=None, check_time=True):
        verify_chain(cert, self, now=now, check_time=check_time)

    def __repr__(self):
        return "<BenchPKI %s>" % self.path


# --- chain verification -------------------------------------------------------------------


def _check_signed_by(cert, issuer):
    try:
        cert.verify_directly_issued_by(issuer)
    except (InvalidSignature, ValueError, TypeError) as exc:
        raise PKIError("%s is not signed by %s: %s" % (_describe(cert),
                                                       issuer.subject.rfc4514_string(),
                                                       exc or type(exc).__name__)) from None
    aki = _ext(cert, ExtensionOID.AUTHORITY_KEY_IDENTIFIER)
    ski = _ext(issuer, ExtensionOID.SUBJECT_KEY_IDENTIFIER)
    if aki is not None and ski is not None and aki.value.key_identifier is not None and \
            aki.value.key_identifier != ski.value.digest:
        raise PKIError("authorityKeyIdentifier of %s does not match its issuer's key "
                       "identifier" % _describe(cert))


def _describe(cert):
    try:
        return "%s certificate %s" % (profile_of(cert) or "a", eui_from_certificate(cert).hex())
    except PKIError:
        return "certificate %s" % (cert.subject.rfc4514_string() or "(empty subject)")


def verify_chain(cert, pki, *, now=None, check_time=True):
    """Raise PKIError unless `cert` chains to a trusted root: `pki` is a BenchPKI (trusting its
    root) or a sequence of CA certificates (trusting the self-signed ones among them).
    Checks signatures, issuer names, key identifiers, CA basic constraints and keyCertSign,
    validity at `now` (default: the current time) and, for end-entity certificates, the SMKI
    profile (profile_problems)."""
    if isinstance(pki, BenchPKI):
        cas = pki.ca_certificates()
        anchors = [pki.root.certificate]
    else:
        cas = list(pki)
        anchors = [c for c in cas if c.subject == c.issuer]
    if not anchors:
        raise PKIError("no trust anchor (self-signed CA certificate) given")
    at = _as_datetime(now)
    if profile_of(cert) != "ca":
        problems = profile_problems(cert)
        if problems:
            raise PKIError("%s does not fit the SMKI profile: %s"
                           % (_describe(cert), "; ".join(problems)))
    chain = [cert]
    current = cert
    for _ in range(len(cas) + 1):
        if any(current == a for a in anchors):
            break
        issuers = [c for c in cas if c.subject == current.issuer and c != current]
        if not issuers:
            raise PKIError("no CA certificate named %s to verify %s"
                           % (current.issuer.rfc4514_string(), _describe(current)))
        issuer = issuers[0]
        bc = _ext(issuer, ExtensionOID.BASIC_CONSTRAINTS)
        ku = _ext(issuer, ExtensionOID.KEY_USAGE)
        if bc is None or not bc.value.ca or (ku is not None and not ku.value.key_cert_sign):
            raise PKIError("issuer %s is not a CA" % issuer.subject.rfc4514_string())
        _check_signed_by(current, issuer)
        chain.append(issuer)
        current = issuer
    else:
        raise PKIError("certificate chain does not end at a trusted root")
    root = chain[-1]
    _check_signed_by(root, root)
    if check_time:
        for c in chain:
            if not c.not_valid_before_utc <= at <= c.not_valid_after_utc:
                raise PKIError("%s is not valid at %s (valid %s to %s)" % (
                    _describe(c), at.isoformat(), c.not_valid_before_utc.isoformat(),
                    c.not_valid_after_utc.isoformat()))


# --- keystores ----------------------------------------------------------------------------

_KEYSTORE_NAME = re.compile(r"^([0-9a-fA-F]{16})-(ka|ds|pp-ka)\.(pem|key)$")


@dataclass
class KeystoreEntry:
    """One (EUI, usage) of a keystore. `certificate` may be None (a key only, or a bare public
    key as in RTDS fffffffffffffffe-ka.pem); `private_key` is None for devices in RTDS."""

    eui: bytes
    usage: str
    certificate: x509.Certificate = None
    private_key: ec.EllipticCurvePrivateKey = None
    bare_public_key: ec.EllipticCurvePublicKey = None
    paths: list = field(default_factory=list)

    def __post_init__(self):
        self.eui = _eui(self.eui)
        self.usage = _usage(self.usage, KEYSTORE_USAGES)

    @property
    def public_key(self):
        if self.certificate is not None:
            return self.certificate.public_key()
        if self.bare_public_key is not None:
            return self.bare_public_key
        if self.private_key is not None:
            return self.private_key.public_key()
        return None

    @property
    def public_key_raw(self):
        key = self.public_key
        return public_key_raw(key) if key is not None else None

    @property
    def profile(self):
        return profile_of(self.certificate) if self.certificate is not None else None

    @property
    def certificate_eui(self):
        if self.certificate is None:
            return None
        try:
            return eui_from_certificate(self.certificate)
        except PKIError:
            return None

    @property
    def role(self):
        return role_of(self.certificate) if self.profile == "org" else None

    @property
    def consistent(self):
        """False when the certificate names another EUI than the file, or the private key
        does not belong to the certificate."""
        if self.certificate is None:
            return True
        if self.certificate_eui != self.eui:
            return False
        return self.private_key is None or \
            _point(self.private_key) == _point(self.certificate.public_key())


class Keystore(Mapping):
    """Entries of a keystore directory indexed by (eui bytes, usage); lookups also take the
    EUI as hex. `problems` lists unreadable files and inconsistent entries, `ignored` the
    files whose names do not follow the keystore naming."""

    def __init__(self, path=None, entries=None):
        self.path = Path(path) if path is not None else None
        self._entries = {}
        self.problems = []
        self.ignored = []
        for entry in entries or ():
            self._entries[(entry.eui, entry.usage)] = entry

    @staticmethod
    def _key(key):
        eui, usage = key
        return _eui(eui), _usage(usage, KEYSTORE_USAGES)

    def __getitem__(self, key):
        try:
            return self._entries[self._key(key)]
        except PKIError:
            raise KeyError(key) from None

    def __contains__(self, key):
        try:
            return self._key(key) in self._entries
        except (PKIError, TypeError, ValueError):
            return False

    def __iter__(self):
        return iter(sorted(self._entries))

    def __len__(self):
        return len(self._entries)

    def certificate(self, eui, usage):
        entry = self.get((eui, usage))
        return entry.certificate if entry is not None else None

    def private_key(self, eui, usage):
        entry = self.get((eui, usage))
        return entry.private_key if entry is not None else None

    def devices(self):
        """{eui: sorted usages} of the entries holding device certificates."""
        out = {}
        for (eui, usage), entry in sorted(self._entries.items()):
            if entry.profile == "device" and entry.consistent:
                out.setdefault(eui, []).append(usage)
        return out

    def remote_parties(self):
        """{eui: role code} from the organisation certificates (consistent entries only)."""
        out = {}
        for (eui, _usage), entry in sorted(self._entries.items()):
            if entry.profile == "org" and entry.consistent and entry.role is not None:
                out.setdefault(eui, entry.role)
        return out

    def __repr__(self):
        return "<Keystore %s: %d entries>" % (self.path, len(self._entries))


def _load_pem_file(path, entry, problems):
    data = path.read_bytes()
    if path.suffix == ".key":
        try:
            key = serialization.load_pem_private_key(data, password=None)
        except (ValueError, TypeError) as exc:
            problems.append("%s: unreadable private key (%s)" % (path.name, exc))
            return
        if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != _CURVE.name:
            problems.append("%s: not a P-256 private key" % path.name)
            return
        entry.private_key = key
        return
    if b"-----BEGIN CERTIFICATE-----" in data:
        try:
            entry.certificate = x509.load_pem_x509_certificate(data)
        except ValueError as exc:
            problems.append("%s: unreadable certificate (%s)" % (path.name, exc))
        return
    if b"-----BEGIN PUBLIC KEY-----" in data:
        try:
            entry.bare_public_key = _public_key(serialization.load_pem_public_key(data))
        except (ValueError, TypeError, PKIError) as exc:
            problems.append("%s: unreadable public key (%s)" % (path.name, exc))
        return
    problems.append("%s: neither a certificate nor a public key" % path.name)


def load_keystore(path):
    """The keystore in directory `path` (RTDS naming). Never fails on a single bad file: those
    go to `problems`; entries whose certificate names another EUI than the file name, or whose
    key does not match the certificate, are kept and reported there as well."""
    path = Path(path)
    store = Keystore(path)
    for file in sorted(path.iterdir()):
        match = _KEYSTORE_NAME.match(file.name)
        if not match or not file.is_file():
            store.ignored.append(file.name)
            continue
        key = (bytes.fromhex(match.group(1)), match.group(2))
        entry = store._entries.get(key)
        if entry is None:
            entry = store._entries[key] = KeystoreEntry(key[0], key[1])
        entry.paths.append(file)
        try:
            _load_pem_file(file, entry, store.problems)
        except OSError as exc:
            store.problems.append("%s: %s" % (file.name, exc))
    for key in list(store._entries):
        entry = store._entries[key]
        if entry.certificate is None and entry.private_key is None and \
                entry.bare_public_key is None:
            del store._entries[key]
            continue
        if not entry.consistent:
            cert_eui = entry.certificate_eui
            if cert_eui != entry.eui:
                store.problems.append("%s-%s: certificate names %s" % (
                    entry.eui.hex(), entry.usage, cert_eui.hex() if cert_eui else "no EUI"))
            else:
                store.problems.append("%s-%s: private key does not match the certificate"
                                      % (entry.eui.hex(), entry.usage))
    return store


def _entries(entries):
    if isinstance(entries, Mapping):
        entries = entries.values()
    for item in entries:
        if isinstance(item, KeystoreEntry):
            yield item
        else:
            yield KeystoreEntry(*item)


def write_keystore(path, entries):
    """Write entries (KeystoreEntry objects, (eui, usage, certificate[, private_key]) tuples,
    or a Keystore) as `<eui>-<usage>.pem` (certificate, or the bare public key when there is
    no certificate) and `<eui>-<usage>.key` (PKCS#8 PEM, mode 0600). Returns the paths."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    written = []
    for entry in _entries(entries):
        stem = "%s-%s" % (entry.eui.hex(), entry.usage)
        if entry.certificate is not None:
            _write_public(path / (stem + ".pem"), _cert_pem(entry.certificate))
            written.append(path / (stem + ".pem"))
        elif entry.bare_public_key is not None:
            _write_public(path / (stem + ".pem"), entry.bare_public_key.public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
            written.append(path / (stem + ".pem"))
        if entry.private_key is not None:
            _write_private(path / (stem + ".key"), _key_pem(entry.private_key))
            written.append(path / (stem + ".key"))
    return written
