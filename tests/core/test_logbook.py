"""Logbook: bounded binary logs that overwrite the oldest entry and survive restarts."""

import gbcs_fixtures as fx
from smets.logbook import Logbook


def test_appends_wrap_and_keep_order():
    store = fx.scratch_store()
    try:
        log = Logbook(store, "ev", ">IH", 3)
        assert len(log) == 0 and log.entries() == []
        for i in range(5):
            log.append(1000 + i, i)
        assert len(log) == 3
        assert log.entries() == [(1002, 2), (1003, 3), (1004, 4)]
        assert log.entry(-1) == (1004, 4) and log.entry(0) == (1002, 2)
        assert log.entries(1, 1) == [(1003, 3)]
        again = Logbook(store, "ev", ">IH", 3)
        assert again.entries() == log.entries()
        again.append(2000, 9)
        assert Logbook(store, "ev", ">IH", 3).entry(-1) == (2000, 9)
    finally:
        fx.cleanup(store)


def test_wrong_sized_file_starts_empty_and_is_reported():
    store = fx.scratch_store()
    try:
        store.save_bytes("ev", b"\x00\x05garbage")
        log = Logbook(store, "ev", ">IH", 3)
        assert len(log) == 0 and store.errors == 1 and "ev" in store.last_error
        try:
            log.entry(0)
        except IndexError:
            pass
        else:
            assert False
    finally:
        fx.cleanup(store)
