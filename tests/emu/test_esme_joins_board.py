"""Joining devices to an ESME on a virtual board (GBCS 13.7), through the real serial path:
the use-case library's CS03 / CS04 / CS07 commands, checked with `cryptography`, and the
device log and security log the board reports."""

import pytest

IHD = "00db1234567890c1"
PPMID = "00db1234567890a4"


@pytest.fixture(scope="module")
def bench(smets_bench):
    return smets_bench


def test_join_read_and_unjoin_a_type2_device_and_a_ppmid(bench, esme):
    res = bench.run(esme, "CS03B", other=IHD, other_type="IHD")
    assert res.passed, res.report()
    res = bench.run(esme, "CS03A1", other=PPMID, other_type="PPMID")
    assert res.passed, res.report()
    res = bench.run(esme, "CS07", joined={IHD: "IHD", PPMID: "PPMID"})
    assert res.passed, res.report()
    log = esme.link.control("device_log")["entries"]
    assert [(e["eui"], e["type"]) for e in log] == [(IHD, "Type 2"), (PPMID, "PPMID")]
    # Unjoining with the other method's use case fails (2), then the right one succeeds.
    res = bench.run(esme, "CS04AC", other=IHD, code=2)
    assert res.passed, res.report()
    for name, eui in (("CS04B", IHD), ("CS04AC", PPMID)):
        res = bench.run(esme, name, other=eui)
        assert res.passed, res.report()
    res = bench.run(esme, "CS07", joined={})
    assert res.passed, res.report()
    events = [e["event"] for e in esme.link.control("security_log", n=5)["entries"]]
    assert events == ["device_joined", "device_joined", "unjoin_failed", "device_unjoined",
                      "device_unjoined"]


def test_join_refusals_carry_the_gbcs_response_code(bench, esme):
    # A Type 2 device cannot be joined by Method A (2), nor a device twice with two types (3).
    res = bench.run(esme, "CS03A1", other=IHD, other_type="IHD", code=2)
    assert res.passed, res.report()
    assert bench.run(esme, "CS03B", other=IHD, other_type="IHD").passed
    res = bench.run(esme, "CS03A1", other=IHD, other_type="PPMID", code=3)
    assert res.passed, res.report()
    assert bench.run(esme, "CS04B", other=IHD).passed


def test_malformed_join_is_rejected_with_a_security_log_entry(bench, esme):
    res = bench.run(esme, "CS03B", tamper="malformed", other=IHD, other_type="IHD")
    assert res.passed, res.report()
    assert esme.link.control("device_log")["entries"] == []


def test_firmware_distribution_and_activation(bench, esme):
    since = __import__("time").time()
    held = esme.link.control("firmware_image", image="0a0b0c0d" + "00" * 60)
    rec = bench.hub.wait_alert(esme.eui, timeout=5.0, since=since)
    assert rec is not None and rec.msg.message_code == 0x00CE
    res = bench.run(esme, "CS06", image_hash="00" * 32, code=2)  # not the image it holds
    assert res.passed, res.report()
    res = bench.run(esme, "CS06", image_hash=held["hash"])
    assert res.passed, res.report()
    res = bench.run(esme, "ECS52")
    assert res.passed and res.values[0].value == bytes.fromhex("0a0b0c0d"), res.report()
