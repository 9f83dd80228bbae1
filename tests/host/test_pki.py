"""Bench PKI (smetsbench.oracle.pki): SMKI-profile device and organisation certificates, chains
(cryptography and `openssl verify`), and keystores in RTDS naming.

The profile checks compare against the RTDS 4.5.0 keystore (../shared/rtds/keystore or
SMETSBENCH_RTDS) and skip when it is absent.
"""

import datetime
import shutil
import stat
import subprocess

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.name import _ASN1Type
from cryptography.x509.oid import ExtensionOID, NameOID
from smetsbench.oracle import pki
from smetsbench.paths import rtds_dir

UTC = datetime.UTC
NOW = datetime.datetime(2026, 1, 15, 13, 45, 7, tzinfo=UTC)
DEVICE = bytes.fromhex("00db1234567890a0")
SUPPLIER = bytes.fromhex("90b3d51f30010000")

KU, SKI, SAN, CP, AKI, BC = (ExtensionOID.KEY_USAGE, ExtensionOID.SUBJECT_KEY_IDENTIFIER,
                             ExtensionOID.SUBJECT_ALTERNATIVE_NAME,
                             ExtensionOID.CERTIFICATE_POLICIES,
                             ExtensionOID.AUTHORITY_KEY_IDENTIFIER,
                             ExtensionOID.BASIC_CONSTRAINTS)
DEVICE_EXTENSIONS = [(KU, True), (SKI, False), (SAN, True), (CP, True), (AKI, False)]
ORG_EXTENSIONS = [(KU, True), (SKI, False), (CP, True), (AKI, False)]

# RTDS remote parties (README "Identities") and the role codes their certificates carry.
RTDS_PARTIES = {
    "90b3d51f30000001": pki.ROLE_RECOVERY,
    "90b3d51f30000002": pki.ROLE_ACCESS_CONTROL_BROKER,
    "90b3d51f30000004": pki.ROLE_TRANSITIONAL_COS,
    "90b3d51f30000007": pki.ROLE_WAN_PROVIDER,
    "90b3d51f30010000": pki.ROLE_SUPPLIER,
    "90b3d51f30010008": pki.ROLE_LOAD_CONTROLLER,
    "90b3d51f30020000": pki.ROLE_NETWORK_OPERATOR,
    "90b3d51f30030000": pki.ROLE_SUPPLIER,
}
# 90b3d51f30000007-ka.pem holds the KA certificate of the second supplier (same key file too).
RTDS_MISFILED = {("90b3d51f30000007", "ka"): "90b3d51f30030000"}
# The load controller's certificates come from another tool: no authorityKeyIdentifier.
RTDS_NO_AKI = {"90b3d51f30010008"}


def ext_shape(cert):
    return [(e.oid, e.critical) for e in cert.extensions]


def name_shape(name):
    return [(a.oid, a._type) for a in name]


def der_contains(cert, hexstr):
    return bytes.fromhex(hexstr) in cert.public_bytes(serialization.Encoding.DER)


@pytest.fixture(scope="module")
def bench(tmp_path_factory):
    return pki.BenchPKI.create(tmp_path_factory.mktemp("pki") / "ca", now=NOW)


@pytest.fixture(scope="module")
def other_bench(tmp_path_factory):
    return pki.BenchPKI.create(tmp_path_factory.mktemp("pki-other"), now=NOW)


@pytest.fixture(scope="module")
def rtds_keystore_dir():
    base = rtds_dir()
    if base is None or not (base / "keystore").is_dir():
        pytest.skip("RTDS keystore not found (set SMETSBENCH_RTDS or provide ../shared/rtds)")
    return base / "keystore"


@pytest.fixture(scope="module")
def rtds(rtds_keystore_dir):
    return pki.load_keystore(rtds_keystore_dir)


# --- the CAs ------------------------------------------------------------------------------


def test_create_persists_and_loads(bench):
    path = bench.path
    for name in ("root-ca", "device-ca", "org-ca"):
        assert (path / (name + ".pem")).read_bytes().startswith(b"-----BEGIN CERTIFICATE-----")
        key_file = path / (name + ".key")
        assert key_file.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")  # PKCS#8
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    loaded = pki.BenchPKI.load(path)
    assert loaded.ca_certificates() == bench.ca_certificates()
    assert pki.public_key_raw(loaded.org_ca.private_key) == \
        pki.public_key_raw(bench.org_ca.certificate)
    assert loaded.config["device_policy"] == pki.DEVICE_POLICY_OID
    with pytest.raises(FileExistsError):
        pki.BenchPKI.create(path)
    assert pki.BenchPKI.load_or_create(path).ca_certificates() == bench.ca_certificates()
    with pytest.raises(FileNotFoundError):
        pki.BenchPKI.load(path / "nothing-here")


def test_ca_profiles(bench):
    root, dca, oca = bench.ca_certificates()
    assert root.subject == root.issuer
    assert root.subject.rfc4514_string() == "CN=smetsbench TEST Root CA,OU=00"
    assert dca.subject.rfc4514_string() == "CN=smetsbench TEST DCA"
    assert oca.subject.rfc4514_string() == "CN=smetsbench TEST OCA,OU=07"
    for cert in (root, dca, oca):
        assert "TEST" in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
        assert pki.profile_of(cert) == "ca"
        assert isinstance(cert.public_key().curve, ec.SECP256R1)
        assert isinstance(cert.signature_hash_algorithm, hashes.SHA256)
        bc = cert.extensions.get_extension_for_oid(BC)
        assert bc.critical and bc.value.ca
        ku = cert.extensions.get_extension_for_oid(KU)
        assert ku.critical and ku.value.key_cert_sign and ku.value.crl_sign
        ski = cert.extensions.get_extension_for_oid(SKI).value.digest
        assert ski == pki.key_identifier(cert.public_key())
        assert cert.extensions.get_extension_for_oid(CP).critical
    with pytest.raises(x509.ExtensionNotFound):
        root.extensions.get_extension_for_oid(AKI)  # self-signed root: no AKI (GBCS 12)
    for cert in (dca, oca):
        assert cert.issuer == root.subject
        cert.verify_directly_issued_by(root)
        aki = cert.extensions.get_extension_for_oid(AKI).value.key_identifier
        assert aki == pki.key_identifier(root.public_key())
    root.verify_directly_issued_by(root)


# --- device certificates ------------------------------------------------------------------


@pytest.mark.parametrize("usage", ["ka", "ds"])
def test_device_certificate_profile(bench, usage):
    key = pki.generate_key()
    cert = bench.issue_device_certificate(DEVICE, key.public_key(), usage, "ESME", now=NOW)
    assert cert.version == x509.Version.v3
    assert len(cert.subject) == 0
    assert cert.issuer == bench.device_ca.certificate.subject
    assert ext_shape(cert) == DEVICE_EXTENSIONS
    ku = cert.extensions.get_extension_for_oid(KU).value
    assert (ku.key_agreement, ku.digital_signature) == (usage == "ka", usage == "ds")
    assert not (ku.key_cert_sign or ku.crl_sign or ku.key_encipherment)
    san = cert.extensions.get_extension_for_oid(SAN).value
    assert len(san) == 1
    other = san[0]
    assert isinstance(other, x509.OtherName)
    assert other.type_id.dotted_string == "1.3.6.1.5.5.7.8.4"
    assert pki.parse_hardware_module_name(other.value) == (pki.HW_TYPE_OID, DEVICE)
    policies = cert.extensions.get_extension_for_oid(CP).value
    assert [p.policy_identifier.dotted_string for p in policies] == [pki.DEVICE_POLICY_OID]
    assert cert.not_valid_before_utc == datetime.datetime(2026, 1, 15, tzinfo=UTC)
    assert cert.not_valid_after_utc == datetime.datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)
    assert der_contains(cert, "180f" + b"99991231235959Z".hex())  # GeneralizedTime
    ski = cert.extensions.get_extension_for_oid(SKI).value.digest
    assert len(ski) == 8 and ski == pki.key_identifier(key) and ski[0] >> 4 == 0b0100
    aki = cert.extensions.get_extension_for_oid(AKI).value
    assert aki.key_identifier == pki.key_identifier(bench.device_ca.certificate.public_key())
    assert aki.authority_cert_issuer is None and aki.authority_cert_serial_number is None
    assert 0 < cert.serial_number < 1 << 128
    assert pki.eui_from_certificate(cert) == DEVICE
    assert pki.usage_of(cert) == usage
    assert pki.profile_of(cert) == "device"
    assert pki.role_of(cert) is None
    assert pki.public_key_raw(cert) == pki.public_key_raw(key)
    assert len(pki.public_key_raw(cert)) == 64
    assert pki.profile_problems(cert) == []


def test_device_certificate_records_type_and_accepts_key_forms(bench):
    key = pki.generate_key()
    raw = pki.public_key_raw(key)
    eui = "00-db-12-34-56-78-90-a1"
    for form in (key, key.public_key(), raw, b"\x04" + raw):
        cert = bench.issue_device_certificate(eui, form, "KA", "GSME", now=NOW)
        assert pki.public_key_raw(cert) == raw
        assert pki.eui_from_certificate(cert) == bytes.fromhex("00db1234567890a1")
    log = (bench.path / "issued.jsonl").read_text()
    assert '"device_type": "GSME"' in log and '"eui": "00db1234567890a1"' in log
    cert = bench.issue_device_certificate(DEVICE, key, "ds", hw_type="1.2.3.4", now=NOW)
    san = cert.extensions.get_extension_for_oid(SAN).value[0]
    assert pki.parse_hardware_module_name(san.value) == ("1.2.3.4", DEVICE)


def test_bad_inputs_are_rejected(bench):
    key = pki.generate_key()
    with pytest.raises(pki.PKIError):
        bench.issue_device_certificate(b"\x00" * 7, key, "ka")
    with pytest.raises(pki.PKIError):
        bench.issue_device_certificate("00db12345678zz", key, "ka")
    with pytest.raises(pki.PKIError):
        bench.issue_device_certificate(DEVICE, key, "kx")
    with pytest.raises(pki.PKIError):
        bench.issue_device_certificate(DEVICE, ec.generate_private_key(ec.SECP384R1()), "ka")
    with pytest.raises(pki.PKIError):
        bench.issue_device_certificate(DEVICE, b"\x01" * 64, "ka")  # not on the curve
    with pytest.raises(pki.PKIError):
        bench.issue_org_certificate(SUPPLIER, key, "ds", "xyz", "NAME")
    for ca_role in ("00", "07", 7):
        with pytest.raises(pki.PKIError):
            bench.issue_org_certificate(SUPPLIER, key, "ds", ca_role, "NAME")
    with pytest.raises(pki.PKIError):
        bench.issue_org_certificate(SUPPLIER, key, "pp-ka", "02")


# --- organisation certificates ------------------------------------------------------------


@pytest.mark.parametrize("usage,name", [("ds", "BENCH SUPPLIER"), ("ka", None), ("ka", "X")])
def test_org_certificate_profile(bench, usage, name):
    key = pki.generate_key()
    cert = bench.issue_org_certificate(SUPPLIER, key.public_key(), usage, "02", name, now=NOW)
    assert cert.issuer == bench.org_ca.certificate.subject
    expected_subject = [(NameOID.ORGANIZATIONAL_UNIT_NAME, _ASN1Type.UTF8String),
                        (NameOID.X500_UNIQUE_IDENTIFIER, _ASN1Type.BitString)]
    if name:
        expected_subject.insert(0, (NameOID.COMMON_NAME, _ASN1Type.UTF8String))
        assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == name
    assert name_shape(cert.subject) == expected_subject
    assert cert.subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)[0].value == "02"
    # x500UniqueIdentifier: BIT STRING, no unused bits, the 8-byte EUI.
    assert der_contains(cert, "060355042d" + "0309" + "00" + SUPPLIER.hex())
    assert ext_shape(cert) == ORG_EXTENSIONS
    policies = cert.extensions.get_extension_for_oid(CP).value
    assert [p.policy_identifier.dotted_string for p in policies] == [pki.ORG_POLICY_OID]
    assert cert.not_valid_before_utc == datetime.datetime(2026, 1, 15, tzinfo=UTC)
    assert cert.not_valid_after_utc == datetime.datetime(2036, 1, 14, 23, 59, 59, tzinfo=UTC)
    assert pki.eui_from_certificate(cert) == SUPPLIER
    assert pki.usage_of(cert) == usage
    assert pki.role_of(cert) == pki.ROLE_SUPPLIER
    assert pki.profile_of(cert) == "org"
    assert pki.public_key_raw(cert) == pki.public_key_raw(key)
    assert pki.profile_problems(cert) == []


def test_role_codes(bench):
    assert pki.ROLE_NAMES[pki.ROLE_SUPPLIER] == "Supplier"
    assert [pki.ROLE_ROOT, pki.ROLE_RECOVERY, pki.ROLE_SUPPLIER, pki.ROLE_NETWORK_OPERATOR,
            pki.ROLE_ACCESS_CONTROL_BROKER, pki.ROLE_TRANSITIONAL_COS, pki.ROLE_WAN_PROVIDER,
            pki.ROLE_ISSUING_AUTHORITY, pki.ROLE_LOAD_CONTROLLER] == \
        ["%02X" % i for i in range(9)]
    key = pki.generate_key()
    for given, expected in (("supplier", "02"), (3, "03"), ("4", "04"), ("7f", "7F"),
                            ("load_controller", "08"), ("acb", "04")):
        cert = bench.issue_org_certificate(SUPPLIER, key, "ds", given, now=NOW)
        assert pki.role_of(cert) == expected
    for party, code in pki.PARTY_ROLES.items():
        assert code in pki.ROLE_NAMES and party == party.lower()


# --- chains -------------------------------------------------------------------------------


def _issue_pair(bench):
    key = pki.generate_key()
    device = bench.issue_device_certificate(DEVICE, key, "ds", "ESME", now=NOW)
    org = bench.issue_org_certificate(SUPPLIER, key, "ka", pki.ROLE_SUPPLIER, now=NOW)
    return device, org


def test_chain_verifies_with_cryptography(bench):
    root, dca, oca = bench.ca_certificates()
    device, org = _issue_pair(bench)
    for cert, ca in ((device, dca), (org, oca)):
        cert.verify_directly_issued_by(ca)
        ca.verify_directly_issued_by(root)
        # The same check spelled out: ECDSA P-256 / SHA-256 over the TBS bytes.
        ca.public_key().verify(cert.signature, cert.tbs_certificate_bytes,
                               ec.ECDSA(cert.signature_hash_algorithm))
        with pytest.raises(ValueError):
            cert.verify_directly_issued_by(root)  # issuer name differs
        pki.verify_chain(cert, bench)
        pki.verify_chain(cert, bench.ca_certificates())
        bench.verify(cert)
    pki.verify_chain(device, [dca, root])
    with pytest.raises(pki.PKIError):
        pki.verify_chain(device, [oca, root])  # no DCA given
    with pytest.raises(pki.PKIError):
        pki.verify_chain(device, [dca])  # no trust anchor


def test_chain_rejects_foreign_expired_and_tampered(bench, other_bench):
    device, org = _issue_pair(other_bench)
    for cert in (device, org):
        with pytest.raises(pki.PKIError, match="not signed"):
            pki.verify_chain(cert, bench)  # same CA names, other keys
        pki.verify_chain(cert, other_bench)
    device, org = _issue_pair(bench)
    with pytest.raises(pki.PKIError, match="not valid"):
        pki.verify_chain(org, bench, now=NOW + datetime.timedelta(days=3700))
    with pytest.raises(pki.PKIError, match="not valid"):
        pki.verify_chain(device, bench, now=NOW - datetime.timedelta(days=1))
    pki.verify_chain(device, bench, now=datetime.datetime(9000, 1, 1, tzinfo=UTC))
    pki.verify_chain(org, bench, now=0, check_time=False)
    der = bytearray(device.public_bytes(serialization.Encoding.DER))
    position = der.find(DEVICE)
    der[position + 7] ^= 0x01  # another EUI under the same signature
    tampered = x509.load_der_x509_certificate(bytes(der))
    assert pki.eui_from_certificate(tampered) != DEVICE
    with pytest.raises(pki.PKIError, match="not signed"):
        pki.verify_chain(tampered, bench)


def test_chain_rejects_certificates_off_profile(bench):
    ca = bench.device_ca
    key = pki.generate_key()
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([]))
        .issuer_name(ca.certificate.subject)
        .public_key(key.public_key())
        .serial_number(1234)
        .not_valid_before(NOW)
        .not_valid_after(NOW + datetime.timedelta(days=365))  # not 9999-12-31
        .add_extension(x509.KeyUsage(True, False, False, False, True, False, False, False,
                                     False), True)  # both digitalSignature and keyAgreement
        .add_extension(x509.SubjectAlternativeName([x509.OtherName(
            pki.ID_ON_HARDWARE_MODULE_NAME, pki.hardware_module_name(pki.HW_TYPE_OID, DEVICE))]),
            False)
        .sign(ca.private_key, hashes.SHA256())
    )
    problems = pki.profile_problems(cert)
    assert any("exactly one" in p for p in problems)
    assert any("99991231235959Z" in p for p in problems)
    assert any("subjectAltName not critical" in p for p in problems)
    assert any("certificatePolicies" in p for p in problems)
    assert any("subjectKeyIdentifier" in p for p in problems)
    with pytest.raises(pki.PKIError, match="SMKI profile"):
        pki.verify_chain(cert, bench)
    with pytest.raises(pki.PKIError):
        pki.usage_of(cert)


def _openssl(*args):
    return subprocess.run(["openssl", *args], capture_output=True, text=True, timeout=60,
                          check=False)


def test_chain_verifies_with_openssl(bench, other_bench, tmp_path):
    if shutil.which("openssl") is None:
        pytest.skip("openssl command not found")
    device, org = _issue_pair(bench)
    foreign, _ = _issue_pair(other_bench)
    files = {}
    for name, cert in (("device", device), ("org", org), ("foreign", foreign)):
        files[name] = tmp_path / (name + ".pem")
        files[name].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    bundle = tmp_path / "bundle.pem"
    bundle.write_bytes(bench.bundle_pem())
    result = _openssl("verify", "-partial_chain", "-CAfile", str(bundle), str(files["device"]),
                      str(files["org"]))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count(": OK") == 2
    # Full chain from the root alone, strict X.509 and explicit SMKI policies.
    for name, ca_file, policy in (("device", "device-ca.pem", pki.DEVICE_POLICY_OID),
                                  ("org", "org-ca.pem", pki.ORG_POLICY_OID)):
        result = _openssl("verify", "-x509_strict", "-policy_check", "-explicit_policy",
                          "-policy", policy, "-CAfile", str(bench.path / "root-ca.pem"),
                          "-untrusted", str(bench.path / ca_file), str(files[name]))
        assert result.returncode == 0, result.stdout + result.stderr
    result = _openssl("verify", "-policy_check", "-explicit_policy", "-policy",
                      pki.ORG_POLICY_OID, "-CAfile", str(bench.path / "root-ca.pem"),
                      "-untrusted", str(bench.path / "device-ca.pem"), str(files["device"]))
    assert result.returncode != 0  # a device certificate is not under the organisation policy
    result = _openssl("verify", "-partial_chain", "-CAfile", str(bundle), str(files["foreign"]))
    assert result.returncode != 0


# --- against the RTDS certificates ---------------------------------------------------------


def _rtds_certs(rtds, profile):
    return [(e.eui.hex(), e.usage, e.certificate) for e in rtds.values()
            if e.certificate is not None and e.profile == profile]


def test_device_profile_matches_rtds(bench, rtds):
    ours = bench.issue_device_certificate(DEVICE, pki.generate_key(), "ka", now=NOW)
    certs = _rtds_certs(rtds, "device")
    assert len(certs) == 400
    dca_shape = name_shape(bench.device_ca.certificate.subject)
    for eui, _usage, cert in certs:
        assert ext_shape(cert) == ext_shape(ours), eui
        assert name_shape(cert.subject) == name_shape(ours.subject) == []
        assert name_shape(cert.issuer) == dca_shape  # a single PrintableString CN
        san = cert.extensions.get_extension_for_oid(SAN).value
        assert pki.parse_hardware_module_name(san[0].value) == (pki.HW_TYPE_OID,
                                                                bytes.fromhex(eui))
        policy = cert.extensions.get_extension_for_oid(CP).value[0]
        assert policy.policy_identifier.dotted_string == pki.DEVICE_POLICY_OID
        assert cert.not_valid_after_utc == ours.not_valid_after_utc
        assert cert.not_valid_before_utc.time() == datetime.time(0, 0)
        assert cert.extensions.get_extension_for_oid(SKI).value.digest == \
            pki.key_identifier(cert.public_key())
        assert len(cert.extensions.get_extension_for_oid(AKI).value.key_identifier) == 8
        assert cert.serial_number.bit_length() <= 128
        assert pki.profile_problems(cert) == []
        with pytest.raises(pki.PKIError):
            pki.verify_chain(cert, bench)  # issued by the real (test) DCA E357, not ours


def test_org_profile_matches_rtds(bench, rtds):
    certs = _rtds_certs(rtds, "org")
    assert len(certs) >= 15
    oca_shape = name_shape(bench.org_ca.certificate.subject)
    exact = 0
    for eui, _usage, cert in certs:
        cert_eui = pki.eui_from_certificate(cert).hex()
        role = pki.role_of(cert)
        has_cn = bool(cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME))
        name = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value if has_cn \
            else None
        ours = bench.issue_org_certificate(cert_eui, pki.generate_key(), pki.usage_of(cert),
                                           role, name, now=NOW)
        assert name_shape(cert.subject) == name_shape(ours.subject), eui
        assert [a.oid for a in cert.issuer] == [a.oid for a in bench.org_ca.certificate.subject]
        assert [a.oid for a in cert.issuer] == [o for o, _ in oca_shape]
        assert cert.issuer.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)[0].value \
            == pki.ROLE_ISSUING_AUTHORITY
        theirs_set, ours_set = set(ext_shape(cert)), set(ext_shape(ours))
        if cert_eui in RTDS_NO_AKI:
            assert theirs_set < ours_set and ours_set - theirs_set == {(AKI, False)}
            assert pki.profile_problems(cert) == ["authorityKeyIdentifier missing or critical"]
        else:
            assert theirs_set == ours_set, eui
            exact += ext_shape(cert) == ext_shape(ours)
            assert pki.profile_problems(cert) == []
        policy = cert.extensions.get_extension_for_oid(CP).value[0]
        assert policy.policy_identifier.dotted_string == pki.ORG_POLICY_OID
        assert cert.extensions.get_extension_for_oid(SKI).value.digest == \
            pki.key_identifier(cert.public_key())
        ku_theirs = cert.extensions.get_extension_for_oid(KU).value
        ku_ours = ours.extensions.get_extension_for_oid(KU).value
        assert ku_theirs == ku_ours
    assert exact >= 10  # the same extension order too (all but the load controller's)


def test_eui_and_usage_from_rtds_certificates(rtds):
    checked = 0
    for (eui, usage), entry in rtds.items():
        if entry.certificate is None:
            continue
        expected = RTDS_MISFILED.get((eui.hex(), usage), eui.hex())
        assert pki.eui_from_certificate(entry.certificate).hex() == expected
        assert pki.usage_of(entry.certificate) == usage.replace("pp-", "")
        assert len(pki.public_key_raw(entry.certificate)) == 64
        checked += 1
    assert checked == 416


def test_rtds_keystore_loads(rtds):
    assert {eui.hex(): role for eui, role in rtds.remote_parties().items()} == RTDS_PARTIES
    devices = rtds.devices()
    expected_devices = {bytes.fromhex("00db1234567890%02x" % i) for i in range(1, 0xC9)}
    assert set(devices) == expected_devices
    assert all(usages == ["ds", "ka"] for usages in devices.values())
    for last in range(0xA0, 0xA7):  # README: ESME, GSME, CHF, GPF, PPMID, HCALCS, ESME 2
        eui = "00db1234567890%02x" % last
        for usage in ("ka", "ds"):
            entry = rtds[(eui, usage)]
            assert entry.profile == "device" and entry.private_key is None
    # Remote parties have private keys matching their certificates.
    for eui in RTDS_PARTIES:
        for usage in ("ka", "ds", "pp-ka"):
            entry = rtds.get((eui, usage))
            if entry is None or (eui, usage) in RTDS_MISFILED:
                continue
            assert entry.private_key is not None, (eui, usage)
            assert entry.consistent
            assert pki.public_key_raw(entry.private_key) == pki.public_key_raw(entry.certificate)
    assert rtds[("90b3d51f30000002", "ka")].private_key is not None  # the ACB MACs commands
    assert rtds.certificate("90b3d51f30010000", "pp-ka") is not None
    assert rtds.private_key(bytes.fromhex("90b3d51f30030000"), "pp-ka") is not None
    # Odd entries: keys without certificates, a bare public key, a misfiled certificate.
    for eui in ("123456789abcdef0", "abababababababab"):
        entry = rtds[(eui, "ka")]
        assert entry.certificate is None and entry.private_key is not None
        assert entry.public_key_raw == pki.public_key_raw(entry.private_key)
    bare = rtds[("fffffffffffffffe", "ka")]
    assert bare.certificate is None and bare.private_key is None
    assert len(bare.public_key_raw) == 64
    misfiled = rtds[("90b3d51f30000007", "ka")]
    assert not misfiled.consistent and misfiled.certificate_eui.hex() == "90b3d51f30030000"
    assert any("90b3d51f30000007-ka" in p for p in rtds.problems)
    assert len(rtds.problems) == 1, rtds.problems
    assert ("0000000000000000", "ka") not in rtds and ("nonsense", "ka") not in rtds
    assert rtds.get(("00db1234567890a0", "pp-ka")) is None


# --- keystores ----------------------------------------------------------------------------


def test_keystore_round_trip(bench, tmp_path):
    entries = []
    for usage in ("ka", "ds"):
        entries.append(pki.KeystoreEntry(DEVICE, usage, bench.issue_device_certificate(
            DEVICE, pki.generate_key(), usage, "ESME", now=NOW)))
    keys = {}
    for eui, role in (("90b3d51f30000002", "04"), ("90b3d51f30010000", "02")):
        for usage in ("ka", "ds"):
            key = keys[(eui, usage)] = pki.generate_key()
            cert = bench.issue_org_certificate(eui, key, usage, role, "TEST PARTY", now=NOW)
            entries.append((bytes.fromhex(eui), usage, cert, key))
    key = keys[("90b3d51f30010000", "pp-ka")] = pki.generate_key()
    entries.append(pki.KeystoreEntry(SUPPLIER, "pp-ka", bench.issue_org_certificate(
        SUPPLIER, key, "ka", "02", now=NOW), key))
    written = pki.write_keystore(tmp_path / "ks", entries)
    names = sorted(p.name for p in written)
    assert names == sorted(
        ["00db1234567890a0-ka.pem", "00db1234567890a0-ds.pem"]
        + ["%s-%s.%s" % (eui, usage, ext) for (eui, usage) in keys for ext in ("pem", "key")])
    for path in written:
        if path.suffix == ".key":
            assert stat.S_IMODE(path.stat().st_mode) == 0o600
            assert path.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
            serialization.load_pem_private_key(path.read_bytes(), None)
        else:
            assert path.read_bytes().startswith(b"-----BEGIN CERTIFICATE-----")
    store = pki.load_keystore(tmp_path / "ks")
    assert store.problems == [] and store.ignored == []
    assert len(store) == 7
    for entry in entries:
        entry = entry if isinstance(entry, pki.KeystoreEntry) else pki.KeystoreEntry(*entry)
        loaded = store[(entry.eui, entry.usage)]
        assert loaded.certificate == entry.certificate
        if entry.private_key is None:
            assert loaded.private_key is None
        else:
            assert pki.public_key_raw(loaded.private_key) == pki.public_key_raw(entry.private_key)
        pki.verify_chain(loaded.certificate, bench)
    assert {e.hex(): r for e, r in store.remote_parties().items()} == \
        {"90b3d51f30000002": "04", "90b3d51f30010000": "02"}
    assert list(store.devices()) == [DEVICE]
    # Writing a loaded keystore again gives the same files.
    pki.write_keystore(tmp_path / "ks2", store)
    for path in (tmp_path / "ks").iterdir():
        assert (tmp_path / "ks2" / path.name).read_bytes() == path.read_bytes()


def test_keystore_load_tolerates_junk(tmp_path):
    (tmp_path / "README.md").write_text("not a key")
    (tmp_path / "0011223344556677-ka.pem").write_text("garbage")
    (tmp_path / "0011223344556677-ds.key").write_text("-----BEGIN PRIVATE KEY-----\nAAAA\n")
    (tmp_path / "8899aabbccddeeff-ds.key").write_bytes(
        ec.generate_private_key(ec.SECP384R1()).private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()))
    (tmp_path / "subdir").mkdir()
    store = pki.load_keystore(tmp_path)
    assert len(store) == 0
    assert sorted(store.ignored) == ["README.md", "subdir"]
    assert len(store.problems) == 3


def test_rtds_keystore_rewrites_identically(rtds, rtds_keystore_dir, tmp_path):
    pki.write_keystore(tmp_path, rtds)
    again = pki.load_keystore(tmp_path)
    assert sorted(again) == sorted(rtds)
    assert again.remote_parties() == rtds.remote_parties()
    for key, entry in rtds.items():
        assert again[key].certificate == entry.certificate
        assert again[key].public_key_raw == entry.public_key_raw
        assert (again[key].private_key is None) == (entry.private_key is None)
    for path in tmp_path.glob("*.pem"):
        original = (rtds_keystore_dir / path.name).read_bytes()
        assert b"".join(original.split()) == b"".join(path.read_bytes().split())
