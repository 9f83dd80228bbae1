"""GBCS crypto primitives: known answers, round trips, rejections (pytest and MicroPython).

Known answers: FIPS-197 C.1 (AES), McGrew-Viega GCM test cases 1-4 (96-bit IV), RFC 4231
(HMAC-SHA256), NIST CAVS ECC CDH P-256 COUNT 0, RFC 6979 A.2.5 (P-256, SHA-256); the GBCS KDF,
MAC and payload values below were computed with `cryptography` (host/smetsbench/gbcscrypto.py).
Where no vector exists the tests compare independent algorithms (bit-serial GHASH, affine
double-and-add, comb tables of several widths, wNAF).

On the MicroPython unix port (tools/mptest.py does the same), from the repository root:
    micropython -X heapsize=256K -c "import sys; sys.path[:0]=['firmware','tests/core']; \
        import test_crypto; [getattr(test_crypto,n)() for n in dir(test_crypto) \
        if n.startswith('test_')]"
(~2 s; the module compiled from source takes ~45 KB of that heap).
"""

import hashlib

from smets import aes
from smets.gbcs import crypto, envelope, gcm, kdf, p256

h = bytes.fromhex


def _raises(exc, fn, *args):
    try:
        fn(*args)
    except exc:
        return True
    return False


# --- AES / GCM ------------------------------------------------------------------------------


def test_aes_fips197():
    c = aes.AES128(h("000102030405060708090a0b0c0d0e0f"))
    assert c.encrypt_block(h("00112233445566778899aabbccddeeff")) == h(
        "69c4e0d86a7b0430d8cdb78070b4c55a"
    )
    assert _raises(ValueError, aes.AES128, bytes(15))
    assert _raises(ValueError, c.encrypt_block, bytes(15))


_K3 = h("feffe9928665731c6d6a8f9467308308")
_IV3 = h("cafebabefacedbaddecaf888")
_P3 = h(
    "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
    "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255"
)
_C3 = h(
    "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e"
    "21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091473f5985"
)
_A4 = h("feedfacedeadbeeffeedfacedeadbeefabaddad2")


def test_gcm_nist_cases():
    # Test case 1: empty plaintext, no AAD.
    assert gcm.gcm_encrypt(bytes(16), bytes(12), b"", b"", 16) == h(
        "58e2fccefa7e3061367f1d57a4e7455a"
    )
    assert gcm.gmac(bytes(16), bytes(12), b"", 16) == h("58e2fccefa7e3061367f1d57a4e7455a")
    # Test case 2: one zero block.
    assert gcm.gcm_encrypt(bytes(16), bytes(12), bytes(16), b"", 16) == h(
        "0388dace60b6a392f328c2b971b2fe78ab6e47d42cec13bdf53a67b21257bddf"
    )
    # Test case 3: four blocks, no AAD.
    assert gcm.gcm_encrypt(_K3, _IV3, _P3, b"", 16) == _C3 + h("4d5c2af327cd64a62cf35abd2ba6fab4")
    # Test case 4: 60-byte plaintext, 20-byte AAD; and its 12-byte truncation (GBCS).
    ct4 = _C3[:60] + h("5bc94fbc3221a5db94fae95ae7121a47")
    assert gcm.gcm_encrypt(_K3, _IV3, _P3[:60], _A4, 16) == ct4
    assert gcm.gcm_encrypt(_K3, _IV3, _P3[:60], _A4) == ct4[:72]
    assert gcm.gcm_decrypt(_K3, _IV3, ct4, _A4, 16) == _P3[:60]
    assert gcm.gcm_decrypt(_K3, _IV3, ct4[:72], _A4, 12) == _P3[:60]


def test_gcm_rejects_tampering():
    good = gcm.gcm_encrypt(_K3, _IV3, _P3[:60], _A4)
    for i in (0, 30, 59, 60, 71):
        bad = bytearray(good)
        bad[i] ^= 0x01
        assert _raises(gcm.GCMError, gcm.gcm_decrypt, _K3, _IV3, bytes(bad), _A4)
    assert _raises(gcm.GCMError, gcm.gcm_decrypt, _K3, _IV3, good, _A4[:-1])
    assert _raises(gcm.GCMError, gcm.gcm_decrypt, _K3, _IV3, good[:-1], _A4)
    assert _raises(gcm.GCMError, gcm.gcm_decrypt, _K3, _IV3, good[:11], _A4)
    assert _raises(gcm.GCMError, gcm.gcm_decrypt, _K3, _IV3[:11], good, _A4)
    assert _raises(gcm.GCMError, gcm.gcm_encrypt, _K3, _IV3, b"", b"", 3)
    tag = gcm.gmac(_K3, _IV3, _A4)
    assert gcm.gmac_verify(_K3, _IV3, _A4, tag)
    assert not gcm.gmac_verify(_K3, _IV3, _A4, tag[:-1] + bytes((tag[-1] ^ 0x80,)))
    assert not gcm.gmac_verify(_K3, _IV3, _A4 + b"\x00", tag)
    assert isinstance(gcm.GCMError("x"), ValueError)


def _gf_mul_ref(x, y):
    """NIST SP 800-38D algorithm 1, bit by bit."""
    z = 0
    v = y
    for i in range(127, -1, -1):
        if (x >> i) & 1:
            z ^= v
        v = (v >> 1) ^ (0xE1 << 120) if v & 1 else v >> 1
    return z


def _gmac_ref(key, iv, aad):
    c = aes.AES128(key)
    hk = int.from_bytes(c.encrypt_block(bytes(16)), "big")
    padded = aad + bytes(-len(aad) % 16) + (len(aad) * 8).to_bytes(8, "big") + bytes(8)
    y = 0
    for o in range(0, len(padded), 16):
        y = _gf_mul_ref(y ^ int.from_bytes(padded[o : o + 16], "big"), hk)
    s = int.from_bytes(c.encrypt_block(iv + b"\x00\x00\x00\x01"), "big")
    return (y ^ s).to_bytes(16, "big")


def test_ghash_tables_match_bit_serial():
    # Lengths cover empty, partial, whole and many blocks.
    key = hashlib.sha256(b"ghash key").digest()[:16]
    iv = h("0102030405060708090a0b0c")
    data = hashlib.sha256(b"a").digest() * 8
    for n in (0, 1, 15, 16, 17, 63, 64, 80, 95, 96, 97, 150, 256):
        assert gcm.gmac(key, iv, data[:n], 16) == _gmac_ref(key, iv, data[:n]), n


def test_gcm_round_trip_lengths():
    key = h("00112233445566778899aabbccddeeff")
    iv = h("a0a1a2a3a4a5a6a7a8a9aaab")
    pt = bytes(range(200))
    for n in (0, 1, 15, 16, 17, 31, 32, 33, 100, 200):
        for aad in (b"", b"\x31", pt[:40], pt[:150]):
            ct = gcm.gcm_encrypt(key, iv, pt[:n], aad)
            assert len(ct) == n + 12
            assert gcm.gcm_decrypt(key, iv, ct, aad) == pt[:n]
    # Reusing one GCM object gives the same answers as fresh ones.
    g = gcm.GCM(key)
    assert g.encrypt(iv, pt[:33], b"\x31") == gcm.gcm_encrypt(key, iv, pt[:33], b"\x31")
    assert g.mac(iv, pt) == gcm.gmac(key, iv, pt)


def test_gcm_backends_agree():
    # The viper GHASH/CTR (MicroPython) against Python ints, every length up to 3 blocks.
    default = gcm.backend()
    data = hashlib.sha256(b"gcm agree").digest() * 4
    try:
        for i in range(50):
            key = hashlib.sha256(b"k%d" % i).digest()[:16]
            iv = hashlib.sha256(b"iv%d" % i).digest()[:12]
            got = []
            for name in ["int"] + (["viper"] if "w26" in _backends() else []):
                assert gcm.backend(name) == name
                g = gcm.GCM(key)
                got.append((g.ghash(data[:i], data[i : 2 * i]),
                            g.encrypt(iv, data[:i], data[i:][: 3 * i % 50], 4 + i % 13),
                            g.mac(iv, data[: 2 * i])))
            assert got[0] == got[-1], i
    finally:
        gcm.backend(default)


# --- KDF / HMAC ------------------------------------------------------------------------------

_Z = h("e9b23cf0eeb2ab2a43107befbe82af7e26cbfcbe37f75d400d4929c0e86b7772")
_SUPPLIER = h("90b3d51f30010000")
_ESME = h("00db1234567890a0")


def test_kdf_other_info_layout():
    info = kdf.other_info(_SUPPLIER, kdf.MODE_COMMAND, 0x0000012345678901, _ESME)
    # AlgorithmID | originator title | 09 mode | counter | recipient title
    assert info == (h("60857406080300") + _SUPPLIER + h("0901") + h("0000012345678901") + _ESME)
    assert len(info) == 33
    assert (kdf.MODE_COMMAND, kdf.MODE_RESPONSE, kdf.MODE_ALERT, kdf.MODE_PAYLOAD) == (1, 2, 3, 4)


def test_kdf_known_answer():
    key = kdf.derive_key(_Z, _SUPPLIER, kdf.MODE_COMMAND, 0x0000012345678901, _ESME)
    assert key == h("dbbc3a3b83760c7d8c09c078acc6adb5")
    expect = hashlib.sha256(
        b"\x00\x00\x00\x01" + _Z + kdf.other_info(_SUPPLIER, 1, 0x0000012345678901, _ESME)
    ).digest()[:16]
    assert key == expect
    assert kdf.derive_key(_Z, _SUPPLIER, kdf.MODE_RESPONSE, 0x0000012345678901, _ESME) != key


def test_kdf_rejects_bad_inputs():
    assert _raises(ValueError, kdf.derive_key, _Z[:31], _SUPPLIER, 1, 1, _ESME)
    assert _raises(ValueError, kdf.derive_key, _Z, _SUPPLIER[:7], 1, 1, _ESME)
    assert _raises(ValueError, kdf.derive_key, _Z, _SUPPLIER, 5, 1, _ESME)
    assert _raises(ValueError, kdf.derive_key, _Z, _SUPPLIER, 0, 1, _ESME)
    assert _raises(ValueError, kdf.derive_key, _Z, _SUPPLIER, 1, -1, _ESME)
    assert _raises(ValueError, kdf.derive_key, _Z, _SUPPLIER, 1, 1 << 64, _ESME)


def test_hmac_sha256_rfc4231():
    assert p256.hmac_sha256(b"\x0b" * 20, b"Hi There") == h(
        "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
    )
    assert p256.hmac_sha256(b"Jefe", b"what do ya want for nothing?") == h(
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    )
    assert p256.hmac_sha256(
        b"\xaa" * 131, b"Test Using Larger Than Block-Size Key - Hash Key First"
    ) == h("60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54")


# --- P-256 ---------------------------------------------------------------------------------

_G = p256.G_BYTES
_2G = h(
    "7cf27b188d034f7e8a52380304b51ac3c08969e277f21b35a60b48fc47669978"
    "07775510db8ed040293d9ac69f7430dbba7dade63ce982299e04b79d227873d1"
)


def _neg(pub):
    y = int.from_bytes(pub[32:], "big")
    return pub[:32] + (p256.P - y).to_bytes(32, "big")


def _affine_add_ref(a, b):
    """Textbook affine addition (None = infinity), inverse by Fermat."""
    pp = p256.P
    if a is None:
        return b
    if b is None:
        return a
    if a[0] == b[0]:
        if (a[1] + b[1]) % pp == 0:
            return None
        lam = (3 * a[0] * a[0] - 3) * pow(2 * a[1], pp - 2, pp) % pp
    else:
        lam = (b[1] - a[1]) * pow(b[0] - a[0], pp - 2, pp) % pp
    x = (lam * lam - a[0] - b[0]) % pp
    return x, (lam * (a[0] - x) - a[1]) % pp


def _mul_ref(k, pt):
    acc = None
    while k:
        if k & 1:
            acc = _affine_add_ref(acc, pt)
        pt = _affine_add_ref(pt, pt)
        k >>= 1
    return acc


def test_public_key_edge_scalars():
    n = p256.N
    assert p256.public_key(1) == _G
    assert p256.public_key(2) == _2G
    assert p256.public_key(n - 1) == _neg(_G)
    assert p256.public_key(n - 2) == _neg(_2G)
    assert p256.public_key((1).to_bytes(32, "big")) == _G
    for bad in (0, n, n + 1, -1):
        assert _raises(p256.P256Error, p256.public_key, bad)
    assert _raises(p256.P256Error, p256.public_key, bytes(31))


def test_small_multiples_match_affine_reference():
    g = (p256.GX, p256.GY)
    acc = None
    tables = [p256.Table(_G, t) for t in (2, 3, 4, 5)]
    for k in range(1, 18):
        acc = _affine_add_ref(acc, g)
        assert p256.mul_base(k) == acc, k
        assert p256.mul(k, _G) == acc, k
        for t in tables:
            assert t.mul(k) == acc, (k, t.teeth)


def test_scalar_multiplication_algorithms_agree():
    n = p256.N
    q = p256.public_key(0x1D2C3B4A)
    qt = [p256.Table(q, t) for t in (2, 3, 5)]
    ks = (
        1,
        2,
        3,
        n - 1,
        n - 2,
        (n - 1) // 2,
        (n + 1) // 2,
        1 << 255,
        (1 << 256) - 1,  # reduced mod n first
        0x8000000000000000000000000000000000000000000000000000000000000001,
        int.from_bytes(hashlib.sha256(b"k1").digest(), "big"),
        int.from_bytes(hashlib.sha256(b"k2").digest(), "big"),
    )
    for k in ks:
        want = p256.mul(k, q)
        for t in qt:
            assert t.mul(k) == want, (k, t.teeth)
    # (n - k) * Q = -(k * Q); k * Q + (n - k) * Q = infinity.
    k = ks[-1] % n
    x1, y1 = p256.mul(k, q)
    x2, y2 = p256.mul(n - k, q)
    assert x1 == x2 and (y1 + y2) == p256.P
    assert p256.mul(n, q) is None and p256.mul(0, q) is None
    # Associativity across comb (G) and wNAF (variable base): (a*b)*G == a*(b*G).
    a = 0xA5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5
    b = 0x1234567
    assert p256.mul_base(a * b % n) == p256.mul(a, p256.public_key(b))


def test_point_addition_special_cases():
    # The Python-int point formulas (smets.gbcs.p256_int); the limbs run the same formulas
    # and meet these cases in test_comb_evaluation_collisions and test_field_backends_agree.
    from smets.gbcs import p256_int

    g = (p256.GX, p256.GY)
    g2 = _affine_add_ref(g, g)
    # Jacobian + affine: equal points double, opposite points cancel, infinity is neutral.
    assert p256_int._affine(*p256_int._madd(p256.GX, p256.GY, 1, p256.GX, p256.GY)) == g2
    assert p256_int._madd(p256.GX, p256.GY, 1, p256.GX, p256.P - p256.GY)[2] == 0
    assert p256_int._madd(0, 1, 0, p256.GX, p256.GY) == (p256.GX, p256.GY, 1)
    assert p256_int._dbl(5, 6, 0)[2] == 0
    # The same with a non-trivial Z: 2G in Jacobian form (Z != 1) plus affine 2G.
    X, Y, Z = p256_int._dbl(p256.GX, p256.GY, 1)
    assert p256_int._affine(*p256_int._madd(X, Y, Z, g2[0], g2[1])) == _affine_add_ref(g2, g2)
    assert p256_int._madd(X, Y, Z, g2[0], p256.P - g2[1])[2] == 0


def test_comb_evaluation_collisions():
    # Two comb terms adding the same table entries hit the doubling branch at every column;
    # k and n - k reach infinity through the last addition (opposite points).
    t = p256.Table(_2G, 4)
    k = int.from_bytes(hashlib.sha256(b"collide").digest(), "big") % p256.N
    assert p256._sum_affine([t._job(k), t._job(k)]) == t.mul(2 * k)
    assert p256._sum_affine([t._job(k), t._job(p256.N - k)]) is None
    assert p256._sum_affine([t._job(3), t._job(p256.N - 1)]) == t.mul(2)


def _backends():
    """The field arithmetics this runtime has: "int" everywhere; on MicroPython the viper
    limbs of both word sizes (the 13-bit ones, an ESP32's, are exact on 64 bits too)."""
    names = ["int"]
    try:
        import micropython  # noqa: F401

        names += ["w26", "w13"]
    except ImportError:
        pass
    return names


def test_field_backends_agree():
    # Every backend against Python ints: keys, ECDH (cold and with a table), comb tables of
    # several widths (serialised bytes too), signatures, verification, edge scalars. Compared
    # one scalar at a time (a small heap holds one set of results, not all of them).
    default = p256.backend()
    n = p256.N
    scalars = [1, 2, 3, n - 1, n - 2, (n + 1) // 2, 1 << 255]
    for i in range(6):
        scalars.append(int.from_bytes(hashlib.sha256(b"agree %d" % i).digest(), "big") % n)
    peer = p256.public_key(0xC0FFEE)
    names = _backends()
    try:
        tables = {}
        for name in names:
            p256.backend(name)
            tables[name] = (p256.Table(_G, 4), p256.Table(peer, 3))
            got = [tables[name][0].to_bytes(), tables[name][1].to_bytes(), p256._inv_n(12345),
                   p256.Table.from_bytes(tables[name][1].to_bytes()).mul(5)]
            if name == "int":
                want = got
            assert got == want, name
        for k in scalars:
            digest = hashlib.sha256(b"%d" % k).digest()
            for name in names:
                p256.backend(name)
                gt, qt = tables[name]
                pub = p256.public_key(k)
                sig = p256.sign(k, digest)
                bad = bytearray(sig)
                bad[5] ^= 1
                got = [pub, p256.mul(k, peer), qt.mul(k), gt.mul(k), sig,
                       p256.verify(pub, digest, sig), p256.verify(qt, digest, sig),
                       p256.verify(pub, digest, bytes(bad))]
                if name == "int":
                    want = got
                assert got == want, (name, k)
    finally:
        p256.backend(default)


def test_tables_convert_between_backends():
    default = p256.backend()
    try:
        p256.backend(_backends()[-1])
        t = p256.Table(_2G, 3)
        k = 0xDEADBEEF
        want = t.mul(k)
        p256.backend("int")
        assert t.mul(k) == want
        p256.backend(_backends()[-1])
        assert t.mul(k) == want
    finally:
        p256.backend(default)
    assert _raises(p256.P256Error, p256.backend, "w7")


def test_random_scalar_matches_affine_reference():
    k = int.from_bytes(hashlib.sha256(b"reference scalar").digest(), "big") % p256.N
    assert p256.mul_base(k) == _mul_ref(k, (p256.GX, p256.GY))


def test_ecdh_cavs_vector():
    d = 0x7D7DC5F71EB29DDAF80D6214632EEAE03D9058AF1FB6D22ED80BADB62BC1A534
    peer = h(
        "700c48f77f56584c5cc632ca65640db91b6bacce3a4df6b42ce7cc838833d287"
        "db71e509e3fd9b060ddb20ba5c51dcc5948d46fbf640dfe0441782cab85fa4ac"
    )
    assert p256.public_key(d) == h(
        "ead218590119e8876b29146ff89ca61770c4edbbf97d38ce385ed281d8a6b230"
        "28af61281fd35e2fa7002523acc85a429cb06ee6648325389f59edfce1405141"
    )
    z = h("46fc62106420ff012e54a434fbdd2d25ccc5852060561e68040dd7778997bd7b")
    assert p256.ecdh(d, peer) == z
    assert p256.ecdh(d, b"\x04" + peer) == z
    assert p256.ecdh(d, p256.Table(peer, 4)) == z


def test_ecdh_symmetric():
    a = int.from_bytes(hashlib.sha256(b"alice").digest(), "big")
    b = int.from_bytes(hashlib.sha256(b"bob").digest(), "big")
    assert p256.ecdh(a, p256.public_key(b)) == p256.ecdh(b, p256.public_key(a))


_RFC6979_X = 0xC9AFA9D845BA75166B5C215767B1D6934E50C3DB36E89B127B8A622B120F6721
_RFC6979_PUB = h(
    "60fed4ba255a9d31c961eb74c6356d68c049b8923b61fa6ce669622e60f29fb6"
    "7903fe1008b8bc99a41ae9e95628bc64f2f1b20c2d7e9f5177a3c294d4462299"
)


def test_rfc6979_p256_sha256():
    assert p256.public_key(_RFC6979_X) == _RFC6979_PUB
    cases = (
        (
            b"sample",
            0xA6E3C57DD01ABE90086538398355DD4C3B17AA873382B0F24D6129493D8AAD60,
            (
                "efd48b2aacb6a8fd1140dd9cd45e81d69d2c877b56aaf991c34d0ea84eaf3716"
                "f7cb1c942d657c41d436c7a1b6e29f65f3e900dbb9aff4064dc4ab2f843acda8"
            ),
        ),
        (
            b"test",
            0xD16B6AE827F17175E040871A1C7EC3500192C4C92677336EC2537ACAEE0008E0,
            (
                "f1abb023518351cd71d881567b1ea663ed3efcf6c5132b354f28d3b0b7d38367"
                "019f4113742a2b14bd25926b49c649155f267e60d3814b4c0cc84250e46f0083"
            ),
        ),
    )
    for msg, k, sig in cases:
        digest = hashlib.sha256(msg).digest()
        assert next(p256.rfc6979_nonces(_RFC6979_X, digest)) == k
        assert p256.sign(_RFC6979_X, digest) == h(sig)
        assert p256.sign_with_nonce(_RFC6979_X, digest, k) == h(sig)
        assert p256.verify(_RFC6979_PUB, digest, h(sig))
        assert p256.verify(p256.Table(_RFC6979_PUB), digest, h(sig))


def test_sign_verify_round_trip():
    table_g = p256.generator_table()
    for i in range(4):
        d = int.from_bytes(hashlib.sha256(b"key %d" % i).digest(), "big") % p256.N
        pub = p256.public_key(d)
        qt = p256.Table(pub, 2 + i)
        for j in range(3):
            digest = hashlib.sha256(b"msg %d %d" % (i, j)).digest()
            sig = p256.sign(d, digest)
            assert len(sig) == 64
            assert p256.sign(d, digest) == sig  # deterministic
            assert p256.verify(pub, digest, sig)
            assert p256.verify(qt, digest, sig)
    assert p256.generator_table() is table_g


def test_verify_edge_private_keys():
    digest = hashlib.sha256(b"edge").digest()
    for d in (1, 2, p256.N - 1):
        pub = p256.public_key(d)
        sig = p256.sign(d, digest)
        assert p256.verify(pub, digest, sig)
        assert p256.verify(p256.Table(pub, 4), digest, sig)
    # A digest of 0 and of n (== 0 mod n): u1 = 0, only the key term remains.
    for digest in (bytes(32), p256.N.to_bytes(32, "big")):
        sig = p256.sign(7, digest)
        assert p256.verify(p256.public_key(7), digest, sig)


def test_verify_rejects_tampering():
    d = 0x51C0FFEE
    pub = p256.public_key(d)
    qt = p256.Table(pub)
    digest = hashlib.sha256(b"critical command").digest()
    sig = p256.sign(d, digest)
    n = p256.N
    r = int.from_bytes(sig[:32], "big")
    s = int.from_bytes(sig[32:], "big")
    bad_sigs = [
        sig[:-1],
        sig + b"\x00",
        bytes(64),
        (0).to_bytes(32, "big") + sig[32:],
        sig[:32] + (0).to_bytes(32, "big"),
        n.to_bytes(32, "big") + sig[32:],
        sig[:32] + n.to_bytes(32, "big"),
        (r + n).to_bytes(32, "big") + sig[32:] if r + n < 1 << 256 else bytes(64),
        sig[32:] + sig[:32],
    ]
    for i in (0, 31, 32, 63):
        b = bytearray(sig)
        b[i] ^= 0x04
        bad_sigs.append(bytes(b))
    for bad in bad_sigs:
        assert not p256.verify(pub, digest, bad)
        assert not p256.verify(qt, digest, bad)
    other = hashlib.sha256(b"critical commane").digest()
    assert not p256.verify(pub, other, sig)
    assert not p256.verify(p256.public_key(d + 1), digest, sig)
    assert not p256.verify(p256.Table(p256.public_key(d + 1), 3), digest, sig)
    assert p256.verify(pub, digest, sig)
    # ECDSA is malleable: (r, n - s) verifies too (GBCS does not ask for low s).
    assert p256.verify(pub, digest, sig[:32] + (n - s).to_bytes(32, "big"))


def test_invalid_points_rejected():
    gx = _G[:32]
    gy = _G[32:]
    pp = p256.P.to_bytes(32, "big")
    bad_points = [
        bytes(64),  # (0, 0): infinity has no encoding
        gx + bytes(32),
        gx + (int.from_bytes(gy, "big") ^ 1).to_bytes(32, "big"),
        pp + gy,  # x out of range
        gx + pp,
        _G[:63],
        _G + b"\x00",
        b"\x02" + _G,  # compressed prefix with 64 bytes
    ]
    for bad in bad_points:
        assert _raises(p256.P256Error, p256.decode_point, bad), bad
        assert _raises(p256.P256Error, p256.ecdh, 5, bad), bad
        assert _raises(p256.P256Error, p256.Table, bad), bad
        assert _raises(p256.P256Error, p256.verify, bad, bytes(32), b"\x01" * 64), bad
        assert _raises(p256.P256Error, p256.mul, 3, bad), bad
    assert _raises(p256.P256Error, p256.mul, 3, (1, 2))
    assert p256.decode_point(b"\x04" + _G) == (p256.GX, p256.GY)
    assert isinstance(p256.P256Error("x"), ValueError)


def test_table_serialisation_round_trip():
    pub = p256.public_key(0xC0FFEE)
    t = p256.Table(pub, 4)
    blob = t.to_bytes()
    assert t.nbytes == len(blob) == 8 + 64 + 15 * 64 + 8
    assert bytes(t.buffer) == blob
    t2 = p256.Table.from_bytes(blob)
    assert t2.teeth == 4 and t2.point == pub and t2.to_bytes() == blob
    k = 0x123456789ABCDEF0123456789ABCDEF0123456789ABCDEF
    assert t2.mul(k) == p256.mul(k, pub)
    # Loads from a bytearray / memoryview without copying.
    t3 = p256.Table.from_bytes(memoryview(bytearray(blob)))
    assert t3.mul(k) == t2.mul(k)
    # Damage is detected.
    for i in (0, 4, 10, 80, len(blob) - 9, len(blob) - 1):
        bad = bytearray(blob)
        bad[i] ^= 0x01
        assert _raises(p256.P256Error, p256.Table.from_bytes, bytes(bad)), i
    assert _raises(p256.P256Error, p256.Table.from_bytes, blob[:-1])
    assert _raises(p256.P256Error, p256.Table.from_bytes, b"")
    assert _raises(p256.P256Error, p256.Table, pub, 1)
    assert _raises(p256.P256Error, p256.Table, pub, 9)


def test_generator_table_install():
    old = p256.generator_table()
    gt = p256.Table.from_bytes(p256.Table(_G, 3).to_bytes())
    try:
        p256.set_generator_table(gt)
        assert p256.generator_table() is gt
        assert p256.public_key(2) == _2G
        digest = hashlib.sha256(b"g3").digest()
        assert p256.sign(_RFC6979_X, digest) == p256.sign_with_nonce(
            _RFC6979_X, digest, next(p256.rfc6979_nonces(_RFC6979_X, digest))
        )
        assert _raises(p256.P256Error, p256.set_generator_table, p256.Table(_2G, 3))
    finally:
        p256.set_generator_table(old)


def test_generate_private_key():
    seq = [b"\xff" * 32, bytes(32), (5).to_bytes(32, "big")]
    assert p256.generate_private_key(lambda n: seq.pop(0)) == 5
    d = p256.generate_private_key()
    assert 0 < d < p256.N


# --- GBCS level -----------------------------------------------------------------------------


def _command(counter=0x0000012345678901, other_info=b"\x00\x61", content=b"\xd9\x01\x02\x03"):
    return envelope.encode_general_signing(1, counter, _SUPPLIER, _ESME, other_info, content)


def test_message_mac_known_answer():
    aad = bytes(range(150))
    mac = crypto.message_mac(_Z, _SUPPLIER, kdf.MODE_COMMAND, 0x0000012345678901, _ESME, aad)
    assert mac == h("b01c32bf41a3c8fd7d6d3a5c")
    assert crypto.iv_for(_SUPPLIER) == _SUPPLIER + bytes(4)


def test_message_mac_round_trip_and_tamper():
    apdu = envelope.with_signature(_command())
    wire = crypto.add_mac(_Z, apdu)
    msg = envelope.decode(wire)
    assert msg.mac is not None
    assert crypto.verify_message_mac(msg, _Z)
    assert not crypto.verify_message_mac(msg, bytes(32))
    for i in (8, 20, len(wire) - 13, len(wire) - 1):
        bad = bytearray(wire)
        bad[i] ^= 0x01
        try:
            m = envelope.decode(bytes(bad))
        except envelope.GBCSFormatError:
            continue
        assert not crypto.verify_message_mac(m, _Z), i
    # Another counter (replay under a new transaction ID) changes the MAC.
    other = envelope.decode(crypto.add_mac(_Z, envelope.with_signature(_command(counter=7))))
    assert other.mac != msg.mac
    # A bare General Signing message has no MAC.
    assert not crypto.verify_message_mac(envelope.decode(apdu), _Z)


def test_message_signature_round_trip():
    d = 0xBEEF
    pub = p256.public_key(d)
    gs = _command()
    sig = crypto.sign_apdu(d, gs)
    assert sig == crypto.sign_digest(d, hashlib.sha256(gs[1:]).digest())
    wire = crypto.add_mac(_Z, envelope.with_signature(gs, sig))
    msg = envelope.decode(wire)
    assert msg.signature == sig
    assert crypto.verify_message_signature(msg, pub)
    assert crypto.verify_message_signature(msg, p256.Table(pub, 4))
    assert crypto.verify_message_mac(msg, _Z)
    assert not crypto.verify_message_signature(msg, p256.public_key(d + 1))
    forged = envelope.decode(
        crypto.add_mac(_Z, envelope.with_signature(_command(content=b"\xd9\x01\x02\x04"), sig))
    )
    assert not crypto.verify_message_signature(forged, pub)
    assert not crypto.verify_message_signature(envelope.decode(envelope.with_signature(gs)), pub)
    assert _raises(ValueError, crypto.sign_apdu, d, b"\xdd" + gs[1:])


def test_payload_encryption():
    pt = b"protected attribute value"
    ct = crypto.encrypt_payload(_Z, _ESME, 1000, _SUPPLIER, pt)
    assert ct == h("0c20ad10ea6abe81d068a59108d1a4b1369b2d2c6e62134d21417883ed0f894eeca7530cc3")
    assert crypto.decrypt_payload(_Z, _ESME, 1000, _SUPPLIER, ct) == pt
    assert _raises(gcm.GCMError, crypto.decrypt_payload, _Z, _ESME, 1001, _SUPPLIER, ct)
    assert _raises(gcm.GCMError, crypto.decrypt_payload, _Z, _ESME, 1000, _ESME, ct)
    wire = crypto.protect_payload(_Z, _ESME, 1000, _SUPPLIER, pt)
    assert wire == b"\x31\x00\x00\x00\x00" + ct
    assert crypto.unprotect_payload(_Z, _ESME, 1000, _SUPPLIER, wire) == pt
    assert _raises(gcm.GCMError, crypto.unprotect_payload, _Z, _ESME, 1000, _SUPPLIER, ct)


def test_payload_kdf_inputs():
    acb = h("90b3d51f30000002")
    supplier2 = h("90b3d51f30030000")

    def response(info):
        gs = envelope.encode_general_signing(2, 1000, _ESME, acb, info, b"\xda\x00")
        return envelope.decode(envelope.with_signature(gs))

    assert crypto.payload_kdf_inputs(response(b"\x00\x61")) == (_ESME, 1000, acb)
    info10 = b"\x00\x61" + supplier2
    assert crypto.payload_kdf_inputs(response(info10)) == (_ESME, 1000, supplier2)
    info18 = info10 + (5).to_bytes(8, "big")
    assert crypto.payload_kdf_inputs(response(info18)) == (_ESME, 1000, supplier2)
    info26 = info18 + (0x42).to_bytes(8, "big")
    assert crypto.payload_kdf_inputs(response(info26)) == (_ESME, 0x42, supplier2)
    info_cert = info18 + b"\x30\x82" + bytes(300)
    assert crypto.payload_kdf_inputs(response(info_cert)) == (_ESME, 1000, supplier2)


def test_zcache():
    d = 0xD0D0
    cache = crypto.ZCache(d, max_entries=2)
    peers = [p256.public_key(k) for k in (11, 12, 13)]
    z0 = cache.z(peers[0])
    assert z0 == p256.ecdh(d, peers[0]) and cache.misses == 1
    assert cache.z(peers[0]) == z0 and cache.misses == 1
    assert cache.z(p256.Table(peers[0], 3)) == z0 and cache.misses == 1
    assert cache.z(b"\x04" + peers[0]) == z0 and cache.misses == 1
    cache.z(peers[1])
    cache.z(peers[0])  # peers[0] is now the most recent
    cache.z(peers[2])  # evicts peers[1]
    assert len(cache) == 2 and cache.misses == 3
    assert [k for k, _ in cache.items()] == [peers[0], peers[2]]
    cache.z(peers[1])
    assert cache.misses == 4
    restored = crypto.ZCache(d)
    for k, z in cache.items():
        restored.put(k, z)
    assert restored.z(peers[1]) == p256.ecdh(d, peers[1]) and restored.misses == 0
    restored.forget(peers[1])
    assert len(restored) == 1
    assert _raises(p256.P256Error, cache.z, bytes(64))
    assert _raises(p256.P256Error, crypto.ZCache, 0)
