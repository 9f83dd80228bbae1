"""The Device Log (smets.devlog): joins, re-joins, a full log, persistence, a corrupt record."""

import gbcs_fixtures as fx
from smets import devlog
from smets.devices import joins
from smets.devlog import DeviceLog

A = bytes.fromhex("00db123456789093")
B = bytes.fromhex("00db123456789094")
KEY = bytes(range(64))


def test_join_query_and_unjoin():
    store = fx.scratch_store()
    try:
        log = DeviceLog(store)
        assert len(log) == 0 and log.joined(A) is None
        assert log.add(A, devlog.PPMID, devlog.METHOD_A_INITIATOR) == devlog.JOIN_SUCCESS
        assert log.add(B, devlog.TYPE2, devlog.METHOD_B) == devlog.JOIN_SUCCESS
        assert log.joined(A) == devlog.PPMID and log.joined(B) == devlog.TYPE2
        assert log.entries() == [(A, devlog.PPMID), (B, devlog.TYPE2)]
        assert log.entry(A) == (devlog.PPMID, devlog.METHOD_A_INITIATOR, 0, None)
        assert log.set_key(A, KEY) and log.entry(A)[2] & devlog.FLAG_KEY
        assert log.entry(A)[3] == KEY
        assert log.remove(A) and not log.remove(A)
        assert log.entries() == [(B, devlog.TYPE2)] and log.joined(A) is None
    finally:
        fx.cleanup(store)


def test_rejoin_same_type_refreshes_other_type_is_incompatible():
    store = fx.scratch_store()
    try:
        log = DeviceLog(store)
        assert log.add(A, devlog.HCALCS, devlog.METHOD_A_INITIATOR) == devlog.JOIN_SUCCESS
        assert log.add(A, devlog.HCALCS, devlog.METHOD_A_INITIATOR) == devlog.JOIN_SUCCESS
        assert len(log) == 1
        assert log.add(A, devlog.PPMID, devlog.METHOD_A_INITIATOR) == devlog.JOIN_INCOMPATIBLE
        # A Method B entry cannot be turned into a Method A/C one by joining again.
        assert log.add(A, devlog.HCALCS, devlog.METHOD_B) == devlog.JOIN_INCOMPATIBLE
    finally:
        fx.cleanup(store)


def test_full_log_and_survives_restart():
    store = fx.scratch_store()
    try:
        log = DeviceLog(store, size=3)
        for i in range(3):
            eui = bytes([0, 0xDB, 0, 0, 0, 0, 0, i])
            assert log.add(eui, devlog.TYPE2, devlog.METHOD_B) == devlog.JOIN_SUCCESS
        assert log.add(A, devlog.TYPE2, devlog.METHOD_B) == devlog.JOIN_LOG_FULL
        again = DeviceLog(store, size=3)
        assert again.entries() == log.entries()
        assert again.remove(bytes([0, 0xDB, 0, 0, 0, 0, 0, 1]))
        assert [e[0][7] for e in DeviceLog(store, size=3).entries()] == [0, 2]
    finally:
        fx.cleanup(store)


def test_corrupt_record_starts_empty_and_is_counted():
    store = fx.scratch_store()
    try:
        store.save_bytes("devlog", b"\x05garbage")
        log = DeviceLog(store)
        assert len(log) == 0 and store.errors == 1
        assert log.add(A, devlog.PPMID, devlog.METHOD_A_INITIATOR) == devlog.JOIN_SUCCESS
    finally:
        fx.cleanup(store)


def test_bad_entries_raise():
    store = fx.scratch_store()
    try:
        log = DeviceLog(store)
        for args in ((b"short", 1, 0), (A, 9, 0), (A, 1, 0, b"x" * 10)):
            try:
                log.add(*args)
            except ValueError:
                continue
            raise AssertionError("accepted %r" % (args,))
        for bad in ([["00db", 1, 0]], [["00db123456789093", 7, 0]], "x", [[1, 2, 3]]):
            try:
                joins.check_init(bad)
            except ValueError:
                continue
            raise AssertionError("accepted init %r" % (bad,))
        joins.check_init([["00db123456789093", 5, 0]])
    finally:
        fx.cleanup(store)
