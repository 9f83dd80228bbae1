"""Store: atomic JSON records that survive power cuts and corruption."""

import os

from smets.store import Store


def _scratch():
    base = os.getenv("TMPDIR") or "/tmp"
    path = base + "/smets-store-" + "".join("%02x" % b for b in os.urandom(6))
    return path


def _cleanup(store):
    store.wipe()
    try:
        os.rmdir(store.root)
    except OSError:
        pass


def test_save_load_round_trip():
    s = Store(_scratch())
    try:
        assert s.load("counters", {"x": 1}) == {"x": 1}
        s.save("counters", {"acb": 5, "big": 2**70})
        assert Store(s.root).load("counters") == {"acb": 5, "big": 2**70}
        assert s.names() == ["counters"]
    finally:
        _cleanup(s)


def test_power_cut_after_tmp_written_recovers_tmp():
    s = Store(_scratch())
    try:
        with open(s.path("keys") + ".tmp", "w") as f:
            f.write('{"k": 7}')
        s2 = Store(s.root)
        assert s2.load("keys") == {"k": 7}
        assert s2.names() == ["keys"]
    finally:
        _cleanup(s)


def test_corrupt_record_is_moved_aside_and_counted():
    s = Store(_scratch())
    try:
        s.save("log", [1, 2, 3])
        with open(s.path("log"), "w") as f:
            f.write('[1, 2, ')
        assert s.load("log", "default") == "default"
        assert s.errors == 1
        assert "corrupt" in s.last_error
        os.stat(s.path("log") + ".bad")
        s.save("log", [4])
        assert s.load("log") == [4]
    finally:
        _cleanup(s)


def test_half_written_tmp_does_not_replace_good_record():
    s = Store(_scratch())
    try:
        s.save("regs", {"a": 1})
        with open(s.path("regs") + ".tmp", "w") as f:
            f.write('{"a": ')
        assert s.load("regs") == {"a": 1}
    finally:
        _cleanup(s)


def test_bad_names_rejected():
    s = Store(_scratch())
    try:
        for bad in ("", "../x", ".hidden", "a/b"):
            try:
                s.save(bad, 1)
            except ValueError:
                pass
            else:
                assert False, bad
    finally:
        _cleanup(s)


def test_move_renames_a_record_over_another():
    s = Store(_scratch())
    try:
        assert not s.move("security", "kept-security")
        s.save("security", {"counters": {"a": 1}})
        s.save_bytes("kept-security", b"old")
        assert s.has("security")
        assert s.move("security", "kept-security")
        assert not s.has("security")
        assert s.load("kept-security") == {"counters": {"a": 1}}
        assert s.names() == ["kept-security"]
    finally:
        _cleanup(s)
