"""xDLMS APDUs as GBCS carries them: ACCESS-Request / -Response and Data-Notification.

Sans-IO codec shared by the firmware and the host (xDLMS ASN.1 of DLMS UA 1000-2 "Green Book",
as profiled by GBCS; checked against every DLMS message of RTDS 4.5.0):

  ACCESS-Request     D9 | long-invoke-id-and-priority(4) | date-time: octet string (00)
                        | count specs | spec... | count data | Data...
      spec: 01 get / 02 set: class(2) OBIS(6) attribute(1)
            03 action:       class(2) OBIS(6) method(1)
            04 get-with-selection / 05 set-with-selection:
                             class(2) OBIS(6) attribute(1) access-selector(1) parameters: Data
      data: one Data per spec - null-data for a get, the value for a set, the parameters of
            an action.
  ACCESS-Response    DA | long-invoke-id-and-priority(4) | date-time (00)
                        | [access-request-specification]: 00 absent, or 01 + specs
                        | count data | Data... | count results | (01|02 result, 03 result)...
  Data-Notification  0F | long-invoke-id-and-priority(4) | date-time (00) | body: Data
      GBCS alerts: body = structure { alert code: long-unsigned, timestamp: octet-string(12),
      alert-specific fields... }.

Counts use the A-XDR length form. The invoke-id field is kept as the raw 32-bit value (in
RTDS 0x20000000 | low bits of the originator counter: break-on-error, normal priority).
"""

try:
    from micropython import const
except ImportError:  # CPython

    def const(x):  # type: ignore[misc]  # CPython has no micropython.const
        return x


# APDU tags, request kinds and result codes are the board's (`smets.cosem`).
from smets.codec import hexs
from smets.cosem import (  # noqa: F401 (the codes are part of this module's API)
    ACCESS_REQUEST,
    ACTION,
    GET,
    GET_WITH_SELECTION,
    HARDWARE_FAULT,
    OBJECT_UNAVAILABLE,
    OBJECT_UNDEFINED,
    OTHER_REASON,
    READ_WRITE_DENIED,
    SET,
    SUCCESS,
    TYPE_UNMATCHED,
)
from smets.dlms import axdr
from smets.dlms.axdr import AXDRError, Data, decode_length, encode_length

# The APDU tags, request kinds and results the board never uses (its own are in `smets.cosem`).
ACCESS_RESPONSE = const(0xDA)
DATA_NOTIFICATION = const(0x0F)
SET_WITH_SELECTION = const(5)
TEMPORARY_FAILURE = const(2)
OBJECT_CLASS_INCONSISTENT = const(9)
SCOPE_OF_ACCESS_VIOLATED = const(13)
DATA_BLOCK_UNAVAILABLE = const(14)

# Long-Invoke-Id-And-Priority bits (Green Book xDLMS): 0..23 invoke-id, 28 self-descriptive,
# 29 processing option (1 = break on error), 30 service class (1 = confirmed), 31 priority.
INVOKE_ID_MASK = const(0x00FFFFFF)
BREAK_ON_ERROR = 0x20000000  # no const(): beyond the small-int range of 32-bit ports
CONFIRMED = 0x40000000
HIGH_PRIORITY = 0x80000000

# Data Protection (class 30) get_protected_attributes (method 1), as used by ECS17b & co.
CLASS_DATA_PROTECTION = const(30)
METHOD_GET_PROTECTED_ATTRIBUTES = const(1)

_KINDS = (None, "get", "set", "action", "get-with-selection", "set-with-selection")
_RESULTS = {
    0: "success", 1: "hardware-fault", 2: "temporary-failure", 3: "read-write-denied",
    4: "object-undefined", 9: "object-class-inconsistent", 11: "object-unavailable",
    12: "type-unmatched", 13: "scope-of-access-violated", 14: "data-block-unavailable",
    15: "long-get-aborted", 16: "no-long-get-in-progress", 17: "long-set-aborted",
    18: "no-long-set-in-progress", 19: "data-block-number-invalid", 250: "other-reason",
}  # fmt: skip


class DLMSError(ValueError):
    """An xDLMS APDU that does not follow the ACCESS / Data-Notification grammar."""


def _hex(b):
    return "".join("%02x" % x for x in b)


def _obis_str(b):
    if len(b) != 6:
        return "obis?" + _hex(b)
    return "%d-%d:%d.%d.%d.%d" % tuple(b)


def _need(buf, pos, n, what):
    if pos + n > len(buf):
        raise DLMSError(
            "%s at offset %d needs %d bytes, %d left: %s"
            % (what, pos, n, len(buf) - pos, hexs(buf))
        )


def _data(buf, pos):
    try:
        return axdr._decode(buf, pos, 0)
    except AXDRError as e:
        raise DLMSError(str(e))


def _put_data(d, out):
    try:
        axdr.encode_into(d, out)
    except AXDRError as e:
        raise DLMSError(str(e))


def _count(buf, pos, what):
    try:
        n, pos = decode_length(buf, pos)
    except AXDRError as e:
        raise DLMSError("%s count: %s" % (what, e))
    if n > len(buf) - pos:  # every element takes at least one byte
        raise DLMSError(
            "%s count %d exceeds the %d bytes left: %s" % (what, n, len(buf) - pos, hexs(buf))
        )
    return n, pos


def _octets(buf, pos, what):
    try:
        n, pos = decode_length(buf, pos)
    except AXDRError as e:
        raise DLMSError("%s: %s" % (what, e))
    _need(buf, pos, n, what)
    return buf[pos : pos + n], pos + n


def _header(buf, pos, tag, name):
    if not isinstance(buf, bytes):
        buf = bytes(buf)
    _need(buf, pos, 6, name)
    if buf[pos] != tag:
        raise DLMSError("%s (%02x) expected at offset %d: %s" % (name, tag, pos, hexs(buf)))
    invoke = int.from_bytes(buf[pos + 1 : pos + 5], "big")
    date_time, pos = _octets(buf, pos + 5, name + " date-time")
    return buf, invoke, date_time, pos


def _put_header(tag, invoke, date_time, out):
    if not 0 <= invoke <= 0xFFFFFFFF:
        raise DLMSError("long-invoke-id-and-priority out of range: %r" % (invoke,))
    out.append(tag)
    out.extend(invoke.to_bytes(4, "big"))
    out.extend(encode_length(len(date_time)))
    out.extend(date_time)


def _whole(cls, buf):
    obj, pos = cls.decode(buf, 0)
    if pos != len(buf):
        raise DLMSError(
            "%d bytes after %s at offset %d: %s" % (len(buf) - pos, cls.__name__, pos, hexs(buf))
        )
    return obj


class RequestSpec:
    """One Access-Request-Specification: a COSEM attribute or method descriptor.

    `index` is the attribute id (get / set) or method id (action); `selector` and
    `parameters` (Data) are the selective access of get/set-with-selection, else None.
    """

    __slots__ = ("kind", "class_id", "obis", "index", "selector", "parameters")

    def __init__(self, kind, class_id, obis, index, selector=None, parameters=None):
        self.kind = kind
        self.class_id = class_id
        self.obis = obis
        self.index = index
        self.selector = selector
        self.parameters = parameters

    @staticmethod
    def get(class_id, obis, attribute):
        return RequestSpec(GET, class_id, obis, attribute)

    @staticmethod
    def set(class_id, obis, attribute):
        return RequestSpec(SET, class_id, obis, attribute)

    @staticmethod
    def action(class_id, obis, method):
        return RequestSpec(ACTION, class_id, obis, method)

    @staticmethod
    def get_with_selection(class_id, obis, attribute, selector, parameters):
        return RequestSpec(GET_WITH_SELECTION, class_id, obis, attribute, selector, parameters)

    def __eq__(self, other):
        return (
            isinstance(other, RequestSpec)
            and self.kind == other.kind
            and self.class_id == other.class_id
            and self.obis == other.obis
            and self.index == other.index
            and self.selector == other.selector
            and self.parameters == other.parameters
        )

    def __repr__(self):
        return "<%s %d %s %d%s>" % (
            _KINDS[self.kind] if 0 < self.kind < 6 else self.kind,
            self.class_id,
            _obis_str(self.obis),
            self.index,
            "" if self.selector is None else " sel %d" % self.selector,
        )

    @property
    def descriptor(self):
        """(class id, OBIS bytes, attribute/method id): a key for object-model tables."""
        return (self.class_id, self.obis, self.index)

    @staticmethod
    def decode(buf, pos):
        _need(buf, pos, 10, "access-request-specification")
        kind = buf[pos]
        if not 0 < kind < 6:
            raise DLMSError(
                "unknown access-request-specification %02x at offset %d: %s"
                % (kind, pos, hexs(buf))
            )
        spec = RequestSpec(
            kind, (buf[pos + 1] << 8) | buf[pos + 2], buf[pos + 3 : pos + 9], buf[pos + 9]
        )
        pos += 10
        if kind >= GET_WITH_SELECTION:
            _need(buf, pos, 1, "access-selector")
            spec.selector = buf[pos]
            spec.parameters, pos = _data(buf, pos + 1)
        return spec, pos

    def encode_into(self, out):
        kind = self.kind
        if not 0 < kind < 6:
            raise DLMSError("unknown access-request-specification %r" % (kind,))
        if not 0 <= self.class_id <= 0xFFFF or len(self.obis) != 6 or not 0 <= self.index <= 0xFF:
            raise DLMSError("bad COSEM descriptor %r" % (self,))
        out.append(kind)
        out.append(self.class_id >> 8)
        out.append(self.class_id & 0xFF)
        out.extend(self.obis)
        out.append(self.index)
        if kind >= GET_WITH_SELECTION:
            if self.selector is None or not 0 <= self.selector <= 0xFF:
                raise DLMSError("%s needs an access selector 0..255" % _KINDS[kind])
            out.append(self.selector)
            _put_data(self.parameters, out)
        elif self.selector is not None:
            raise DLMSError("%s takes no selective access" % _KINDS[kind])

    def to_json(self):
        j = {
            "class": self.class_id,
            "obis": _obis_str(self.obis),
            ("method" if self.kind == ACTION else "attribute"): self.index,
        }
        if self.selector is not None:
            j["selector"] = self.selector
            j["parameters"] = axdr.to_json(self.parameters)
        return {_KINDS[self.kind]: j}


class ResponseSpec:
    """One Access-Response-Specification: kind (GET / SET / ACTION) and result code."""

    __slots__ = ("kind", "result")

    def __init__(self, kind, result=SUCCESS):
        self.kind = kind
        self.result = result

    def __eq__(self, other):
        return (
            isinstance(other, ResponseSpec)
            and self.kind == other.kind
            and self.result == other.result
        )

    def __repr__(self):
        return "<%s %s>" % (_KINDS[self.kind] if 0 < self.kind < 4 else self.kind, self.result)

    def to_json(self):
        return {_KINDS[self.kind]: _RESULTS.get(self.result, self.result)}


def response_kind(request_kind):
    """Access-Response-Specification choice answering a request choice."""
    if request_kind == GET_WITH_SELECTION:
        return GET
    if request_kind == SET_WITH_SELECTION:
        return SET
    return request_kind


class AccessRequest:
    """ACCESS-Request: `specs` (RequestSpec) and `data` (Data), one per spec."""

    __slots__ = ("invoke_id", "date_time", "specs", "data")

    def __init__(self, invoke_id, specs, data=None, date_time=b""):
        self.invoke_id = invoke_id
        self.specs = specs
        self.data = [Data(axdr.NULL) for _ in specs] if data is None else data
        self.date_time = date_time

    def __eq__(self, other):
        return (
            isinstance(other, AccessRequest)
            and self.invoke_id == other.invoke_id
            and self.date_time == other.date_time
            and self.specs == other.specs
            and self.data == other.data
        )

    def __repr__(self):
        return "<AccessRequest %08x %r>" % (self.invoke_id, self.specs)

    @staticmethod
    def decode(buf, pos=0):
        buf, invoke, date_time, pos = _header(buf, pos, ACCESS_REQUEST, "ACCESS-Request")
        n, pos = _count(buf, pos, "access-request-specification")
        specs = []
        for _ in range(n):
            spec, pos = RequestSpec.decode(buf, pos)
            specs.append(spec)
        m, pos = _count(buf, pos, "access-request-list-of-data")
        if m != n:
            raise DLMSError(
                "ACCESS-Request has %d specifications but %d data: %s" % (n, m, hexs(buf))
            )
        data = []
        for _ in range(m):
            d, pos = _data(buf, pos)
            data.append(d)
        return AccessRequest(invoke, specs, data, date_time), pos

    @staticmethod
    def from_bytes(buf):
        return _whole(AccessRequest, buf)

    def encode_into(self, out):
        if len(self.specs) != len(self.data):
            raise DLMSError("ACCESS-Request needs one Data per specification")
        _put_header(ACCESS_REQUEST, self.invoke_id, self.date_time, out)
        out.extend(encode_length(len(self.specs)))
        for spec in self.specs:
            spec.encode_into(out)
        out.extend(encode_length(len(self.data)))
        for d in self.data:
            _put_data(d, out)

    def to_bytes(self):
        out = bytearray()
        self.encode_into(out)
        return bytes(out)

    def to_json(self):
        return {
            "access-request": {
                "invoke-id": "%08x" % self.invoke_id,
                "date-time": _hex(self.date_time),
                "specs": [s.to_json() for s in self.specs],
                "data": [axdr.to_json(d) for d in self.data],
            }
        }


class AccessResponse:
    """ACCESS-Response: `data` (Data) and `specs` (ResponseSpec), one each per request spec.

    `request_specs` is the optional echo of the request specifications (None when absent,
    as in every GBCS response).
    """

    __slots__ = ("invoke_id", "date_time", "request_specs", "data", "specs")

    def __init__(self, invoke_id, data, specs, date_time=b"", request_specs=None):
        self.invoke_id = invoke_id
        self.data = data
        self.specs = specs
        self.date_time = date_time
        self.request_specs = request_specs

    def __eq__(self, other):
        return (
            isinstance(other, AccessResponse)
            and self.invoke_id == other.invoke_id
            and self.date_time == other.date_time
            and self.request_specs == other.request_specs
            and self.data == other.data
            and self.specs == other.specs
        )

    def __repr__(self):
        return "<AccessResponse %08x %r>" % (self.invoke_id, self.specs)

    @staticmethod
    def decode(buf, pos=0):
        buf, invoke, date_time, pos = _header(buf, pos, ACCESS_RESPONSE, "ACCESS-Response")
        _need(buf, pos, 1, "access-request-specification presence")
        present = buf[pos]
        pos += 1
        request_specs = None
        if present == 1:
            n, pos = _count(buf, pos, "access-request-specification")
            request_specs = []
            for _ in range(n):
                spec, pos = RequestSpec.decode(buf, pos)
                request_specs.append(spec)
        elif present:
            raise DLMSError(
                "bad OPTIONAL flag %02x at offset %d: %s" % (present, pos - 1, hexs(buf))
            )
        n, pos = _count(buf, pos, "access-response-list-of-data")
        data = []
        for _ in range(n):
            d, pos = _data(buf, pos)
            data.append(d)
        m, pos = _count(buf, pos, "access-response-specification")
        if m != n:
            raise DLMSError("ACCESS-Response has %d data but %d results: %s" % (n, m, hexs(buf)))
        _need(buf, pos, 2 * m, "access-response-specification")
        specs = []
        for i in range(pos, pos + 2 * m, 2):
            if not 0 < buf[i] < 4:
                raise DLMSError(
                    "unknown access-response-specification %02x at offset %d: %s"
                    % (buf[i], i, hexs(buf))
                )
            specs.append(ResponseSpec(buf[i], buf[i + 1]))
        return AccessResponse(invoke, data, specs, date_time, request_specs), pos + 2 * m

    @staticmethod
    def from_bytes(buf):
        return _whole(AccessResponse, buf)

    def encode_into(self, out):
        if len(self.specs) != len(self.data):
            raise DLMSError("ACCESS-Response needs one Data per result")
        _put_header(ACCESS_RESPONSE, self.invoke_id, self.date_time, out)
        if self.request_specs is None:
            out.append(0)
        else:
            out.append(1)
            out.extend(encode_length(len(self.request_specs)))
            for spec in self.request_specs:
                spec.encode_into(out)
        out.extend(encode_length(len(self.data)))
        for d in self.data:
            _put_data(d, out)
        out.extend(encode_length(len(self.specs)))
        for spec in self.specs:
            if not 0 < spec.kind < 4 or not 0 <= spec.result <= 0xFF:
                raise DLMSError("bad access-response-specification %r" % (spec,))
            out.append(spec.kind)
            out.append(spec.result)

    def to_bytes(self):
        out = bytearray()
        self.encode_into(out)
        return bytes(out)

    def to_json(self):
        j = {
            "invoke-id": "%08x" % self.invoke_id,
            "date-time": _hex(self.date_time),
            "data": [axdr.to_json(d) for d in self.data],
            "specs": [s.to_json() for s in self.specs],
        }
        if self.request_specs is not None:
            j["request-specs"] = [s.to_json() for s in self.request_specs]
        return {"access-response": j}


class DataNotification:
    """Data-Notification (GBCS alerts from DLMS devices): invoke id, date-time, body Data."""

    __slots__ = ("invoke_id", "date_time", "body")

    def __init__(self, invoke_id, body, date_time=b""):
        self.invoke_id = invoke_id
        self.body = body
        self.date_time = date_time

    @staticmethod
    def alert(invoke_id, alert_code, timestamp, fields=()):
        """GBCS alert: body = structure(alert code, timestamp, *fields)."""
        items = [Data(axdr.LONG_UNSIGNED, alert_code), Data(axdr.OCTET_STRING, timestamp)]
        items.extend(fields)
        return DataNotification(invoke_id, Data(axdr.STRUCTURE, items))

    def __eq__(self, other):
        return (
            isinstance(other, DataNotification)
            and self.invoke_id == other.invoke_id
            and self.date_time == other.date_time
            and self.body == other.body
        )

    def __repr__(self):
        return "<DataNotification %08x %r>" % (self.invoke_id, self.body)

    def _gbcs(self, i, tag):
        b = self.body
        if b.tag == axdr.STRUCTURE and len(b.value) > 1 and b.value[i].tag == tag:
            return b.value[i].value
        return None

    @property
    def alert_code(self):
        """GBCS alert code (first field of the body), or None."""
        return self._gbcs(0, axdr.LONG_UNSIGNED)

    @property
    def timestamp(self):
        """GBCS alert timestamp (12-byte date-time, second field of the body), or None."""
        return self._gbcs(1, axdr.OCTET_STRING)

    @staticmethod
    def decode(buf, pos=0):
        buf, invoke, date_time, pos = _header(buf, pos, DATA_NOTIFICATION, "Data-Notification")
        body, pos = _data(buf, pos)
        return DataNotification(invoke, body, date_time), pos

    @staticmethod
    def from_bytes(buf):
        return _whole(DataNotification, buf)

    def encode_into(self, out):
        _put_header(DATA_NOTIFICATION, self.invoke_id, self.date_time, out)
        _put_data(self.body, out)

    def to_bytes(self):
        out = bytearray()
        self.encode_into(out)
        return bytes(out)

    def to_json(self):
        return {
            "data-notification": {
                "invoke-id": "%08x" % self.invoke_id,
                "date-time": _hex(self.date_time),
                "body": axdr.to_json(self.body),
            }
        }


def decode_apdu(buf):
    """Decode a whole ACCESS-Request / -Response / Data-Notification by its tag."""
    if not buf:
        raise DLMSError("empty xDLMS APDU")
    tag = buf[0]
    if tag == ACCESS_REQUEST:
        return AccessRequest.from_bytes(buf)
    if tag == ACCESS_RESPONSE:
        return AccessResponse.from_bytes(buf)
    if tag == DATA_NOTIFICATION:
        return DataNotification.from_bytes(buf)
    raise DLMSError("unsupported xDLMS APDU tag %02x: %s" % (tag, hexs(buf)))


# ---------------------------------------------------------------------------- GBCS alert parts
# 8F66 (future-dated command executed): third body field is an octet-string(19) =
# message code(2) | originator counter(8) | COSEM attribute descriptor: class(2) OBIS(6) attr(1).


def decode_future_dated(payload):
    """(message code, originator counter, class id, OBIS, attribute) of an 8F66 payload."""
    if len(payload) != 19:
        raise DLMSError("future-dated alert payload must be 19 bytes: %s" % hexs(payload))
    return (
        (payload[0] << 8) | payload[1],
        int.from_bytes(payload[2:10], "big"),
        (payload[10] << 8) | payload[11],
        bytes(payload[12:18]),
        payload[18],
    )


def encode_future_dated(message_code, counter, class_id, obis, attribute):
    if len(obis) != 6:
        raise DLMSError("OBIS code must be 6 bytes")
    return (
        message_code.to_bytes(2, "big")
        + counter.to_bytes(8, "big")
        + class_id.to_bytes(2, "big")
        + bytes(obis)
        + bytes((attribute,))
    )


# ---------------------------------------------------------------------------- Data Protection
# Blue Book class 30 "Data protection", method 1 get_protected_attributes; GBCS uses it
# for ECS17b/d/e, ECS19, ECS20b/c, ECS21a/b, ECS22b, ECS66 with one protection element:
# protection type 2 (authentication and encryption), agreed key (key info type 2) and an
# empty other-information. Decryption and key agreement live elsewhere.


def _field(d, tag, what):
    if not isinstance(d, Data) or d.tag != tag:
        raise DLMSError("%s: %s expected, got %r" % (what, axdr.type_name(tag), d))
    return d.value


def _struct(d, n, what):
    v = _field(d, axdr.STRUCTURE, what)
    if len(v) != n:
        raise DLMSError("%s: structure of %d expected, got %d fields" % (what, n, len(v)))
    return v


class ProtectionParameters:
    """One protection_parameters element: type and options (transaction id, titles, key info)."""

    __slots__ = (
        "protection_type",
        "transaction_id",
        "originator",
        "recipient",
        "other_information",
        "key_info_type",
        "key_parameters",
        "key_ciphered_data",
    )

    def __init__(
        self,
        transaction_id,
        originator,
        recipient,
        protection_type=2,
        other_information=b"",
        key_info_type=2,
        key_parameters=b"\x02",
        key_ciphered_data=b"",
    ):
        self.protection_type = protection_type
        self.transaction_id = transaction_id
        self.originator = originator
        self.recipient = recipient
        self.other_information = other_information
        self.key_info_type = key_info_type
        self.key_parameters = key_parameters
        self.key_ciphered_data = key_ciphered_data

    def __eq__(self, other):
        if not isinstance(other, ProtectionParameters):
            return False
        for name in ProtectionParameters.__slots__:
            if getattr(self, name) != getattr(other, name):
                return False
        return True

    @property
    def counter(self):
        """Originator counter: the last 8 bytes of the 9-byte transaction id (after 04)."""
        return int.from_bytes(self.transaction_id[-8:], "big")

    @staticmethod
    def from_data(d):
        ptype, options = _struct(d, 2, "protection parameters")
        tid, orig, recip, other, key_info = _struct(options, 5, "protection options")
        kind, key_options = _struct(key_info, 2, "key info")
        params, ciphered = _struct(key_options, 2, "agreed key info options")
        p = ProtectionParameters(
            _field(tid, axdr.OCTET_STRING, "transaction id"),
            _field(orig, axdr.OCTET_STRING, "originator system title"),
            _field(recip, axdr.OCTET_STRING, "recipient system title"),
            _field(ptype, axdr.ENUM, "protection type"),
            _field(other, axdr.OCTET_STRING, "other information"),
            _field(kind, axdr.ENUM, "key info type"),
            _field(params, axdr.OCTET_STRING, "key parameters"),
            _field(ciphered, axdr.OCTET_STRING, "key ciphered data"),
        )
        return p

    def to_data(self):
        o = Data.octet
        return Data.structure(
            [
                Data.enum(self.protection_type),
                Data.structure(
                    [
                        o(self.transaction_id),
                        o(self.originator),
                        o(self.recipient),
                        o(self.other_information),
                        Data.structure(
                            [
                                Data.enum(self.key_info_type),
                                Data.structure(
                                    [o(self.key_parameters), o(self.key_ciphered_data)]
                                ),
                            ]
                        ),
                    ]
                ),
            ]
        )

    def to_json(self):
        return {
            "protection-type": self.protection_type,
            "transaction-id": _hex(self.transaction_id),
            "originator": _hex(self.originator),
            "recipient": _hex(self.recipient),
            "other-information": _hex(self.other_information),
            "key-info-type": self.key_info_type,
            "key-parameters": _hex(self.key_parameters),
            "key-ciphered-data": _hex(self.key_ciphered_data),
        }


def _protection_list(d):
    return [ProtectionParameters.from_data(x) for x in _field(d, axdr.ARRAY, "protection list")]


class ProtectedGet:
    """One get_request of get_protected_attributes: attribute descriptor and selective access."""

    __slots__ = ("class_id", "obis", "attribute", "data_index", "selector", "parameters")

    def __init__(self, class_id, obis, attribute, data_index=0, selector=0, parameters=None):
        self.class_id = class_id
        self.obis = obis
        self.attribute = attribute
        self.data_index = data_index
        self.selector = selector
        self.parameters = Data(axdr.NULL) if parameters is None else parameters

    def __eq__(self, other):
        if not isinstance(other, ProtectedGet):
            return False
        for name in ProtectedGet.__slots__:
            if getattr(self, name) != getattr(other, name):
                return False
        return True

    def __repr__(self):
        return "<ProtectedGet %d %s %d sel %d>" % (
            self.class_id,
            _obis_str(self.obis),
            self.attribute,
            self.selector,
        )

    @staticmethod
    def from_data(d):
        cls, ln, attr, index, access = _struct(d, 5, "get request")
        selector, params = _struct(access, 2, "access selection")
        obis = _field(ln, axdr.OCTET_STRING, "logical name")
        if len(obis) != 6:
            raise DLMSError("logical name must be 6 bytes: %s" % hexs(obis))
        return ProtectedGet(
            _field(cls, axdr.LONG_UNSIGNED, "class id"),
            obis,
            _field(attr, axdr.INTEGER, "attribute index"),
            _field(index, axdr.LONG_UNSIGNED, "data index"),
            _field(selector, axdr.ENUM, "access selector"),
            params,
        )

    def to_data(self):
        return Data.structure(
            [
                Data.uint16(self.class_id),
                Data.octet(self.obis),
                Data.int8(self.attribute),
                Data.uint16(self.data_index),
                Data.structure([Data.enum(self.selector), self.parameters]),
            ]
        )

    def to_json(self):
        return {
            "class": self.class_id,
            "obis": _obis_str(self.obis),
            "attribute": self.attribute,
            "data-index": self.data_index,
            "selector": self.selector,
            "parameters": axdr.to_json(self.parameters),
        }


class GetProtectedAttributes:
    """Parameters of get_protected_attributes: `requests` (ProtectedGet), `protection` (list)."""

    __slots__ = ("requests", "protection")

    def __init__(self, requests, protection):
        self.requests = requests
        self.protection = protection

    @staticmethod
    def from_data(d):
        gets, protection = _struct(d, 2, "get_protected_attributes parameters")
        return GetProtectedAttributes(
            [ProtectedGet.from_data(x) for x in _field(gets, axdr.ARRAY, "get request list")],
            _protection_list(protection),
        )

    def to_data(self):
        return Data.structure(
            [
                Data.array([g.to_data() for g in self.requests]),
                Data.array([p.to_data() for p in self.protection]),
            ]
        )

    def to_json(self):
        return {
            "requests": [g.to_json() for g in self.requests],
            "protection": [p.to_json() for p in self.protection],
        }


class ProtectedAttributes:
    """get_protected_attributes response: `protection` (list) and `protected_attributes`.

    protected_attributes = security control(1) | invocation counter(4) | ciphertext | tag(12)
    (GBCS: security control 31, invocation counter 0, AES-GCM; see `split`).
    """

    __slots__ = ("protection", "protected_attributes")

    def __init__(self, protection, protected_attributes):
        self.protection = protection
        self.protected_attributes = protected_attributes

    @staticmethod
    def from_data(d):
        protection, protected = _struct(d, 2, "get_protected_attributes response")
        return ProtectedAttributes(
            _protection_list(protection),
            _field(protected, axdr.OCTET_STRING, "protected attributes"),
        )

    def to_data(self):
        return Data.structure(
            [
                Data.array([p.to_data() for p in self.protection]),
                Data.octet(self.protected_attributes),
            ]
        )

    def split(self):
        """(security control, invocation counter, ciphertext, 12-byte tag)."""
        b = self.protected_attributes
        if len(b) < 17:
            raise DLMSError("protected attributes too short: %s" % hexs(b))
        return b[0], int.from_bytes(b[1:5], "big"), b[5:-12], b[-12:]

    def to_json(self):
        return {
            "protection": [p.to_json() for p in self.protection],
            "protected-attributes": _hex(self.protected_attributes),
        }
