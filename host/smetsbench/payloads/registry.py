"""The payload kinds a GBCS message carries (GBCS 7.2): DLMS, GBZ and ASN.1, one entry each.

Every place that asks "what is this payload?" asks `kind_of`, and then the kind:

    recognise(content, msg)   is this payload of the kind (cheap: a look at its first bytes,
                              or for ASN.1 a walk of the DER TLVs)
    decode(content, msg)      the decoded payload (raises a ValueError subclass)
    to_json(value)            readable JSON of a decoded payload
    alert_code(content, msg)  the alert code of an alert, else None
    alert_time(content, msg)  the Unix time an alert states, else None
    alert_reference(content, msg)  what names the command a future-dated alert reports on
    failure(content, msg)     (index, code) when the payload reports an execution failure

`msg` is the decoded GBCS message (smets.gbcs.envelope): GBZ needs its CRA flag (alerts have
an alert header) and ASN.1 its message code (which response codes are failures).
"""

import calendar
import re
import time

from smets.dlms import access, axdr
from smets.gbcs import envelope
from smets.zcl import foundation, gbz, secmd
from smets.zcl import types as ztypes
from smets.zcl.frame import DEFAULT_RESPONSE, SUCCESS, ZCLError

from smetsbench.payloads import zcl_names

EPOCH_2000 = ztypes.UTC_EPOCH_OFFSET  # GBZ and ZCL UTCTime count from 2000-01-01 (ZCL 2.6.2.20)


def _is_alert(msg):
    return msg is not None and msg.cra == envelope.CRA_ALERT


def _utc_text(seconds_2000):
    y, mo, d, h, mi, s = time.gmtime(EPOCH_2000 + seconds_2000)[:6]
    return "%04d-%02d-%02dT%02d:%02d:%02dZ" % (y, mo, d, h, mi, s)


class PayloadKind:
    name = "unknown"

    def recognise(self, content, msg=None):
        return False

    def decode(self, content, msg=None):
        raise ValueError("no decoder")

    def to_json(self, value):
        return None

    def alert_code(self, content, msg=None):
        return None

    def alert_time(self, content, msg=None):
        return None

    def alert_reference(self, content, msg=None):
        return None

    def failure(self, content, msg=None):
        return None

    def __repr__(self):
        return "<payload kind %s>" % self.name


# ------------------------------------------------------------------------------------ DLMS


class DLMSKind(PayloadKind):
    """xDLMS APDUs: ACCESS request D9, ACCESS response DA, Data-Notification 0F (GBCS 7.2.3)."""

    name = "DLMS"
    _TAGS = (0xD9, 0xDA, 0x0F)

    def recognise(self, content, msg=None):
        return len(content) > 0 and content[0] in self._TAGS

    def decode(self, content, msg=None):
        return access.decode_apdu(bytes(content))

    def to_json(self, value):
        return value.to_json()

    def _notification(self, content):
        if not content or content[0] != 0x0F:
            return None
        try:
            return access.DataNotification.from_bytes(bytes(content))
        except ValueError:
            return None

    def alert_code(self, content, msg=None):
        dn = self._notification(content)
        try:
            return dn.alert_code if dn is not None else None
        except (ValueError, AttributeError, IndexError, TypeError):
            return None

    def alert_time(self, content, msg=None):
        dn = self._notification(content)
        if dn is None or not dn.timestamp:
            return None
        try:
            return axdr.date_time_to_unix(bytes(dn.timestamp))
        except ValueError:
            return None

    def alert_reference(self, content, msg=None):
        dn = self._notification(content)
        try:
            body = dn.body.value
            if len(body) > 2 and body[2].tag == axdr.OCTET_STRING:
                return bytes(body[2].value)
        except (ValueError, AttributeError, IndexError, TypeError):
            pass
        return None

    def failure(self, content, msg=None):
        if not content or content[0] != 0xDA:
            return None
        try:
            resp = access.AccessResponse.from_bytes(bytes(content))
        except ValueError:
            return None
        for i, s in enumerate(resp.specs):
            if s.result != access.SUCCESS:
                return i, s.result
        return None


# ------------------------------------------------------------------------------------- GBZ


def zcl_payload_json(cluster, frame_control, command, payload):
    """JSON of a ZCL payload: foundation records with attribute and status names, a cluster
    command's named fields (smets.zcl.se layouts), else hex."""
    if frame_control & 0x03 != 0:
        return _cluster_json(cluster, bool(frame_control & 0x08), command, payload)
    if not foundation.supported(command):
        return {"payload": bytes(payload).hex()}
    try:
        records = foundation.decode(command, bytes(payload))
    except ZCLError as exc:
        return {"payload": bytes(payload).hex(), "error": str(exc)}
    if command == DEFAULT_RESPONSE:
        return {"response_to": "%02x" % records[0], "status": zcl_names.status(records[1])}
    out = []
    for r in records:
        if isinstance(r, int):  # Read Attributes: attribute ids
            out.append(_attr_json(cluster, r))
            continue
        attr_id = getattr(r, "id", None)
        if attr_id is None:
            attr_id = r.attr_id
        j = _attr_json(cluster, attr_id) if attr_id is not None else {}
        status = getattr(r, "status", None)
        if status is not None:
            j["status"] = zcl_names.status(status)
        if isinstance(r, foundation.AttributeRecord) and r.status == SUCCESS:
            j["type"] = ztypes.name(r.type)
            j["value"] = _value_json(r.type, r.value)
        elif isinstance(r, foundation.ReportingConfig):
            j["direction"] = r.direction
            if r.direction == foundation.REPORT_EXPECT:
                j["timeout"] = r.timeout
            else:
                j.update(type=ztypes.name(r.type), min_interval=r.min_interval,
                         max_interval=r.max_interval,
                         change=_value_json(r.type, r.change) if r.change is not None else None)
        elif isinstance(r, foundation.StatusRecord) and r.direction is not None:
            j["direction"] = r.direction
        out.append(j)
    return {"records": out}


def _cluster_json(cluster, server_to_client, command, payload):
    layout = secmd.layout(cluster, server_to_client, command)
    names = zcl_names.fields(cluster, server_to_client, command)
    if layout is None or names is None:
        return {"payload": bytes(payload).hex()}
    try:
        values = secmd.decode(cluster, server_to_client, command, bytes(payload))
    except ZCLError as exc:
        return {"payload": bytes(payload).hex(), "error": str(exc)}
    head, group = names
    out = {}
    for i, v in enumerate(values):
        t = layout[i]
        if t == secmd.REPEAT:
            types = layout[i + 1:]
            out["entries"] = [{n: _value_json(types[k], x) for k, (n, x) in
                               enumerate(zip(group, item))} for item in v]
        else:
            out[head[i]] = _value_json(t, v)
    return {"fields": out}


def _attr_json(cluster, attr_id):
    j = {"attribute": "%04x" % attr_id}
    n = zcl_names.attribute(cluster, attr_id)
    if n:
        j["name"] = n
    return j


def _value_json(ztype, value):
    if isinstance(value, (bytes, bytearray)):
        b = bytes(value)
        if ztype in (ztypes.CHAR_STRING, ztypes.LONG_CHAR_STRING) and all(
                0x20 <= c < 0x7F for c in b):
            return b.decode("ascii")
        return b.hex()
    if ztype == ztypes.UTC_TIME and isinstance(value, int) and value != 0xFFFFFFFF:
        return _utc_text(value)
    return value


class GBZKind(PayloadKind):
    """GBCS ZigBee payloads (smets.zcl.gbz): profile 0109, components of ZCL commands."""

    name = "GBZ"

    def recognise(self, content, msg=None):
        return gbz.is_gbz(content)

    def decode(self, content, msg=None):
        return gbz.GBZPayload.from_bytes(bytes(content), alert=_is_alert(msg))

    def to_json(self, value, plaintexts=None):
        """`plaintexts`: {component index: decrypted ZCL payload} for encrypted components."""
        out = {"profile": "0109", "components_count": value.count}
        if value.alert:
            out["alert_code"] = "%04X" % value.alert_code
            out["timestamp"] = _utc_text(value.timestamp)
            if value.alert_data:
                out["alert_data"] = value.alert_data.hex()
                fd = gbz.future_dated(value.alert_data)
                if fd is not None:
                    mc, ctr, cluster, fc, cmd = fd
                    out["future_dated"] = {
                        "message_code": "%04X" % mc, "originator_counter": ctr,
                        "cluster": "%04x" % cluster, "cluster_name": zcl_names.cluster(cluster),
                        "frame_control": "%02x" % fc, "command": "%02x" % cmd,
                        "command_name": zcl_names.command(cluster, fc, cmd)}
        comps = []
        for i, c in enumerate(value.components):
            j = {"control": "%02x" % c.control, "last": c.last, "encrypted": c.encrypted,
                 "cluster": "%04x" % c.cluster, "cluster_name": zcl_names.cluster(c.cluster)}
            if c.from_date_time is not None:
                j["from_date_time"] = _utc_text(c.from_date_time)
            j.update({
                "frame_control": "%02x" % c.frame_control,
                "frame_type": "cluster" if c.frame_control & 0x03 else "global",
                "direction": "server->client" if c.frame_control & 0x08 else "client->server",
                "seq": c.seq, "command": "%02x" % c.command,
                "command_name": zcl_names.command(c.cluster, c.frame_control, c.command)})
            payload = c.payload
            if c.encrypted:
                j["additional_header"] = c.additional_header.hex()
                j["security_control"] = "%02x" % c.security_control
                j["invocation_counter"] = c.invocation_counter
                j["ciphertext_length"] = len(c.ciphertext_and_tag)
                payload = (plaintexts or {}).get(i)
                if payload is None:
                    comps.append(j)
                    continue
                j["decrypted"] = True
            j.update(zcl_payload_json(c.cluster, c.frame_control, c.command, payload))
            comps.append(j)
        out["components"] = comps
        return out

    def _alert_header(self, content, msg):
        if not _is_alert(msg) or len(content) < 9 or not gbz.is_gbz(content):
            return None
        return content

    def alert_code(self, content, msg=None):
        c = self._alert_header(content, msg)
        return None if c is None else (c[3] << 8) | c[4]

    def alert_time(self, content, msg=None):
        c = self._alert_header(content, msg)
        return None if c is None else int.from_bytes(bytes(c[5:9]), "big") + EPOCH_2000

    def alert_reference(self, content, msg=None):
        c = self._alert_header(content, msg)
        return None if c is None else bytes(c[9:])

    def failure(self, content, msg=None, plaintexts=None):
        """(component index, status, attribute index) of the first execution failure: a
        Default Response whose status is neither SUCCESS nor NOT_FOUND (no entry is not a
        failure), or a Read Attributes Response record with such a status (`plaintexts`:
        {component index: decrypted ZCL payload} of encrypted components)."""
        try:
            g = self.decode(content, msg)
        except ValueError:
            return None
        for i, c in enumerate(g.components):
            if c.frame_control & 0x03:
                continue
            payload = c.payload if not c.encrypted else (plaintexts or {}).get(i)
            if payload is None:
                continue
            if c.command == DEFAULT_RESPONSE and len(payload) == 2 \
                    and payload[1] not in (SUCCESS, _NOT_FOUND):
                return i, payload[1], 0
            if c.command == foundation.READ_ATTRIBUTES_RESPONSE:
                try:
                    records = foundation.decode(c.command, bytes(payload))
                except ZCLError:
                    continue
                for j, r in enumerate(records):
                    if r.status not in (SUCCESS, _NOT_FOUND, _UNSUPPORTED_ATTRIBUTE):
                        return i, r.status, j
        return None


_NOT_FOUND = 0x8B
_UNSUPPORTED_ATTRIBUTE = 0x86


# ----------------------------------------------------------------------------------- ASN.1


class DERError(ValueError):
    """Bytes that are not one DER element."""


def der_tlv(b, pos):
    """(tag, value bytes, position after it) of the DER element at b[pos] (single-byte tags,
    definite lengths of up to 3 bytes: all GBCS needs)."""
    if pos + 2 > len(b):
        raise DERError("DER element truncated at offset %d: %s" % (pos, envelope.hexs(b)))
    tag = b[pos]
    if tag & 0x1F == 0x1F:
        raise DERError("multi-byte DER tags not supported: %s" % envelope.hexs(b))
    n = b[pos + 1]
    pos += 2
    if n & 0x80:
        k = n & 0x7F
        if k == 0 or k > 3 or pos + k > len(b):
            raise DERError("bad DER length at offset %d: %s" % (pos - 1, envelope.hexs(b)))
        n = int.from_bytes(b[pos:pos + k], "big")
        pos += k
    if pos + n > len(b):
        raise DERError("DER element at offset %d overruns: %s" % (pos, envelope.hexs(b)))
    return tag, b[pos:pos + n], pos + n


DER_NAMES = {0x01: "BOOLEAN", 0x02: "INTEGER", 0x03: "BIT STRING", 0x04: "OCTET STRING",
             0x05: "NULL", 0x06: "OBJECT IDENTIFIER", 0x0A: "ENUMERATED", 0x0C: "UTF8String",
             0x13: "PrintableString", 0x16: "IA5String", 0x17: "UTCTime",
             0x18: "GeneralizedTime", 0x30: "SEQUENCE", 0x31: "SET"}


def der_tag_name(tag):
    if tag & 0xC0 == 0x80:
        return "[%d]" % (tag & 0x1F)
    return DER_NAMES.get(tag, "tag%02x" % tag)


class DERNode:
    """A decoded DER element: tag, and children (constructed) or value bytes (primitive)."""

    __slots__ = ("children", "tag", "value")

    def __init__(self, tag, value=None, children=None):
        self.tag = tag
        self.value = value
        self.children = children


def der_decode(b, depth=0):
    """One DER element filling `b`, as a DERNode tree."""
    b = bytes(b)
    tag, body, pos = der_tlv(b, 0)
    if pos != len(b):
        raise DERError("%d bytes after the DER element: %s" % (len(b) - pos, envelope.hexs(b)))
    return _der_node(tag, body, depth)


def _der_node(tag, body, depth):
    if not tag & 0x20:
        return DERNode(tag, bytes(body))
    if depth > 16:
        raise DERError("DER nested too deep")
    kids = []
    pos = 0
    while pos < len(body):
        t, v, pos = der_tlv(body, pos)
        kids.append(_der_node(t, v, depth + 1))
    return DERNode(tag, children=kids)


def _der_json(node):
    name = der_tag_name(node.tag)
    if node.children is not None:
        return {name: [_der_json(c) for c in node.children]}
    raw = node.value
    if node.tag in (0x02, 0x0A):
        return {name: int.from_bytes(raw, "big", signed=True) if raw else 0}
    if node.tag == 0x01:
        return {name: raw != b"\x00"}
    if node.tag in (0x0C, 0x13, 0x16, 0x17, 0x18) and all(0x20 <= c < 0x7F for c in raw):
        return {name: raw.decode("ascii")}
    return {name: raw.hex()}


# Device failures an ASN.1 response reports as a bare response code (GBCS 12: CS02c key pair
# generation / request production failed, CS02d certificate storage / private key change
# failed, CS02e certificate retrieval failure; CS07 device log unreadable, a SEQUENCE holding
# the code alone): message code -> failure codes.
ASN1_FAILURES = {0x000A: (2, 3), 0x000B: (6, 7), 0x000C: (3,), 0x0013: (1,)}
# Reads whose failure is a response code 1 at the end of a SEQUENCE (GBCS 13.7.4 CS07 "read
# failure", 11.8 CS08 "read failure").
ASN1_READ_FAILURES = (0x0013, 0x0129)
# Execution outcomes (GBCS 11.5 CS06: 1 no image held, 2 hash mismatch, 3 activation failure),
# in the CS06 response or its future-dated 0x00CA alert.
ASN1_OUTCOME_FAILURES = (0x0012, 0x00CA)

_GENERALIZED_TIME = re.compile(rb"\x18\x0f(\d{14})Z")


class ASN1Kind(PayloadKind):
    """DER-encoded ASN.1 (the security credential use cases, GBCS 12)."""

    name = "ASN.1"

    def recognise(self, content, msg=None):
        try:
            der_decode(content)
            return True
        except DERError:
            return False

    def decode(self, content, msg=None):
        return der_decode(content)

    def to_json(self, value):
        return _der_json(value)

    def alert_code(self, content, msg=None):
        """An ASN.1 alert's code: the INTEGER its SEQUENCE starts with (GBCS 12 / 16: CS02b
        8F66/8F67, GCS62 8071), else None."""
        if not _is_alert(msg):
            return None
        try:
            top = der_decode(content)
            first = top.children[0] if top.children else None
        except (DERError, AttributeError):
            return None
        if first is None or first.tag != 0x02 or not 1 <= len(first.value) <= 4:
            return None
        return int.from_bytes(first.value, "big")

    def alert_time(self, content, msg=None):
        m = _GENERALIZED_TIME.search(bytes(content))
        if not m:
            return None
        t = m.group(1).decode()
        try:
            return calendar.timegm((int(t[:4]), int(t[4:6]), int(t[6:8]), int(t[8:10]),
                                    int(t[10:12]), int(t[12:14])))
        except ValueError:
            return None

    def failure(self, content, msg=None):
        codes = ASN1_FAILURES.get(msg.message_code) if msg is not None else None
        c = bytes(content)
        if codes and len(c) == 5 and c[:4] == b"\x30\x03\x02\x01":
            c = c[2:]  # SEQUENCE { INTEGER result } alone (CS07 failing)
        if codes and len(c) == 3 and c[:2] == b"\x02\x01" and c[2] in codes:
            return 0, c[2]
        if msg is not None and msg.message_code in ASN1_READ_FAILURES:
            # CS07 / CS08: a read failure is the response code ending the SEQUENCE.
            if len(c) >= 5 and c[0] == 0x30 and c[-3:] == b"\x02\x01\x01":
                return 0, 1
        if msg is not None and msg.message_code in ASN1_OUTCOME_FAILURES:
            # CS06: an execution outcome SEQUENCE { INTEGER response code, ... } whose code is
            # not 0, in the response or (future-dated) in the 0x00CA alert's last element.
            if msg.message_code == 0x00CA and len(c) > 2 and c[0] == 0x30:
                try:
                    c = bytes(der_tlv(c, 0)[1])
                    pos = 0
                    while pos < len(c):
                        tag, body, nxt = der_tlv(c, pos)
                        if nxt == len(c):
                            c = bytes(c[pos:])
                        pos = nxt
                except DERError:
                    return None
            if len(c) >= 5 and c[0] == 0x30 and c[2:4] == b"\x02\x01" and c[4]:
                return 0, c[4]
        return None


DLMS = DLMSKind()
GBZ = GBZKind()
ASN1 = ASN1Kind()
UNKNOWN = PayloadKind()
# Looked at in this order: DLMS and GBZ by their first bytes, ASN.1 by a DER walk.
KINDS = (DLMS, GBZ, ASN1)


def kind_of(content, msg=None):
    """The kind of a payload (UNKNOWN when none recognises it)."""
    content = bytes(content)
    for k in KINDS:
        if k.recognise(content, msg):
            return k
    return UNKNOWN


def of_message(msg):
    return kind_of(msg.content, msg)
