"""Conformance runner pieces that need no board: discovery, re-wrapping, verification, reports."""

import shutil
import xml.etree.ElementTree as ET

import pytest
from smets.dlms import access
from smets.gbcs import envelope
from smetsbench import cli
from smetsbench.conformance import report as rep
from smetsbench.conformance import runner as conf
from smetsbench.oracle import crypto as ocrypto
from smetsbench.oracle.checker import Checks
from smetsbench.oracle.parties import RemoteParty
from smetsbench.paths import rtds_dir

RTDS = rtds_dir()
pytestmark = pytest.mark.skipif(RTDS is None, reason="RTDS data (../shared/rtds) not present")
SET = RTDS / "RTDS-4.5.0" if RTDS else None


def _msg(rel):
    return envelope.decode(conf.read_hex(SET / rel))


@pytest.fixture(scope="module")
def ks():
    return ocrypto.KeyStore(RTDS / "keystore")


@pytest.fixture()
def unseen(tmp_path):
    """An RTDS-shaped folder the project has never seen: other folder names, other nesting, a
    keystore two levels up, lower-case extensions."""
    root = tmp_path / "lab"
    shutil.copytree(RTDS / "keystore", root / "keystore")
    data = root / "runs" / "2030"
    shutil.copytree(SET / "1.6_ECS02", data / "payment-mode")
    shutil.copytree(SET / "7.4_ECS45", data / "switch" / "status")
    shutil.copytree(SET / "11.2_GCS38", data / "gas")
    shutil.copytree(SET / "11.2_CS08", data / "ppmid")
    shutil.copytree(SET / "NA_CS09", data / "ppmid-alert")
    shutil.copytree(SET / "NA_ECS80", data / "alerts")
    shutil.copytree(SET / "NA_CS02bAnyByContingency", data / "contingency")
    for f in (data / "gas").iterdir():
        f.rename(f.with_name(f.name[:-4] + ".hex"))
    return data


def test_discover_pairs_commands_responses_and_alerts(unseen):
    scenarios = conf.discover(unseen)
    by_id = {s.id: s for s in scenarios}
    fd = by_id["payment-mode/ECS02_1.6_FUTURE_DATED_TWIN_SUCCESS"]
    assert fd.kind == "command" and fd.response is not None
    assert [a.name for a in fd.alerts] == [
        "ECS02_1.6_8F66_FUTURE_DATED_TWIN_SUCCESS_ALERT_PAYMENT_MODE_GBCS.HEX"]
    assert by_id["payment-mode/ECS02_1.6_IMMEDIATE_SINGLE_SUCCESS"].alerts == []
    assert by_id["switch/status/ECS45_7.4_ERROR"].device_type == "ESME"
    gas = by_id["gas/GCS38_11.2_SUCCESS"]
    assert gas.device_type == "GSME" and gas.message_code == 0x0084 and gas.use_case == "GCS38"
    assert by_id["alerts/ECS80_NA_8F36_ALERT"].kind == "alert"
    assert by_id["contingency/CS02bAnyByContingency_NA_SUCCESS"].kind == "response"
    # PRECOMMAND files are not scenarios; every COMMAND is.
    assert not any("PRECOMMAND" in s.id for s in scenarios)
    assert sum(s.kind == "command" for s in scenarios) == 4 + 2 + 2 + 2
    assert conf.find_keystore(unseen) == unseen.parent.parent / "keystore"


def test_select_by_device_type_and_pattern(unseen):
    scenarios = conf.discover(unseen)
    assert {s.device_type for s in conf.select(scenarios, devices=["gsme"])} == {"GSME"}
    ids = [s.id for s in conf.select(scenarios, only=["ECS45"])]
    assert ids == ["switch/status/ECS45_7.4_ERROR", "switch/status/ECS45_7.4_SUCCESS"]
    assert [s.id for s in conf.select(scenarios, only=["*ecs45*success"])] == [
        "switch/status/ECS45_7.4_SUCCESS"]
    assert {s.code_text for s in conf.select(scenarios, only=["0084"])} == {"0084"}
    assert conf.select(scenarios, only=["nothing-like-this"]) == []


def test_device_type_from_rtds_identity_else_message_code():
    assert conf.device_type_of(bytes.fromhex("00db1234567890a6")) == "ESME"
    assert conf.device_type_of(bytes.fromhex("00db1234567890a3")) == "GPF"
    assert conf.device_type_of(bytes.fromhex("1122334455667788"), 0x0084) == "GSME"
    assert conf.device_type_of(bytes.fromhex("1122334455667788"), 0x7777) == "unknown"


def test_parties_and_roles_come_from_the_keystore_certificates(ks):
    by_eui, by_role = conf.load_parties(ks)
    assert by_role["acb"].eui.hex() == "90b3d51f30000002"
    assert by_role["supplier"].eui.hex() == "90b3d51f30010000"  # the RTDS one of two
    assert by_eui[bytes.fromhex("90b3d51f30030000")].role == "supplier"
    assert by_role["load_controller"].eui.hex() == "90b3d51f30010008"
    assert by_role["recovery"].ka_key is None and by_role["recovery"].ds_key is not None


def test_rewrap_keeps_header_and_payload_and_protects_for_the_device(ks):
    by_eui, by_role = conf.load_parties(ks)
    device_ka = ocrypto.generate_private_key()
    for rel, signed in (("7.1_ECS42/ECS42_7.1_SUCCESS_COMMAND_GBCS.HEX", True),
                        ("6.20.2_ECS39b/ECS39b_6.20.2_SUCCESS_COMMAND_GBCS.HEX", False)):
        cmd = _msg(rel)
        party = by_eui[bytes(cmd.originator)]
        raw = conf.rewrap(cmd, party, by_role["acb"], bytes(cmd.recipient),
                          ocrypto.public_key_raw(device_ka))
        got = envelope.decode(raw)
        assert got.general_signing == cmd.general_signing
        assert (got.signature is not None) == signed
        if signed:
            assert ocrypto.verify_message_signature(got, party.ds_public)
        # The device checks the MAC with its own KA key and the ACB's certificate.
        z = ocrypto.ecdh(device_ka, by_role["acb"].ka_public)
        assert ocrypto.verify_message_mac(got, z)
        assert got.mac != cmd.mac
    # A command RTDS sends without a MAC (signed only) stays that way.
    cmd = _msg("NA_CS02fSignature/CS02fSignature_NA_SUCCESS_COMMAND_GBCS.HEX")
    party = by_eui[bytes(cmd.originator)]
    raw = conf.rewrap(cmd, party, by_role["acb"], bytes(cmd.recipient),
                      ocrypto.public_key_raw(device_ka))
    assert raw[0] == 0xDF and envelope.decode(raw).mac is None


class _Handle:
    def __init__(self, eui):
        self.eui = bytes(eui)
        self.ka = ocrypto.generate_private_key()
        self.ds = ocrypto.generate_private_key()
        self.ka_public = ocrypto.public_key_raw(self.ka)
        self.ds_public = ocrypto.public_key_raw(self.ds)


def _response(handle, cmd, content, sign=False, party_ka=None, counter=None):
    gs = envelope.encode_general_signing(
        envelope.CRA_RESPONSE, counter or cmd.counter, handle.eui, bytes(cmd.originator),
        bytes(cmd.other_info), content)
    if sign:
        return envelope.with_signature(gs, ocrypto.sign_general_signing(handle.ds, gs))
    apdu = envelope.with_signature(gs)
    z = ocrypto.ecdh(handle.ka, ocrypto.public_key_raw(party_ka))
    mac = ocrypto.message_mac(z, handle.eui, ocrypto.MODE_RESPONSE, counter or cmd.counter,
                         bytes(cmd.originator), envelope.mac_aad_for(apdu))
    return envelope.wrap_ciphering(apdu, mac)


def test_verify_checks_mac_signature_and_echoes(ks):
    by_eui, _ = conf.load_parties(ks)
    cmd = _msg("7.4_ECS45/ECS45_7.4_SUCCESS_COMMAND_GBCS.HEX")
    handle = _Handle(cmd.recipient)
    party = by_eui[bytes(cmd.originator)]
    content = access.AccessResponse(0x200003E8, [access.Data.enum(1)],
                                    [access.ResponseSpec(access.GET, 0)]).to_bytes()
    checks = Checks()
    msg = conf.verify(_response(handle, cmd, content, party_ka=party.ka_key),
                      envelope.CRA_RESPONSE, handle, by_eui, checks, command=cmd)
    assert msg is not None and checks.ok, checks
    bad = bytearray(_response(handle, cmd, content, party_ka=party.ka_key))
    bad[-1] ^= 1
    checks = Checks()
    conf.verify(bytes(bad), envelope.CRA_RESPONSE, handle, by_eui, checks, command=cmd)
    assert [c.name for c in checks.failures()] == ["MAC"]
    checks = Checks()
    conf.verify(_response(handle, cmd, content, party_ka=party.ka_key, counter=cmd.counter + 1),
                envelope.CRA_RESPONSE, handle, by_eui, checks, command=cmd)
    assert "counter echo" in [c.name for c in checks.failures()]
    signed_cmd = _msg("7.1_ECS42/ECS42_7.1_SUCCESS_COMMAND_GBCS.HEX")
    content = access.AccessResponse(0x200003E8, [access.Data.null()],
                                    [access.ResponseSpec(access.ACTION, 0)]).to_bytes()
    checks = Checks()
    conf.verify(_response(handle, signed_cmd, content, sign=True), envelope.CRA_RESPONSE,
                handle, by_eui, checks, command=signed_cmd)
    assert checks.ok, checks
    other = _Handle(cmd.recipient)
    checks = Checks()
    conf.verify(_response(other, signed_cmd, content, sign=True), envelope.CRA_RESPONSE,
                handle, by_eui, checks, command=signed_cmd)
    assert [c.name for c in checks.failures()] == ["device signature"]


def test_rtds_failures_times_and_alert_keys():
    assert conf.dlms_failure(_msg("6.2.7_ECS40/ECS40_6.2.7_SINGLE_ERROR_RESPONSE_GBCS.HEX")) \
        == (0, 1)
    assert conf.dlms_failure(_msg("1.6_ECS02/ECS02_1.6_IMMEDIATE_SINGLE_ERROR_RESPONSE_GBCS.HEX")
                             ) == (1, 1)
    assert conf.dlms_failure(_msg("6.2.7_ECS40/ECS40_6.2.7_SINGLE_SUCCESS_RESPONSE_GBCS.HEX")) \
        is None
    assert conf.dlms_failure(_msg("11.2_GCS38/GCS38_11.2_ERROR_RESPONSE_GBCS.HEX")) is None
    epoch_2030 = 1894698000  # 2030-01-15T09:00:00Z, the RTDS future date
    assert conf.message_time(_msg(
        "1.6_ECS02/ECS02_1.6_8F66_FUTURE_DATED_TWIN_SUCCESS_ALERT_PAYMENT_MODE_GBCS.HEX")) \
        == epoch_2030
    assert conf.message_time(_msg(
        "11.3_CS06/CS06_11.3_8F66_FUTURE_DATED_SUCCESS_ALERT_GBCS.HEX")) == epoch_2030
    gbz = _msg("1.6_GCS02/GCS02_1.6_8F66_FUTURE_DATED_SUCCESS_ALERT_CHANGE_PAYMENT_MODE_GBCS.HEX")
    assert abs(conf.message_time(gbz) - epoch_2030) < 86400
    assert conf.message_time(_msg("4.1.1_ECS17b/ECS17b_4.1.1_SINGLE_SUCCESS_RESPONSE_GBCS.HEX")) \
        == conf.RTDS_EPOCH
    assert conf.message_time(_msg("7.4_ECS45/ECS45_7.4_SUCCESS_RESPONSE_GBCS.HEX")) is None
    a = conf._alert_key(_msg(
        "1.6_ECS03/ECS03_1.6_8F66_FUTURE_DATED_TWIN_SUCCESS_ALERT_PAYMENT_MODE_GBCS.HEX"))
    b = conf._alert_key(_msg(
        "1.6_ECS03/ECS03_1.6_8F66_FUTURE_DATED_TWIN_SUCCESS_ALERT_DISABLEMENT_THRESHOLD_GBCS.HEX"))
    assert a[:2] == b[:2] == (0x00CC, 0x8F66) and a[2] != b[2]


def test_nothing_is_sent_for_what_the_bench_cannot_emulate(unseen, monkeypatch):
    # A firmware that emulates the ESME alone (the PPMID and the GSME are emulated now: the
    # runner is told otherwise).
    monkeypatch.setattr(conf.Runner, "emulated_types", property(lambda self: {"ESME"}))
    with conf.Runner(unseen) as runner:
        results = {s.id: runner.run(s) for s in runner.select(devices=["PPMID", "GSME"])}
        results.update({s.id: runner.run(s) for s in runner.select(only=["contingency"])})
        assert runner.bench is None  # no board was started
    assert {r.outcome for r in results.values()} == {conf.NOT_EMULATED}
    assert "device type PPMID is not emulated" in results["ppmid/CS08_11.2_SUCCESS"].reason
    assert "device type GSME is not emulated" in results["gas/GCS38_11.2_SUCCESS"].reason
    assert "nothing to replay" in results["ppmid-alert/CS09_NA_8F8B_ALERT"].reason
    assert "without its COMMAND" in results["contingency/CS02bAnyByContingency_NA_ERROR"].reason


def test_missing_keystore_or_folder_is_a_clear_error(tmp_path):
    with pytest.raises(conf.ConformanceError, match="keystore"):
        conf.Runner(tmp_path)
    with pytest.raises(conf.ConformanceError, match="does not exist"):
        conf.discover(tmp_path / "nope")
    assert cli.main(["conformance", "--rtds", str(tmp_path)]) == 2


def _summary(unseen):
    scenarios = {s.id: s for s in conf.discover(unseen)}
    results = []
    ok = conf.ScenarioResult(scenarios["switch/status/ECS45_7.4_SUCCESS"])
    ok.outcome = conf.PASS
    ok.diffs = [conf.cmp.Diff(conf.cmp.VALUE, "payload.data[0]", "1", "0")]
    results.append(ok)
    bad = conf.ScenarioResult(scenarios["switch/status/ECS45_7.4_ERROR"])
    bad.fail("shape differs: results[0]")
    bad.diffs = [conf.cmp.Diff(conf.cmp.SHAPE, "payload.results[0]", "get hardware-fault",
                               "get success", "must be equal")]
    bad.tree_diff = ["--- RTDS", "+++ device", "-x <1>", "+y"]
    results.append(bad)
    skipped = conf.ScenarioResult(scenarios["gas/GCS38_11.2_SUCCESS"])
    skipped.not_emulated("device type GSME is not emulated")
    results.append(skipped)
    return conf.Summary(results, {"rtds": str(unseen)}, 1.5)


def test_summary_never_counts_not_emulated_as_pass(unseen):
    s = _summary(unseen)
    assert (s.passed, s.failed, s.not_emulated) == (1, 1, 1)
    assert s.counts_by_device()["ESME"] == {"pass": 1, "fail": 1}
    assert s.counts_by_device()["GSME"] == {"not emulated": 1}
    assert s.counts_by_code()[("0052", "ECS45", "ESME")] == {"pass": 1, "fail": 1}
    text = rep.console_summary(s)
    assert "ESME                          1      1              0       2" in text
    assert "GSME                          0      0              1       1" in text
    assert "1 pass, 1 fail, 1 not emulated" in text


def test_junit_markdown_and_html(unseen, tmp_path):
    s = _summary(unseen)
    rep.write_junit(s, tmp_path / "j.xml")
    root = ET.parse(tmp_path / "j.xml").getroot()
    assert root.get("tests") == "3" and root.get("failures") == "1" and root.get("skipped") == "1"
    cases = {c.get("name"): c for c in root.iter("testcase")}
    assert cases["switch/status/ECS45_7.4_ERROR"].find("failure") is not None
    assert "hardware-fault" in cases["switch/status/ECS45_7.4_ERROR"].find("failure").text
    assert cases["gas/GCS38_11.2_SUCCESS"].find("skipped").get("message").startswith(
        "not emulated")
    ok = cases["switch/status/ECS45_7.4_SUCCESS"]
    assert ok.find("failure") is None and ok.find("skipped") is None
    rep.write_report(s, tmp_path / "r.md")
    md = (tmp_path / "r.md").read_text()
    assert "| ESME | 1 | 1 | 0 | 2 |" in md and "| GSME | 0 | 0 | 1 | 1 |" in md
    assert "```diff" in md and "switch/status/ECS45_7.4_ERROR" in md
    rep.write_report(s, tmp_path / "r.html")
    page = (tmp_path / "r.html").read_text()
    assert page.startswith("<!DOCTYPE html>") and "<script" not in page and "http" not in page
    assert "&lt;1&gt;" in page  # escaped
    line = rep.console_line(2, 3, s.results[1])
    assert "FAIL" in line and "ECS45" in line and "must be equal" in line


def test_cli_arguments():
    args = cli.build_parser().parse_args([
        "conformance", "--rtds", "x", "--device", "ESME,GSME", "--only", "ECS4*", "--only",
        "0052", "--board", "GSME=socket://bench:7000", "--board", "/dev/ttyUSB0", "--junit",
        "j.xml", "--report", "r.html", "--min-pass", "3", "-q"])
    assert args.func is conf.main
    assert args.device == ["ESME,GSME"] and args.only == ["ECS4*", "0052"]
    assert dict(conf._board_arg(b) for b in args.board) == {
        "GSME": "socket://bench:7000", "ESME": "/dev/ttyUSB0"}
    assert conf._board_arg("rfc2217://host:4000") == ("ESME", "rfc2217://host:4000")


def test_real_party_objects_are_used_for_signing(ks):
    by_eui, _ = conf.load_parties(ks)
    for p in by_eui.values():
        assert isinstance(p, RemoteParty)
        assert p.ds_key is not None or p.ka_key is not None


def test_encrypted_gbz_components_are_decrypted_with_the_keystore():
    runner = conf.Runner(RTDS)  # starts no board until a scenario needs one
    for rel, records in (("4.1.1_GCS13a/GCS13a_4.1.1_SUCCESS_RELIABLE_GSME_RESPONSE_GBCS.HEX",
                          4),
                         ("4.14_GCS16b/GCS16b_4.14_URP_SUCCESS_RESPONSE_GBCS.HEX", None)):
        msg = _msg(rel)
        node = conf.cmp.message_node(msg, *runner._decrypters(msg, runner._rtds_ka(msg)))
        comp = node.children[1].child("components").children[0]
        assert comp.child("ciphertext").ignore
        assert comp.child("decrypted") is None, comp.child("decrypted")
        if records:
            assert len(comp.child("records").children) == records
    assert runner.bench is None


def test_alerts_are_matched_by_the_command_attribute_they_report():
    class Received:
        def __init__(self, msg):
            self.msg = msg

    mode = _msg("1.6_ECS03/ECS03_1.6_8F66_FUTURE_DATED_TWIN_SUCCESS_ALERT_PAYMENT_MODE_GBCS.HEX")
    threshold = _msg(
        "1.6_ECS03/ECS03_1.6_8F66_FUTURE_DATED_TWIN_SUCCESS_ALERT_DISABLEMENT_THRESHOLD_GBCS.HEX")
    only_threshold = Received(threshold)
    # One alert missing must not shift the other onto the wrong expectation.
    assert conf._match_alerts([mode, threshold], [only_threshold]) == [None, only_threshold]
    a, b = Received(threshold), Received(mode)
    assert conf._match_alerts([mode, threshold], [a, b]) == [b, a]
    other = Received(_msg("1.6_ECS02/ECS02_1.6_8F66_FUTURE_DATED_TWIN_SUCCESS_ALERT_PAYMENT_MODE_"
                          "GBCS.HEX"))
    assert conf._match_alerts([mode], [other]) == [other]  # same alert code: compared
