"""`demo --trace` writes a run anyone can re-check: `decode` verifies every file with the
trace's keystore (cryptography, not the firmware), and exactly the tampered commands fail."""

import json

from smetsbench.cli import demo
from smetsbench.payloads import decode


def _records(text):
    dec = json.JSONDecoder()
    i, out = 0, []
    while True:
        while i < len(text) and text[i].isspace():
            i += 1
        if i >= len(text):
            return out
        obj, i = dec.raw_decode(text, i)
        out.append(obj)


def test_trace_rechecks_with_its_keystore(tmp_path, capsys):
    trace = tmp_path / "trace"
    assert demo.main(trace_dir=str(trace), work_dir=str(tmp_path / "boards")) == 0
    capsys.readouterr()
    rc = decode.main([str(trace)], keystore=str(trace / "keystore"))
    records = _records(capsys.readouterr().out)
    assert rc == 1  # the tampered commands
    failed = sorted(r["file"].rsplit("/", 1)[1] for r in records if not r["ok"])
    # The ESME's bad signature, bad MAC and malformed command; the gas meter's bad MAC.
    assert sorted(name.split("_", 1)[0] + " " + name.split("_")[2] for name in failed) == [
        "ECS42 BAD", "ECS52 BAD", "ECS52 MALFORMED", "GCS13a BAD"]
    assert any("BAD_MAC_COMMAND" in f for f in failed)
    assert any("BAD_SIGNATURE_COMMAND" in f for f in failed)
    # Everything else was checked: responses' MACs or device signatures, and alerts.
    ok = [r for r in records if r["ok"]]
    assert len(ok) == len(records) - 4
    responses = [r for r in ok if "_RESPONSE_" in r["file"]]
    assert responses and all(any("MAC" in c or "signature" in c for c in r["checks"])
                             for r in responses)
    alerts = [r for r in ok if "_ALERT_" in r["file"]]
    assert all(r["unchecked"] == [] for r in alerts)
    # The CHF's: a CS14 (device log changed) per CCS01 / CCS02.
    chf = [r for r in alerts if r["file"].rsplit("/", 1)[1].startswith(("CCS01", "CCS02"))]
    # ESME: 7 (the refused commands); GSME: 810E (keypad top-up), 8F53, 8F30 (GBZ alerts).
    assert len(alerts) - len(chf) == 10 and len(chf) >= 1
    assert sum("_810E_ALERT_" in r["file"] for r in alerts) == 1
    # The GPF answered from its mirror: its responses are MACed with its own key.
    assert sum("FROM_GPF_MIRROR_RESPONSE" in r["file"] for r in responses) == 2
    # Only the command sent to a meter that does not exist cannot have its MAC checked.
    assert [r["file"] for r in ok if r["unchecked"]] == [
        r["file"] for r in ok if "WRONG_RECIPIENT_COMMAND" in r["file"]]


def test_decode_reports_unusable_input(tmp_path, capsys):
    assert decode.main([str(tmp_path / "missing")]) == 2
    bad = tmp_path / "X_COMMAND_GBCS.HEX"
    bad.write_text("not hex\n")
    assert decode.main([str(bad)]) == 1
    assert decode.main([str(tmp_path)], keystore=str(tmp_path / "nokeys")) == 2


def test_decode_walks_folders_and_says_when_there_is_nothing(tmp_path, capsys):
    nested = tmp_path / "RTDS" / "1.1_ECS01a"
    nested.mkdir(parents=True)
    (nested / "X_COMMAND_GBCS.HEX").write_text("not hex\n")
    assert decode.main([str(tmp_path / "RTDS")]) == 1  # found below the folder given
    assert "X_COMMAND_GBCS.HEX" in capsys.readouterr().out
    empty = tmp_path / "empty"
    empty.mkdir()
    assert decode.main([str(empty)]) == 2
    assert "no *_GBCS.HEX files" in capsys.readouterr().err
