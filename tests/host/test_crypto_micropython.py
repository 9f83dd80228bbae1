"""The firmware's viper crypto on the MicroPython unix port against `cryptography` (OpenSSL).

tests/host/test_crypto_rtds.py runs the firmware crypto under CPython (Python ints); here the
same firmware runs on the unix port with each limb module (p256_w26, the unix port's own, and
p256_w13, an ESP32's) and the viper GHASH, on random keys, digests and messages made and
checked by `cryptography`. Also: the generated limb modules are what their generator writes,
and its column bounds fit the machine words they are for.
"""

import hashlib
import json
import random
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    Prehashed,
    decode_dss_signature,
    encode_dss_signature,
)
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from smetsbench.boards.virtual import find_micropython

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))

import gen_p256_limbs  # noqa: E402

_SCRIPT = r"""
import sys, json
sys.path.insert(0, %r)
from smets.gbcs import p256, gcm
cases = json.loads(sys.stdin.read())
out = {}
for name in ("w26", "w13"):
    p256.backend(name)
    gcm.backend("viper")
    rows = []
    for c in cases:
        d = int(c["d"], 16)
        peer = bytes.fromhex(c["peer"])
        digest = bytes.fromhex(c["digest"])
        table = p256.Table(peer, 4)
        g = gcm.GCM(bytes.fromhex(c["key"]))
        iv = bytes.fromhex(c["iv"])
        rows.append({
            "pub": p256.public_key(d).hex(),
            "z": p256.ecdh(d, peer).hex(),
            "z_table": p256.ecdh(d, table).hex(),
            "sig": p256.sign(d, digest).hex(),
            "verify": p256.verify(peer, digest, bytes.fromhex(c["peer_sig"])),
            "verify_table": p256.verify(table, digest, bytes.fromhex(c["peer_sig"])),
            "verify_bad": p256.verify(peer, digest, bytes.fromhex(c["bad_sig"])),
            "gcm": g.encrypt(iv, bytes.fromhex(c["pt"]), bytes.fromhex(c["aad"]), 12).hex(),
            "backends": [p256.backend(), gcm.backend()],
        })
    out[name] = rows
print(json.dumps(out))
"""


def _point(pub):
    return pub.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)[1:]


def _sig_bytes(der):
    r, s = decode_dss_signature(der)
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


@pytest.mark.skipif(find_micropython() is None, reason="MicroPython unix port not installed")
def test_viper_crypto_matches_cryptography():
    rng = random.Random(1313)
    cases = []
    for i in range(12):
        d = rng.randrange(1, 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551)
        if i == 0:
            d = 1
        peer = ec.derive_private_key(rng.randrange(1, 1 << 255), ec.SECP256R1())
        digest = hashlib.sha256(b"case %d" % i).digest()
        peer_sig = _sig_bytes(peer.sign(digest, ec.ECDSA(Prehashed(hashes.SHA256()))))
        bad = bytearray(peer_sig)
        bad[rng.randrange(64)] ^= 1 << rng.randrange(8)
        n = rng.randrange(0, 60)
        cases.append({
            "d": "%x" % d, "peer": _point(peer.public_key()).hex(), "digest": digest.hex(),
            "peer_sig": peer_sig.hex(), "bad_sig": bytes(bad).hex(),
            "key": rng.randbytes(16).hex(), "iv": rng.randbytes(12).hex(),
            "pt": rng.randbytes(n).hex(), "aad": rng.randbytes(rng.randrange(0, 230)).hex(),
            "_d": d, "_peer": peer,
        })
    wire = json.dumps([{k: v for k, v in c.items() if not k.startswith("_")} for c in cases])
    proc = subprocess.run(
        [find_micropython(), "-X", "heapsize=2M", "-c", _SCRIPT % str(ROOT / "firmware")],
        input=wire, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout)
    for name, rows in out.items():
        for c, row in zip(cases, rows):
            assert row["backends"] == [name, "viper"]
            key = ec.derive_private_key(c["_d"], ec.SECP256R1())
            assert row["pub"] == _point(key.public_key()).hex(), name
            z = key.exchange(ec.ECDH(), c["_peer"].public_key())
            assert row["z"] == row["z_table"] == z.hex(), name
            sig = bytes.fromhex(row["sig"])
            key.public_key().verify(
                encode_dss_signature(int.from_bytes(sig[:32], "big"),
                                     int.from_bytes(sig[32:], "big")),
                bytes.fromhex(c["digest"]), ec.ECDSA(Prehashed(hashes.SHA256())))
            assert row["verify"] is True and row["verify_table"] is True, name
            assert row["verify_bad"] is False, name
            ct = AESGCM(bytes.fromhex(c["key"])).encrypt(
                bytes.fromhex(c["iv"]), bytes.fromhex(c["pt"]), bytes.fromhex(c["aad"]))
            assert row["gcm"] == ct[: len(c["pt"]) // 2 + 12].hex(), name


def test_generated_limb_modules_are_current():
    assert gen_p256_limbs.main(["--check"]) == 0


def test_limb_columns_fit_the_machine_words():
    for w, n, bits, _unrolled in gen_p256_limbs.VARIANTS:
        bound = gen_p256_limbs.column_bound(w, n)
        assert bound < 1 << (bits - 1), (w, n, bound.bit_length())
        assert w * n == 260  # the same Montgomery radix: tables are the same bytes
    # The 13-bit module is the one for 32-bit words, with room to spare.
    assert gen_p256_limbs.column_bound(13, 20) < 0.7 * (1 << 31)
