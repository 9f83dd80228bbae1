"""ZCL foundation (global) command payloads (ZCL r6 2.5): records in, bytes out and back.

    Read Attributes (0x00)             attribute id (2) ...
    Read Attributes Response (0x01)    attribute id (2) status (1) [type (1) value] ...
    Write Attributes (0x02, 03, 05)    attribute id (2) type (1) value ...
    Write Attributes Response (0x04)   status 00 alone, or status (1) attribute id (2) ...
    Configure Reporting (0x06)         direction (1) attribute id (2) then
                                         direction 0: type (1) min (2) max (2) [change]
                                         direction 1: timeout (2)
    Configure Reporting Response (07)  status 00 alone, or status (1) direction (1) id (2) ...
    Report Attributes (0x0A)           attribute id (2) type (1) value ...
    Default Response (0x0B)            command id (1) status (1)

The reportable change is present only for analog types (ZCL 2.5.7.1.7). `decode(command,
payload)` and `encode(command, records)` walk the table `_CODECS`; ZCLError is the only error.
"""

from smets.zcl import types
from smets.zcl.frame import (
    CONFIGURE_REPORTING,
    CONFIGURE_REPORTING_RESPONSE,
    DEFAULT_RESPONSE,
    READ_ATTRIBUTES,
    READ_ATTRIBUTES_RESPONSE,
    REPORT_ATTRIBUTES,
    SUCCESS,
    WRITE_ATTRIBUTES,
    WRITE_ATTRIBUTES_NO_RESPONSE,
    WRITE_ATTRIBUTES_RESPONSE,
    WRITE_ATTRIBUTES_UNDIVIDED,
    ZCLError,
    hexs,
)

NAMES = {
    READ_ATTRIBUTES: "Read Attributes",
    READ_ATTRIBUTES_RESPONSE: "Read Attributes Response",
    WRITE_ATTRIBUTES: "Write Attributes",
    WRITE_ATTRIBUTES_UNDIVIDED: "Write Attributes Undivided",
    WRITE_ATTRIBUTES_RESPONSE: "Write Attributes Response",
    WRITE_ATTRIBUTES_NO_RESPONSE: "Write Attributes No Response",
    CONFIGURE_REPORTING: "Configure Reporting",
    CONFIGURE_REPORTING_RESPONSE: "Configure Reporting Response",
    0x08: "Read Reporting Configuration",
    0x09: "Read Reporting Configuration Response",
    REPORT_ATTRIBUTES: "Report Attributes",
    DEFAULT_RESPONSE: "Default Response",
}

REPORT_SEND = 0  # Configure Reporting direction: the receiver reports the attribute
REPORT_EXPECT = 1  # the receiver expects reports from the sender (timeout only)


class AttributeRecord:
    """An attribute id with a status, a data type and a value (status other than SUCCESS:
    no type or value)."""

    __slots__ = ("id", "status", "type", "value")

    def __init__(self, attr_id, ztype=None, value=None, status=SUCCESS):
        self.id = attr_id
        self.type = ztype
        self.value = value
        self.status = status

    def __eq__(self, other):
        return isinstance(other, AttributeRecord) and (
            self.id, self.status, self.type, self.value) == (
            other.id, other.status, other.type, other.value)

    def __repr__(self):
        if self.status != SUCCESS:
            return "<attr %04x status %02x>" % (self.id, self.status)
        return "<attr %04x %s %r>" % (self.id, types.name(self.type), self.value)


class StatusRecord:
    """One failure of a Write Attributes / Configure Reporting Response (direction None in a
    Write Attributes Response; attribute id None for the single all-success status)."""

    __slots__ = ("attr_id", "direction", "status")

    def __init__(self, status, attr_id=None, direction=None):
        self.status = status
        self.attr_id = attr_id
        self.direction = direction

    def __eq__(self, other):
        return isinstance(other, StatusRecord) and (
            self.status, self.attr_id, self.direction) == (
            other.status, other.attr_id, other.direction)

    def __repr__(self):
        return "<status %02x attr %r dir %r>" % (self.status, self.attr_id, self.direction)


class ReportingConfig:
    """A Configure Reporting record: direction 0 (report this attribute: type, minimum and
    maximum interval in seconds, reportable change for analog types) or 1 (expect reports:
    timeout in seconds)."""

    __slots__ = ("attr_id", "change", "direction", "max_interval", "min_interval", "timeout",
                 "type")

    def __init__(self, attr_id, ztype=None, min_interval=0, max_interval=0, change=None,
                 direction=REPORT_SEND, timeout=0):
        self.attr_id = attr_id
        self.type = ztype
        self.min_interval = min_interval
        self.max_interval = max_interval
        self.change = change
        self.direction = direction
        self.timeout = timeout

    def __eq__(self, other):
        return isinstance(other, ReportingConfig) and self._key() == other._key()

    def _key(self):
        if self.direction == REPORT_EXPECT:
            return (self.attr_id, self.direction, self.timeout)
        return (self.attr_id, self.direction, self.type, self.min_interval, self.max_interval,
                self.change)

    def __repr__(self):
        return "<reporting %r>" % (self._key(),)


def _u16(data, pos, what):
    if pos + 2 > len(data):
        raise ZCLError("%s needs 2 bytes at offset %d: %s" % (what, pos, hexs(data)))
    return data[pos] | (data[pos + 1] << 8)


def _byte(data, pos, what):
    if pos >= len(data):
        raise ZCLError("%s missing at offset %d: %s" % (what, pos, hexs(data)))
    return data[pos]


def _le16(v):
    return bytes((v & 0xFF, (v >> 8) & 0xFF))


# -- Read Attributes --------------------------------------------------------------------------


def decode_read_attributes(data):
    if len(data) % 2:
        raise ZCLError("Read Attributes of odd length: %s" % hexs(data))
    return [data[i] | (data[i + 1] << 8) for i in range(0, len(data), 2)]


def encode_read_attributes(attr_ids):
    return b"".join(_le16(a) for a in attr_ids)


def decode_read_attributes_response(data):
    out = []
    pos = 0
    while pos < len(data):
        attr_id = _u16(data, pos, "attribute id")
        status = _byte(data, pos + 2, "status")
        pos += 3
        if status != SUCCESS:
            out.append(AttributeRecord(attr_id, status=status))
            continue
        ztype = _byte(data, pos, "data type")
        value, pos = types.decode_at(ztype, data, pos + 1)
        out.append(AttributeRecord(attr_id, ztype, value))
    return out


def encode_read_attributes_response(records):
    out = []
    for r in records:
        if r.status != SUCCESS:
            out.append(_le16(r.id) + bytes((r.status,)))
        else:
            out.append(_le16(r.id) + bytes((SUCCESS, r.type)) + types.encode(r.type, r.value))
    return b"".join(out)


# -- Write / Report Attributes ----------------------------------------------------------------


def decode_attribute_values(data):
    """Records of Write Attributes (0x02, 0x03, 0x05) and Report Attributes (0x0A)."""
    out = []
    pos = 0
    while pos < len(data):
        attr_id = _u16(data, pos, "attribute id")
        ztype = _byte(data, pos + 2, "data type")
        value, pos = types.decode_at(ztype, data, pos + 3)
        out.append(AttributeRecord(attr_id, ztype, value))
    return out


def encode_attribute_values(records):
    return b"".join(_le16(r.id) + bytes((r.type,)) + types.encode(r.type, r.value)
                    for r in records)


def decode_write_attributes_response(data):
    """[StatusRecord]; a single SUCCESS record (attribute id None) when all were written."""
    if len(data) == 1:
        if data[0] != SUCCESS:
            raise ZCLError("Write Attributes Response failure without attribute: %s" % hexs(
                data))
        return [StatusRecord(SUCCESS)]
    if not data or len(data) % 3:
        raise ZCLError("Write Attributes Response of %d bytes: %s" % (len(data), hexs(data)))
    return [StatusRecord(data[i], data[i + 1] | (data[i + 2] << 8))
            for i in range(0, len(data), 3)]


def encode_write_attributes_response(failures):
    """Status records of the attributes not written; none: the single SUCCESS status."""
    failures = [f for f in failures if f.status != SUCCESS]
    if not failures:
        return bytes((SUCCESS,))
    return b"".join(bytes((f.status,)) + _le16(f.attr_id) for f in failures)


# -- Configure Reporting ----------------------------------------------------------------------


def decode_configure_reporting(data):
    out = []
    pos = 0
    while pos < len(data):
        direction = _byte(data, pos, "direction")
        attr_id = _u16(data, pos + 1, "attribute id")
        pos += 3
        if direction == REPORT_EXPECT:
            out.append(ReportingConfig(attr_id, direction=REPORT_EXPECT,
                                       timeout=_u16(data, pos, "timeout")))
            pos += 2
            continue
        if direction != REPORT_SEND:
            raise ZCLError("Configure Reporting direction %02x at offset %d: %s" % (
                direction, pos - 3, hexs(data)))
        ztype = _byte(data, pos, "data type")
        lo = _u16(data, pos + 1, "minimum interval")
        hi = _u16(data, pos + 3, "maximum interval")
        pos += 5
        change = None
        if types.is_analog(ztype):
            change, pos = types.decode_at(ztype, data, pos)
        elif not types.is_known(ztype):
            raise ZCLError("unknown ZCL data type %02x in Configure Reporting: %s" % (
                ztype, hexs(data)))
        out.append(ReportingConfig(attr_id, ztype, lo, hi, change))
    return out


def encode_configure_reporting(configs):
    out = []
    for c in configs:
        head = bytes((c.direction,)) + _le16(c.attr_id)
        if c.direction == REPORT_EXPECT:
            out.append(head + _le16(c.timeout))
            continue
        body = head + bytes((c.type,)) + _le16(c.min_interval) + _le16(c.max_interval)
        if types.is_analog(c.type):
            body += types.encode(c.type, types.zero(c.type) if c.change is None else c.change)
        out.append(body)
    return b"".join(out)


def decode_configure_reporting_response(data):
    """[StatusRecord]; a single SUCCESS record when every configuration was accepted."""
    if len(data) == 1:
        if data[0] != SUCCESS:
            raise ZCLError("Configure Reporting Response failure without attribute: %s" % hexs(
                data))
        return [StatusRecord(SUCCESS)]
    if not data or len(data) % 4:
        raise ZCLError("Configure Reporting Response of %d bytes: %s" % (len(data), hexs(data)))
    return [StatusRecord(data[i], data[i + 2] | (data[i + 3] << 8), data[i + 1])
            for i in range(0, len(data), 4)]


def encode_configure_reporting_response(failures):
    failures = [f for f in failures if f.status != SUCCESS]
    if not failures:
        return bytes((SUCCESS,))
    return b"".join(bytes((f.status, f.direction or 0)) + _le16(f.attr_id) for f in failures)


# -- Default Response -------------------------------------------------------------------------


def decode_default_response(data):
    """(command id, status)."""
    if len(data) != 2:
        raise ZCLError("Default Response needs 2 bytes: %s" % hexs(data))
    return data[0], data[1]


def encode_default_response(value):
    command, status = value
    return bytes((command, status))


_CODECS = {
    READ_ATTRIBUTES: (decode_read_attributes, encode_read_attributes),
    READ_ATTRIBUTES_RESPONSE: (decode_read_attributes_response,
                               encode_read_attributes_response),
    WRITE_ATTRIBUTES: (decode_attribute_values, encode_attribute_values),
    WRITE_ATTRIBUTES_UNDIVIDED: (decode_attribute_values, encode_attribute_values),
    WRITE_ATTRIBUTES_NO_RESPONSE: (decode_attribute_values, encode_attribute_values),
    WRITE_ATTRIBUTES_RESPONSE: (decode_write_attributes_response,
                                encode_write_attributes_response),
    CONFIGURE_REPORTING: (decode_configure_reporting, encode_configure_reporting),
    CONFIGURE_REPORTING_RESPONSE: (decode_configure_reporting_response,
                                   encode_configure_reporting_response),
    REPORT_ATTRIBUTES: (decode_attribute_values, encode_attribute_values),
    DEFAULT_RESPONSE: (decode_default_response, encode_default_response),
}


def supported(command):
    return command in _CODECS


def decode(command, payload):
    """The records of a foundation command's payload (see the table above)."""
    codec = _CODECS.get(command)
    if codec is None:
        raise ZCLError("foundation command %02x not decoded: %s" % (command, hexs(payload)))
    return codec[0](payload)


def encode(command, records):
    codec = _CODECS.get(command)
    if codec is None:
        raise ZCLError("foundation command %02x not encoded" % command)
    return codec[1](records)
