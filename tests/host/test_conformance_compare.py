"""The conformance shape comparator: what is shape (fail) and what is value (reported)."""

from pathlib import Path

import pytest
from smets.dlms import access, axdr
from smets.dlms.axdr import Data
from smets.gbcs import envelope
from smetsbench.conformance import compare as cc
from smetsbench.oracle import crypto as ocrypto
from smetsbench.paths import rtds_dir

RTDS = rtds_dir()
needs_rtds = pytest.mark.skipif(RTDS is None, reason="RTDS data (../shared/rtds) not present")


def _load(rel):
    path = RTDS / "RTDS-4.5.0" / rel
    return envelope.decode(bytes.fromhex("".join(path.read_text().split())))


def _kinds(diffs):
    return sorted((d.kind, d.path) for d in diffs)


def _registers(active=10, unit=30, extra=None):
    items = [Data.uint32(active), Data.structure([Data.int8(0), Data.enum(unit)]),
             Data.uint32(10), Data.structure([Data.int8(0), Data.enum(32)])]
    if extra is not None:
        items.append(extra)
    return Data.structure(items)


# -- A-XDR trees -------------------------------------------------------------------------------


def test_identical_trees_have_no_differences():
    assert cc.compare(cc.data_node(_registers()), cc.data_node(_registers())) == []


def test_a_register_reading_is_a_value_difference():
    diffs = cc.compare(cc.data_node(_registers(10)), cc.data_node(_registers(12345)))
    assert _kinds(diffs) == [("value", "[0]")]
    assert "10" in str(diffs[0]) and "12345" in str(diffs[0])


def test_a_different_unit_is_a_shape_difference():
    # scaler_unit says what the register measures: Wh (30) is not varh (32).
    diffs = cc.compare(cc.data_node(_registers(unit=30)), cc.data_node(_registers(unit=32)))
    assert _kinds(diffs) == [("shape", "[1][1]")]


def test_structure_size_and_tag_are_shape():
    diffs = cc.compare(cc.data_node(_registers(extra=Data.uint32(10))),
                       cc.data_node(_registers()))
    assert _kinds(diffs) == [("shape", "")]
    diffs = cc.compare(cc.data_node(Data.uint32(1)), cc.data_node(Data.uint16(1)))
    assert _kinds(diffs) == [("shape", "")]
    assert "double-long-unsigned" in str(diffs[0]) and "long-unsigned" in str(diffs[0])


def test_array_length_is_a_value_but_extra_entries_must_have_the_shape():
    entry = Data.structure([Data.uint32(1), Data.uint16(2)])
    rtds = Data.array([entry, entry])
    more = Data.array([entry, entry, entry])
    assert _kinds(cc.compare(cc.data_node(rtds), cc.data_node(more))) == [("value", "")]
    wrong = Data.array([entry, entry, Data.structure([Data.uint32(1), Data.enum(2)])])
    assert ("shape", "[2][1]") in _kinds(cc.compare(cc.data_node(rtds), cc.data_node(wrong)))
    fewer = Data.array([entry])
    assert _kinds(cc.compare(cc.data_node(rtds), cc.data_node(fewer))) == [("value", "")]


def test_octet_strings_are_values_unless_the_rtds_holds_a_date_time():
    assert _kinds(cc.compare(cc.data_node(Data.octet(b"1312345678111")),
                             cc.data_node(Data.octet(b"13123456781111312345678222")))) == [
        ("value", "")]
    rtds_time = Data.octet(bytes.fromhex("07df0101ff000000008000ff"))
    other_time = Data.octet(axdr.date_time_bytes(1800000000))
    assert _kinds(cc.compare(cc.data_node(rtds_time), cc.data_node(other_time))) == [
        ("value", "")]
    assert _kinds(cc.compare(cc.data_node(rtds_time), cc.data_node(Data.octet(b"")))) == [
        ("shape", "")]


def test_cosem_descriptors_in_data_are_identities():
    def capture(obis):
        return Data.structure([Data.uint16(3), Data.octet(bytes(obis)), Data.int8(2),
                               Data.uint16(0)])

    a = cc.data_node(capture([1, 0, 1, 8, 0, 255]))
    b = cc.data_node(capture([1, 0, 2, 8, 0, 255]))
    assert _kinds(cc.compare(a, b)) == [("shape", "[1]")]


def test_bit_string_length_and_compact_array_type_are_shape():
    assert _kinds(cc.compare(cc.data_node(Data.bits("1010")),
                             cc.data_node(Data.bits("0101")))) == [("value", "")]
    assert _kinds(cc.compare(cc.data_node(Data.bits("1010")),
                             cc.data_node(Data.bits("10100")))) == [("shape", "")]
    td = (axdr.STRUCTURE, (axdr.DOUBLE_LONG_UNSIGNED, axdr.LONG_UNSIGNED))
    row = Data.structure([Data.uint32(1), Data.uint16(2)])
    a = Data.compact_array(td, [row])
    b = Data.compact_array((axdr.STRUCTURE, (axdr.DOUBLE_LONG_UNSIGNED, axdr.ENUM)),
                           [Data.structure([Data.uint32(1), Data.enum(2)])])
    assert ("shape", "type") in _kinds(cc.compare(cc.data_node(a), cc.data_node(b)))
    c = Data.compact_array(td, [row, row])
    assert _kinds(cc.compare(cc.data_node(a), cc.data_node(c))) == [("value", "values")]


def test_access_response_results_and_counts_are_shape():
    ok = access.AccessResponse(0x200003E8, [Data.octet(b"x"), Data.null()],
                               [access.ResponseSpec(access.GET, 0),
                                access.ResponseSpec(access.SET, 0)])
    failed = access.AccessResponse(0x200003E8, [Data.null(), Data.null()],
                                   [access.ResponseSpec(access.GET, 1),
                                    access.ResponseSpec(access.SET, 250)])
    # Paths are relative to the compared root (here the payload).
    diffs = cc.compare(cc.dlms_node(ok), cc.dlms_node(failed))
    assert ("shape", "results[0]") in _kinds(diffs)
    assert ("shape", "results[1]") in _kinds(diffs)
    assert ("shape", "data[0]") in _kinds(diffs)
    one = access.AccessResponse(0x200003E8, [Data.null()], [access.ResponseSpec(access.SET, 0)])
    assert ("shape", "data") in _kinds(cc.compare(cc.dlms_node(ok), cc.dlms_node(one)))
    other_invoke = access.AccessResponse(0x200003E9, ok.data, ok.specs)
    assert _kinds(cc.compare(cc.dlms_node(ok), cc.dlms_node(other_invoke))) == [
        ("shape", "invoke-id")]


def test_future_dated_alert_names_the_command_exactly():
    def alert(counter, when):
        ref = access.encode_future_dated(0x001A, counter, 111, bytes([0, 1, 19, 0, 0, 255]), 13)
        return access.DataNotification.alert(0x200007D2, 0x8F66, when, [Data.octet(ref)])

    t1 = bytes.fromhex("07ee010fff090000008000ff")
    t2 = axdr.date_time_bytes(1900000000)
    assert _kinds(cc.compare(cc.dlms_node(alert(1001, t1)), cc.dlms_node(alert(1001, t2)))) == [
        ("value", "body[1]")]
    diffs = cc.compare(cc.dlms_node(alert(1001, t1)), cc.dlms_node(alert(1002, t1)))
    assert _kinds(diffs) == [("shape", "body[2].originator-counter")]


def test_render_and_tree_diff_are_readable():
    a = cc.data_node(_registers(10))
    b = cc.data_node(_registers(11, extra=Data.uint32(1)))
    lines = cc.tree_diff(a, b)
    assert lines[0] == "--- RTDS" and lines[1] == "+++ device"
    assert "-  [0]: double-long-unsigned 10" in lines
    assert "+  [4]: double-long-unsigned 1" in lines
    assert cc.tree_diff(a, cc.data_node(_registers(10))) == []


def test_gbz_and_der_payloads_are_parsed():
    gbz_ok = bytes.fromhex("010901010702000c08000106020041040123abcd")
    gbz_err = bytes.fromhex("01090101070200060800010602c0")
    a = cc.gbz_node(gbz_ok)
    b = cc.gbz_node(gbz_err)
    kinds = _kinds(cc.compare(a, b))
    assert ("shape", "components[0].records[0].status") in kinds
    other_version = cc.gbz_node(bytes.fromhex("010901010702000c08000106020041040001000a"))
    assert _kinds(cc.compare(a, other_version)) == [
        ("value", "components[0].records[0].value")]
    der_ok = cc.der_node(bytes.fromhex("300902010004040123abce"))
    der_err = cc.der_node(bytes.fromhex("300902010104040123abcf"))
    assert _kinds(cc.compare(der_ok, der_err)) == [("shape", "value[0]"), ("value", "value[1]")]
    assert cc.payload_format(b"\xda\x00") == "DLMS"
    assert cc.payload_format(gbz_ok) == "GBZ"
    assert cc.payload_format(bytes.fromhex("300902010004040123abce")) == "ASN.1"
    assert cc.payload_format(b"\x77\x01\x02") == "unknown"


def test_undecodable_payload_must_be_byte_identical():
    class Msg:
        cra = envelope.CRA_RESPONSE
        content = b"\x77\x01\x02"

    class Other(Msg):
        content = b"\x77\x01\x03"

    assert cc.compare(cc.payload_node(Msg()), cc.payload_node(Msg())) == []
    assert _kinds(cc.compare(cc.payload_node(Msg()), cc.payload_node(Other()))) == [
        ("shape", "")]


# -- RTDS --------------------------------------------------------------------------------------


@needs_rtds
def test_every_rtds_message_decodes_and_matches_itself():
    undecodable = []
    count = 0
    for path in sorted((RTDS / "RTDS-4.5.0").glob("*/*_GBCS.HEX")):
        if "_PRECOMMAND_" in path.name:
            continue
        msg = envelope.decode(bytes.fromhex("".join(path.read_text().split())))
        a = cc.message_node(msg)
        b = cc.message_node(msg)
        assert cc.compare(a, b) == [], path.name
        if a.children[1].type.startswith("undecodable") or a.children[1].type == "bytes":
            undecodable.append(path.name)
        count += 1
    assert count > 900
    # Two GBZ alerts carry alert-specific bodies instead of components: compared as bytes.
    assert len(undecodable) <= 2, undecodable


@needs_rtds
def test_rtds_error_responses_differ_from_success_by_shape():
    pairs = [("6.2.7_ECS40/ECS40_6.2.7_SINGLE_SUCCESS", "6.2.7_ECS40/ECS40_6.2.7_SINGLE_ERROR"),
             ("7.4_ECS45/ECS45_7.4_SUCCESS", "7.4_ECS45/ECS45_7.4_ERROR"),
             ("11.2_GCS38/GCS38_11.2_SUCCESS", "11.2_GCS38/GCS38_11.2_ERROR")]
    for ok, err in pairs:
        diffs = cc.compare(cc.message_node(_load(ok + "_RESPONSE_GBCS.HEX")),
                           cc.message_node(_load(err + "_RESPONSE_GBCS.HEX")))
        shape = [d for d in diffs if d.kind == cc.SHAPE and "counter" not in d.path
                 and "invoke-id" not in d.path]
        assert shape, (ok, diffs)


@needs_rtds
def test_protected_attributes_are_compared_decrypted():
    ks = ocrypto.KeyStore(RTDS / "keystore")

    def decrypter(msg):
        originator, counter, recipient = ocrypto.payload_kdf_inputs(msg)
        z = ocrypto.ecdh(ks.private(recipient, "ka"), ks.public(originator, "ka"))

        def dec(index, prot):
            _sc, _ic, ct, tag = prot.split()
            return axdr.from_bytes(ocrypto.decrypt_payload(z, originator, counter, recipient,
                                                      bytes(ct) + bytes(tag)))
        return dec

    single = _load("4.1.1_ECS17b/ECS17b_4.1.1_SINGLE_SUCCESS_RESPONSE_GBCS.HEX")
    twin = _load("4.1.1_ECS17b/ECS17b_4.1.1_TWIN_SUCCESS_RESPONSE_GBCS.HEX")
    a = cc.message_node(single, decrypter(single))
    assert cc.compare(a, cc.message_node(single, decrypter(single))) == []
    decrypted = a.children[1].child("data").children[0].child("decrypted")
    assert decrypted.type == "structure" and decrypted.children[0].type == "structure"
    diffs = cc.compare(a, cc.message_node(twin, decrypter(twin)))
    paths = [d.path for d in diffs if d.kind == cc.SHAPE]
    # The twin-element meter returns five items where the single-element one returns four.
    assert "payload.data[0].decrypted[0]" in paths
    # The ciphertext itself is never compared.
    assert not any(d.path.endswith("ciphertext") for d in diffs)
    undecryptable = cc.message_node(single, lambda i, p: "no key")
    diffs = cc.compare(a, undecryptable)
    assert [d.path for d in diffs] == ["payload.data[0].decrypted"]


@needs_rtds
def test_header_echo_fields_are_shape_and_date_time_value_is_a_value():
    resp = _load("4.1.1_ECS17b/ECS17b_4.1.1_SINGLE_SUCCESS_RESPONSE_GBCS.HEX")
    a = cc.header_node(resp)
    changed = cc.header_node(resp)
    changed.child("date-time").value = axdr.date_time_bytes(1800000000)
    changed.child("date-time").text = "later"
    assert _kinds(cc.compare(a, changed)) == [("value", "date-time")]
    no_time = _load("7.4_ECS45/ECS45_7.4_SUCCESS_RESPONSE_GBCS.HEX")
    kinds = _kinds(cc.compare(a, cc.header_node(no_time)))
    assert ("shape", "date-time") in kinds and ("shape", "message-code") in kinds
    signed = _load("7.1_ECS42/ECS42_7.1_SUCCESS_RESPONSE_GBCS.HEX")
    assert ("shape", "protection") in _kinds(cc.compare(cc.header_node(no_time),
                                                        cc.header_node(signed)))


def test_paths_exist_for_generic_use():
    # The comparator is usable on any pair of Nodes, e.g. built by hand for a new format.
    a = cc.container("", "thing", [cc.leaf("code", "status", 0, exact=True),
                                   cc.leaf("reading", "number", 5)])
    b = cc.container("", "thing", [cc.leaf("code", "status", 1, exact=True),
                                   cc.leaf("reading", "number", 6)])
    assert _kinds(cc.compare(a, b)) == [("shape", "code"), ("value", "reading")]
    assert Path(cc.__file__).name == "compare.py"
