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


def test_appends_write_one_slot_in_place():
    store = fx.scratch_store()
    try:
        log = Logbook(store, "ev", ">IH", 4)
        log.append(1, 1)  # first save: the whole log in slots, atomically
        writes = store.writes
        for i in range(2, 11):
            log.append(i, i)
        assert store.writes == writes  # no rewrite, no rename: one slot each
        assert len(store.load_bytes("ev")) == 4 * (6 + 8)
        assert Logbook(store, "ev", ">IH", 4).entries() == [(7, 7), (8, 8), (9, 9), (10, 10)]
        assert store.errors == 0
    finally:
        fx.cleanup(store)


def test_torn_slot_loses_only_the_entry_being_written():
    store = fx.scratch_store()
    try:
        log = Logbook(store, "ev", ">IH", 4)
        for i in range(1, 7):
            log.append(i, i)
        # A power cut in the middle of the 7th append: its slot (the oldest's) half written.
        data = bytearray(store.load_bytes("ev"))
        slot = log._next()
        data[slot * 14 + 3] ^= 0xFF
        store.save_bytes("ev", data)
        again = Logbook(store, "ev", ">IH", 4)
        assert again.entries() == [(4, 4), (5, 5), (6, 6)]
        again.append(7, 7)
        assert Logbook(store, "ev", ">IH", 4).entries() == [(4, 4), (5, 5), (6, 6), (7, 7)]
        # A damaged older entry cuts the run there, and is reported.
        data = bytearray(store.load_bytes("ev"))
        data[((again._next() + 1) % 4) * 14 + 6] ^= 0x01
        store.save_bytes("ev", data)
        third = Logbook(store, "ev", ">IH", 4)
        assert third.entries() == [(6, 6), (7, 7)] and store.errors == 1
    finally:
        fx.cleanup(store)


def test_old_layout_is_read_and_rewritten_in_slots():
    store = fx.scratch_store()
    try:
        bulk = Logbook(store, "ev", ">IH", 3, autosave=False)
        bulk.append(1, 1)
        bulk.append(2, 2)
        bulk.save()
        assert len(store.load_bytes("ev")) == 4 + 3 * 6
        log = Logbook(store, "ev", ">IH", 3)
        assert log.entries() == [(1, 1), (2, 2)]
        log.append(3, 3)
        assert len(store.load_bytes("ev")) == 3 * 14
        assert Logbook(store, "ev", ">IH", 3).entries() == [(1, 1), (2, 2), (3, 3)]
        log.clear()
        assert Logbook(store, "ev", ">IH", 3).entries() == []
    finally:
        fx.cleanup(store)
