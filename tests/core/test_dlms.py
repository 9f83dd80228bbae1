"""A-XDR Data and xDLMS ACCESS / Data-Notification codecs (runs on CPython and MicroPython)."""

from smets.dlms import access, axdr, obis
from smets.dlms.access import (
    AccessRequest,
    AccessResponse,
    DataNotification,
    DLMSError,
    RequestSpec,
    ResponseSpec,
)
from smets.dlms.axdr import AXDRError, Data


def _raises(exc, fn, *args):
    try:
        fn(*args)
    except exc:
        return True
    except Exception as e:  # noqa: BLE001 - any other error type is a failure
        raise AssertionError("%s raised %r, not %s" % (fn, e, exc.__name__))
    raise AssertionError("%s did not raise %s" % (fn, exc.__name__))


def _h(text):
    return bytes.fromhex(text.replace(" ", ""))


def _round(d, wire=None):
    b = axdr.encode(d)
    if wire is not None:
        assert b == wire, (b, wire)
    back, pos = axdr.decode(b)
    assert pos == len(b)
    assert back == d, (back, d)
    assert axdr.from_json(axdr.to_json(d)) == d
    # Whole, with trailing bytes, and at an offset.
    back, pos = axdr.decode(b"\x99" + b + b"\x01\x02", 1)
    assert back == d and pos == len(b) + 1
    assert _raises(AXDRError, axdr.from_bytes, b + b"\x00")
    # Every strict prefix is truncated.
    for i in range(len(b)):
        assert _raises(AXDRError, axdr.decode, b[:i])
    return b


# ---------------------------------------------------------------------------- A-XDR types


def test_simple_types_wire_form():
    _round(Data.null(), b"\x00")
    _round(Data.dont_care(), b"\xff")
    _round(Data.boolean(True), b"\x03\xff")
    _round(Data.boolean(False), b"\x03\x00")
    _round(Data.int8(-1), b"\x0f\xff")
    _round(Data.int8(127), b"\x0f\x7f")
    _round(Data.int16(-32768), b"\x10\x80\x00")
    _round(Data.int32(-2), b"\x05\xff\xff\xff\xfe")
    _round(Data.int64(-(2**63)), b"\x14\x80" + b"\x00" * 7)
    _round(Data.uint8(255), b"\x11\xff")
    _round(Data.uint16(0x8F66), b"\x12\x8f\x66")
    _round(Data.uint32(0xFFFFFFFF), b"\x06\xff\xff\xff\xff")
    _round(Data.uint64(2**64 - 1), b"\x15" + b"\xff" * 8)
    _round(Data.enum(2), b"\x16\x02")
    _round(Data.bcd(0x42), b"\x0d\x42")
    _round(Data.float32(1.5), b"\x17\x3f\xc0\x00\x00")
    _round(Data.float64(-2.0), b"\x18\xc0\x00\x00\x00\x00\x00\x00\x00")
    _round(Data.octet(b"\x00\xdb"), b"\x09\x02\x00\xdb")
    _round(Data.octet(b""), b"\x09\x00")
    _round(Data.visible("Reset"), b"\x0a\x05Reset")
    _round(Data.utf8("\u00e9"), b"\x0c\x02\xc3\xa9")
    dt = axdr.DATE_TIME_NOW
    _round(Data.date_time(dt), b"\x19" + dt)
    _round(Data.date(b"\xff\xff\xff\x01\xff"), b"\x1a\xff\xff\xff\x01\xff")
    _round(Data.time(b"\x17\x1e\x00\x00"), b"\x1b\x17\x1e\x00\x00")


def test_bit_string():
    # DBCH04 alert: 32-bit mask e0000006.
    d = _round(Data.bit_string(32, b"\xe0\x00\x00\x06"), _h("04 20 e0000006"))
    assert axdr.to_json(axdr.from_bytes(d)) == {"bit-string": "11100000" + "0" * 21 + "110"}
    _round(Data.bits("101"), b"\x04\x03\xa0")
    _round(Data.bits(""), b"\x04\x00")
    # Padding bits are kept as received.
    padded = axdr.from_bytes(b"\x04\x03\xa1")
    assert axdr.encode(padded) == b"\x04\x03\xa1"
    assert axdr.to_json(padded) == {"bit-string": {"bits": "101", "raw": "a1"}}
    assert axdr.from_json(axdr.to_json(padded)) == padded
    assert _raises(AXDRError, axdr.encode, Data(axdr.BIT_STRING, (9, b"\x00")))


def test_integer_ranges_rejected():
    for d in (
        Data.uint8(256),
        Data.uint8(-1),
        Data.int8(128),
        Data.int16(-32769),
        Data.uint32(2**32),
        Data.uint64(-1),
        Data.int64(2**63),
        Data.enum(300),
        Data(axdr.LONG_UNSIGNED, "5"),
        Data(axdr.LONG_UNSIGNED, True),
        Data(axdr.BOOLEAN, 1),
        Data(axdr.OCTET_STRING, "text"),
        Data(axdr.VISIBLE_STRING, b"bytes"),
        Data(axdr.NULL, 0),
        Data(axdr.DATE_TIME, b"\x00" * 11),
        Data(axdr.STRUCTURE, Data.null()),
        Data(0x07, None),
        Data(axdr.STRUCTURE, [5]),
    ):
        assert _raises(AXDRError, axdr.encode, d)


def test_lengths_127_128_255_256():
    for n, head in (
        (0, b"\x00"),
        (127, b"\x7f"),
        (128, b"\x81\x80"),
        (255, b"\x81\xff"),
        (256, b"\x82\x01\x00"),
        (65535, b"\x82\xff\xff"),
        (65536, b"\x83\x01\x00\x00"),
    ):
        assert axdr.encode_length(n) == head
        assert axdr.decode_length(b"\x00" + head + b"\x00", 1) == (n, 1 + len(head))
        if n > 256:
            continue  # keep the MicroPython heap small
        payload = bytes(i & 0xFF for i in range(n))
        b = axdr.encode(Data.octet(payload))
        assert b == b"\x09" + head + payload
        assert axdr.from_bytes(b).value == payload
        _round(Data.octet(payload))
    # Element counts use the same form.
    items = [Data.uint8(i & 0xFF) for i in range(128)]
    b = _round(Data.array(items))
    assert b[:3] == b"\x01\x81\x80"
    # Non-minimal long forms decode (the encoder writes the shortest form).
    assert axdr.from_bytes(b"\x09\x81\x02ab").value == b"ab"
    assert axdr.from_bytes(b"\x09\x84\x00\x00\x00\x01a").value == b"a"
    assert _raises(AXDRError, axdr.from_bytes, b"\x09\x80")  # indefinite form
    assert _raises(AXDRError, axdr.from_bytes, b"\x09\x85\x00\x00\x00\x00\x01a")


def test_nested_structures():
    d = Data.structure(
        [
            Data.array([Data.structure([Data.uint16(1), Data.octet(b"\x00" * 6)])]),
            Data.structure([]),
            Data.array([]),
            Data.structure([Data.structure([Data.structure([Data.null()])])]),
        ]
    )
    b = _round(d, _h("0204 0101 0202 120001 0906000000000000 0200 0100 0201 0201 0201 00"))
    assert d[0][0][0].value == 1 and len(d) == 4
    assert axdr.to_json(d) == {
        "structure": [
            {"array": [{"structure": [{"long-unsigned": 1}, {"octet-string": "000000000000"}]}]},
            {"structure": []},
            {"array": []},
            {"structure": [{"structure": [{"structure": [{"null-data": None}]}]}]},
        ]
    }
    assert len(b) == 28


def test_depth_limit():
    deep = b"\x02\x01" * (axdr.MAX_DEPTH + 1) + b"\x00"
    assert _raises(AXDRError, axdr.from_bytes, deep)
    ok = b"\x02\x01" * axdr.MAX_DEPTH + b"\x00"
    assert axdr.encode(axdr.from_bytes(ok)) == ok


def test_truncated_and_bad_input():
    for bad in (
        b"",
        b"\x12\x00",
        b"\x06\x00\x00\x00",
        b"\x09\x05abc",
        b"\x0a\x02a",
        b"\x02\x02\x00",
        b"\x01\x81",
        b"\x04\x09\xff",
        b"\x07",  # unused tag
        b"\x0b\x00",  # unused tag
        b"\x1c",
        b"\x0a\x01\xff",  # not UTF-8
        b"\x01\x84\xff\xff\xff\xff\x00",  # count larger than the input
        b"\x13\x00\x00",  # compact-array of null-data
    ):
        assert _raises(AXDRError, axdr.from_bytes, bad)
    # The error shows the offending bytes.
    try:
        axdr.from_bytes(b"\x09\x05abc")
    except AXDRError as e:
        assert "09 05 61 62 63" in str(e)


def test_compact_array():
    # structure{long-unsigned, enum} x 2, then array(2 of unsigned) x 1.
    td = (axdr.STRUCTURE, (axdr.LONG_UNSIGNED, axdr.ENUM))
    d = Data.compact_array(
        td,
        [
            Data.structure([Data.uint16(1), Data.enum(2)]),
            Data.structure([Data.uint16(0x0304), Data.enum(5)]),
        ],
    )
    _round(d, _h("13 0202 12 16 06 000102 030405"))
    assert axdr.to_json(d) == {
        "compact-array": {
            "type": {"structure": ["long-unsigned", "enum"]},
            "values": [
                {"structure": [{"long-unsigned": 1}, {"enum": 2}]},
                {"structure": [{"long-unsigned": 772}, {"enum": 5}]},
            ],
        }
    }
    td2 = (axdr.ARRAY, 2, axdr.OCTET_STRING)
    _round(
        Data.compact_array(td2, [Data.array([Data.octet(b"a"), Data.octet(b"")])]),
        _h("13 01 0002 09 03 016100"),
    )
    _round(Data.compact_array(axdr.UNSIGNED, []), b"\x13\x11\x00")
    # Contents that end inside an element, and elements that do not match the type.
    assert _raises(AXDRError, axdr.from_bytes, _h("13 12 03 000102"))
    assert _raises(AXDRError, axdr.from_bytes, _h("13 0100000011 00"))  # empty array type
    assert _raises(AXDRError, axdr.encode, Data.compact_array(axdr.UNSIGNED, [Data.uint16(1)]))


def test_obis_text():
    assert obis.to_str(b"\x01\x00\x01\x08\x00\xff") == "1-0:1.8.0.255"
    assert obis.from_str("0-0:94.44.34.10") == b"\x00\x00\x5e\x2c\x22\x0a"
    assert obis.from_str("1.0.1.8.0.255") == b"\x01\x00\x01\x08\x00\xff"
    assert obis.from_str("1-0:1.8.0*255") == b"\x01\x00\x01\x08\x00\xff"
    assert _raises(obis.OBISError, obis.from_str, "1-0:1.8.0")
    assert _raises(obis.OBISError, obis.from_str, "1-0:1.8.0.256")


# ---------------------------------------------------------------------------- date-time


def test_date_time_helpers():
    # 2014-01-15 09:00:00 UTC, the RTDS form: day-of-week FF, deviation 8000, status FF.
    t = 1389776400
    b = axdr.date_time_bytes(t)
    assert b == _h("07de010fff090000008000ff")
    assert axdr.date_time_to_unix(b) == t
    assert axdr.date_time_str(b) == "2014-01-15T09:00:00Z"
    assert axdr.date_time_fields(b) == (2014, 1, 15, None, 9, 0, 0, 0, None, None)
    # Deviation 0 and a clock status byte, with the day of week (Wednesday = 3).
    b = axdr.date_time_bytes(t, deviation=0, status=0x00, weekday=True)
    assert b == _h("07de010f03090000000000 00".replace(" ", ""))
    assert axdr.date_time_fields(b)[8] == 0
    assert axdr.date_time_to_unix(b) == t
    # A specified deviation shifts the local fields (local = UTC + deviation).
    b = axdr.date_time_bytes(t, deviation=-60)
    assert b[5] == 8 and axdr.date_time_fields(b)[8] == -60
    assert axdr.date_time_to_unix(b) == t
    assert axdr.date_time_str(b) == "2014-01-15T08:00:00-01:00"
    # Epoch, leap day, end of century.
    for when in (0, 951782400, 4107542399, 1709164800 + 86399):
        assert axdr.date_time_to_unix(axdr.date_time_bytes(when)) == when
    assert axdr.date_time_bytes(951782400)[:4] == _h("07d0021d")  # 2000-02-29


def test_date_time_wildcards():
    assert axdr.date_time_str(axdr.DATE_TIME_NOW) == "now"
    assert axdr.date_time_str(axdr.DATE_TIME_NEVER) == "never"
    f = axdr.date_time_fields(axdr.DATE_TIME_NEVER)
    assert f == (None,) * 8 + (None, None)
    # Every year on 1 January at 00:00 (a special-day-like pattern).
    b = _h("ffff0101ff000000ff8000ff")
    assert axdr.date_time_str(b) == "*-01-01T00:00:00Z"
    assert axdr.date_time_fields(b)[7] is None
    assert _raises(AXDRError, axdr.date_time_to_unix, b)
    assert _raises(AXDRError, axdr.date_time_to_unix, axdr.DATE_TIME_NOW)
    assert _raises(AXDRError, axdr.date_time_to_unix, axdr.DATE_TIME_NEVER)
    assert _raises(AXDRError, axdr.date_time_fields, b"\x00" * 11)
    assert _raises(AXDRError, axdr.date_time_bytes, 0, 721)


# ---------------------------------------------------------------------------- xDLMS APDUs
# Hand-checked byte strings in the shape of RTDS 4.5.0 ESME messages.

# ECS26e-like GET of four Data objects (class 1, attribute 2).
GET_4 = (
    "d9 200003ea 00 05"
    " 01 0001 0000600101ff 02  01 0001 0000600102ff 02  01 0001 0000600104ff 02"
    " 01 0001 0000600106ff 02  01 0001 00005e2c0004 02"
    " 05 00 00 00 00 00"
)


def test_access_request_get():
    b = _h(GET_4)
    r = AccessRequest.from_bytes(b)
    assert r.invoke_id == 0x200003EA
    assert r.invoke_id & access.INVOKE_ID_MASK == 1002
    assert r.invoke_id & access.BREAK_ON_ERROR
    assert r.date_time == b""
    assert len(r.specs) == 5 and r.data == [Data.null()] * 5
    s = r.specs[4]
    assert (s.kind, s.class_id, s.obis, s.index) == (access.GET, 1, _h("00005e2c0004"), 2)
    assert s.descriptor == (1, b"\x00\x00\x5e\x2c\x00\x04", 2)
    assert r.to_bytes() == b
    built = AccessRequest(
        0x200003EA, [RequestSpec.get(1, obis.from_str(t), 2) for t in (
            "0-0:96.1.1.255", "0-0:96.1.2.255", "0-0:96.1.4.255", "0-0:96.1.6.255",
            "0-0:94.44.0.4")]
    )  # fmt: skip
    assert built == r and built.to_bytes() == b
    assert r.to_json()["access-request"]["specs"][0] == {
        "get": {"class": 1, "obis": "0-0:96.1.1.255", "attribute": 2}
    }


def test_access_request_set_action_and_selection():
    # ECS10-like set of a visible string, ECS04a-like action with a double-long parameter,
    # ECS20a-like get-with-selection (range descriptor, selector 1).
    b = _h(
        "d9 200003ec 00 03"
        " 02 0001 0002600d01ff 02"
        " 03 0070 0000130a00ff 01"
        " 04 0007 0000620104ff 02 01"
        "   0204 0204 120001 09060000 5e2c64ff 0f02 120000 06 1c2aa118 06 1c374a80 0100"
        " 03 0905 5265736574 05 00124f80 00"
    )
    r = AccessRequest.from_bytes(b)
    kinds = [s.kind for s in r.specs]
    assert kinds == [access.SET, access.ACTION, access.GET_WITH_SELECTION]
    sel = r.specs[2]
    assert sel.selector == 1 and sel.parameters[1].value == 0x1C2AA118
    assert r.data[0] == Data.octet(b"Reset")
    assert r.data[1] == Data.int32(0x124F80)
    assert r.to_bytes() == b
    j = r.to_json()["access-request"]
    assert j["specs"][1] == {"action": {"class": 112, "obis": "0-0:19.10.0.255", "method": 1}}
    assert j["specs"][2]["get-with-selection"]["selector"] == 1
    # Truncation anywhere raises DLMSError (never AXDRError or IndexError).
    for i in range(len(b)):
        assert _raises(DLMSError, AccessRequest.from_bytes, b[:i])
    assert _raises(DLMSError, AccessRequest.from_bytes, b + b"\x00")
    r2, pos = AccessRequest.decode(b + b"\x00", 0)
    assert pos == len(b) and r2 == r


def test_access_request_errors():
    assert _raises(DLMSError, AccessRequest.from_bytes, _h("da 20000001 00 00 00"))
    assert _raises(
        DLMSError, AccessRequest.from_bytes, _h("d9 20000001 00 01 06 0001 000000000000 02 01 00")
    )
    # Specifications and data must pair up.
    assert _raises(
        DLMSError, AccessRequest.from_bytes, _h("d9 20000001 00 01 01 0001 0000600101ff 02 00")
    )
    assert _raises(DLMSError, AccessRequest(1, [RequestSpec.get(1, b"\x00" * 6, 2)], []).to_bytes)
    assert _raises(DLMSError, AccessRequest(1, [RequestSpec.get(1, b"\x00" * 5, 2)]).to_bytes)
    assert _raises(
        DLMSError,
        AccessRequest(1, [RequestSpec.set(1, b"\x00" * 6, 2)], [Data.uint8(999)]).to_bytes,
    )
    assert _raises(DLMSError, AccessRequest(2**32, []).to_bytes)


def test_access_response():
    # ECS26b-like: three results, one a read-write-denied get with null data.
    b = _h("da 200003ed 00 00 03 1200ff 00 0f05 03 0100 0103 0300")
    r = AccessResponse.from_bytes(b)
    assert r.request_specs is None
    assert r.data == [Data.uint16(0xFF), Data.null(), Data.int8(5)]
    assert r.specs == [
        ResponseSpec(access.GET), ResponseSpec(access.GET, access.READ_WRITE_DENIED),
        ResponseSpec(access.ACTION),
    ]  # fmt: skip
    assert r.to_bytes() == b
    assert r.to_json()["access-response"]["specs"][1] == {"get": "read-write-denied"}
    built = AccessResponse(0x200003ED, r.data, r.specs)
    assert built.to_bytes() == b
    # With the optional echo of the request specifications.
    echo = AccessResponse(5, [Data.null()], [ResponseSpec(access.SET)], b"",
                          [RequestSpec.set(1, b"\x00\x00\x60\x01\x01\xff", 2)])  # fmt: skip
    eb = echo.to_bytes()
    assert eb == _h("da 00000005 00 01 01 02 0001 0000600101ff 02 01 00 01 02 00")
    assert AccessResponse.from_bytes(eb) == echo
    for i in range(len(b)):
        assert _raises(DLMSError, AccessResponse.from_bytes, b[:i])
    assert _raises(DLMSError, AccessResponse.from_bytes, _h("da 00000005 00 02"))
    assert _raises(DLMSError, AccessResponse.from_bytes, _h("da 00000005 00 00 01 00 01 04 00"))
    assert _raises(
        DLMSError, AccessResponse.from_bytes, _h("da 00000005 00 00 01 00 02 01 00 01 00")
    )
    assert access.response_kind(access.GET_WITH_SELECTION) == access.GET
    assert access.response_kind(access.ACTION) == access.ACTION


def test_data_notification_alert():
    # 8F66 future-dated execution outcome (ECS08 shape).
    b = _h(
        "0f 200007dc 00 0203 12 8f66 090c 07ee010fff090000008000ff"
        " 0913 001f 00000000000003ec 2328 00005e2c800c 06"
    )
    n = DataNotification.from_bytes(b)
    assert n.invoke_id == 0x200007DC and n.alert_code == 0x8F66
    assert axdr.date_time_str(n.timestamp) == "2030-01-15T09:00:00Z"
    code, ctr, cls, ln, attr = access.decode_future_dated(n.body[2].value)
    assert (code, ctr, cls, obis.to_str(ln), attr) == (0x1F, 1004, 9000, "0-0:94.44.128.12", 6)
    assert access.encode_future_dated(code, ctr, cls, ln, attr) == n.body[2].value
    built = DataNotification.alert(0x200007DC, 0x8F66, n.timestamp, [Data.octet(n.body[2].value)])
    assert built == n and built.to_bytes() == b
    assert access.decode_apdu(b) == n
    assert n.to_json()["data-notification"]["body"]["structure"][0] == {"long-unsigned": 0x8F66}
    for i in range(len(b)):
        assert _raises(DLMSError, DataNotification.from_bytes, b[:i])
    assert _raises(DLMSError, access.decode_future_dated, b"\x00" * 18)
    # A bare body (not a GBCS alert structure) has no alert code.
    assert DataNotification(1, Data.null()).alert_code is None
    assert DataNotification(1, Data.null()).to_bytes() == _h("0f 00000001 00 00")
    # A date-time in the notification header (length-prefixed octet string).
    n2 = DataNotification(1, Data.null(), axdr.DATE_TIME_NOW)
    assert DataNotification.from_bytes(n2.to_bytes()) == n2


def test_decode_apdu_dispatch():
    assert isinstance(access.decode_apdu(_h(GET_4)), AccessRequest)
    assert _raises(DLMSError, access.decode_apdu, b"")
    assert _raises(DLMSError, access.decode_apdu, b"\x01\x02")
    assert _raises(DLMSError, access.decode_apdu, _h("0f 00000001 00 07"))


# ECS17b (import register) Get-Protected-Attributes parameters and response, as in RTDS.
PGA_PARAMS = (
    "0202 0101 0205 120001 0906 00005e2c220a 0f02 120000 0202 1600 00"
    " 0101 0202 1602 0205 0909 0400000000000003e8 0908 90b3d51f30010000"
    " 0908 00db1234567890a0 0900 0202 1602 0202 090102 0900"
)
PGA_RESPONSE = (
    "0202 0101 0202 1602 0205 0909 0400000000000003e8 0908 00db1234567890a0"
    " 0908 90b3d51f30010000 0900 0202 1602 0202 090102 0900"
    " 0913 31 00000000 1122 000102030405060708090a0b"
)


def test_get_protected_attributes_parameters():
    d = axdr.from_bytes(_h(PGA_PARAMS))
    g = access.GetProtectedAttributes.from_data(d)
    assert len(g.requests) == 1 and len(g.protection) == 1
    q = g.requests[0]
    assert (q.class_id, obis.to_str(q.obis), q.attribute, q.data_index, q.selector) == (
        1, "0-0:94.44.34.10", 2, 0, 0
    )  # fmt: skip
    assert q.parameters == Data.null()
    p = g.protection[0]
    assert p.protection_type == 2 and p.key_info_type == 2
    assert p.transaction_id == _h("0400000000000003e8") and p.counter == 1000
    assert p.originator == _h("90b3d51f30010000") and p.recipient == _h("00db1234567890a0")
    assert p.other_information == b"" and p.key_parameters == b"\x02"
    assert p.key_ciphered_data == b""
    assert g.to_data() == d
    assert axdr.encode(g.to_data()) == _h(PGA_PARAMS)
    built = access.GetProtectedAttributes(
        [access.ProtectedGet(1, obis.from_str("0-0:94.44.34.10"), 2)],
        [access.ProtectionParameters(p.transaction_id, p.originator, p.recipient)],
    )
    assert built.to_data() == d
    assert g.to_json()["requests"][0]["obis"] == "0-0:94.44.34.10"
    # Wrong shapes raise DLMSError.
    assert _raises(DLMSError, access.GetProtectedAttributes.from_data, Data.null())
    assert _raises(DLMSError, access.GetProtectedAttributes.from_data, Data.structure([]))
    bad = axdr.from_bytes(_h(PGA_PARAMS))
    bad[0][0].value[1] = Data.octet(b"\x00")
    assert _raises(DLMSError, access.GetProtectedAttributes.from_data, bad)


def test_protected_attributes_response():
    d = axdr.from_bytes(_h(PGA_RESPONSE))
    r = access.ProtectedAttributes.from_data(d)
    assert r.protection[0].originator == _h("00db1234567890a0")
    assert r.protection[0].counter == 1000
    sc, ic, ct, tag = r.split()
    assert (sc, ic, ct) == (0x31, 0, b"\x11\x22") and len(tag) == 12
    assert r.to_data() == d
    assert r.to_json()["protected-attributes"].startswith("3100000000")
    assert _raises(DLMSError, access.ProtectedAttributes(r.protection, b"\x31").split)
