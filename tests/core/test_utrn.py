"""UTRN acceptance (smets.gbcs.utrn.accept, GBCS 14): check digit, the counter derived from the
UTRN Counter Cache, the MAC with the prepayment key, replays and the value limit, each with its
refusal (ZSE ResultType, GBCS event).

Runs on CPython and on the MicroPython unix port (tools/mptest.py)."""

import gbcs_fixtures as fx
from smets.gbcs import p256, utrn

SUP = fx.PARTY_EUIS["supplier"]
DEV = fx.DEVICE_EUI


def _z():
    return p256.ecdh(fx.KEYS["supplier_ka"], fx.pub("device_ka"))


def _refused(code, cache, z=None, max_pence=0, dev=DEV):
    try:
        utrn.accept(code, z if z is not None else _z(), SUP, dev, cache, max_pence)
    except utrn.UTRNError as exc:
        return exc.result, exc.event
    raise AssertionError("UTRN %s accepted" % code)


def test_accept_takes_an_authentic_utrn_and_grows_the_cache():
    z = _z()
    code = utrn.make(z, SUP, DEV, 7 << 32, 250)
    counter, pence, cache = utrn.accept(code, z, SUP, DEV, [])
    assert (counter, pence, cache) == (7 << 32, 250, [7 << 32])
    # Pounds, and a cache that keeps only the newest counters.
    full = [(n << 32) for n in range(1, 6)]
    code = utrn.make(z, SUP, DEV, 9 << 32, 12, pounds=True)
    assert utrn.accept(code, z, SUP, DEV, full) == (9 << 32, 1200, full[1:] + [9 << 32])


def test_accept_refuses_a_forgery_a_typo_and_another_meters_utrn():
    z = _z()
    code = utrn.make(z, SUP, DEV, 1 << 32, 500)
    typo = code[:5] + ("1" if code[5] != "1" else "2") + code[6:]
    assert _refused(typo, []) == (utrn.INVALID, utrn.EVENT_NOT_AUTHENTIC)
    assert _refused(code[:19] + str((int(code[19]) + 1) % 10), []) == (
        utrn.INVALID, utrn.EVENT_NOT_AUTHENTIC)
    assert _refused(code, [], dev=bytes(8)) == (utrn.INVALID, utrn.EVENT_NOT_AUTHENTIC)
    forged = utrn.make(p256.ecdh(fx.KEYS["acb_ka"], fx.pub("device_ka")), SUP, DEV, 1 << 32, 500)
    assert _refused(forged, []) == (utrn.INVALID, utrn.EVENT_NOT_AUTHENTIC)
    for junk in (b"\xff" * 20, b"1234", "x" * 20):
        assert _refused(junk, []) == (utrn.INVALID, utrn.EVENT_NOT_AUTHENTIC)


def test_accept_refuses_replays_and_takes_late_utrns_within_the_cache():
    z = _z()
    codes = [utrn.make(z, SUP, DEV, n << 32, 100) for n in range(1, 8)]
    cache = []
    for i in (0, 2, 4):
        cache = utrn.accept(codes[i], z, SUP, DEV, cache)[2]
    # The same UTRN again: a duplicate (8F51), not a forgery.
    assert _refused(codes[2], cache) == (utrn.DUPLICATE, utrn.EVENT_DUPLICATE)
    # One vended earlier but entered later (counter 2 after 3 and 5) is still good.
    cache = utrn.accept(codes[1], z, SUP, DEV, cache)[2]
    assert cache == [1 << 32, 2 << 32, 3 << 32, 5 << 32]
    cache = utrn.accept(codes[6], z, SUP, DEV, cache)[2]
    # The cache is full (5): a counter below its lowest may have been used and dropped.
    cache = utrn.accept(codes[5], z, SUP, DEV, cache)[2]
    assert cache == [2 << 32, 3 << 32, 5 << 32, 6 << 32, 7 << 32]
    assert _refused(codes[0], cache) == (utrn.DUPLICATE, utrn.EVENT_DUPLICATE)
    # The GSME's single last counter is a cache of one: strictly newer only.
    assert _refused(codes[4], [5 << 32], z) == (utrn.DUPLICATE, utrn.EVENT_DUPLICATE)


def test_accept_derives_counters_across_the_ten_bit_wrap():
    z = _z()
    # Cache up to 0x3FE: counter bits 1 stand for 0x401 (within 512 above), not 1.
    code = utrn.make(z, SUP, DEV, 0x401 << 32, 10)
    assert utrn.accept(code, z, SUP, DEV, [0x3FE << 32])[0] == 0x401 << 32
    # ... and bits 0x3FF after 0x401 for 0x3FF (a late one), not 0x7FF.
    code = utrn.make(z, SUP, DEV, 0x3FF << 32, 10)
    assert utrn.accept(code, z, SUP, DEV, [0x401 << 32])[0] == 0x3FF << 32
    assert utrn.counter_near(1000, 5 << 32) < 0  # below zero: refused by accept
    code = utrn.make(z, SUP, DEV, 1000 << 32, 10)
    assert _refused(code, [5 << 32]) == (utrn.INVALID, utrn.EVENT_NOT_AUTHENTIC)


def test_accept_caps_the_value_of_one_top_up():
    z = _z()
    code = utrn.make(z, SUP, DEV, 1 << 32, 50, pounds=True)
    assert _refused(code, [], max_pence=4999) == (utrn.TOO_LARGE, utrn.EVENT_TOO_LARGE)
    assert utrn.accept(code, z, SUP, DEV, [], 5000)[1] == 5000


def test_accept_without_a_key_checks_form_counter_and_replay():
    code = utrn.make(_z(), SUP, DEV, 3 << 32, 75)
    assert utrn.accept(code, None, SUP, DEV, []) == (3 << 32, 75, [3 << 32])
    try:
        utrn.accept(code, None, SUP, DEV, [3 << 32])
        raise AssertionError("a replay accepted")
    except utrn.UTRNError as exc:
        assert exc.result == utrn.DUPLICATE
