"""The GBCS security pipeline on its own, behind a small stub device that is not the ESME:
every row of the failures table, the response security, the alert counter across restarts.

Runs on CPython and on the MicroPython unix port (tools/mptest.py)."""

import gbcs_fixtures as fx
from smets.gbcs import asn1, credentials, crypto, envelope, p256, pipeline
from smets.gbcs.pipeline import ROLE_SUPPLIER, GBCSPipeline, Reject, UseCase

NOW = 1700000000
STRANGER = bytes.fromhex("00db1234567890ee")
READ = 0x00A1  # non-critical: the stub answers its stored value
SET = 0x00A2  # critical: content must be one byte, the new value
CHECKED = 0x00A3  # the handler refuses the payload itself
CS02A = 0x0008  # Provide Security Credentials Details: the pipeline's own credentials code


class Stub(GBCSPipeline):
    """A GBCS device with one register and three use cases, supplier only."""

    ROLE = "STUB"
    USE_CASES = {
        READ: UseCase(READ, "READ", ROLE_SUPPLIER),
        SET: UseCase(SET, "SET", ROLE_SUPPLIER, critical=True, response_time=True),
        CHECKED: UseCase(CHECKED, "CHECKED", ROLE_SUPPLIER),
        CS02A: UseCase(CS02A, "CS02a", ROLE_SUPPLIER),
    }

    def __init__(self, *args, **kw):
        self.value = 7
        GBCSPipeline.__init__(self, *args, **kw)

    def execute(self, uc, msg, ctx):
        if uc.code == READ:
            return bytes((self.value,))
        if uc.code == SET:
            if len(msg.content) != 1:
                raise ValueError("SET takes one byte")
            self.value = msg.content[0]
            return b"\x00"
        if uc.code == CS02A:
            return self.execute_credentials(uc, msg, ctx)
        raise Reject("bad_payload", "the stub refuses this payload")

    def alert_content(self, counter, alert_code, now, fields):
        return alert_code.to_bytes(2, "big") + now.to_bytes(4, "big")

    def date_time(self, now):
        return now.to_bytes(4, "big") + b"\x00" * 8


def _stub(store=None, fresh=True):
    store = store or fx.scratch_store()
    return Stub(fx.identity(), store, NOW, fresh=fresh), store


def _z(role):
    return p256.ecdh(fx.KEYS[role + "_ka"], fx.pub("device_ka"))


def _flip(data, index):
    data = bytearray(data)
    data[index] ^= 0x01
    return bytes(data)


def _cases():
    """failure name -> a command that must fail that check and no earlier one."""
    c = {}
    c["malformed"] = b"\xdd\x00\x05garbage"
    gs = envelope.encode_general_signing(envelope.CRA_RESPONSE, fx.next_counter("supplier"),
                                         fx.PARTY_EUIS["supplier"], fx.DEVICE_EUI,
                                         READ.to_bytes(2, "big"), b"")
    c["not_a_command"] = crypto.add_mac(_z("acb"), envelope.with_signature(gs))
    c["wrong_recipient"] = fx.command("supplier", READ, b"", recipient=STRANGER)[0]
    gs = envelope.encode_general_signing(envelope.CRA_COMMAND, fx.next_counter("supplier"),
                                         STRANGER, fx.DEVICE_EUI, READ.to_bytes(2, "big"), b"")
    c["unknown_party"] = crypto.add_mac(_z("acb"), envelope.with_signature(gs))
    c["unknown_code"] = fx.command("supplier", 0x0BAD, b"")[0]
    good = fx.command("supplier", READ, b"")[0]
    c["bad_mac"] = _flip(good, len(good) - 1)  # the MAC is the last 12 bytes
    c["replay"] = fx.command("supplier", READ, b"", counter=1)[0]
    c["not_authorised"] = fx.command("network_operator", READ, b"")[0]
    c["no_signature"] = fx.command("supplier", SET, b"\x09")[0]
    gs = envelope.encode_general_signing(envelope.CRA_COMMAND, fx.next_counter("supplier"),
                                         fx.PARTY_EUIS["supplier"], fx.DEVICE_EUI,
                                         SET.to_bytes(2, "big"), b"\x09")
    # Signed with the network operator's key: a well formed signature, not the supplier's.
    apdu = envelope.with_signature(gs, crypto.sign_apdu(fx.KEYS["network_operator_ds"], gs))
    c["bad_signature"] = crypto.add_mac(_z("acb"), apdu)
    c["bad_payload"] = fx.command("supplier", SET, b"\x01\x02", critical=True)[0]
    return c


def test_every_failure_of_the_table_is_detected_logged_and_alerted_as_the_table_says():
    dev, store = _stub()
    try:
        # A first accepted command from the supplier makes the replay case a replay.
        dev.handle_gbcs(fx.command("supplier", READ, b"", counter=2)[0], NOW)
        assert dev.last_outcome == "accepted"
        cases = _cases()
        checks = [row for row in pipeline.FAILURES if row[0] != "flood"]
        assert sorted(cases) == sorted(row[0] for row in checks)
        for i, (name, code, _text) in enumerate(checks):
            before = dev.alert_counter
            out = dev.handle_gbcs(cases[name], NOW + i)
            assert dev.last_outcome == name, (name, dev.last_outcome, dev.last_detail)
            if code is None:
                assert out == [], name  # no oracle for a message that is not ours
                assert dev.alert_counter == before
            else:
                assert len(out) == 1, name
                alert = envelope.decode(out[0])
                assert alert.cra == envelope.CRA_ALERT and alert.counter == before + 1
                assert alert.content[:2] == code.to_bytes(2, "big"), name
            entry = dev.security_entries(len(dev.security_log) - 1)[0]
            assert entry["event"] == name and entry["t"] == NOW + i
            assert (entry["alert"] or None) == code
        assert dev.value == 7  # nothing rejected ran
        assert dev.stats["rejected"] == len(checks) and dev.stats["suppressed"] == 0
    finally:
        fx.cleanup(store)


def _alert_codes(out):
    return [int.from_bytes(envelope.decode(m).content[:2], "big") for m in out]


def test_floods_of_unauthenticated_commands_are_throttled():
    dev, store = _stub()
    try:
        good = fx.command("supplier", READ, b"")[0]
        bad = _flip(good, len(good) - 1)
        burst = pipeline.FLOOD_BURST
        for _i in range(burst):  # the bucket's worth: each logged and alerted
            assert _alert_codes(dev.handle_gbcs(bad, NOW)) == [0x8F53]
        writes = store.writes
        # The first one past it: one "flood" entry and one 8F60 alert; then nothing at all
        # (no flash write, no alert), only counted.
        assert _alert_codes(dev.handle_gbcs(bad, NOW)) == [0x8F60]
        assert dev.security_entries(len(dev.security_log) - 1)[0]["event"] == "flood"
        writes = store.writes
        appends = dev.counter_log.appends
        for _i in range(50):
            assert dev.handle_gbcs(b"\xdd\x00garbage", NOW + 1) == []
            assert dev.handle_gbcs(bad, NOW + 2) == []
        assert store.writes == writes and dev.counter_log.appends == appends
        assert dev.stats["suppressed"] == 101 and dev.stats["rejected"] == burst + 101
        assert len(dev.security_log) == burst + 1
        # Authenticated failures are never throttled.
        dev.handle_gbcs(fx.command("supplier", CHECKED, b"")[0], NOW + 3)
        assert dev.last_outcome == "bad_payload" and len(dev.security_log) == burst + 2
        # A real command still runs in the middle of a flood.
        out = dev.handle_gbcs(fx.command("supplier", READ, b"")[0], NOW + 3)
        assert dev.last_outcome == "accepted" and len(out) == 1
        # Once a token is back: the rejection is logged, after an entry counting the others.
        out = dev.handle_gbcs(bad, NOW + pipeline.FLOOD_REFILL_S)
        assert _alert_codes(out) == [0x8F53]
        flood, last = dev.security_entries(len(dev.security_log) - 2, 2)
        assert flood["event"] == "flood" and flood["counter"] == 101
        assert last["event"] == "bad_mac"
        # Still flooding: no second 8F60 until the bucket has filled up again.
        assert dev.handle_gbcs(bad, NOW + pipeline.FLOOD_REFILL_S) == []
        later = NOW + pipeline.FLOOD_REFILL_S * (burst + 2)
        assert _alert_codes(dev.handle_gbcs(bad, later)) == [0x8F53]
        for _i in range(burst - 1):
            dev.handle_gbcs(bad, later)
        assert _alert_codes(dev.handle_gbcs(bad, later)) == [0x8F60]
        # A clock set back does not refill the bucket.
        assert dev.handle_gbcs(bad, NOW) == []
    finally:
        fx.cleanup(store)


def test_a_handler_reject_is_the_handlers_failure_and_uses_up_the_counter():
    dev, store = _stub()
    try:
        raw, counter = fx.command("supplier", CHECKED, b"")
        out = dev.handle_gbcs(raw, NOW)
        assert dev.last_outcome == "bad_payload" and len(out) == 1
        dev.handle_gbcs(raw, NOW)
        assert dev.last_outcome == "replay"
        assert dev.counters[fx.PARTY_EUIS["supplier"].hex()] == counter
    finally:
        fx.cleanup(store)


def test_responses_are_maced_or_signed_as_gbcs_4_3_2_requires():
    dev, store = _stub()
    try:
        raw, counter = fx.command("supplier", READ, b"")
        (out,) = dev.handle_gbcs(raw, NOW)
        resp = envelope.decode(out)
        assert resp.cra == envelope.CRA_RESPONSE and resp.counter == counter
        assert resp.originator == fx.DEVICE_EUI and resp.recipient == fx.PARTY_EUIS["supplier"]
        assert resp.content == b"\x07" and resp.signature is None
        # MACed with the key agreed between the device and the supplier (not the ACB).
        assert crypto.verify_message_mac(resp, _z("supplier"))
        assert not crypto.verify_message_mac(resp, _z("acb"))
        raw, counter = fx.command("supplier", SET, b"\x2a", critical=True)
        (out,) = dev.handle_gbcs(raw, NOW)
        resp = envelope.decode(out)
        assert dev.value == 0x2A and resp.mac is None and resp.signature is not None
        assert crypto.verify_message_signature(resp, fx.pub("device_ds"))
        assert resp.date_time[:4] == NOW.to_bytes(4, "big")  # response_time use case
    finally:
        fx.cleanup(store)


def test_replay_counters_and_alert_counters_survive_a_restart():
    dev, store = _stub()
    try:
        raw, _ = fx.command("supplier", READ, b"")
        dev.handle_gbcs(raw, NOW)
        dev.handle_gbcs(fx.command("supplier", 0x0BAD, b"")[0], NOW)  # raises an alert
        last_alert = dev.alert_counter
        again, _ = _stub(store, fresh=False)
        again.handle_gbcs(raw, NOW)
        assert again.last_outcome == "replay"
        assert again.alert_counter == last_alert + 1  # the replay's alert: a fresh counter
        assert [e["event"] for e in again.security_entries()] == ["unknown_code", "replay"]
    finally:
        fx.cleanup(store)


def test_validate_refuses_bad_keys_before_anything_changes():
    good = fx.identity()
    Stub.validate(good)
    for field, value in (("ka_key", "00" * 32), ("ds_key", "zz"), ("eui", "0102")):
        bad = dict(good)
        bad[field] = value
        try:
            Stub.validate(bad)
        except ValueError:
            continue
        raise AssertionError("validate accepted %s=%s" % (field, value))
    bad = dict(good, parties={"supplier": {"eui": "90b3d51f30010000", "ka": "04" + "00" * 64}})
    try:
        Stub.validate(bad)
    except ValueError as exc:
        assert "supplier" in str(exc)
    else:
        raise AssertionError("a party key off the curve was accepted")


def test_security_credentials_are_the_pipelines_with_the_cells_of_the_devices_role():
    # CS02a for the supplier (2) and the load controller (8): the stub, a role without cells
    # of its own, holds the common cells, not the ESME's load controller cells.
    dev, store = _stub()
    try:
        ds_cell = credentials._cell_id_bytes(2, credentials.DS, 0)
        payload = asn1.sequence(ds_cell, asn1.sequence(asn1.integer(2), asn1.integer(8)))
        raw, _ = fx.command("supplier", CS02A, payload)
        (out,) = dev.handle_gbcs(raw, NOW)
        assert dev.last_outcome == "accepted", dev.last_detail
        body, _ = asn1.read_as(envelope.decode(out).content, asn1.SEQUENCE)
        supplier, body = asn1.read_as(body, asn1.SEQUENCE)
        role, supplier = asn1.read_int(supplier)
        status, supplier = asn1.read_as(supplier, asn1.ENUMERATED)
        assert role == 2 and asn1.to_int(status) == credentials.SUCCESS
        _seq, supplier = asn1.read_int(supplier)
        held, _ = asn1.read_as(supplier, asn1.SEQUENCE)
        assert len(list(asn1.elements(held))) == 3  # its DS, KA and prepayment KA anchors
        load_controller, _ = asn1.read_as(body, asn1.SEQUENCE)
        role, load_controller = asn1.read_int(load_controller)
        status, _ = asn1.read_as(load_controller, asn1.ENUMERATED)
        assert role == 8 and asn1.to_int(status) == credentials.TRUST_ANCHOR_NOT_FOUND
        assert len(credentials.cells(dev)) < len(credentials.CELLS["ESME"])
        # A cell of another role than the originator's is not the supplier's to ask about.
        other = asn1.sequence(credentials._cell_id_bytes(3, credentials.DS, 0),
                              asn1.sequence(asn1.integer(2)))
        dev.handle_gbcs(fx.command("supplier", CS02A, other)[0], NOW)
        assert dev.last_outcome == "not_authorised"
    finally:
        fx.cleanup(store)


def test_a_signature_is_verified_without_its_table_when_the_table_does_not_fit():
    dev, store = _stub()
    try:
        def no_room(party):
            raise MemoryError("memory allocation failed, allocating 2064 bytes")

        dev._ds_table = no_room
        raw, _counter = fx.command("supplier", SET, b"\x2b", critical=True)
        (out,) = dev.handle_gbcs(raw, NOW)
        assert dev.last_outcome == "accepted" and dev.value == 0x2B
        # A forged signature still fails that way.
        bad = _cases()["bad_signature"]
        assert dev.handle_gbcs(bad, NOW) != [] and dev.last_outcome == "bad_signature"
    finally:
        fx.cleanup(store)
