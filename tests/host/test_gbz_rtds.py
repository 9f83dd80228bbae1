"""Every GBZ payload of RTDS 4.5.0 (GSME, GPF, CHF, PPMID...) decodes with the firmware's codec
(smets.zcl.gbz), re-encodes byte for byte, and its foundation payloads decode; the payload
registry finds one kind for every RTDS payload, and `smetsbench decode` shows GBZ as JSON."""

import json
import os
from pathlib import Path

import pytest
from smets.gbcs import envelope
from smets.zcl import foundation, gbz
from smetsbench.payloads import decode as decode_cli
from smetsbench.payloads import registry as payloads

pytestmark = pytest.mark.rtds

REPO = Path(__file__).resolve().parents[2]


def _root():
    env = os.environ.get("SMETSBENCH_RTDS")
    base = Path(env) if env else REPO.parent / "shared" / "rtds"
    if (base / "RTDS-4.5.0").is_dir():
        base = base / "RTDS-4.5.0"
    if not base.is_dir():
        pytest.skip("no RTDS (set SMETSBENCH_RTDS)")
    return base


def _messages():
    for p in sorted(_root().rglob("*_GBCS.HEX")):
        raw = bytes.fromhex("".join(p.read_text().split()))
        pre = "_PRECOMMAND_" in p.name
        yield p, (envelope.decode_precommand(raw) if pre else envelope.decode(raw))


def test_every_rtds_gbz_payload_decodes_and_round_trips():
    n = alerts = encrypted = records = 0
    for p, msg in _messages():
        content = bytes(msg.content)
        if not gbz.is_gbz(content):
            continue
        g = gbz.GBZPayload.from_bytes(content, alert=msg.cra == envelope.CRA_ALERT)
        assert g.to_bytes() == content, p.name
        n += 1
        alerts += g.alert
        for c in g.components:
            encrypted += c.encrypted
            if not c.encrypted and c.frame_control & 0x03 == 0:
                foundation.decode(c.command, c.payload)
                records += 1
        if g.alert_code in gbz.FUTURE_DATED_ALERTS:
            assert gbz.future_dated(g.alert_data) is not None, p.name
    # RTDS 4.5.0 as shipped here: 280 GBZ payloads, 18 of them alerts.
    assert n >= 250 and alerts >= 15 and encrypted >= 40 and records >= 400


def test_registry_finds_a_kind_that_decodes_each_rtds_payload():
    # Kinds are asked in order (DLMS and GBZ by first bytes first: some DLMS APDUs are also
    # well-formed DER).
    counts = {}
    for p, msg in _messages():
        content = bytes(msg.content)
        kind = payloads.kind_of(content, msg)
        assert kind is not payloads.UNKNOWN, p.name
        counts[kind.name] = counts.get(kind.name, 0) + 1
        kind.decode(content, msg)
    assert set(counts) == {"DLMS", "GBZ", "ASN.1"}


def test_registry_alert_codes_times_and_failures():
    seen = {}
    for p, msg in _messages():
        kind = payloads.of_message(msg)
        c = bytes(msg.content)
        if msg.cra == envelope.CRA_ALERT and kind is payloads.GBZ:
            seen.setdefault("gbz alert", kind.alert_code(c, msg))
            assert kind.alert_time(c, msg) > payloads.EPOCH_2000
        if kind is payloads.GBZ and "ERROR" in p.name and msg.cra == envelope.CRA_RESPONSE:
            if kind.failure(c, msg) is not None:
                seen["gbz failure"] = kind.failure(c, msg)
    assert seen["gbz alert"] is not None and seen["gbz failure"][1] != 0


def test_decode_shows_gbz_as_json(capsys):
    files = sorted(_root().glob("*GCS53*/*_ALERT_GBCS.HEX")) + sorted(
        _root().glob("*GCS16a*/*_RESPONSE_GBCS.HEX"))[:1]
    if not files:
        pytest.skip("no GCS53 / GCS16a in this RTDS")
    keystore = _root().parent / "keystore"
    assert decode_cli.main([str(f) for f in files], keystore=str(keystore)) == 0
    out = capsys.readouterr().out
    docs = json.loads("[" + out.replace("}\n{", "},\n{") + "]")
    for d in docs:
        g = d["message"]["gbz"]
        assert g["profile"] == "0109" and g["components"]
        assert all("cluster_name" in c for c in g["components"])
        assert "payload" not in d["message"]
    alert = docs[0]["message"]
    assert alert["alert_code"] == "8F0A" and alert["decrypted"] == {"0": "ok"}
