"""X.509 parser of the SMKI profiles (smets.gbcs.cert). Runs under pytest and on the MicroPython
unix port.

_DEVICE_KA below is a device key agreement certificate made once by host/smetsbench/pki.py
(BenchPKI.issue_device_certificate, issued 2015-01-01) for EUI 00db1234567890a0 and the private
key _DEVICE_KA_KEY, signed by a bench Device CA whose public key is _DCA_KEY. Its r signature
INTEGER needs a leading zero and its s one is 31 bytes, so both padding directions are covered.
The tests that issue fresh certificates with pki.py and compare with `cryptography` run on
CPython only; the RTDS keystore (../shared/rtds/keystore) is parsed where present.
"""

from smets.gbcs import asn1, cert, p256
from smets.gbcs.asn1 import ASN1Error

try:
    from unittest import SkipTest
except ImportError:  # MicroPython: tools/mptest.py skips on the class name

    class SkipTest(Exception):
        pass


try:
    import pytest
except ImportError:  # MicroPython
    pytest = None

try:
    from hypothesis import given, settings
    from hypothesis import strategies as st
except ImportError:  # MicroPython, or a CPython without Hypothesis
    given = None

h = bytes.fromhex

_DEVICE_KA = h(
    "308201ae30820155a00302010202105bc2dcf238f6ebda87e1f36f847f4fb6300a06082a8648ce3d040302301e"
    "311c301a06035504031313736d65747362656e63682054455354204443413020170d3135303130313030303030"
    "305a180f39393939313233313233353935395a30003059301306072a8648ce3d020106082a8648ce3d03010703"
    "420004d6ff7af8f3bb64f871b90ceb939a2dc609f07d0069fe5336d8287b2fa97ec740e21542242d88b2c4d1e5"
    "6226779a646927704f13fd0f0b5b1cfedee6ab4106c0a3819030818d300e0603551d0f0101ff04040302030830"
    "110603551d0e040a04084bbad7d4535c4f1a30350603551d110101ff042b3029a02706082b0601050507080"
    "4a01b3019060d2a863a0001848fb90f01020201040800db1234567890a0301c0603551d200101ff0412301030"
    "0e060c2a863a0001edee400102010430130603551d23040c300a800845f25c020c1190da300a06082a8648ce3d"
    "0403020347003044022100e40a31294b075b34025fb57b0e0518f7640a419d9c05e52657a6a63e6f6a66df021f"
    "3292078bb951dca53a93891d2b865bdd5182de491c89889f48729e79d4b45f"
)
_DEVICE_KA_KEY = 0x1F2E3D4C5B6A79880123456789ABCDEF0FEDCBA98765432100112233445566
_DEVICE_EUI = h("00db1234567890a0")
_DCA_KEY = h(
    "ad0042bd34bb06ad91e5c252343fa56fbb0115fad7ce6f71ea2ef45648dbbaaeadf9b0cf7ed9d22fa394cdc5418"
    "59e6444c940cbb70d458247ada6abc01d40dd"
)
_DCA_SKI = h("45f25c020c1190da")
_DCA_NAME = h("311c301a06035504031313736d65747362656e6368205445535420444341")  # CN=... DCA
_SIG_R = 0xE40A31294B075B34025FB57B0E0518F7640A419D9C05E52657A6A63E6F6A66DF
_SIG_S = 0x3292078BB951DCA53A93891D2B865BDD5182DE491C89889F48729E79D4B45F
_NOT_AFTER = 253402300799  # 9999-12-31T23:59:59Z, every device certificate


def _rejects(fn, *args):
    """fn(*args) raises ASN1Error; any other exception propagates and fails the test."""
    try:
        fn(*args)
    except ASN1Error:
        return True
    raise AssertionError("%r did not raise ASN1Error" % (fn,))


def _replace(der, old, new, count=1):
    """der with the hex `old` replaced by `new` (same length); `old` must occur `count` times."""
    text = der.hex()
    assert text.count(old) == count and len(old) == len(new), old
    return h(text.replace(old, new))


def _parse_or_error(der):
    """cert.parse, None for ASN1Error; anything else escapes."""
    try:
        return cert.parse(der)
    except ASN1Error:
        return None


# --- the embedded device certificate ---------------------------------------------------------


def test_device_certificate_fields():
    c = cert.parse(_DEVICE_KA)
    assert bytes(c.der) == _DEVICE_KA
    assert bytes(c.tbs) == _DEVICE_KA[4:4 + 4 + 0x155]
    assert bytes(c.serial) == h("5bc2dcf238f6ebda87e1f36f847f4fb6")
    assert bytes(c.issuer) == _DCA_NAME
    assert len(c.subject) == 0  # device certificates have an empty subject
    assert c.not_before == 1420070400  # UTCTime 150101000000Z
    assert c.not_after == _NOT_AFTER  # GeneralizedTime 99991231235959Z
    assert c.public_key == p256.public_key(_DEVICE_KA_KEY)
    assert c.key_usage == cert.KU_KEY_AGREEMENT
    assert c.ski == h("4bbad7d4535c4f1a") == cert.key_identifier(c.public_key)
    assert c.aki == _DCA_SKI
    assert c.entity == _DEVICE_EUI  # SAN hardwareModuleName hwSerialNum
    assert c.role is None
    assert c.san == h("3029a02706082b06010505070804a01b3019060d2a863a0001848fb90f010202010408"
                      "00db1234567890a0")
    assert c.signature == _SIG_R.to_bytes(32, "big") + _SIG_S.to_bytes(32, "big")


def test_key_identifier():
    c = cert.parse(_DEVICE_KA)
    assert cert.key_identifier(b"\x04" + c.public_key) == c.ski
    assert cert.key_identifier(_DCA_KEY) == _DCA_SKI
    assert cert.key_identifier(bytearray(_DCA_KEY)) == _DCA_SKI
    assert cert.key_identifier(memoryview(b"\x04" + _DCA_KEY)) == _DCA_SKI
    for pub in (c.public_key, _DCA_KEY):
        assert cert.key_identifier(pub)[0] >> 4 == 0x4  # method (2): 0100 || 60 bits


def test_signature_value_round_trip():
    c = cert.parse(_DEVICE_KA)
    der = cert.signature_value(c.signature)
    assert _DEVICE_KA.endswith(h("034700") + der)
    assert der[:6] == h("3044022100e4") and der[-33:-31] == h("021f")  # 33 and 31 bytes
    for rs in (bytes(31) + b"\x01" + bytes(31) + b"\x02", b"\xff" * 64,
               b"\x80" + bytes(31) + b"\x7f" * 32):
        assert cert._signature(b"\x00" + cert.signature_value(rs)) == rs


def test_device_certificate_verifies_with_its_issuer_key():
    c = cert.parse(_DEVICE_KA)
    assert cert.verify(c, _DCA_KEY)
    assert cert.verify(c, b"\x04" + _DCA_KEY)
    assert cert.verify(c, p256.Table(_DCA_KEY))
    assert not cert.verify(c, c.public_key)  # not self-signed
    assert not cert.verify(c, p256.public_key(1))
    assert not cert.verify(c, bytes(64))  # not a point: False, no exception
    assert not cert.verify(c, _DCA_KEY[:63])
    # Anything changed in the signed part or the signature fails.
    serial = _replace(_DEVICE_KA, "5bc2dcf238f6ebda", "5bc2dcf238f6ebdb")
    assert not cert.verify(cert.parse(serial), _DCA_KEY)
    eui = _replace(_DEVICE_KA, "00db1234567890a0", "00db1234567890a1")
    assert cert.parse(eui).entity == h("00db1234567890a1")
    assert not cert.verify(cert.parse(eui), _DCA_KEY)
    sig = _replace(_DEVICE_KA, "d4b45f", "d4b45e")  # s of the signature
    assert not cert.verify(cert.parse(sig), _DCA_KEY)


def test_parse_copies_nothing_large():
    buf = bytearray(_DEVICE_KA)
    c = cert.parse(memoryview(buf))
    assert isinstance(c.tbs, memoryview) and isinstance(c.serial, memoryview)
    buf[15] ^= 1  # the serial, seen through the views
    assert bytes(c.serial)[0] == 0x5B ^ 1 and c.tbs[11] == 0x5B ^ 1


def test_truncated_certificates_raise_asn1error():
    for k in range(len(_DEVICE_KA)):
        assert _rejects(cert.parse, _DEVICE_KA[:k])
    assert _rejects(cert.parse, _DEVICE_KA + b"\x00")  # trailing bytes
    assert _rejects(cert.parse, _DEVICE_KA + _DEVICE_KA)


def test_malformed_certificates_raise_asn1error():
    for old, new in (
        ("308201ae", "318201ae"),  # not a SEQUENCE
        ("308201ae", "308201af"),  # length overruns
        ("a0030201", "a1030201"),  # no [0] version, then [1] is no INTEGER serial
        ("02105bc2", "04105bc2"),  # serial not an INTEGER
        ("170d3135", "040d3135"),  # notBefore not a time
        ("180f3939", "180f2b39"),  # notAfter '+999...'
        ("3135303130313030", "3135313330313030"),  # month 13
        ("06072a8648ce3d0201", "06072a8648ce3d0202"),  # not ecPublicKey
        ("06082a8648ce3d030107", "06082a8648ce3d030106"),  # not prime256v1
        ("03420004d6", "03420003d6"),  # not an uncompressed point
        ("03420004d6", "03420104d6"),  # unused bits in the key BIT STRING
        ("040403020308", "040403020808"),  # keyUsage with 8 unused bits
        ("034700", "034701"),  # unused bits in the signature BIT STRING
        ("3044022100", "3144022100"),  # ECDSA-Sig-Value not a SEQUENCE
        ("022100e4", "020100e4"),  # r = 0
    ):
        assert _rejects(cert.parse, _replace(_DEVICE_KA, old, new)), (old, new)
    # ecdsa-with-SHA384 in either AlgorithmIdentifier.
    sha384 = "06082a8648ce3d040303"
    assert _rejects(cert.parse, _replace(_DEVICE_KA, "06082a8648ce3d040302", sha384, 2))
    text = _DEVICE_KA.hex()
    i = text.rfind("06082a8648ce3d040302")
    assert _rejects(cert.parse, h(text[:i] + sha384 + text[i + len(sha384):]))
    i = text.find("06082a8648ce3d040302")
    assert _rejects(cert.parse, h(text[:i] + sha384 + text[i + len(sha384):]))
    # r or s zero, or at least the group order's bit size.
    assert _rejects(cert._signature, b"\x00" + asn1.sequence(asn1.integer(0), asn1.integer(1)))
    assert _rejects(cert._signature, b"\x00" + asn1.sequence(asn1.integer(1), asn1.integer(-1)))
    assert _rejects(cert._signature, b"\x00" + asn1.sequence(asn1.integer(1 << 256),
                                                             asn1.integer(1)))
    assert _rejects(cert.parse, b"")
    assert _rejects(cert.parse, b"\x30\x00")
    assert _rejects(cert.parse, asn1.sequence(asn1.sequence(), asn1.null()))


def test_role_and_entity_tolerate_odd_names():
    # Parsing only picks out what it knows: an OU that is not two hex digits is no role.
    c = cert.parse(_DEVICE_KA)
    assert c.role is None
    subject = asn1.sequence(
        asn1.encode(asn1.SET, asn1.sequence(asn1.encode(asn1.OID, h("55040b")),
                                            asn1.encode(0x0C, b"zz"))),
        asn1.encode(asn1.SET, asn1.sequence(asn1.encode(asn1.OID, h("55040b")),
                                            asn1.encode(0x0C, b"\xff\xfe"))),
        asn1.encode(asn1.SET, asn1.sequence(asn1.encode(asn1.OID, h("55042d")),
                                            asn1.encode(asn1.BIT_STRING, b"\x00" + bytes(7)))),
    )
    c = cert.Certificate()
    cert._name(c, asn1.read_as(subject, asn1.SEQUENCE)[0])
    assert c.role is None and c.entity is None
    c = cert.Certificate()
    good = asn1.sequence(
        asn1.encode(asn1.SET, asn1.sequence(asn1.encode(asn1.OID, h("55040b")),
                                            asn1.encode(0x0C, b"7F"))),
        asn1.encode(asn1.SET, asn1.sequence(asn1.encode(asn1.OID, h("55042d")),
                                            asn1.encode(asn1.BIT_STRING,
                                                        b"\x00" + h("90b3d51f30010000")))),
    )
    cert._name(c, asn1.read_as(good, asn1.SEQUENCE)[0])
    assert c.role == 0x7F and c.entity == h("90b3d51f30010000")


def _mutations(count, seed):
    """(position, value) pairs, deterministic on CPython and MicroPython."""
    x = seed
    out = []
    for _ in range(count):
        x = (x * 1103515245 + 12345) & 0x7FFFFFFF
        pos = (x >> 8) % len(_DEVICE_KA)
        x = (x * 1103515245 + 12345) & 0x7FFFFFFF
        out.append((pos, (x >> 16) & 0xFF))
    return out


def test_mutated_certificates_raise_asn1error_or_fail_verification():
    table = p256.Table(_DCA_KEY)
    parsed = 0
    for pos, value in _mutations(400, 7):
        if _DEVICE_KA[pos] == value:
            continue
        bad = bytearray(_DEVICE_KA)
        bad[pos] = value
        c = _parse_or_error(bytes(bad))
        if c is not None:
            parsed += 1
            assert not cert.verify(c, table), (pos, value)
    assert parsed > 100  # most single-byte changes keep the structure


# --- fresh certificates from the bench PKI (CPython) ----------------------------------------

_BENCH = {}


def _bench():
    """Bench PKI certificates (cryptography objects and DER) issued once per session."""
    if _BENCH:
        return _BENCH
    try:
        import datetime
        import tempfile

        from smetsbench.oracle import pki
    except ImportError:
        raise SkipTest("needs cryptography and smetsbench.oracle.pki (CPython)")
    now = datetime.datetime(2024, 2, 29, 13, 14, 15, tzinfo=datetime.timezone.utc)
    with tempfile.TemporaryDirectory() as path:
        bench = pki.BenchPKI.create(path, now=now)
        issued = {}
        for usage in ("ka", "ds"):
            key = pki.generate_key()
            issued["device-" + usage] = (key, bench.issue_device_certificate(
                "00db1234567890a6", key.public_key(), usage, "ESME", now=now))
        for role, usage, name in (("supplier", "ds", "Supplier One"), ("supplier", "ka", None),
                                  ("network_operator", "ds", None), ("acb", "ka", None),
                                  ("7F", "ds", "Other")):
            key = pki.generate_key()
            issued["org-%s-%s" % (role, usage)] = (key, bench.issue_org_certificate(
                "90b3d51f30010000", key.public_key(), usage, role, name, now=now))
    _BENCH.update(pki=pki, bench=bench, issued=issued)
    return _BENCH


def _der(x509_cert):
    from cryptography.hazmat.primitives.serialization import Encoding

    return x509_cert.public_bytes(Encoding.DER)


def _compare_with_cryptography(c, x, pki):
    """Everything cert.parse read agrees with cryptography's reading of the same certificate."""
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
    from cryptography.x509.oid import ExtensionOID

    assert bytes(c.der) == _der(x)
    assert bytes(c.tbs) == x.tbs_certificate_bytes
    assert asn1.to_int(c.serial) == x.serial_number
    assert asn1.encode(asn1.SEQUENCE, c.issuer) == x.issuer.public_bytes()
    assert asn1.encode(asn1.SEQUENCE, c.subject) == x.subject.public_bytes()
    assert c.not_before == int(x.not_valid_before_utc.timestamp())
    assert c.not_after == int(x.not_valid_after_utc.timestamp())
    assert c.public_key == pki.public_key_raw(x)
    try:
        r, s = decode_dss_signature(x.signature)
        assert cert.signature_value(c.signature) == x.signature
    except ValueError:
        # Two RTDS certificates have an s INTEGER with a needless leading zero, which
        # cryptography refuses and cert.parse takes (as a device must): read it by hand.
        sig = x.signature
        assert sig[0] == 0x30 and sig[1] == len(sig) - 2 and sig[2] == 0x02, sig.hex()
        r = int.from_bytes(sig[4:4 + sig[3]], "big")
        assert sig[4 + sig[3]] == 0x02 and sig[5 + sig[3]] == len(sig) - 6 - sig[3], sig.hex()
        s = int.from_bytes(sig[6 + sig[3]:], "big")
    assert c.signature == r.to_bytes(32, "big") + s.to_bytes(32, "big")
    ku = x.extensions.get_extension_for_oid(ExtensionOID.KEY_USAGE).value
    want = 0
    for bit, flag in ((0x80, ku.digital_signature), (0x08, ku.key_agreement),
                      (0x04, ku.key_cert_sign), (0x02, ku.crl_sign)):
        want |= bit if flag else 0
    assert c.key_usage == want
    assert c.ski == x.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
    assert c.ski == cert.key_identifier(c.public_key) == pki.key_identifier(x.public_key())
    try:
        aki = x.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
        assert c.aki == aki.key_identifier
    except x509.ExtensionNotFound:
        assert c.aki is None
    try:
        san = x.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        assert c.san == san.public_bytes()
    except x509.ExtensionNotFound:
        assert c.san is None
    try:
        assert c.entity == pki.eui_from_certificate(x)
    except pki.PKIError:  # CA certificates carry none
        assert c.entity is None
    role = pki.role_of(x)
    assert c.role == (None if role is None else int(role, 16))


def test_bench_device_certificates():
    b = _bench()
    pki = b["pki"]
    dca = b["bench"].device_ca.certificate
    dca_key = pki.public_key_raw(dca)
    for usage, bit in (("ka", cert.KU_KEY_AGREEMENT), ("ds", cert.KU_DIGITAL_SIGNATURE)):
        key, x = b["issued"]["device-" + usage]
        c = cert.parse(_der(x))
        _compare_with_cryptography(c, x, pki)
        assert c.key_usage == bit
        assert c.entity == h("00db1234567890a6") and c.role is None and len(c.subject) == 0
        assert c.public_key == pki.public_key_raw(key)
        assert c.not_before == 1709164800  # the issue date at 00:00:00
        assert c.not_after == _NOT_AFTER
        assert c.aki == pki.key_identifier(dca.public_key()) == cert.parse(_der(dca)).ski
        assert cert.verify(c, dca_key) and cert.verify(c, p256.Table(dca_key))
        assert not cert.verify(c, pki.public_key_raw(b["bench"].root.certificate))
        assert not cert.verify(c, c.public_key)


def test_bench_organisation_certificates():
    b = _bench()
    pki = b["pki"]
    oca = b["bench"].org_ca.certificate
    roles = {"supplier": 2, "network_operator": 3, "acb": 4, "7F": 0x7F}
    for name, (_key, x) in b["issued"].items():
        if not name.startswith("org-"):
            continue
        _, role, usage = name.split("-")
        c = cert.parse(_der(x))
        _compare_with_cryptography(c, x, pki)
        assert c.role == roles[role] and c.entity == h("90b3d51f30010000")
        assert c.key_usage == (cert.KU_KEY_AGREEMENT if usage == "ka" else
                               cert.KU_DIGITAL_SIGNATURE)
        assert c.san is None
        assert c.not_after == 2024783999  # 2034-02-28T23:59:59Z: ten years on, less a second
        assert c.aki == cert.parse(_der(oca)).ski
        assert cert.verify(c, pki.public_key_raw(oca))
        assert not cert.verify(c, pki.public_key_raw(b["bench"].device_ca.certificate))


def test_bench_ca_certificates():
    b = _bench()
    pki, bench = b["pki"], b["bench"]
    root = cert.parse(_der(bench.root.certificate))
    _compare_with_cryptography(root, bench.root.certificate, pki)
    assert root.aki is None and root.role == 0
    assert root.key_usage == cert.KU_KEY_CERT_SIGN | 0x02  # keyCertSign | cRLSign
    assert cert.verify(root, root.public_key)  # self-signed
    for ca, role in ((bench.device_ca, None), (bench.org_ca, 7)):
        c = cert.parse(_der(ca.certificate))
        _compare_with_cryptography(c, ca.certificate, pki)
        assert c.role == role and c.aki == root.ski and c.entity is None
        assert cert.verify(c, root.public_key)


def _custom_certificate(subject_key, issuer_key, algorithm):
    import datetime

    from cryptography import x509
    from cryptography.x509.oid import NameOID

    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test")])
    start = datetime.datetime(2015, 1, 1, tzinfo=datetime.timezone.utc)
    return _der(
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(subject_key.public_key())
        .serial_number(1)
        .not_valid_before(start)
        .not_valid_after(start + datetime.timedelta(days=1))
        .sign(issuer_key, algorithm)
    )


def test_other_keys_and_algorithms_are_refused():
    _bench()  # skips without cryptography
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519

    p256_key = ec.generate_private_key(ec.SECP256R1())
    p384_key = ec.generate_private_key(ec.SECP384R1())
    # The same builder with P-256 and SHA-256 parses (no extensions: all of them None).
    c = cert.parse(_custom_certificate(p256_key, p256_key, hashes.SHA256()))
    assert c.key_usage is None and c.ski is None and c.aki is None and c.entity is None
    assert asn1.to_int(c.serial) == 1 and cert.verify(c, c.public_key)
    ed = ed25519.Ed25519PrivateKey.generate()
    for subject, issuer, algorithm in (
        (p384_key, p256_key, hashes.SHA256()),  # P-384 subject key
        (ed, p256_key, hashes.SHA256()),  # Ed25519 subject key
        (p256_key, p256_key, hashes.SHA384()),  # ecdsa-with-SHA384
        (p256_key, ed, None),  # Ed25519 signature
        (p256_key, p384_key, hashes.SHA256()),  # r, s of P-384 size (below 2^256: p ~ 2^-256)
    ):
        assert _rejects(cert.parse, _custom_certificate(subject, issuer, algorithm)), algorithm


if given is not None:

    @settings(max_examples=1000, deadline=None)
    @given(st.lists(st.tuples(st.integers(0, len(_DEVICE_KA) - 1), st.integers(0, 255)),
                    min_size=1, max_size=6), st.integers(0, len(_DEVICE_KA) + 2))
    def test_hypothesis_damaged_certificates_raise_only_asn1error(changes, cut):
        bad = bytearray(_DEVICE_KA)
        for pos, value in changes:
            bad[pos] = value
        _parse_or_error(bytes(bad))
        _parse_or_error(bytes(bad[:cut]))
        _parse_or_error(bytes(bad) + bytes(bad[:cut]))

    @settings(max_examples=500, deadline=None)
    @given(st.binary(max_size=600))
    def test_hypothesis_arbitrary_bytes_raise_only_asn1error(data):
        _parse_or_error(data)
        _parse_or_error(h("308201ae") + data)
        _parse_or_error(_DEVICE_KA[:200] + data)

else:

    def test_hypothesis_damaged_certificates_raise_only_asn1error():
        raise SkipTest("needs Hypothesis (CPython)")


# --- the RTDS keystore -----------------------------------------------------------------------


def _rtds_keystore():
    import os

    path = os.getenv("SMETSBENCH_RTDS")
    if path is None:
        try:
            from smetsbench.paths import rtds_dir
        except ImportError:
            rtds_dir = None
        found = rtds_dir() if rtds_dir else None
        path = None if found is None else str(found)
    if path:
        path += "/keystore"
        try:
            names = sorted(os.listdir(path))
        except OSError:
            names = None
        if names:
            return path, names
    raise SkipTest("RTDS keystore not found (set SMETSBENCH_RTDS or provide ../shared/rtds)")


def _pem_certificate(text):
    """DER of the first CERTIFICATE block of PEM text, None when there is none."""
    import binascii

    begin = text.find("-----BEGIN CERTIFICATE-----")
    if begin < 0:
        return None
    end = text.find("-----END CERTIFICATE-----", begin)
    body = text[begin + 27:end]
    return binascii.a2b_base64("".join(body.split()))


def test_rtds_keystore_certificates():
    path, names = _rtds_keystore()
    try:  # CPython: compare each one with cryptography as well
        from cryptography import x509
        from smetsbench.oracle import pki
    except ImportError:
        x509 = None
    usages = {"ds": cert.KU_DIGITAL_SIGNATURE, "ka": cert.KU_KEY_AGREEMENT,
              "pp-ka": cert.KU_KEY_AGREEMENT}
    counts = {"device": 0, "org": 0}
    for name in names:
        if not name.endswith(".pem"):
            continue
        with open(path + "/" + name) as f:
            der = _pem_certificate(f.read())
        if der is None:  # e.g. a PUBLIC KEY file
            continue
        eui, usage = name[:-4].split("-", 1)
        c = cert.parse(der)
        assert c.key_usage == usages[usage], name
        assert c.ski == cert.key_identifier(c.public_key), name
        assert c.aki is None or len(c.aki) == 8, name
        assert c.entity is not None and len(c.entity) == 8, name
        assert c.not_before < c.not_after, name
        if eui.startswith("00db"):  # device certificates
            assert c.role is None and len(c.subject) == 0 and c.entity == h(eui), name
            assert c.san is not None and c.not_after == _NOT_AFTER, name
            counts["device"] += 1
        else:  # organisation certificates: role = OU
            assert c.role is not None and 0 < c.role < 0xFF and c.san is None, name
            counts["org"] += 1
        if x509 is not None:
            _compare_with_cryptography(c, x509.load_der_x509_certificate(der), pki)
    assert counts["device"] and counts["org"], counts


if pytest is not None:
    test_rtds_keystore_certificates = pytest.mark.rtds(test_rtds_keystore_certificates)
