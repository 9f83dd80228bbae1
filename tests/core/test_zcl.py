"""ZCL frames, data types and foundation payloads (smets.zcl.frame, types, foundation).
Runs under pytest and on the MicroPython unix port."""

from smets.zcl import foundation, types
from smets.zcl.foundation import AttributeRecord, ReportingConfig, StatusRecord
from smets.zcl.frame import (
    DEFAULT_RESPONSE,
    INVALID_VALUE,
    READ_ONLY,
    SUCCESS,
    TYPE_CLUSTER,
    TYPE_GLOBAL,
    UNSUPPORTED_ATTRIBUTE,
    ZCLError,
    ZCLFrame,
)


def _raises(exc, fn, *args):
    try:
        fn(*args)
    except exc as e:
        return e
    raise AssertionError("%r%r did not raise %s" % (fn, args, exc.__name__))


def _truncations_raise(fn, data):
    """Every proper prefix of `data` (a byte at a time) is refused with ZCLError."""
    for n in range(len(data)):
        _raises(ZCLError, fn, data[:n])


def _record_prefixes_raise(command, record):
    """Each non-empty proper prefix of one foundation record is refused (no payload at all is
    a valid empty list)."""
    for n in range(1, len(record)):
        _raises(ZCLError, foundation.decode, command, record[:n])


# -- frames -----------------------------------------------------------------------------------


def test_frame_round_trip_and_fields():
    f = ZCLFrame(0x07, b"\x01\x02", server_to_client=True, disable_default_response=True, seq=9)
    b = f.to_bytes()
    assert b == b"\x19\x09\x07\x01\x02"
    g = ZCLFrame.from_bytes(b)
    assert (g.frame_type, g.server_to_client, g.disable_default_response, g.seq, g.command,
            g.payload, g.manufacturer) == (TYPE_CLUSTER, True, True, 9, 7, b"\x01\x02", None)
    assert g.to_bytes() == b


def test_frame_manufacturer_code_is_little_endian():
    f = ZCLFrame(0x01, b"", frame_type=TYPE_GLOBAL, manufacturer=0x1234, seq=1)
    assert f.to_bytes() == b"\x04\x34\x12\x01\x01"
    assert ZCLFrame.from_bytes(f.to_bytes()).manufacturer == 0x1234


def test_frame_truncated_and_reserved_type_raise_with_bytes():
    _truncations_raise(ZCLFrame.from_bytes, b"\x01\x05\x00")
    _truncations_raise(ZCLFrame.from_bytes, b"\x04\x34\x12\x01\x01")
    e = _raises(ZCLError, ZCLFrame.from_bytes, b"\x02\x01\x00")
    assert "02 01 00" in str(e)


def test_frame_trailing_bytes_are_payload():
    # A ZCL frame has no length: whatever follows the header is the payload (ZCL 2.4.1).
    g = ZCLFrame.from_bytes(b"\x01\x05\x00" + b"\xde\xad")
    assert g.payload == b"\xde\xad"


def test_default_response_goes_back_with_the_same_sequence():
    f = ZCLFrame(0x06, b"", seq=42)
    d = f.default_response(0x81)
    assert (d.frame_type, d.server_to_client, d.seq, d.command, d.payload) == (
        TYPE_GLOBAL, True, 42, DEFAULT_RESPONSE, b"\x06\x81")
    assert not d.wants_default_response()
    assert f.wants_default_response()


# -- data types -------------------------------------------------------------------------------

_SAMPLES = (
    (types.NO_DATA, None, b""),
    (types.BOOL, True, b"\x01"),
    (types.BOOL, False, b"\x00"),
    (types.BOOL, None, b"\xff"),
    (types.MAP8, 0x81, b"\x81"),
    (types.MAP16, 0x1234, b"\x34\x12"),
    (types.UINT8, 200, b"\xc8"),
    (types.UINT16, 0x0102, b"\x02\x01"),
    (types.UINT24, 0x010203, b"\x03\x02\x01"),
    (types.UINT32, 0xDEADBEEF, b"\xef\xbe\xad\xde"),
    (types.UINT48, 0x0000BC614E, b"\x4e\x61\xbc\x00\x00\x00"),
    (types.UINT64, (1 << 64) - 1, b"\xff" * 8),
    (types.INT8, -1, b"\xff"),
    (types.INT16, -300, b"\xd4\xfe"),
    (types.INT24, -2, b"\xfe\xff\xff"),
    (types.INT32, 0x7FFFFFFF, b"\xff\xff\xff\x7f"),
    (types.INT48, -(1 << 47), b"\x00\x00\x00\x00\x00\x80"),
    (types.ENUM8, 3, b"\x03"),
    (types.ENUM16, 0x0201, b"\x01\x02"),
    (types.OCTET_STRING, b"\x01\x02", b"\x02\x01\x02"),
    (types.CHAR_STRING, b"GB", b"\x02GB"),
    (types.OCTET_STRING, None, b"\xff"),
    (types.LONG_OCTET_STRING, b"xyz", b"\x03\x00xyz"),
    (types.LONG_CHAR_STRING, None, b"\xff\xff"),
    (types.UTC_TIME, 0x1C374A80, b"\x80\x4a\x37\x1c"),
    (types.CLUSTER_ID, 0x0702, b"\x02\x07"),
    (types.ATTRIBUTE_ID, 0x0300, b"\x00\x03"),
    (types.EUI64, b"\x00\xdb\x12\x34\x56\x78\x90\xa0", b"\x00\xdb\x12\x34\x56\x78\x90\xa0"),
    (types.DATA8, b"\x5a", b"\x5a"),
)


def test_types_encode_decode_samples():
    for ztype, value, raw in _SAMPLES:
        assert types.encode(ztype, value) == raw, (types.name(ztype), value)
        assert types.decode(ztype, raw) == (value, b""), (types.name(ztype), raw)


def test_types_byte_at_a_time_and_trailing_garbage():
    for ztype, value, raw in _SAMPLES:
        for n in range(len(raw)):
            _raises(ZCLError, types.decode, ztype, raw[:n])
        assert types.decode(ztype, raw + b"\x99\x98") == (value, b"\x99\x98")


def test_types_refuse_values_that_do_not_fit():
    _raises(ZCLError, types.encode, types.UINT8, 256)
    _raises(ZCLError, types.encode, types.UINT8, -1)
    _raises(ZCLError, types.encode, types.INT8, 128)
    _raises(ZCLError, types.encode, types.UINT16, "7")
    _raises(ZCLError, types.encode, types.EUI64, b"\x00" * 7)
    _raises(ZCLError, types.encode, types.OCTET_STRING, b"\x00" * 255)
    _raises(ZCLError, types.encode, 0x48, [])  # array: not used by the GB SE clusters
    assert not types.check(types.UINT16, 1 << 16) and types.check(types.UINT16, 65535)


def test_types_unknown_type_and_bad_bool_raise():
    e = _raises(ZCLError, types.decode, 0x4C, b"\x00\x00")
    assert "4c" in str(e)
    _raises(ZCLError, types.decode, types.BOOL, b"\x02")


def test_types_names_and_classes():
    assert types.name(types.UINT48) == "uint48" and types.name(types.INT8) == "int8"
    assert types.name(types.MAP32) == "map32" and types.name(types.UTC_TIME) == "UTC"
    assert types.is_analog(types.UINT24) and types.is_analog(types.UTC_TIME)
    assert not types.is_analog(types.ENUM8) and not types.is_analog(types.OCTET_STRING)
    assert types.size(types.UINT40) == 5 and types.size(types.CHAR_STRING) is None


# -- foundation payloads ----------------------------------------------------------------------


def test_read_attributes_round_trip():
    raw = b"\x00\x00\x00\x03"
    assert foundation.decode(0x00, raw) == [0x0000, 0x0300]
    assert foundation.encode(0x00, [0x0000, 0x0300]) == raw
    _raises(ZCLError, foundation.decode, 0x00, raw[:3])
    _raises(ZCLError, foundation.decode, 0x00, raw + b"\x01")


def test_read_attributes_response_round_trip_and_feeds():
    records = [AttributeRecord(0x0000, types.UINT48, 12345678),
               AttributeRecord(0x0001, status=UNSUPPORTED_ATTRIBUTE),
               AttributeRecord(0x0306, types.CHAR_STRING, b"kWh")]
    raw = foundation.encode(0x01, records)
    assert raw == (b"\x00\x00\x00\x25\x4e\x61\xbc\x00\x00\x00" b"\x01\x00\x86"
                   b"\x06\x03\x00\x42\x03kWh")
    assert foundation.decode(0x01, raw) == records
    # Byte at a time: a prefix either ends on a record boundary or raises.
    ends = (10, 13, len(raw))
    for n in range(1, len(raw)):
        if n in ends:
            assert len(foundation.decode(0x01, raw[:n])) == ends.index(n) + 1
        else:
            _raises(ZCLError, foundation.decode, 0x01, raw[:n])
    _raises(ZCLError, foundation.decode, 0x01, raw + b"\x07")  # half an attribute id


def test_write_attributes_and_response():
    records = [AttributeRecord(0x0010, types.UINT8, 5), AttributeRecord(0x0020, types.BOOL,
                                                                        True)]
    raw = foundation.encode(0x02, records)
    assert raw == b"\x10\x00\x20\x05\x20\x00\x10\x01"
    assert foundation.decode(0x02, raw) == records
    assert foundation.decode(0x03, raw) == records and foundation.decode(0x05, raw) == records
    _record_prefixes_raise(0x02, raw[:4])
    assert foundation.encode(0x04, []) == b"\x00"
    assert foundation.decode(0x04, b"\x00") == [StatusRecord(SUCCESS)]
    fails = [StatusRecord(READ_ONLY, 0x0010), StatusRecord(INVALID_VALUE, 0x0020)]
    raw = foundation.encode(0x04, fails)
    assert raw == b"\x88\x10\x00\x87\x20\x00"
    assert foundation.decode(0x04, raw) == fails
    _raises(ZCLError, foundation.decode, 0x04, raw[:4])
    _raises(ZCLError, foundation.decode, 0x04, b"\x88")  # failure without attribute id


def test_report_attributes_round_trip():
    records = [AttributeRecord(0x0000, types.UINT48, 1), AttributeRecord(0x0400, types.INT24,
                                                                         -5)]
    raw = foundation.encode(0x0A, records)
    assert foundation.decode(0x0A, raw) == records
    _raises(ZCLError, foundation.decode, 0x0A, raw + b"\x00\x00\x4c")


def test_configure_reporting_round_trip():
    configs = [ReportingConfig(0x0000, types.UINT48, 10, 600, 100),
               ReportingConfig(0x0014, types.ENUM8, 0, 60),
               ReportingConfig(0x0400, direction=1, timeout=900)]
    raw = foundation.encode(0x06, configs)
    assert raw == (b"\x00\x00\x00\x25\x0a\x00\x58\x02\x64\x00\x00\x00\x00\x00"
                   b"\x00\x14\x00\x30\x00\x00\x3c\x00" b"\x01\x00\x04\x84\x03")
    assert foundation.decode(0x06, raw) == configs
    _record_prefixes_raise(0x06, raw[:14])
    _raises(ZCLError, foundation.decode, 0x06, b"\x02\x00\x00")  # no such direction
    assert foundation.encode(0x07, []) == b"\x00"
    fails = [StatusRecord(0x8C, 0x0014, 0)]
    assert foundation.encode(0x07, fails) == b"\x8c\x00\x14\x00"
    assert foundation.decode(0x07, b"\x8c\x00\x14\x00") == fails
    _raises(ZCLError, foundation.decode, 0x07, b"\x8c\x00\x14")


def test_default_response_payload():
    assert foundation.decode(0x0B, b"\x06\x00") == (6, 0)
    assert foundation.encode(0x0B, (6, 0x81)) == b"\x06\x81"
    _raises(ZCLError, foundation.decode, 0x0B, b"\x06")
    _raises(ZCLError, foundation.decode, 0x0B, b"\x06\x00\x00")
    _raises(ZCLError, foundation.decode, 0x11, b"")  # not a decoded foundation command
