"""The HAN endpoint model (smets.zcl.endpoint): cluster tables answering foundation commands
with the ZCL status codes. Runs under pytest and on the MicroPython unix port."""

from smets.zcl import foundation, types
from smets.zcl.endpoint import Attribute, Cluster, Endpoint
from smets.zcl.foundation import AttributeRecord, ReportingConfig, StatusRecord
from smets.zcl.frame import (
    DEFAULT_RESPONSE,
    INVALID_DATA_TYPE,
    INVALID_VALUE,
    MALFORMED_COMMAND,
    READ_ONLY,
    SUCCESS,
    TYPE_GLOBAL,
    UNREPORTABLE_ATTRIBUTE,
    UNSUP_CLUSTER_COMMAND,
    UNSUP_GENERAL_COMMAND,
    UNSUP_MANUF_CLUSTER_COMMAND,
    UNSUPPORTED_ATTRIBUTE,
    UNSUPPORTED_CLUSTER,
    ZCLFrame,
)

METERING = 0x0702
PRICE = 0x0700


class _Meter:
    """A small device model: a summation, a writable unit of measure and a snapshot command."""

    def __init__(self):
        self.summation = 1000
        self.unit = 0
        self.snapshots = 0

    def set_unit(self, value):
        if value > 8:
            return INVALID_VALUE
        self.unit = value
        return None

    def get_snapshot(self, cluster, frame, now):
        self.snapshots += 1
        return ZCLFrame(0x06, b"\x01", server_to_client=True, seq=frame.seq)

    def endpoint(self):
        server = Cluster(METERING, server=True, name="Metering", attributes=(
            (0x0000, types.UINT48, lambda: self.summation),
            (0x0300, types.ENUM8, lambda: self.unit, self.set_unit),
            Attribute(0x0307, types.OCTET_STRING, lambda: b"site", reportable=False),
        ), commands={0x06: self.get_snapshot, 0x07: _malformed})
        client = Cluster(PRICE, server=False, name="Price", attributes=(
            (0x0000, types.UINT8, lambda: 7),
        ))
        return Endpoint(1, (server, client))


def _malformed(cluster, frame, now):
    foundation.decode(0x00, frame.payload)  # odd length: ZCLError
    return None


def _global(command, payload=b"", **kw):
    return ZCLFrame(command, payload, frame_type=TYPE_GLOBAL, seq=kw.pop("seq", 5), **kw)


def _default(resp):
    assert resp.frame_type == TYPE_GLOBAL and resp.command == DEFAULT_RESPONSE, resp
    return foundation.decode(DEFAULT_RESPONSE, resp.payload)


def test_read_attributes_answers_values_and_unsupported():
    ep = _Meter().endpoint()
    req = _global(0x00, foundation.encode(0x00, [0x0000, 0x0300, 0x0999]), seq=77)
    resp = ep.handle(METERING, req.to_bytes())
    assert resp.command == 0x01 and resp.seq == 77 and resp.server_to_client
    assert resp.disable_default_response
    assert foundation.decode(0x01, resp.payload) == [
        AttributeRecord(0x0000, types.UINT48, 1000),
        AttributeRecord(0x0300, types.ENUM8, 0),
        AttributeRecord(0x0999, status=UNSUPPORTED_ATTRIBUTE),
    ]


def test_write_attributes_statuses():
    meter = _Meter()
    ep = meter.endpoint()
    recs = [AttributeRecord(0x0300, types.ENUM8, 3), AttributeRecord(0x0000, types.UINT48, 1),
            AttributeRecord(0x0998, types.UINT8, 1)]
    resp = ep.handle(METERING, _global(0x02, foundation.encode(0x02, recs)))
    assert resp.command == 0x04
    assert foundation.decode(0x04, resp.payload) == [
        StatusRecord(READ_ONLY, 0x0000), StatusRecord(UNSUPPORTED_ATTRIBUTE, 0x0998)]
    assert meter.unit == 3
    # Wrong type, and a value the setter refuses.
    recs = [AttributeRecord(0x0300, types.UINT8, 4), AttributeRecord(0x0300, types.ENUM8, 9)]
    resp = ep.handle(METERING, _global(0x02, foundation.encode(0x02, recs)))
    assert foundation.decode(0x04, resp.payload) == [
        StatusRecord(INVALID_DATA_TYPE, 0x0300), StatusRecord(INVALID_VALUE, 0x0300)]
    assert meter.unit == 3
    # All written: the single SUCCESS status (ZCL 2.5.5.1).
    resp = ep.handle(METERING, _global(0x02, foundation.encode(0x02, [
        AttributeRecord(0x0300, types.ENUM8, 1)])))
    assert resp.payload == b"\x00" and meter.unit == 1


def test_write_undivided_writes_nothing_on_any_failure_and_no_response_is_silent():
    meter = _Meter()
    ep = meter.endpoint()
    recs = [AttributeRecord(0x0300, types.ENUM8, 2), AttributeRecord(0x0000, types.UINT48, 1)]
    resp = ep.handle(METERING, _global(0x03, foundation.encode(0x03, recs)))
    assert foundation.decode(0x04, resp.payload) == [StatusRecord(READ_ONLY, 0x0000)]
    assert meter.unit == 0
    assert ep.handle(METERING, _global(0x05, foundation.encode(0x05, recs[:1]))) is None
    assert meter.unit == 2


def test_cluster_commands_and_their_statuses():
    meter = _Meter()
    ep = meter.endpoint()
    resp = ep.handle(METERING, ZCLFrame(0x06, b"", seq=3))
    assert resp.command == 0x06 and resp.seq == 3 and meter.snapshots == 1
    assert _default(ep.handle(METERING, ZCLFrame(0x55, b"", seq=4))) == (
        0x55, UNSUP_CLUSTER_COMMAND)
    assert _default(ep.handle(METERING, ZCLFrame(0x07, b"\x01", seq=4))) == (
        0x07, MALFORMED_COMMAND)
    assert _default(ep.handle(0x0705, ZCLFrame(0x00, b""))) == (0x00, UNSUPPORTED_CLUSTER)
    assert _default(ep.handle(METERING, ZCLFrame(0x06, b"", manufacturer=0x1234))) == (
        0x06, UNSUP_MANUF_CLUSTER_COMMAND)


def test_foundation_errors_and_default_response_rules():
    ep = _Meter().endpoint()
    assert _default(ep.handle(METERING, _global(0x00, b"\x00"))) == (0x00, MALFORMED_COMMAND)
    assert _default(ep.handle(METERING, _global(0x15))) == (0x15, UNSUP_GENERAL_COMMAND)
    # An error is reported even when the sender disabled the default response...
    resp = ep.handle(METERING, _global(0x15, disable_default_response=True))
    assert _default(resp) == (0x15, UNSUP_GENERAL_COMMAND)
    # ...a received Default Response is never answered, and neither are bytes that are not ZCL.
    assert ep.handle(METERING, _global(DEFAULT_RESPONSE, b"\x06\x00")) is None
    assert ep.handle(METERING, b"\x01") is None
    # A received report is a success: answered only if the sender asked for it.
    report = foundation.encode(0x0A, [AttributeRecord(0x0000, types.UINT48, 5)])
    assert ep.handle(METERING, _global(0x0A, report, disable_default_response=True)) is None
    assert _default(ep.handle(METERING, _global(0x0A, report))) == (0x0A, SUCCESS)


def test_direction_selects_the_cluster_side():
    ep = _Meter().endpoint()
    read = foundation.encode(0x00, [0x0000])
    # Price is a client cluster here: a client-to-server frame finds no Price server.
    assert _default(ep.handle(PRICE, _global(0x00, read))) == (0x00, UNSUPPORTED_CLUSTER)
    resp = ep.handle(PRICE, _global(0x00, read, server_to_client=True))
    assert not resp.server_to_client
    assert foundation.decode(0x01, resp.payload) == [AttributeRecord(0x0000, types.UINT8, 7)]


def test_received_responses_reach_the_cluster_handler():
    seen = []

    def on_read(cluster, frame, records, now):
        seen.append((cluster.id, records, now))

    ep = Endpoint(2, (Cluster(METERING, server=False, responses={0x01: on_read}),))
    payload = foundation.encode(0x01, [AttributeRecord(0x0000, types.UINT48, 9)])
    assert ep.handle(METERING, _global(0x01, payload, server_to_client=True,
                                       disable_default_response=True), now=50) is None
    assert seen == [(METERING, [AttributeRecord(0x0000, types.UINT48, 9)], 50)]


def test_configure_reporting_statuses_and_reports_on_the_clock():
    meter = _Meter()
    ep = meter.endpoint()
    configs = [ReportingConfig(0x0000, types.UINT48, 10, 60, 100),
               ReportingConfig(0x0307, types.OCTET_STRING, 0, 60),
               ReportingConfig(0x0300, types.UINT8, 0, 60),
               ReportingConfig(0x0999, types.UINT8, 0, 60),
               ReportingConfig(0x0300, types.ENUM8, 90, 60)]
    resp = ep.handle(METERING, _global(0x06, foundation.encode(0x06, configs)))
    assert resp.command == 0x07
    assert foundation.decode(0x07, resp.payload) == [
        StatusRecord(UNREPORTABLE_ATTRIBUTE, 0x0307, 0),
        StatusRecord(INVALID_DATA_TYPE, 0x0300, 0),
        StatusRecord(UNSUPPORTED_ATTRIBUTE, 0x0999, 0),
        StatusRecord(INVALID_VALUE, 0x0300, 0)]

    def reported(now):
        out = ep.reports(now)
        assert all(c == METERING and f.command == 0x0A and f.server_to_client
                   for c, f in out)
        return [foundation.decode(0x0A, f.payload) for _c, f in out]

    assert reported(0) == [[AttributeRecord(0x0000, types.UINT48, 1000)]]  # first report
    assert reported(5) == []
    meter.summation = 1050  # below the reportable change
    assert reported(20) == []
    meter.summation = 1200  # a change of 200 after the 10 s minimum
    assert reported(21) == [[AttributeRecord(0x0000, types.UINT48, 1200)]]
    assert reported(80) == []
    assert reported(81) == [[AttributeRecord(0x0000, types.UINT48, 1200)]]  # max interval
    # Maximum interval 0xFFFF stops reporting.
    ep.handle(METERING, _global(0x06, foundation.encode(0x06, [
        ReportingConfig(0x0000, types.UINT48, 0, 0xFFFF, 0)])))
    assert reported(1000) == []
