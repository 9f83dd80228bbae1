"""Micro-benchmark of the firmware GBCS crypto; runs under MicroPython and CPython.

    micropython -X heapsize=256K tools/bench_crypto.py [--quick]
    python tools/bench_crypto.py [--quick]

Prints microseconds per operation (best of several rounds), table sizes and, on MicroPython,
the heap: live bytes (gc.mem_alloc after a collection) after the imports and once the tables,
ECDH cache and a test message exist, and the bytes each operation allocates
(micropython.mem_total(): the garbage the GC has to reclaim; with the GC disabled this would be
the operation's peak, but the cold paths allocate more than a small heap holds). The live
working set of every operation is only a few KB: a full MAC/verify/sign/cold-ECDH cycle with
both tables runs in a 72 KB heap when the modules are precompiled .mpy files.
The GBCS composites follow DESIGN.md "Budgets": a non-critical command costs a MAC check and a
response MAC (ECDH secrets cached), a critical one adds the originator's signature check and a
device signature on the response.
"""

import gc
import hashlib
import sys

from microbench import MICROPYTHON, QUICK, best_us, use_firmware
from microbench import ticks_diff as _diff
from microbench import ticks_us as _ticks

use_firmware("tools/bench_crypto.py")

from smets.gbcs import crypto, envelope, gcm, kdf, p256  # noqa: E402 (path set above)

JSON = "--json" in sys.argv  # one more line: "JSON {...}" for `smetsbench bench`
ROWS = []


def _alloc(fn):
    """Bytes allocated by one call (MicroPython memory statistics): the GC churn it causes."""
    try:
        import micropython

        before = micropython.mem_total()
    except (ImportError, AttributeError):
        return None
    fn()
    return micropython.mem_total() - before


def bench(name, fn, n=10, rounds=5, note=""):
    if QUICK:
        n = max(1, n // 5)
        rounds = 2
    fn()  # warm up (lazy tables)
    us = best_us(fn, n, rounds)
    ROWS.append((name, us, _alloc(fn), note))
    return us


def main():
    impl = "%s %s" % (
        sys.implementation.name,
        ".".join(str(v) for v in sys.implementation.version),
    )
    print("GBCS crypto benchmark on %s (%s)" % (impl, sys.platform))
    gc.collect()
    heap0 = gc.mem_alloc() if MICROPYTHON else None

    supplier = bytes.fromhex("90b3d51f30010000")
    esme = bytes.fromhex("00db1234567890a0")
    device_ka = int.from_bytes(hashlib.sha256(b"device ka").digest(), "big") % p256.N
    device_ds = int.from_bytes(hashlib.sha256(b"device ds").digest(), "big") % p256.N
    acb_ka = int.from_bytes(hashlib.sha256(b"acb ka").digest(), "big") % p256.N
    supplier_ds = int.from_bytes(hashlib.sha256(b"supplier ds").digest(), "big") % p256.N

    # Table sizes and build times first, while the heap is not fragmented yet.
    sizes = []
    if not QUICK:
        for teeth in (4, 5, 6, 7, 8):
            gc.collect()
            t0 = _ticks()
            try:
                t = p256.Table(p256.G_BYTES, teeth)
                sizes.append("%d: %d B %d us" % (teeth, t.nbytes, _diff(_ticks(), t0)))
            except MemoryError:
                sizes.append("%d: no contiguous heap block" % teeth)
            t = None
    gc.collect()
    t0 = _ticks()
    gtab = p256.Table(p256.G_BYTES, p256.GENERATOR_TEETH)
    build_g = _diff(_ticks(), t0)
    p256.set_generator_table(gtab)
    acb_pub = p256.public_key(acb_ka)
    supplier_pub = p256.public_key(supplier_ds)
    t0 = _ticks()
    qtab = p256.Table(supplier_pub, p256.KEY_TEETH)
    build_q = _diff(_ticks(), t0)
    t0 = _ticks()
    p256.Table.from_bytes(qtab.to_bytes())
    load_q = _diff(_ticks(), t0)

    zcache = crypto.ZCache(device_ka)
    z = zcache.z(acb_pub)

    # A 150-byte command: MAC AAD of ~150 bytes.
    content = bytes(range(100))
    gs = envelope.encode_general_signing(
        1, 0x0000012345678901, supplier, esme, b"\x00\x61", content
    )
    signed = envelope.with_signature(gs, p256.sign(supplier_ds, hashlib.sha256(gs[1:]).digest()))
    wire = crypto.add_mac(z, signed)
    msg = envelope.decode(wire)
    aad = msg.mac_aad
    gcm_key = kdf.derive_key(z, supplier, 1, 1, esme)
    iv = supplier + bytes(4)
    digest = hashlib.sha256(msg.signed_bytes).digest()
    response_gs = envelope.encode_general_signing(
        2, 0x0000012345678901, esme, supplier, b"\x00\x61", bytes(60)
    )

    bench("KDF (SHA-256, 69 bytes)", lambda: kdf.derive_key(z, supplier, 1, 7, esme), 200)
    bench("GMAC, %d-byte AAD (new key)" % len(aad), lambda: gcm.gmac(gcm_key, iv, aad), 50)
    bench("GMAC, 32-byte AAD (new key)", lambda: gcm.gmac(gcm_key, iv, aad[:32]), 100)
    bench(
        "GCM encrypt 64 B payload",
        lambda: crypto.encrypt_payload(z, esme, 5, supplier, content[:64]),
        50,
    )
    bench("AES-GCM encrypt 64 B (new key)", lambda: gcm.gcm_encrypt(gcm_key, iv, content[:64],
                                                                    b"\x31"), 50)
    bench("message MAC check (KDF+GMAC)", lambda: crypto.verify_message_mac(msg, z), 50)
    bench("ZCache hit", lambda: zcache.z(acb_pub), 200)
    bench("ECDH cold (wNAF w=5)", lambda: p256.ecdh(device_ka, acb_pub), 2)
    bench("ECDH with peer table", lambda: p256.ecdh(device_ka, qtab), 3)
    bench("public key (comb G)", lambda: p256.public_key(device_ds), 5)
    bench("ECDSA sign (RFC 6979)", lambda: p256.sign(device_ds, digest), 5)
    bench("verify, G + Q tables", lambda: p256.verify(qtab, digest, msg.signature), 5)
    bench("verify, G table, cold Q", lambda: p256.verify(supplier_pub, digest, msg.signature), 3)

    def non_critical():
        assert crypto.verify_message_mac(msg, zcache.z(acb_pub))
        crypto.add_mac(zcache.z(supplier_pub), envelope.with_signature(response_gs))

    def critical():
        assert crypto.verify_message_mac(msg, zcache.z(acb_pub))
        assert crypto.verify_message_signature(msg, qtab)
        envelope.with_signature(response_gs, crypto.sign_apdu(device_ds, response_gs))

    zcache.z(supplier_pub)
    nc = bench("= non-critical command", non_critical, 20, note="target <= 2000")
    cr = bench("= critical command", critical, 5, note="target <= 15000")

    gc.collect()
    heap1 = gc.mem_alloc() if MICROPYTHON else None

    print()
    print("%-34s %10s %12s  %s" % ("operation", "us/op", "alloc B/op", ""))
    print("-" * 72)
    for name, us, alloc, note in ROWS:
        print("%-34s %10.1f %12s  %s" % (name, us, "-" if alloc is None else str(alloc), note))
    print("-" * 72)
    print("G table:  teeth %d, %d bytes, built in %d us" % (gtab.teeth, gtab.nbytes, build_g))
    print(
        "Q table:  teeth %d, %d bytes, built in %d us, loaded (from_bytes) in %d us"
        % (qtab.teeth, qtab.nbytes, build_q, load_q)
    )
    if sizes:
        print("tables by teeth (size, build):  " + ", ".join(sizes))
    if JSON:
        import json

        print("JSON " + json.dumps({
            "implementation": impl, "p256": p256.backend(), "ghash": gcm.backend(),
            "ops": {name: [us, alloc] for name, us, alloc, _ in ROWS},
        }))
    if MICROPYTHON:
        print(
            "heap: %d B after imports, %d B with G+Q tables, ZCache and test message"
            % (heap0, heap1)
        )
    print(
        "budgets: non-critical %.0f us (target 2000) %s, critical %.0f us (target 15000) %s"
        % (nc, "OK" if nc <= 2000 else "OVER", cr, "OK" if cr <= 15000 else "OVER")
    )


main()
