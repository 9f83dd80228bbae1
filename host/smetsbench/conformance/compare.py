"""Shape comparison of GBCS messages: an RTDS message against the one a device under test sent.

Every payload format is first turned into the same kind of tree (`Node`): DLMS A-XDR Data and
ACCESS / Data-Notification APDUs, GBZ (GBCS ZigBee payloads: components, ZCL frames and their
attribute records), ASN.1 DER, and the GBCS grouping header. The converters mark what must be
equal; `compare` then walks two trees and classifies each difference:

- "shape" (the device is wrong, the use case fails): a different payload format or APDU,
  different types (A-XDR tags, DER tags, ZCL data types), different structure sizes, a
  different result / status code, different register identities, a different header field
  the response must echo (counter, titles, message code, other-information), signed vs
  MACed, a date-time present vs absent.
- "value" (reported, not failed): what a real meter legitimately answers differently from
  the meter that made the RTDS (register readings, time stamps, state enums, MPAN contents,
  firmware version, octet-string contents, the number of log / profile entries).

Values that must be equal although they are leaves ("exact" nodes):
- DLMS results and ZCL statuses; the invoke id; the APDU date-time field;
- scaler_unit pairs (structure{integer scaler, enum unit}): they say what a register measures;
- COSEM attribute descriptors inside data (structure{long-unsigned class, octet-string(6)
  logical name, integer attribute, ...}): register identities;
- the system titles of the header and of protection parameters (the runner provisions the
  device with the RTDS EUI), and every other protection parameter of protected attributes;
- alert codes, and the body of future-dated execution alerts (8F66 / 8F67): message code,
  originator counter and COSEM attribute descriptor of the command they report on;
- GBZ profile, component count, cluster ids, ZCL frame control and command ids, attribute ids,
  DER INTEGER / ENUMERATED / BOOLEAN values (in GBCS ASN.1 payloads they are results, codes
  and counters), except the remote parties' current sequence numbers of a CS02a / CS02f
  response (device state, like register values).
- An octet-string that holds a date-time in the RTDS must be a 12-byte string from the device.
- Array lengths are values (log and profile buffers hold what the meter recorded); elements the
  device sends beyond the RTDS count are still checked against the shape of the RTDS elements.

Ciphertext, MACs and signatures are never compared: the device uses its own keys. Protected
attributes are decrypted on both sides by the caller (`decrypt` callback) and the plaintexts
compared as trees.
"""

import difflib

from smets.dlms import access, axdr
from smets.gbcs import envelope
from smets.zcl import foundation, gbz
from smets.zcl import types as ztypes
from smets.zcl.frame import ZCLError

from smetsbench.payloads import registry as payloads
from smetsbench.payloads import zcl_names

SHAPE = "shape"
VALUE = "value"


class Diff:
    __slots__ = ("expected", "got", "kind", "note", "path")

    def __init__(self, kind, path, expected, got, note=""):
        self.kind = kind
        self.path = path
        self.expected = expected
        self.got = got
        self.note = note

    def __str__(self):
        return "%s %s: RTDS %s, device %s%s" % (
            self.kind, self.path or "(top)", self.expected, self.got,
            (" (%s)" % self.note) if self.note else "")

    __repr__ = __str__

    def to_json(self):
        return {"kind": self.kind, "path": self.path, "expected": self.expected,
                "got": self.got, "note": self.note}


class Node:
    """One node of a comparable tree.

    `type` is compared first (shape); a container has `children` (a list of Nodes, each with a
    `name`), a leaf has `value` and `text` (its rendering). `exact`: the leaf value must be
    equal. `variable`: the container's length is a value (records), not shape. `size`: the
    byte / bit length of a leaf; `fixed_size`: a different size is a shape difference.
    `ignore`: not compared at all (ciphertext, MACs).
    """

    __slots__ = (
        "children",
        "exact",
        "fixed_size",
        "ignore",
        "name",
        "size",
        "text",
        "type",
        "value",
        "variable",
    )

    def __init__(self, name, type_, value=None, text=None, children=None, exact=False,
                 variable=False, size=None, fixed_size=False, ignore=False):
        self.name = name
        self.type = type_
        self.value = value
        self.text = text if text is not None else ("" if value is None else str(value))
        self.children = children
        self.exact = exact
        self.variable = variable
        self.size = size
        self.fixed_size = fixed_size
        self.ignore = ignore

    def __repr__(self):
        return "<Node %s %s %s>" % (self.name, self.type, self.text if self.children is None
                                    else "[%d]" % len(self.children))

    def child(self, name):
        for c in self.children or ():
            if c.name == name:
                return c
        return None


def leaf(name, type_, value, text=None, **kw):
    return Node(name, type_, value, text, **kw)


def container(name, type_, children, **kw):
    return Node(name, type_, None, "", list(children), **kw)


# ------------------------------------------------------------------------------------ compare


def _join(path, name):
    if not path:
        return name
    if name.startswith("["):
        return path + name
    return path + "." + name


def _describe(node):
    if node is None:
        return "nothing"
    if node.children is not None:
        return "%s[%d]" % (node.type, len(node.children))
    return ("%s %s" % (node.type, node.text)).strip()


def compare(expected, got, path="", diffs=None, shape_only=False):
    """Differences between two trees (list of Diff); `shape_only` drops value differences."""
    if diffs is None:
        diffs = []
    if expected.ignore or got.ignore:
        return diffs
    if expected.type != got.type:
        diffs.append(Diff(SHAPE, path, _describe(expected), _describe(got), "different type"))
        return diffs
    if expected.children is not None or got.children is not None:
        ec = expected.children or []
        gc = got.children or []
        if len(ec) != len(gc):
            if expected.variable:
                if not shape_only:
                    diffs.append(Diff(VALUE, path, "%d entries" % len(ec), "%d entries" % len(gc)))
            else:
                diffs.append(Diff(SHAPE, path, "%d items" % len(ec), "%d items" % len(gc),
                                  "different %s size" % expected.type))
        for i in range(min(len(ec), len(gc))):
            compare(ec[i], gc[i], _join(path, ec[i].name), diffs, shape_only)
        if expected.variable and ec and len(gc) > len(ec):
            # Entries beyond the RTDS ones: same shape as the RTDS's first entry.
            for g in gc[len(ec):]:
                compare(ec[0], g, _join(path, g.name), diffs, True)
        elif not expected.variable and len(gc) != len(ec):
            pass  # already a shape difference; unpaired items are shown in the tree diff
        return diffs
    if expected.fixed_size and expected.size is not None and expected.size != got.size:
        diffs.append(Diff(SHAPE, path, _describe(expected), _describe(got),
                          "%s must be %d long" % (expected.type, expected.size)))
        return diffs
    if expected.value != got.value:
        if expected.exact or got.exact:
            diffs.append(Diff(SHAPE, path, _describe(expected), _describe(got), "must be equal"))
        elif not shape_only:
            diffs.append(Diff(VALUE, path, expected.text, got.text))
    return diffs


def render(node, indent=0, lines=None):
    """Indented text of a tree, one node per line (for a unified diff of two trees)."""
    if lines is None:
        lines = []
    pad = "  " * indent
    name = (node.name + ": ") if node.name else ""
    if node.children is not None:
        lines.append("%s%s%s[%d]" % (pad, name, node.type, len(node.children)))
        for c in node.children:
            render(c, indent + 1, lines)
    else:
        text = "(not compared)" if node.ignore else node.text
        lines.append(("%s%s%s %s" % (pad, name, node.type, text)).rstrip())
    return lines


def tree_diff(expected, got, expected_name="RTDS", got_name="device", context=3):
    """Unified diff of the renderings of two trees (list of lines, empty when identical)."""
    a = render(expected)
    b = render(got)
    return list(difflib.unified_diff(a, b, expected_name, got_name, n=context, lineterm=""))


# ------------------------------------------------------------------------------- A-XDR / DLMS


def _printable(b):
    return bool(b) and all(0x20 <= c < 0x7F for c in b)


def looks_like_date_time(b):
    """True for a 12-byte COSEM date-time (incl. the GBCS NOW / NEVER forms)."""
    if len(b) != 12:
        return False
    if b in (axdr.DATE_TIME_NOW, axdr.DATE_TIME_NEVER):
        return True
    year = (b[0] << 8) | b[1]
    month, day, dow, hour, minute, second = b[2], b[3], b[4], b[5], b[6], b[7]
    return ((1900 <= year <= 2200 or year == 0xFFFF) and (1 <= month <= 12 or month >= 0xFD)
            and (1 <= day <= 31 or day >= 0xFD) and (1 <= dow <= 7 or dow == 0xFF)
            and (hour < 24 or hour == 0xFF) and (minute < 60 or minute == 0xFF)
            and (second < 60 or second == 0xFF))


def octet_text(b):
    b = bytes(b)
    if looks_like_date_time(b):
        try:
            return "%s (%s)" % (axdr.date_time_str(b), b.hex())
        except ValueError:
            return b.hex()
    if _printable(b):
        return repr(b.decode("ascii"))
    return b.hex() if b else "''"


def _td_text(td):
    return str(axdr.type_to_json(td))


def data_node(d, name=""):
    """Node of an A-XDR Data value."""
    tag = d.tag
    tname = axdr.type_name(tag) or ("tag%02x" % tag)
    v = d.value
    if tag == axdr.STRUCTURE:
        node = container(name, tname, [data_node(x, "[%d]" % i) for i, x in enumerate(v)])
        _mark_identities(node, v)
        return node
    if tag == axdr.ARRAY:
        return container(name, tname, [data_node(x, "[%d]" % i) for i, x in enumerate(v)],
                         variable=True)
    if tag == axdr.COMPACT_ARRAY:
        td, items = v
        return container(name, tname, [
            leaf("type", "type-description", _td_text(td), exact=True),
            container("values", "entries", [data_node(x, "[%d]" % i)
                                            for i, x in enumerate(items)], variable=True),
        ])
    if tag == axdr.OCTET_STRING:
        b = bytes(v)
        return leaf(name, tname, b, octet_text(b), size=len(b), fixed_size=looks_like_date_time(b))
    if tag == axdr.BIT_STRING:
        nbits, raw = v
        text = "".join("1" if raw[i >> 3] & (0x80 >> (i & 7)) else "0" for i in range(nbits))
        return leaf(name, tname, text, text or "''", size=nbits, fixed_size=True)
    if tag in (axdr.NULL, axdr.DONT_CARE):
        return leaf(name, tname, None, "")
    if tag in (axdr.DATE_TIME, axdr.DATE, axdr.TIME):
        return leaf(name, tname, bytes(v), bytes(v).hex())
    return leaf(name, tname, v, str(v).lower() if isinstance(v, bool) else str(v))


def _mark_identities(node, items):
    tags = [x.tag for x in items]
    # scaler_unit: structure{integer scaler, enum unit} says what a register measures.
    if tags == [axdr.INTEGER, axdr.ENUM]:
        for c in node.children:
            c.exact = True
        return
    # COSEM attribute descriptor: {class-id, logical name, attribute index, ...}.
    if len(items) >= 3 and tags[0] == axdr.LONG_UNSIGNED and tags[1] == axdr.OCTET_STRING \
            and len(items[1].value) == 6 and tags[2] in (axdr.INTEGER, axdr.UNSIGNED):
        for c in node.children[:3]:
            c.exact = True


def _protection_node(name, pp):
    """Protection parameters: every field must be equal (the runner gives the device the RTDS
    EUI, so even the system titles are)."""
    return container(name, "protection-parameters", [
        leaf("protection-type", "enum", pp.protection_type, exact=True),
        leaf("transaction-id", "octet-string", bytes(pp.transaction_id),
             bytes(pp.transaction_id).hex(), exact=True),
        leaf("originator", "octet-string", bytes(pp.originator), bytes(pp.originator).hex(),
             exact=True),
        leaf("recipient", "octet-string", bytes(pp.recipient), bytes(pp.recipient).hex(),
             exact=True),
        leaf("other-information", "octet-string", bytes(pp.other_information),
             bytes(pp.other_information).hex() or "''", exact=True),
        leaf("key-info-type", "enum", pp.key_info_type, exact=True),
        leaf("key-parameters", "octet-string", bytes(pp.key_parameters),
             bytes(pp.key_parameters).hex() or "''", exact=True),
        leaf("key-ciphered-data", "octet-string", bytes(pp.key_ciphered_data),
             bytes(pp.key_ciphered_data).hex() or "''", exact=True),
    ])


def _protected(d):
    if d.tag != axdr.STRUCTURE:
        return None
    try:
        return access.ProtectedAttributes.from_data(d)
    except (ValueError, TypeError, IndexError):
        return None


def protected_node(name, prot, plaintext):
    """Protected attributes with their decrypted plaintext (Data, or an error text)."""
    children = [
        container("protection", "array", [_protection_node("[%d]" % i, p)
                                          for i, p in enumerate(prot.protection)]),
        leaf("ciphertext", "octet-string", bytes(prot.protected_attributes),
             "%d bytes" % len(prot.protected_attributes), ignore=True),
    ]
    if isinstance(plaintext, axdr.Data):
        children.append(data_node(plaintext, "decrypted"))
    else:
        children.append(leaf("decrypted", "undecryptable", str(plaintext)))
    return container(name, "protected-attributes", children)


_KIND_NAMES = {access.GET: "get", access.SET: "set", access.ACTION: "action"}
_RESULT_NAMES = {
    0: "success", 1: "hardware-fault", 2: "temporary-failure", 3: "read-write-denied",
    4: "object-undefined", 9: "object-class-inconsistent", 11: "object-unavailable",
    12: "type-unmatched", 13: "scope-of-access-violated", 14: "data-block-unavailable",
    250: "other-reason",
}


def result_text(kind, result):
    return "%s %s" % (_KIND_NAMES.get(kind, kind), _RESULT_NAMES.get(result, result))


def dlms_node(apdu, decrypt=None, name="payload"):
    """Node of a decoded xDLMS APDU; `decrypt(index, ProtectedAttributes)` -> Data or error."""
    if isinstance(apdu, access.AccessResponse):
        data = []
        for i, d in enumerate(apdu.data):
            prot = _protected(d)
            if prot is not None and decrypt is not None:
                data.append(protected_node("[%d]" % i, prot, decrypt(i, prot)))
            else:
                data.append(data_node(d, "[%d]" % i))
        children = [
            leaf("invoke-id", "long-invoke-id", apdu.invoke_id, "%08x" % apdu.invoke_id,
                 exact=True),
            leaf("date-time", "octet-string", bytes(apdu.date_time),
                 bytes(apdu.date_time).hex() or "''", exact=True),
            leaf("request-specs", "presence", apdu.request_specs is not None,
                 "present" if apdu.request_specs is not None else "absent", exact=True),
            container("data", "list-of-data", data),
            container("results", "list-of-results", [
                leaf("[%d]" % i, "result", (s.kind, s.result), result_text(s.kind, s.result),
                     exact=True)
                for i, s in enumerate(apdu.specs)]),
        ]
        return container(name, "access-response", children)
    if isinstance(apdu, access.DataNotification):
        body = data_node(apdu.body, "body")
        _mark_alert(apdu.body, body)
        return container(name, "data-notification", [
            leaf("invoke-id", "long-invoke-id", apdu.invoke_id, "%08x" % apdu.invoke_id),
            leaf("date-time", "octet-string", bytes(apdu.date_time),
                 bytes(apdu.date_time).hex() or "''"),
            body,
        ])
    if isinstance(apdu, access.AccessRequest):
        return container(name, "access-request", [
            leaf("invoke-id", "long-invoke-id", apdu.invoke_id, "%08x" % apdu.invoke_id,
                 exact=True),
            container("specs", "list-of-specs", [
                leaf("[%d]" % i, "spec", repr(s), repr(s), exact=True)
                for i, s in enumerate(apdu.specs)]),
            container("data", "list-of-data", [data_node(d, "[%d]" % i)
                                                for i, d in enumerate(apdu.data)]),
        ])
    return leaf(name, "dlms-apdu", repr(apdu), exact=True)


FUTURE_DATED_ALERTS = (0x8F66, 0x8F67)


def _mark_alert(body, node):
    """GBCS DLMS alert body: the alert code must be equal; so must the future-dated payload."""
    if body.tag != axdr.STRUCTURE or not body.value or not node.children:
        return
    node.children[0].exact = True
    code = body.value[0].value
    if code in FUTURE_DATED_ALERTS and len(body.value) > 2 \
            and body.value[2].tag == axdr.OCTET_STRING and len(body.value[2].value) == 19:
        mc, ctr, cls, obis, attr = access.decode_future_dated(bytes(body.value[2].value))
        node.children[2] = container("[2]", "future-dated-command", [
            leaf("message-code", "message-code", mc, "%04X" % mc, exact=True),
            leaf("originator-counter", "counter", ctr, exact=True),
            leaf("class", "class-id", cls, exact=True),
            leaf("obis", "obis", bytes(obis), "-".join(str(x) for x in obis), exact=True),
            leaf("attribute", "attribute", attr, exact=True),
        ])


# ---------------------------------------------------------------------------------- GBZ / ZCL
# GBZ (GBCS 7.2.2) is decoded by the firmware's codec (smets.zcl.gbz) and the ZCL payloads by
# smets.zcl.foundation; this turns the result into a tree. An alert's own data (after its
# header) is a leaf, except the future-dated execution outcome (8F66 / 8F67), whose fields must
# equal the RTDS's.

GBZError = gbz.GBZError


def _zcl_value_node(ztype, value):
    if ztype == ztypes.BOOL:
        value = 0xFF if value is None else int(value)
    elif ztype == ztypes.BACNET_OID:
        value = ztypes.encode(ztype, value)
    tname = "zcl-%02x" % ztype
    if ztypes.string_length_size(ztype):
        raw = value or b""
        return leaf("value", tname, raw, octet_text(raw), size=len(raw))
    if isinstance(value, bytes):
        return leaf("value", tname, value, value.hex(), size=len(value))
    return leaf("value", tname, value, str(value), size=ztypes.size(ztype))


def _status_leaf(status):
    return leaf("status", "zcl-status", status, zcl_names.status(status), exact=True)


def _attr_leaf(attr_id):
    return leaf("attribute", "attribute-id", attr_id, "%04x" % attr_id, exact=True)


def _zcl_records(cmd, general, payload):
    """Children for a ZCL payload: general commands whose statuses matter are decoded."""
    b = bytes(payload)
    try:
        if general and cmd == foundation.READ_ATTRIBUTES_RESPONSE:
            recs = []
            for r in foundation.decode(cmd, b):
                kids = [_attr_leaf(r.id), _status_leaf(r.status)]
                if r.status == 0:
                    kids.append(leaf("type", "zcl-type", r.type, "%02x" % r.type, exact=True))
                    kids.append(_zcl_value_node(r.type, r.value))
                recs.append(container("[%d]" % len(recs), "attribute-record", kids))
            return [container("records", "read-attributes-response", recs)]
        if general and cmd == foundation.WRITE_ATTRIBUTES_RESPONSE:
            recs = []
            for r in foundation.decode(cmd, b):
                kids = [_status_leaf(r.status)]
                if r.attr_id is not None:
                    kids.append(_attr_leaf(r.attr_id))
                recs.append(container("[%d]" % len(recs), "write-status", kids))
            return [container("records", "write-attributes-response", recs)]
        if general and cmd == foundation.DEFAULT_RESPONSE and len(b) == 2:
            command, status = foundation.decode(cmd, b)
            return [leaf("response-to", "zcl-command", command, "%02x" % command, exact=True),
                    _status_leaf(status)]
    except ZCLError:
        pass
    return [leaf("payload", "zcl-payload", b, b.hex() or "''", size=len(b))]


def _future_dated_node(fd):
    mc, counter, cluster, fc, cmd = fd
    return container("future-dated", "future-dated-command", [
        leaf("message-code", "message-code", mc, "%04X" % mc, exact=True),
        leaf("originator-counter", "counter", counter, exact=True),
        leaf("cluster", "cluster-id", cluster, exact=True),
        leaf("frame-control", "zcl-frame-control", fc, "%02x" % fc, exact=True),
        leaf("command", "zcl-command", cmd, "%02x" % cmd, exact=True),
    ])


def _component_node(i, c, decrypt):
    kids = [leaf("control", "gbz-control", c.control, "%02x" % c.control, exact=True),
            leaf("cluster", "cluster-id", c.cluster, "%04x" % c.cluster, exact=True)]
    if c.from_date_time is not None:
        t = "%08x" % c.from_date_time
        kids.append(leaf("from-date-time", "gbz-utc", t))
    if c.encrypted:
        kids.append(leaf("additional-header", "gbz-additional-header",
                         c.additional_header.hex(), exact=True))
    kids += [leaf("frame-control", "zcl-frame-control", c.frame_control,
                  "%02x" % c.frame_control, exact=True),
             leaf("sequence", "zcl-sequence", c.seq, "%02x" % c.seq),
             leaf("command", "zcl-command", c.command, "%02x" % c.command, exact=True)]
    general = (c.frame_control & 0x03) == 0
    if not c.encrypted:
        kids += _zcl_records(c.command, general, c.payload)
        return container("[%d]" % i, "gbz-component", kids)
    kids.append(leaf("ciphertext", "octet-string", c.ciphered, "%d bytes" % len(c.ciphered),
                     ignore=True))
    plain = decrypt(i, c.ciphertext_and_tag) if decrypt is not None else "no key to decrypt"
    if isinstance(plain, (bytes, bytearray)):
        kids += _zcl_records(c.command, general, plain)
    else:
        kids.append(leaf("decrypted", "undecryptable", str(plain)))
    return container("[%d]" % i, "gbz-component", kids)


def gbz_node(content, alert=False, decrypt=None, name="payload"):
    """Node of a GBZ payload; `decrypt(index, ciphertext||tag)` -> plaintext bytes or error."""
    g = gbz.GBZPayload.from_bytes(bytes(content), alert=alert)
    children = [leaf("profile", "gbz-profile", "0109", exact=True)]
    if g.alert:
        children.append(leaf("alert-code", "alert-code", g.alert_code, "%04X" % g.alert_code,
                             exact=True))
        children.append(leaf("time", "gbz-utc", g.timestamp, "%08x" % g.timestamp))
        fd = gbz.future_dated(g.alert_data) if g.alert_code in FUTURE_DATED_ALERTS else None
        if fd is not None:
            children.append(_future_dated_node(fd))
            return container(name, "gbz", children)
        if g.alert_data:
            children.append(leaf("alert-data", "gbz-alert-data", g.alert_data,
                                 g.alert_data.hex(), size=len(g.alert_data), fixed_size=True))
    children.append(container("components", "gbz-components", [
        _component_node(i, c, decrypt) for i, c in enumerate(g.components)]))
    return container(name, "gbz", children)


# ---------------------------------------------------------------------------------- ASN.1 DER

DERError = payloads.DERError
_DER_EXACT = (0x01, 0x02, 0x05, 0x06, 0x0A)


def _der_node(node, name):
    tname = payloads.der_tag_name(node.tag)
    if node.children is not None:
        return container(name, tname, [_der_node(c, "[%d]" % i)
                                       for i, c in enumerate(node.children)])
    tag = node.tag
    raw = node.value
    if tag in (0x02, 0x0A):
        v = int.from_bytes(raw, "big", signed=True) if raw else 0
        return leaf(name, tname, v, str(v), exact=True)
    if tag in (0x17, 0x18) or _printable(raw) and tag in (0x0C, 0x13, 0x16):
        return leaf(name, tname, raw, repr(raw.decode("ascii", "replace")))
    return leaf(name, tname, raw, raw.hex() or "''", exact=tag in _DER_EXACT, size=len(raw))


def der_node(content, name="payload"):
    return container(name, "asn1", [_der_node(payloads.der_decode(content), "value")])


# DER INTEGERs that are device state, not codes: the "current seq number" of each remote party
# a CS02a / CS02f response details (GBCS section 12: the sequence number of the role's trust
# anchor update, 0 on a freshly provisioned device; the RTDS meters answer 0 or 1 by history).
_DER_STATE = {0x0008: 2, 0x011B: 2}


def _der_state_values(node, message_code):
    index = _DER_STATE.get(message_code)
    top = node.children[0] if node.children else None
    if index is None or top is None or top.children is None:
        return
    for details in top.children:
        kids = details.children or []
        if len(kids) > index and kids[index].type == "INTEGER":
            kids[index].exact = False


# ------------------------------------------------------------------------------- GBCS messages


def payload_format(content):
    """The payload kind's name (DLMS, GBZ, ASN.1) or "unknown" (payloads.registry)."""
    return payloads.kind_of(content).name


def _dlms_payload(msg, content, decrypt_dlms, decrypt_gbz, name):
    return dlms_node(payloads.DLMS.decode(content, msg), decrypt_dlms, name)


def _gbz_payload(msg, content, decrypt_dlms, decrypt_gbz, name):
    return gbz_node(content, alert=msg.cra == envelope.CRA_ALERT, decrypt=decrypt_gbz, name=name)


def _asn1_payload(msg, content, decrypt_dlms, decrypt_gbz, name):
    node = der_node(content, name)
    if msg.cra == envelope.CRA_RESPONSE:
        _der_state_values(node, msg.message_code)
    return node


# Payload kind -> tree builder.
_PAYLOAD_NODES = {"DLMS": _dlms_payload, "GBZ": _gbz_payload, "ASN.1": _asn1_payload}


def payload_node(msg, decrypt_dlms=None, decrypt_gbz=None, name="payload"):
    """Node of a message's payload, whatever its kind; undecodable payloads become an exact
    byte leaf (a device must then send the same bytes)."""
    content = bytes(msg.content)
    fmt = payloads.kind_of(content, msg).name
    build = _PAYLOAD_NODES.get(fmt)
    if build is None:
        return leaf(name, "bytes", content, content.hex(), exact=True)
    try:
        return build(msg, content, decrypt_dlms, decrypt_gbz, name)
    except ValueError as exc:
        return leaf(name, "undecodable %s" % fmt, content, "%s: %s" % (type(exc).__name__, exc),
                    exact=True)


def other_info_node(info, name="other-information"):
    """Other-information (gbcs-notes 1.3): message code, then optionally a supplementary remote
    party id and counter (echoed: exact), a supplementary originator counter (the device's own
    counter: a value) and a remote party certificate (exact)."""
    info = bytes(info)
    parts = [("message-code", info[:2], True)]
    if len(info) > 2:
        parts.append(("supplementary-remote-party", info[2:10], True))
    if len(info) > 10:
        parts.append(("supplementary-remote-party-counter", info[10:18], True))
    if len(info) == 26:
        parts.append(("supplementary-originator-counter", info[18:26], False))
    elif len(info) > 18:
        parts.append(("remote-party-certificate", info[18:], True))
    return container(name, "other-information", [
        leaf(n, n, v, v.hex(), exact=exact, size=len(v), fixed_size=True)
        for n, v, exact in parts])


def header_node(msg, name="header"):
    """The grouping header: what a response must echo is exact; titles and time are values."""
    info = bytes(msg.other_info)
    if msg.signature is not None and msg.mac is not None:
        protection = "signed+MAC"
    elif msg.signature is not None:
        protection = "signed"
    elif msg.mac is not None:
        protection = "MAC"
    else:
        protection = "none"
    if msg.date_time:
        dt = bytes(msg.date_time)
        date_time = leaf("date-time", "date-time", dt, octet_text(dt))
    else:
        date_time = leaf("date-time", "absent", None, "")
    return container(name, "general-signing", [
        leaf("cra", "cra", msg.cra, {1: "command", 2: "response", 3: "alert"}.get(msg.cra),
             exact=True),
        # A response echoes the command's counter; an alert has the device's own counter.
        leaf("counter", "counter", msg.counter, exact=msg.cra != envelope.CRA_ALERT),
        leaf("originator", "system-title", bytes(msg.originator), bytes(msg.originator).hex(),
             exact=True),
        leaf("recipient", "system-title", bytes(msg.recipient), bytes(msg.recipient).hex(),
             exact=True),
        date_time,
        leaf("message-code", "message-code", msg.message_code, "%04X" % msg.message_code,
             exact=True),
        other_info_node(info),
        leaf("protection", "protection", protection, exact=True),
        leaf("format", "payload-format", payload_format(msg.content), exact=True),
    ])


def message_node(msg, decrypt_dlms=None, decrypt_gbz=None):
    return container("", "gbcs-message", [
        header_node(msg), payload_node(msg, decrypt_dlms, decrypt_gbz)])


def compare_messages(expected, got):
    """(diffs, unified tree diff lines) of two message Nodes (see `message_node`)."""
    diffs = compare(expected, got)
    return diffs, tree_diff(expected, got)
