"""Every DLMS payload of RTDS 4.5.0 decodes and re-encodes byte for byte.

Run as a script (`python tests/host/test_dlms_rtds.py`) to print the inventory of COSEM
descriptors per message code.
"""

import os
import sys
from pathlib import Path

import pytest
from smets.dlms import access, axdr
from smets.gbcs import envelope

pytestmark = pytest.mark.rtds

REPO = Path(__file__).resolve().parents[2]
DLMS_TAGS = (access.ACCESS_REQUEST, access.ACCESS_RESPONSE, access.DATA_NOTIFICATION)
# Message codes whose ACCESS-Response data are Get-Protected-Attributes responses
# (GBCS: ECS17b/d/e, ECS19, ECS20b/c, ECS21a/b, ECS22b, ECS66).
PROTECTED_CODES = (0x27, 0x29, 0x2A, 0x2D, 0x2F, 0x30, 0x33, 0x34, 0x37, 0x60)


def rtds_root():
    env = os.environ.get("SMETSBENCH_RTDS")
    base = Path(env) if env else REPO.parent / "shared" / "rtds"
    if (base / "RTDS-4.5.0").is_dir():
        base = base / "RTDS-4.5.0"
    return base if base.is_dir() else None


def load_messages():
    """[(folder, file name, envelope Message)] for every RTDS file whose content is DLMS."""
    root = rtds_root()
    if root is None:
        return []
    out = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and p.name != "keystore"):
        for path in sorted(folder.glob("*.HEX")):
            raw = bytes.fromhex("".join(path.read_text().split()))
            if "_PRECOMMAND_" in path.name:
                raw += b"\x00"  # a PRECOMMAND stops before the signature-length field
            msg = envelope.decode(raw)
            if msg.content and msg.content[0] in DLMS_TAGS:
                out.append((folder.name, path.name, msg))
    return out


_MESSAGES = None


@pytest.fixture(scope="module")
def messages():
    global _MESSAGES
    if rtds_root() is None:
        pytest.skip("RTDS not found (set SMETSBENCH_RTDS or provide ../shared/rtds)")
    if _MESSAGES is None:
        _MESSAGES = load_messages()
    return _MESSAGES


def _walk(d):
    yield d
    if d.tag in (axdr.ARRAY, axdr.STRUCTURE):
        for x in d.value:
            yield from _walk(x)
    elif d.tag == axdr.COMPACT_ARRAY:
        for x in d.value[1]:
            yield from _walk(x)


def _all_data(apdu):
    if isinstance(apdu, access.DataNotification):
        return [apdu.body]
    items = list(apdu.data)
    if isinstance(apdu, access.AccessRequest):
        items += [s.parameters for s in apdu.specs if s.parameters is not None]
    return items


def test_every_dlms_message_round_trips(messages):
    failures = []
    kinds = {}
    for _folder, name, msg in messages:
        try:
            apdu = access.decode_apdu(msg.content)
            again = apdu.to_bytes()
            if again != msg.content:
                failures.append((name, "re-encoded differently: " + again.hex()))
            kinds[type(apdu).__name__] = kinds.get(type(apdu).__name__, 0) + 1
        except (access.DLMSError, axdr.AXDRError) as e:
            failures.append((name, str(e)))
    print("\nRTDS DLMS messages: %d, failures: %d, %r" % (len(messages), len(failures), kinds))
    assert not failures, failures
    # RTDS 4.5.0 as shipped: 650 DLMS payloads (80 of them PRECOMMANDs), at least.
    assert len(messages) >= 500


def test_data_json_round_trip(messages):
    for _, name, msg in messages:
        apdu = access.decode_apdu(msg.content)
        for d in _all_data(apdu):
            assert axdr.from_json(axdr.to_json(d)) == d, name
        assert apdu.to_json()  # JSON-able
        # The Data also round-trip on their own.
        for d in _all_data(apdu):
            b = axdr.encode(d)
            assert axdr.from_bytes(b) == d


def test_gbcs_header_conventions(messages):
    """GBCS ACCESS headers: date-time empty, invoke id = 0x20000000 | counter low bits,
    responses echo the command's invoke id and never the request specifications."""
    commands = {}
    for folder, name, msg in messages:
        apdu = access.decode_apdu(msg.content)
        assert apdu.date_time == b"", name
        if isinstance(apdu, access.AccessResponse):
            assert apdu.request_specs is None, name
            key = (folder, name.replace("_RESPONSE_", "_COMMAND_"))
            if key in commands:
                assert apdu.invoke_id == commands[key], name
        else:
            assert apdu.invoke_id == access.BREAK_ON_ERROR | (msg.counter & 0xFFFFFF), name
            if isinstance(apdu, access.AccessRequest):
                commands[(folder, name)] = apdu.invoke_id


def test_alerts(messages):
    seen = 0
    for _, name, msg in messages:
        if msg.content[0] != access.DATA_NOTIFICATION:
            continue
        n = access.DataNotification.from_bytes(msg.content)
        assert n.alert_code is not None and n.alert_code >> 12 == 8, name
        assert len(n.timestamp) == 12, name
        assert axdr.date_time_to_unix(n.timestamp) > 0
        if n.alert_code == 0x8F66:
            code, counter, cls, obis, attr = access.decode_future_dated(n.body[2].value)
            assert access.encode_future_dated(code, counter, cls, obis, attr) == n.body[2].value
            assert counter > 0 and len(obis) == 6
        seen += 1
    assert seen >= 40


def test_get_protected_attributes(messages):
    requests = responses = 0
    for _, name, msg in messages:
        apdu = access.decode_apdu(msg.content)
        if isinstance(apdu, access.AccessRequest):
            for spec, d in zip(apdu.specs, apdu.data):
                if (spec.kind, spec.class_id, spec.index) == (access.ACTION, 30, 1):
                    g = access.GetProtectedAttributes.from_data(d)
                    assert g.to_data() == d
                    p = g.protection[0]
                    # The protection names the remote party the response is encrypted for:
                    # the command's originator, except when the ACB sends on a party's behalf
                    # (ECS21b "URP": GBCS originator = ACB, protection originator = supplier).
                    assert p.recipient == msg.recipient and p.counter == msg.counter
                    assert len(p.originator) == 8 and p.transaction_id[0] == 4
                    requests += 1
        elif isinstance(apdu, access.AccessResponse) and msg.message_code in PROTECTED_CODES:
            for d, spec in zip(apdu.data, apdu.specs):
                if spec.result != access.SUCCESS:
                    assert d == axdr.Data.null(), name
                    continue
                r = access.ProtectedAttributes.from_data(d)
                assert r.to_data() == d
                sc, ic, _, tag = r.split()
                assert (sc, ic) == (0x31, 0) and len(tag) == 12
                assert r.protection[0].originator == msg.originator
                responses += 1
        elif isinstance(apdu, access.DataNotification) and apdu.alert_code == 0x8F0A:
            # ECS68 alert: the Get-Protected-Attributes response flattened into the body.
            fields = apdu.body.value
            r = access.ProtectedAttributes.from_data(axdr.Data.structure(fields[2:]))
            assert r.split()[0] == 0x31
    assert requests >= 10 and responses >= 10


def test_truncations_raise_only_dlms_error(messages):
    seen = set()
    for _, _name, msg in messages:
        code = msg.message_code, msg.content[0]
        if code in seen:
            continue
        seen.add(code)
        content = msg.content
        step = max(1, len(content) // 64)
        for i in range(0, len(content), step):
            with pytest.raises(access.DLMSError):
                access.decode_apdu(content[:i])
        with pytest.raises(access.DLMSError):
            access.decode_apdu(content + b"\x00")


# ---------------------------------------------------------------------------- inventory

_KINDS = {1: "get", 2: "set", 3: "action", 4: "get-sel", 5: "set-sel"}


def inventory(messages):
    """{message code: (use cases, [distinct spec lists])} from the ACCESS-Requests."""
    inv = {}
    for _, name, msg in messages:
        if msg.content[0] != access.ACCESS_REQUEST or "_PRECOMMAND_" in name:
            continue
        apdu = access.AccessRequest.from_bytes(msg.content)
        names, shapes = inv.setdefault(msg.message_code, (set(), []))
        names.add(name.split("_")[0])
        shape = [
            "%s %d %s %d%s"
            % (
                _KINDS[s.kind],
                s.class_id,
                "%d-%d:%d.%d.%d.%d" % tuple(s.obis),
                s.index,
                "" if s.selector is None else " sel=%d" % s.selector,
            )
            for s in apdu.specs
        ]
        if shape not in shapes:
            shapes.append(shape)
    return inv


def test_inventory(messages):
    inv = inventory(messages)
    assert 0x0027 in inv and inv[0x0027][1] == [["action 30 0-0:43.2.8.255 1"]]


if __name__ == "__main__":
    if rtds_root() is None:
        sys.exit("RTDS not found")
    for code, (names, shapes) in sorted(inventory(load_messages()).items()):
        print("%04X %s" % (code, "/".join(sorted(names))))
        for shape in sorted(shapes, key=len):
            print("    " + "; ".join(shape))
