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
# GBZ (GBCS ZigBee payload, docs/research/gbcs-notes.md 7.5): 01 09 | component count |
# [alert code(2) time(4) for alerts] | components. Component: extended header control (bit0
# last, bit1 encrypted, bit4 from-date-time present) | cluster(2, BE) | length(2, BE) |
# [from date-time(4)] | [encrypted: additional header control, frame counter] | ZCL frame
# control | sequence | command | payload (little-endian ZCL), the payload of an encrypted
# component being ciphered length(2) | 31 00000000 | ciphertext | tag(12).

# ZCL data type -> fixed size in bytes (ZCL 2.6.2); strings are length-prefixed.
_ZCL_FIXED = {0x10: 1, 0x30: 1, 0x31: 2, 0x38: 2, 0x39: 4, 0x3A: 8, 0xE0: 4, 0xE1: 4, 0xE2: 4,
              0xE8: 2, 0xE9: 2, 0xEA: 4, 0xF0: 8, 0xF1: 16}
for _base in (0x08, 0x18, 0x20, 0x28):
    for _i in range(8):
        _ZCL_FIXED[_base + _i] = _i + 1
_ZCL_STRINGS = {0x41: 1, 0x42: 1, 0x43: 2, 0x44: 2}
_ZCL_STATUS = {0x00: "SUCCESS", 0x01: "FAILURE", 0x86: "UNSUPPORTED_ATTRIBUTE",
               0x87: "INVALID_VALUE", 0x88: "READ_ONLY", 0x8D: "INVALID_DATA_TYPE",
               0xC0: "HARDWARE_FAILURE", 0xC1: "SOFTWARE_FAILURE"}


class GBZError(ValueError):
    pass


def _need(b, pos, n, what):
    if pos + n > len(b):
        raise GBZError("%s needs %d bytes at offset %d: %s" % (what, n, pos,
                                                              envelope.hexs(bytes(b))))


def _zcl_value(b, pos, ztype):
    if ztype in _ZCL_FIXED:
        n = _ZCL_FIXED[ztype]
        _need(b, pos, n, "ZCL value")
        raw = bytes(b[pos:pos + n])
        if ztype in (0x10,) or 0x18 <= ztype <= 0x2F or ztype in (0x30, 0x31, 0xE2, 0xE8, 0xE9):
            v = int.from_bytes(raw, "little")
            if 0x28 <= ztype <= 0x2F and v >> (n * 8 - 1):
                v -= 1 << (n * 8)
            return leaf("value", "zcl-%02x" % ztype, v, str(v), size=n), pos + n
        return leaf("value", "zcl-%02x" % ztype, raw, raw.hex(), size=n), pos + n
    if ztype in _ZCL_STRINGS:
        lb = _ZCL_STRINGS[ztype]
        _need(b, pos, lb, "ZCL string length")
        n = int.from_bytes(bytes(b[pos:pos + lb]), "little")
        pos += lb
        if n == (1 << (8 * lb)) - 1:
            n = 0  # invalid / absent string
        _need(b, pos, n, "ZCL string")
        raw = bytes(b[pos:pos + n])
        return leaf("value", "zcl-%02x" % ztype, raw, octet_text(raw), size=n), pos + n
    raise GBZError("ZCL data type %02x not decoded" % ztype)


def _zcl_records(cmd, general, payload):
    """Children for a ZCL payload: general commands whose statuses matter are decoded."""
    b = bytes(payload)
    try:
        if general and cmd == 0x01:  # Read Attributes Response
            recs = []
            pos = 0
            while pos < len(b):
                _need(b, pos, 3, "read attributes record")
                attr = b[pos] | (b[pos + 1] << 8)
                status = b[pos + 2]
                pos += 3
                kids = [leaf("attribute", "attribute-id", attr, "%04x" % attr, exact=True),
                        leaf("status", "zcl-status", status,
                             _ZCL_STATUS.get(status, "%02x" % status), exact=True)]
                if status == 0:
                    _need(b, pos, 1, "attribute data type")
                    ztype = b[pos]
                    val, pos = _zcl_value(b, pos + 1, ztype)
                    kids.append(leaf("type", "zcl-type", ztype, "%02x" % ztype, exact=True))
                    kids.append(val)
                recs.append(container("[%d]" % len(recs), "attribute-record", kids))
            return [container("records", "read-attributes-response", recs)]
        if general and cmd == 0x04:  # Write Attributes Response: status [attribute id]
            recs = []
            pos = 0
            while pos < len(b):
                status = b[pos]
                pos += 1
                kids = [leaf("status", "zcl-status", status,
                             _ZCL_STATUS.get(status, "%02x" % status), exact=True)]
                if status != 0:
                    _need(b, pos, 2, "write attributes record")
                    attr = b[pos] | (b[pos + 1] << 8)
                    kids.append(leaf("attribute", "attribute-id", attr, "%04x" % attr,
                                     exact=True))
                    pos += 2
                recs.append(container("[%d]" % len(recs), "write-status", kids))
            return [container("records", "write-attributes-response", recs)]
        if general and cmd == 0x0B and len(b) == 2:  # Default Response
            return [leaf("response-to", "zcl-command", b[0], "%02x" % b[0], exact=True),
                    leaf("status", "zcl-status", b[1], _ZCL_STATUS.get(b[1], "%02x" % b[1]),
                         exact=True)]
    except GBZError:
        pass
    return [leaf("payload", "zcl-payload", b, b.hex() or "''", size=len(b))]


def gbz_node(content, alert=False, decrypt=None, name="payload"):
    """Node of a GBZ payload; `decrypt(index, ciphertext||tag)` -> plaintext bytes or error."""
    b = bytes(content)
    _need(b, 0, 3, "GBZ header")
    if b[:2] != b"\x01\x09":
        raise GBZError("not a GBZ payload: %s" % envelope.hexs(b))
    count = b[2]
    pos = 3
    children = [leaf("profile", "gbz-profile", b[:2].hex(), exact=True)]
    if alert:
        _need(b, pos, 6, "GBZ alert header")
        code = (b[pos] << 8) | b[pos + 1]
        t = int.from_bytes(b[pos + 2:pos + 6], "big")
        children.append(leaf("alert-code", "alert-code", code, "%04X" % code, exact=True))
        children.append(leaf("time", "gbz-utc", t, "%08x" % t))
        pos += 6
        if code in FUTURE_DATED_ALERTS and len(b) - pos == 15 and b[pos] == 0x0E:
            f = b[pos + 1:]
            children.append(container("future-dated", "future-dated-command", [
                leaf("message-code", "message-code", (f[0] << 8) | f[1],
                     "%04X" % ((f[0] << 8) | f[1]), exact=True),
                leaf("originator-counter", "counter", int.from_bytes(f[2:10], "big"),
                     exact=True),
                leaf("cluster", "cluster-id", (f[10] << 8) | f[11], exact=True),
                leaf("frame-control", "zcl-frame-control", f[12], "%02x" % f[12], exact=True),
                leaf("command", "zcl-command", f[13], "%02x" % f[13], exact=True),
            ]))
            return container(name, "gbz", children)
    comps = []
    for i in range(count):
        _need(b, pos, 5, "GBZ component header")
        ctrl = b[pos]
        cluster = (b[pos + 1] << 8) | b[pos + 2]
        length = (b[pos + 3] << 8) | b[pos + 4]
        pos += 5
        _need(b, pos, length, "GBZ component")
        body = b[pos:pos + length]
        pos += length
        kids = [leaf("control", "gbz-control", ctrl, "%02x" % ctrl, exact=True),
                leaf("cluster", "cluster-id", cluster, "%04x" % cluster, exact=True)]
        q = 0
        if ctrl & 0x10:
            _need(body, q, 4, "from date-time")
            kids.append(leaf("from-date-time", "gbz-utc", body[q:q + 4].hex()))
            q += 4
        if ctrl & 0x02:
            _need(body, q, 2, "additional header")
            kids.append(leaf("additional-header", "gbz-additional-header",
                             body[q:q + 2].hex(), exact=True))
            q += 2
        _need(body, q, 3, "ZCL header")
        fc, seq, cmd = body[q], body[q + 1], body[q + 2]
        q += 3
        kids += [leaf("frame-control", "zcl-frame-control", fc, "%02x" % fc, exact=True),
                 leaf("sequence", "zcl-sequence", seq, "%02x" % seq),
                 leaf("command", "zcl-command", cmd, "%02x" % cmd, exact=True)]
        payload = body[q:]
        if ctrl & 0x02:
            _need(payload, 0, 2, "ciphered length")
            clen = (payload[0] << 8) | payload[1]
            ct = payload[2:2 + clen]
            kids.append(leaf("ciphertext", "octet-string", ct, "%d bytes" % len(ct),
                             ignore=True))
            plain = decrypt(i, bytes(ct[5:])) if decrypt is not None and len(ct) > 17 \
                else "no key to decrypt"
            if isinstance(plain, (bytes, bytearray)):
                kids += _zcl_records(cmd, (fc & 0x03) == 0, plain)
            else:
                kids.append(leaf("decrypted", "undecryptable", str(plain)))
        else:
            kids += _zcl_records(cmd, (fc & 0x03) == 0, payload)
        comps.append(container("[%d]" % i, "gbz-component", kids))
    if pos != len(b):
        raise GBZError("%d bytes after the GBZ components" % (len(b) - pos))
    children.append(container("components", "gbz-components", comps))
    return container(name, "gbz", children)


# ---------------------------------------------------------------------------------- ASN.1 DER

_DER_NAMES = {0x01: "BOOLEAN", 0x02: "INTEGER", 0x03: "BIT STRING", 0x04: "OCTET STRING",
              0x05: "NULL", 0x06: "OBJECT IDENTIFIER", 0x0A: "ENUMERATED", 0x0C: "UTF8String",
              0x13: "PrintableString", 0x16: "IA5String", 0x17: "UTCTime",
              0x18: "GeneralizedTime", 0x30: "SEQUENCE", 0x31: "SET"}
_DER_EXACT = (0x01, 0x02, 0x05, 0x06, 0x0A)


class DERError(ValueError):
    pass


def _der_tlv(b, pos):
    if pos + 2 > len(b):
        raise DERError("DER element truncated at offset %d" % pos)
    tag = b[pos]
    if tag & 0x1F == 0x1F:
        raise DERError("multi-byte DER tags not supported")
    n = b[pos + 1]
    pos += 2
    if n & 0x80:
        k = n & 0x7F
        if k == 0 or k > 3 or pos + k > len(b):
            raise DERError("bad DER length at offset %d" % (pos - 1))
        n = int.from_bytes(b[pos:pos + k], "big")
        pos += k
    if pos + n > len(b):
        raise DERError("DER element at offset %d overruns" % pos)
    return tag, b[pos:pos + n], pos + n


def _der_node(tag, body, name, depth=0):
    if tag & 0xC0 == 0x80:
        tname = "[%d]" % (tag & 0x1F)
    else:
        tname = _DER_NAMES.get(tag, "tag%02x" % tag)
    if tag & 0x20:
        if depth > 16:
            raise DERError("DER nested too deep")
        kids = []
        pos = 0
        while pos < len(body):
            t, v, pos = _der_tlv(body, pos)
            kids.append(_der_node(t, v, "[%d]" % len(kids), depth + 1))
        return container(name, tname, kids)
    raw = bytes(body)
    if tag in (0x02, 0x0A):
        v = int.from_bytes(raw, "big", signed=True) if raw else 0
        return leaf(name, tname, v, str(v), exact=True)
    if tag in (0x17, 0x18) or _printable(raw) and tag in (0x0C, 0x13, 0x16):
        return leaf(name, tname, raw, repr(raw.decode("ascii", "replace")))
    return leaf(name, tname, raw, raw.hex() or "''", exact=tag in _DER_EXACT, size=len(raw))


def der_node(content, name="payload"):
    b = bytes(content)
    tag, body, pos = _der_tlv(b, 0)
    if pos != len(b):
        raise DERError("%d bytes after the DER element" % (len(b) - pos))
    return container(name, "asn1", [_der_node(tag, body, "value")])


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
    c = bytes(content)
    if c[:1] in (b"\xd9", b"\xda", b"\x0f"):
        return "DLMS"
    if c[:2] == b"\x01\x09":
        return "GBZ"
    try:
        der_node(c)
        return "ASN.1"
    except DERError:
        return "unknown"


def payload_node(msg, decrypt_dlms=None, decrypt_gbz=None, name="payload"):
    """Node of a message's payload, whatever its format; undecodable payloads become an exact
    byte leaf (a device must then send the same bytes)."""
    content = bytes(msg.content)
    fmt = payload_format(content)
    try:
        if fmt == "DLMS":
            return dlms_node(access.decode_apdu(content), decrypt_dlms, name)
        if fmt == "GBZ":
            return gbz_node(content, alert=msg.cra == envelope.CRA_ALERT, decrypt=decrypt_gbz,
                            name=name)
        if fmt == "ASN.1":
            node = der_node(content, name)
            if msg.cra == envelope.CRA_RESPONSE:
                _der_state_values(node, msg.message_code)
            return node
    except ValueError as exc:
        return leaf(name, "undecodable %s" % fmt, content, "%s: %s" % (type(exc).__name__, exc),
                    exact=True)
    return leaf(name, "bytes", content, content.hex(), exact=True)


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
