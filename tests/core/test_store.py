"""Store: atomic JSON records that survive power cuts and corruption."""

import os

from smets.store import CounterLog, Store


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


_A = b"\x01" + bytes.fromhex("90b3d51f30010000")
_B = b"\x02" + bytes(8)


def test_counter_log_appends_and_reloads():
    s = Store(_scratch())
    try:
        log = CounterLog(s, "ctr", capacity=10)
        assert log.get(_A) is None and log.get(_A, -1) == -1
        log.put(_A, 5)
        log.put(_B, 2000)
        log.put(_A, 2**64 - 1)
        assert os.stat(s.path("ctr"))[6] == 3 * CounterLog.ENTRY  # appended, not rewritten
        again = CounterLog(s, "ctr", capacity=10)
        assert again.values == {_A: 2**64 - 1, _B: 2000} and s.errors == 0
        for bad in ((b"\x01", 1), (_A, -1), (_A, 2**64)):
            try:
                log.put(*bad)
                raise AssertionError(bad)
            except ValueError:
                pass
    finally:
        _cleanup(s)


def test_counter_log_compacts_when_full():
    s = Store(_scratch())
    try:
        log = CounterLog(s, "ctr", capacity=4)
        for i in range(1, 10):
            log.put(_A, i)
            log.put(_B, 100 + i)
        assert os.stat(s.path("ctr"))[6] <= 4 * CounterLog.ENTRY
        assert CounterLog(s, "ctr").values == {_A: 9, _B: 109}
        log.replace({_A: 3})  # a lowered counter (new trust anchor): rewritten at once
        assert CounterLog(s, "ctr").values == {_A: 3}
    finally:
        _cleanup(s)


def test_counter_log_ignores_a_torn_append_and_damage():
    s = Store(_scratch())
    try:
        log = CounterLog(s, "ctr")
        log.put(_A, 7)
        log.put(_B, 2001)
        log.put(_A, 8)
        with open(s.path("ctr"), "ab") as f:
            f.write(CounterLog._entry(_A, 9)[:11])  # power cut in the middle of an append
        again = CounterLog(s, "ctr")
        assert again.values == {_A: 8, _B: 2001}
        assert s.errors == 1 and "torn" in s.last_error
        # Compacted at load: the next append follows whole entries.
        again.put(_A, 10)
        assert CounterLog(s, "ctr").values == {_A: 10, _B: 2001} and s.errors == 1
        # A damaged entry is skipped; the later ones still count.
        with open(s.path("ctr"), "rb") as f:
            data = bytearray(f.read())
        data[3] ^= 0x40
        with open(s.path("ctr"), "wb") as f:
            f.write(data)
        assert CounterLog(s, "ctr").values[_A] == 10 and s.errors == 2
    finally:
        _cleanup(s)


def test_counter_log_resynchronises_after_a_torn_entry_in_the_middle():
    s = Store(_scratch())
    try:
        log = CounterLog(s, "ctr")
        log.put(_A, 7)
        # A write that failed part way, and the device appending on after it (no restart):
        # the later entries sit 11 bytes out of step.
        with open(s.path("ctr"), "ab") as f:
            f.write(CounterLog._entry(_A, 8)[:11])
        log.put(_B, 2001)
        log.put(_A, 9)
        again = CounterLog(s, "ctr")
        assert again.values == {_A: 9, _B: 2001}, again.values
        assert s.errors == 1 and "11 bytes of damaged" in s.last_error
        # Rewritten whole entries at load: the file is in step again.
        assert os.stat(s.path("ctr"))[6] == 2 * CounterLog.ENTRY
        assert CounterLog(s, "ctr").values == {_A: 9, _B: 2001} and s.errors == 1
    finally:
        _cleanup(s)


class _FailingLog(CounterLog):
    fail = False

    def append(self, entry):
        if not self.fail:
            return CounterLog.append(self, entry)
        with open(self.store.path(self.name), "ab") as f:
            f.write(entry[:5])  # part of the entry made it to flash
        raise OSError(28)


def test_counter_log_rewrites_itself_when_an_append_fails():
    s = Store(_scratch())
    try:
        log = _FailingLog(s, "ctr")
        log.put(_A, 7)
        log.fail = True
        log.put(_B, 2001)  # the append fails: the log is rewritten with it
        log.fail = False
        log.put(_A, 8)
        assert os.stat(s.path("ctr"))[6] % CounterLog.ENTRY == 0
        assert CounterLog(s, "ctr").values == {_A: 8, _B: 2001}
    finally:
        _cleanup(s)


def test_counter_log_reads_the_old_json_record():
    s = Store(_scratch())
    try:
        s.save("security", {"counters": {"90b3d51f30010000": 77}, "alert_counter": 2005})
        log = CounterLog(s, "security")
        assert log.legacy == {"counters": {"90b3d51f30010000": 77}, "alert_counter": 2005}
        log.replace({_A: 77, _B: 2005})
        assert CounterLog(s, "security").values == {_A: 77, _B: 2005}
    finally:
        _cleanup(s)


def test_save_often_writes_in_place_and_survives_a_torn_write():
    s = Store(_scratch())
    try:
        s.save_often("st", {"a": 1})  # first save: the two-slot file, atomically
        writes = s.writes
        for i in range(2, 6):
            s.save_often("st", {"a": i})
        assert s.writes == writes + 4 and Store(s.root).load("st") == {"a": 5}
        size = os.stat(s.path("st"))[6]
        # A power cut in the middle of the next write: the slot it was writing is spoiled,
        # the other one still holds the last value.
        s.save_often("st", {"a": 6})
        with open(s.path("st"), "rb") as f:
            data = bytearray(f.read())
        o = 8 + (s._ab[s.path("st")][0] & 1) * ((size - 8) // 2)
        data[o + 10] ^= 0xFF
        with open(s.path("st"), "wb") as f:
            f.write(data)
        again = Store(s.root)
        assert again.load("st") == {"a": 5} and again.errors == 0
        again.save_often("st", {"a": 7})  # overwrites the spoiled slot
        assert Store(s.root).load("st") == {"a": 7}
        # A value that outgrows its slot rewrites the file; plain JSON records still load.
        again.save_often("st", {"a": "x" * 600})
        assert Store(s.root).load("st") == {"a": "x" * 600}
        s.save("plain", [1])
        assert Store(s.root).load("plain") == [1]
        # Both slots spoiled: the record is moved aside as corrupt, like a bad JSON one.
        with open(s.path("st"), "wb") as f:
            f.write(b"\x00AB\x01" + bytes(600))
        third = Store(s.root)
        assert third.load("st", "d") == "d" and third.errors == 1
    finally:
        _cleanup(s)
