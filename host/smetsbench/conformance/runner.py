"""`smetsbench conformance`: replay the DCC reference test data (RTDS) against emulated devices.

    summary = conformance.run("../shared/rtds", devices=["ESME"], junit="out.xml",
                              report="report.html")
    print(summary.counts_by_device())       # {"ESME": Counter({"pass": 16, ...}), ...}

or, one scenario at a time (what the pytest module does):

    with conformance.Runner("../shared/rtds") as runner:
        for scenario in runner.select(devices=["ESME"]):
            result = runner.run(scenario)   # result.outcome: "pass" | "fail" | "not emulated"

Any folder of RTDS-shaped files works (`*_COMMAND_GBCS.HEX`, `*_RESPONSE_GBCS.HEX`,
`*_ALERT_GBCS.HEX`, with a `keystore/` of `<eui>-<ds|ka>.pem|key` beside or above it); folder
names carry no meaning. One scenario per COMMAND file: its same-named RESPONSE is what the device
must answer, and ALERT files of the same folder whose name is the scenario's with an alert code
token inserted (`ECS02_1.6_8F66_FUTURE_DATED_TWIN_SUCCESS_ALERT_PAYMENT_MODE`) are alerts the
device must raise after it. ALERT files that follow no command and RESPONSE files without a
COMMAND are scenarios too, reported as not emulated (nothing to replay).

How a scenario is replayed:
1. Device type from the command's recipient (RTDS identities, else the message-code table);
   a type the firmware has no role for, or a message code the device's CONTROL "use_cases" does
   not list, is "not emulated": nothing is sent and it is never counted as a pass.
2. The device is re-provisioned (fresh security state, so RTDS counters are accepted as they
   are, and the "RTDS device world" state: MPANs, register values) with the RTDS EUI of the
   recipient and remote parties from the keystore, and its clock set to the RTDS device time
   (the response's date-time, else 2015-01-01T00:00:00Z, gbcs-notes 7.1).
3. If the RTDS response reports an execution failure (a DLMS hardware-fault result), the same
   failure is injected (CONTROL "fault_dlms"): RTDS ERROR scenarios are meters failing to
   execute (gbcs-notes 3.1-3.2).
4. The command is re-wrapped for the device's own keys: header fields (counter, titles,
   date-time, other-information) and payload stay byte-identical; the originator re-signs what
   RTDS signed (keystore DS key) and the ACB re-MACs what RTDS MACed (ECDH with the device's KA
   key). RTDS device messages cannot be reproduced byte for byte: no device private keys exist.
5. The response is verified with `cryptography` (MAC or device signature, counter echo, titles,
   message code, invoke id) and compared with the RTDS response by shape
   (`conformance_compare`): protected attributes are decrypted on both sides (RTDS: party key +
   RTDS device certificate; device: party key + the device's KA key) and compared as trees.
6. Expected alerts are awaited (the device clock is moved to a future-dated alert's time) and
   compared the same way.
"""

import fnmatch
import re
import time
import traceback
from collections import Counter
from pathlib import Path

from smets import roles
from smets.dlms import access, axdr
from smets.gbcs import envelope

from smetsbench.boards.transport import BoardError
from smetsbench.conformance import codes
from smetsbench.conformance import compare as cmp
from smetsbench.conformance import pki as cpki
from smetsbench.oracle import checker
from smetsbench.oracle import crypto as ocrypto
from smetsbench.oracle.checker import Checks
from smetsbench.oracle.parties import DCC, DEFAULT_EUIS, DEVICE_TRUSTS, RemoteParty
from smetsbench.payloads import registry as payloads
from smetsbench.session import device_identity, gbcs_device_type

PASS = "pass"
FAIL = "fail"
NOT_EMULATED = "not emulated"
OUTCOMES = (PASS, FAIL, NOT_EMULATED)

# Device identities of the RTDS (../shared/rtds/README.md).
# The role table's default EUI-64s are the RTDS device titles (smets.roles).
RTDS_DEVICE_TYPES = {r[4]: r[0] for r in roles.TABLE if r[4] and not roles.needs(r[0], roles.TEST)}
RTDS_DEVICE_TYPES["00db1234567890a6"] = "ESME"  # the second ESME (auxiliary / load control)
# The RTDS device clock (gbcs-notes 7.1): 2015-01-01T00:00:00Z.
RTDS_EPOCH = 1420070400
# Device state of the meters that made the RTDS, as far as it shows in RTDS responses (ECS40
# single-element MPANs, ECS17b registers of 10 Wh / 10 varh with no load). Only values are
# affected: a device that holds other values still passes, with the differences reported.
RTDS_WORLD = {
    # The CHF device logs of the RTDS hub: the meters (…a0 ESME, …a1 GSME) in the CHF device
    # log, the GPF and PPMID (…a3, …a4) in the second log (CCS07 shows them so). Install codes
    # are the emulator's (values); devices on the bench keep their own.
    "CHF": {
        "device_log": [
            {"eui": "00db1234567890a0", "type": 1, "install_code": "0a" * 16, "log": 0},
            {"eui": "00db1234567890a1", "type": 0, "install_code": "0b" * 16, "log": 0},
            {"eui": "00db1234567890a3", "type": 3, "install_code": "0c" * 16, "log": 1},
            {"eui": "00db1234567890a4", "type": 5, "install_code": "0d" * 16, "log": 1},
        ],
    },
    "ESME": {
        "mpan_import": "1312345678111",
        "mpan_export": "1312345678333",
        "import_wh": 10,
        "reactive_varh": 10,
        "power_w": 0,
        "reactive_var": 0,
        # The RTDS meter's device log (GBCS 13.7) as its CS03A1 / CS04AC responses show it:
        # a PPMID it unjoins (…99) and an HCALCS it re-joins, and so cannot join as a PPMID
        # (…9a, response 3 "incompatible with existing entry"). [eui, device type, method]
        "device_log": [["00db123456789099", 5, 0], ["00db12345678909a", 4, 0]],
        # The firmware image the RTDS CS06 commands activate, distributed to the meter before.
        "firmware_image": {"version": "0123abcf", "hash": "aa758690730934ff0685aa7586907309"
                           "34ff0685657788990011223344556677"},
    },
    # The gas meter of the RTDS: register values its read responses show (GCS13a/b/c, GCS14,
    # GCS21a, GCS33, GCS38, GCS46, GCS60), and the entries its log reads find (GCS15b/c/e,
    # GCS16a/b, GCS17, GCS18, CS10a: snapshot times and causes, top-ups, the profile and the
    # sampling session). The logs' contents are the device's own.
    "GSME": {
        "attrs": {
            "0702/0000": 12345, "0702/0100": 1000, "0702/0102": 2000, "0702/0104": 3000,
            "0702/0106": 4000, "0702/0700": 0, "0702/0701": 1, "0702/0702": 2, "0702/0703": 3,
            "0702/0205": 100, "0702/0206": "x0123abcd", "0702/0307": "1000999888",
            "0702/0a00": 3500000, "0700/0302": 36, "0700/0303": 1, "0700/0304": 567,
            "0700/0305": 1, "0700/0306": 0, "0700/0617": 0x80, "0705/0000": 0x0C97,
            "0705/0001": 2500000, "0705/0002": 500000, "0705/0005": 2500000,
            "0705/0211": 5000, "0705/0221": 5000, "0705/0231": 5000,
        },
        "history": {
            "snapshots": [[1417392000, 0x000A], [1419843600, 1], [1419930000, 1],
                          [1420016400, 1], [1420070400, 0x2002]],
            "topups": [[1417392000, 1000, "73942365462589260379"],
                       [1417927680, 1000, "73942327323638615660"],
                       [1418463360, 500, "73942625654245273721"],
                       [1418999040, 2500, "73942625652689260379"],
                       [1419534720, 1000, "73942316567647575864"]],
            "events": [[1419984000, 0x8F1F], [1419984900, 0x8145], [1420056000, 0x8F32]],
            "profile": [1419897600, 96, 20],
            "session": [2, 1420056000, 360, 41],
        },
        # The HAN device log CS07 reads and CS04B unjoins from: [eui, device type, join
        # method] (Method B for the type 3 entries, C for the PPMID).
        "device_log": [["0102030405060708", 3, 2], ["00db123456789099", 3, 2],
                       ["00db123456789097", 5, 3]],
    },
    # The RTDS PPMID is joined to a meter it unjoins in CS04AC (0102030405060708); the
    # HCALCS is given the same meter.
    "PPMID": {"device_log": [["0102030405060708", 1, 1]]},
    "HCALCS": {"device_log": [["0102030405060708", 1, 1]]},
}
# The GPF of the RTDS: its mirror holds the gas meter's values (GCS13a/b/c, GCS14 answered from
# it), its copy of the prepayment daily read log two days (GCS16b), its daily consumption log
# the days GCS61 finds, its device log the entries of the GCS62 alert.
RTDS_WORLD["GPF"] = {
    "attrs": {k: v for k, v in RTDS_WORLD["GSME"]["attrs"].items()},
    "history": {
        "snapshots": [[1419843600, 1], [1419930000, 1], [1420016400, 1]],
        "consumption": [1419206400, 11, 200],
        "devlog": [["0102030405060708", 6], ["00db123456789099", 5], ["00db123456789097", 5],
                   ["00db123456789096", 5], ["00db123456789098", 5], ["00db12345678909b", 6]],
    },
}
# The RTDS twin-element meter: its import MPAN is the primary and the secondary one
# (ECS40 TWIN).
RTDS_TWIN = {"variant": "twin", "mpan_import": "13123456781111312345678222"}
# SMKI remote party role codes (certificate subject OU), as in the RTDS keystore.
SMKI_ROLES = {
    "01": "recovery",
    "02": "supplier",
    "03": "network_operator",
    "04": "acb",
    "05": "tcos",
    "06": "wan_provider",
    "08": "load_controller",
}

# Security credential use cases whose responses show trust anchors beyond the remote parties a
# bench device trusts: for these the device also trusts the load controller and holds the
# suppliers' prepayment keys (CS02a / CS02f list them), and the RTDS root (CS02b / CS02g check
# certification paths with it). Other scenarios keep the smaller provisioning record.
DETAILS_CODES = (0x0008, 0x011B)
# Top-ups (CS01a on an ESME, CS01b on a GSME): the device trusts the supplier's prepayment key
# agreement key, and the command's UTRN is made again for the device's own KA key (GBCS 14:
# its MAC key is agreed with the device's key, which the RTDS meter's was), with the RTDS
# UTRN's counter and value.
TOP_UP_CODES = (0x0007, 0x0097)
DETAILS_ROLES = DEVICE_TRUSTS + ("load_controller",)
# Device failures an RTDS ASN.1 response reports as a bare response code are injected like the
# DLMS ones (the table is the ASN.1 payload kind's).
ASN1_FAILURES = payloads.ASN1_FAILURES
# Use cases whose command carries the device's own certificate, and those that need the device
# to hold its certificates (CONTROL "certificates").
DEVICE_CERTIFICATE_COMMANDS = (0x000B,)
DEVICE_CERTIFICATE_CODES = (0x000A, 0x000B, 0x000C)

# Device-originated alerts with no command before them that a replay can still provoke: the
# bench plays the condition the alert reports (GBCS: the CHF raises CS14 when its device log
# changes, DBCH08 after a channel scan it was asked for, the other DBCH alerts when its sub-GHz
# radio meets a duty cycle limit, a channel change, a message it must discard or a joiner it
# has no room for), with what the RTDS alert names (the device, the channel, the message
# header), and the device's own alert is compared with the RTDS one. Message code -> (how,
# what of the RTDS alert's body the condition takes).
ALERT_TRIGGERS = {
    0x0018: ("use_case", "CCS01"),  # CS14: the CHF device log changed
    0x0110: ("han_event", "duty_cycle"),  # DBCH06 limited duty cycle action taken
    0x0111: ("han_event", "channel_changed"),  # DBCH07
    0x0112: ("use_case", "DBCH05"),  # DBCH08: the outcome of a channel scan request
    0x0114: ("han_event", "message_discarded"),  # DBCH10
    0x0115: ("han_event", "no_capacity"),  # DBCH11
}

_HEX_SUFFIX = "_GBCS.HEX"
_KIND_RE = re.compile(r"^(?P<stem>.+)_(?P<kind>PRECOMMAND|COMMAND|RESPONSE)_GBCS\.HEX$",
                      re.IGNORECASE)
_ALERT_RE = re.compile(r"^(?P<left>.+?)_ALERT(?:_(?P<part>.+?))?_GBCS\.HEX$", re.IGNORECASE)
_ALERT_TOKEN_RE = re.compile(r"^([0-9A-Fa-f]{4}|NA)$")


class ConformanceError(RuntimeError):
    """The RTDS folder or keystore cannot be used."""


def read_hex(path):
    text = Path(path).read_text()
    return bytes.fromhex("".join(text.split()))


# ------------------------------------------------------------------------------- discovery


class Scenario:
    """One replayable unit of an RTDS folder: a COMMAND, its RESPONSE and its ALERTs (or, for
    a device-originated alert or an orphan response, just that file)."""

    def __init__(self, root, folder, stem, kind, command=None, response=None, alerts=()):
        self.root = root
        self.folder = folder
        self.stem = stem
        self.kind = kind  # "command" | "alert" | "response"
        self.command = command
        self.response = response
        self.alerts = list(alerts)
        rel = folder.relative_to(root).as_posix() if folder != root else ""
        self.id = (rel + "/" + stem) if rel else stem
        self.problem = None
        self.message_code = None
        self.device_eui = None
        self.device_type = "unknown"
        self.originator = None
        self._msgs = {}
        primary = command or (alerts[0] if alerts else response)
        try:
            msg = self.message(primary)
            self.message_code = msg.message_code
            self.originator = bytes(msg.originator)
            self.device_eui = bytes(msg.recipient if kind == "command" else msg.originator)
            self.device_type = device_type_of(self.device_eui, self.message_code)
        except (OSError, ValueError) as exc:
            self.problem = "%s: %s" % (primary.name, exc)

    def message(self, path):
        """The decoded GBCS message of one of this scenario's files (cached)."""
        if path not in self._msgs:
            self._msgs[path] = envelope.decode(read_hex(path))
        return self._msgs[path]

    @property
    def use_case(self):
        if self.message_code is not None and self.message_code in codes.MESSAGE_CODES:
            return codes.use_case_name(self.message_code)
        return self.stem.split("_")[0]

    @property
    def code_text(self):
        return "%04X" % self.message_code if self.message_code is not None else "----"

    def __repr__(self):
        return "<Scenario %s>" % self.id


def device_type_of(eui, message_code=None):
    """Device type of an EUI: the RTDS identities, else the message code's target type."""
    t = RTDS_DEVICE_TYPES.get(bytes(eui).hex())
    if t is None and message_code is not None:
        types = codes.device_types(message_code)
        t = types[0] if types else None
    return t or "unknown"


def _alert_matches(left_tokens, stem_tokens):
    if left_tokens == stem_tokens:
        return True
    if len(left_tokens) != len(stem_tokens) + 1:
        return False
    for i, tok in enumerate(left_tokens):
        if _ALERT_TOKEN_RE.match(tok) and left_tokens[:i] + left_tokens[i + 1:] == stem_tokens:
            return True
    return False


def discover(path):
    """Scenarios of every RTDS-shaped file under `path` (sorted by id)."""
    root = Path(path)
    if not root.is_dir():
        raise ConformanceError("RTDS folder %s does not exist" % root)
    folders = {}
    for f in root.rglob("*"):
        if not f.is_file() or not f.name.upper().endswith(_HEX_SUFFIX):
            continue
        if "keystore" in (p.lower() for p in f.relative_to(root).parts[:-1]):
            continue
        folders.setdefault(f.parent, []).append(f)
    scenarios = []
    for folder, files in folders.items():
        commands, responses, alerts = {}, {}, []
        for f in sorted(files):
            m = _KIND_RE.match(f.name)
            if m:
                kind = m.group("kind").upper()
                if kind == "COMMAND":
                    commands[m.group("stem")] = f
                elif kind == "RESPONSE":
                    responses[m.group("stem")] = f
                continue
            if _ALERT_RE.match(f.name):
                alerts.append(f)
        owned = {stem: [] for stem in commands}
        loose = []
        for a in alerts:
            left = _ALERT_RE.match(a.name).group("left").split("_")
            best = None
            for stem in commands:
                # The longest matching scenario name wins ("X_SUCCESS" vs "X_FUTURE_SUCCESS").
                if _alert_matches(left, stem.split("_")) and (best is None
                                                              or len(stem) > len(best)):
                    best = stem
            if best is None:
                loose.append(a)
            else:
                owned[best].append(a)
        for stem, f in commands.items():
            scenarios.append(Scenario(root, folder, stem, "command", command=f,
                                      response=responses.get(stem), alerts=owned[stem]))
        for stem, f in responses.items():
            if stem not in commands:
                scenarios.append(Scenario(root, folder, stem, "response", response=f))
        for a in loose:
            stem = a.name[: -len(_HEX_SUFFIX)]
            scenarios.append(Scenario(root, folder, stem, "alert", alerts=[a]))
    scenarios.sort(key=lambda s: s.id)
    return scenarios


def select(scenarios, devices=None, only=None):
    """Scenarios of the given device types whose id, use case or message code match `only`
    (glob patterns, or substrings when a pattern has no wildcard; case-insensitive)."""
    if devices:
        wanted = {d.upper() for d in devices}
        scenarios = [s for s in scenarios if s.device_type.upper() in wanted]
    if only:
        patterns = [p.lower() for p in only]

        def hit(s):
            keys = (s.id.lower(), s.use_case.lower(), s.code_text.lower())
            for p in patterns:
                if any(ch in p for ch in "*?["):
                    if any(fnmatch.fnmatchcase(k, p) for k in keys):
                        return True
                elif any(p in k for k in keys):
                    return True
            return False

        scenarios = [s for s in scenarios if hit(s)]
    return scenarios


def find_keystore(rtds, keystore=None):
    """The keystore folder: given, else `keystore/` in the RTDS folder or up to two above."""
    if keystore:
        p = Path(keystore)
        if not p.is_dir():
            raise ConformanceError("keystore %s does not exist" % p)
        return p
    here = Path(rtds).resolve()
    for d in (here, here.parent, here.parent.parent):
        if (d / "keystore").is_dir():
            return d / "keystore"
    raise ConformanceError("no keystore/ folder in or above %s (use --keystore)" % rtds)


def _role_of(ks, title):
    from cryptography.x509.oid import NameOID

    for usage in ("ds", "ka"):
        if ks.has_public(title, usage):
            try:
                cert = ocrypto.load_certificate(ks._file(title, usage, "pem"))
                ous = cert.subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)
            except ValueError:
                continue
            for ou in ous:
                role = SMKI_ROLES.get(str(ou.value).strip())
                if role:
                    return role
    for role, eui in DEFAULT_EUIS.items():
        if eui == title:
            return role
    return None


def load_parties(ks):
    """({eui bytes: RemoteParty}, {role: RemoteParty}) of every remote party with a private
    key in a keystore; the role comes from the certificate (SMKI role code in the subject
    OU). The second map holds one party per role, the RTDS one where there is a choice."""
    by_eui = {}
    for title in ks.titles():
        ds = ks.private(title, "ds") if ks.has_private(title, "ds") else None
        ka = ks.private(title, "ka") if ks.has_private(title, "ka") else None
        if ds is None and ka is None:
            continue
        role = _role_of(ks, title)
        if role is None:
            continue
        by_eui[bytes.fromhex(title)] = RemoteParty(role, title, ds, ka)
    by_role = {}
    for eui, p in sorted(by_eui.items()):
        if p.role not in by_role or DEFAULT_EUIS.get(p.role) == eui.hex():
            by_role[p.role] = p
    return by_eui, by_role


# ------------------------------------------------------------------------------- results


class ScenarioResult:
    def __init__(self, scenario):
        self.scenario = scenario
        self.outcome = None
        self.reason = ""
        self.checks = Checks()
        self.diffs = []
        self.tree_diff = []
        self.alert_diffs = []
        self.notes = []
        self.board_errors = []
        self.error = None
        self.duration_ms = 0.0
        self.rtt_ms = None
        self.command = None
        self.response = None
        self.alerts = []

    @property
    def shape_diffs(self):
        return [d for d in self.diffs if d.kind == cmp.SHAPE]

    @property
    def value_diffs(self):
        return [d for d in self.diffs if d.kind == cmp.VALUE]

    def not_emulated(self, reason):
        self.outcome = NOT_EMULATED
        self.reason = reason
        return self

    def fail(self, reason):
        self.outcome = FAIL
        self.reason = reason
        return self

    def details(self, reason=True):
        """Readable text of what went wrong / was noticed (failure text of reports)."""
        lines = []
        if self.reason and reason:
            lines.append(self.reason)
        if self.error:
            lines.append(self.error.rstrip())
        for e in self.board_errors:
            lines.append("board error: " + e)
        for c in self.checks.failures():
            lines.append("check failed: %s%s" % (c.name, (": " + c.detail) if c.detail else ""))
        shape = self.shape_diffs
        if shape:
            lines.append("shape differences:")
            lines += ["  " + str(d) for d in shape]
        values = self.value_diffs
        if values:
            lines.append("value differences (reported, not failed):")
            lines += ["  " + str(d) for d in values]
        for n in self.notes:
            lines.append("note: " + n)
        if self.tree_diff and shape:
            lines.append("decoded trees (- RTDS, + device):")
            lines += self.tree_diff
        return "\n".join(lines)

    def to_json(self):
        s = self.scenario
        return {
            "id": s.id, "device_type": s.device_type, "message_code": s.code_text,
            "use_case": s.use_case, "outcome": self.outcome, "reason": self.reason,
            "checks": [repr(c) for c in self.checks],
            "diffs": [d.to_json() for d in self.diffs], "notes": self.notes,
            "error": self.error, "duration_ms": round(self.duration_ms, 1),
        }


class Summary:
    def __init__(self, results, info=None, duration_s=0.0, restarts=()):
        self.results = list(results)
        self.info = dict(info or {})
        self.duration_s = duration_s
        self.restarts = list(restarts)  # (scenario id, why) of boards restarted mid-run

    def counts(self):
        return Counter(r.outcome for r in self.results)

    def counts_by_device(self):
        out = {}
        for r in self.results:
            out.setdefault(r.scenario.device_type, Counter())[r.outcome] += 1
        return dict(sorted(out.items()))

    def counts_by_code(self):
        """{(code text, use case, device type): Counter} sorted by message code."""
        out = {}
        for r in self.results:
            s = r.scenario
            out.setdefault((s.code_text, s.use_case, s.device_type), Counter())[r.outcome] += 1
        return dict(sorted(out.items()))

    def of(self, outcome):
        return [r for r in self.results if r.outcome == outcome]

    @property
    def passed(self):
        return len(self.of(PASS))

    @property
    def failed(self):
        return len(self.of(FAIL))

    @property
    def not_emulated(self):
        return len(self.of(NOT_EMULATED))


# ------------------------------------------------------------------------------- replay


def rewrap(msg, party, acb, device_eui, device_ka_public, content=None):
    """An RTDS command re-protected for a device's own keys.

    Header fields and payload are kept (the General Signing bytes are identical whenever the
    device has the RTDS recipient EUI), unless `content` replaces the payload; the originator
    signs when RTDS signed; the ACB MACs when RTDS MACed, Z = ECDH(ACB KA key, device KA key),
    KDF with the originator's title and counter (GBCS 4.3.3)."""
    gs = envelope.encode_general_signing(
        msg.cra, msg.counter, bytes(msg.originator), bytes(device_eui), bytes(msg.other_info),
        bytes(msg.content if content is None else content),
        bytes(msg.date_time) if msg.date_time else None)
    signature = None
    if msg.signature is not None:
        signature = ocrypto.sign_general_signing(party.ds_key, gs)
    apdu = envelope.with_signature(gs, signature)
    if msg.mac is None:
        return apdu
    z = ocrypto.ecdh(acb.ka_key, device_ka_public)
    mac = ocrypto.message_mac(z, bytes(msg.originator), ocrypto.MODE_COMMAND, msg.counter,
                         bytes(device_eui), envelope.mac_aad_for(apdu))
    return envelope.wrap_ciphering(apdu, mac)


def top_up_payload(cmd, ks, device_eui, device_ka_public):
    """A top-up command's payload with its UTRN (20 ASCII digits, in a DLMS octet-string or a
    ZSE ConsumerTopUp) replaced by one for this device: same counter bits, value and value
    class, MAC under the supplier's prepayment key (keystore `<eui>-pp-ka.key`) and the
    device's KA key. The meter's UTRN Counter Cache is empty after provisioning, so the
    counter is the one the bits stand for next to none (smets.gbcs.utrn). None when the
    command holds no valid UTRN (RTDS's CS01b ERROR: a check digit that is wrong)."""
    from smets.gbcs import utrn as futrn

    content = bytes(cmd.content)
    supplier = bytes(cmd.originator).hex()
    if not ks.has_private(supplier, "pp-ka"):
        raise ConformanceError("no prepayment key of %s in the keystore to make the UTRN with"
                               % supplier)
    for m in re.finditer(rb"[0-9]{20}", content):
        try:
            bits, pounds, value, _mac = futrn.parse(m.group())
        except futrn.UTRNError:
            continue
        z = ocrypto.ecdh(ks.private(supplier, "pp-ka"), device_ka_public)
        code = futrn.make(z, bytes(cmd.originator), device_eui, futrn.counter_near(bits, -1),
                          value, pounds)
        return content[:m.start()] + code.encode() + content[m.end():]
    return None  # no valid UTRN (an ERROR scenario's): sent as RTDS has it, refused


def esme_variant(scenario_id, message_code):
    """The ESME variant a scenario runs on: twin-element when the RTDS names it TWIN or only a
    twin-element meter has the use case, polyphase for the polyphase-only use cases (the
    firmware's use-case flags, esme_model W / P), else single-element."""
    from smets.devices import esme_image
    from smets.gbcs import usecases as rowfmt

    if re.search(r"(^|_)TWIN(_|$)", scenario_id.rsplit("/", 1)[-1]):
        return "twin"
    rows = esme_image.USE_CASES
    for p in rowfmt.rows(rows):
        if rowfmt.code(rows, p) == message_code:
            flags = rows[p + 3]
            if flags & rowfmt.FLAG_TWIN:
                return "twin"
            if flags & rowfmt.FLAG_POLYPHASE:
                return "polyphase"
    return "single"


def dlms_failure(msg):
    """(index of the first failed item, its result) when an RTDS response reports an execution
    failure the device can be made to repeat (CONTROL fault_dlms: DLMS results and the ASN.1
    response codes of ASN1_FAILURES), else None."""
    kind = payloads.of_message(msg)
    if kind not in (payloads.DLMS, payloads.ASN1):
        return None
    return kind.failure(bytes(msg.content), msg)


def message_time(msg):
    """Unix time a message states (header date-time, else the alert timestamp), or None."""
    if msg.date_time:
        try:
            return axdr.date_time_to_unix(bytes(msg.date_time))
        except ValueError:
            pass
    if msg.cra != envelope.CRA_ALERT:
        return None
    return payloads.of_message(msg).alert_time(bytes(msg.content), msg)


def _alert_key(msg):
    """What identifies an alert among several: message code, alert code, and the command
    reference of a future-dated alert."""
    c = bytes(msg.content)
    kind = payloads.kind_of(c, msg)
    return msg.message_code, kind.alert_code(c, msg), kind.alert_reference(c, msg)


def _match_alerts(wanted, got):
    """For each expected alert (Message) the received alert (Received) it is compared with, or
    None: first the ones naming the same command and attribute, then the same alert code,
    then the same message code, so one missing alert does not shift the others."""
    matches = [None] * len(wanted)
    free = list(got)
    keys = [_alert_key(m) for m in wanted]
    for level in (3, 2, 1):
        for i, key in enumerate(keys):
            if matches[i] is not None:
                continue
            for a in free:
                if _alert_key(a.msg)[:level] == key[:level]:
                    matches[i] = a
                    free.remove(a)
                    break
    return matches


class TrustedParties(DCC):
    """The parties a replayed device trusts, with the trust anchors of an RTDS meter that are
    not remote parties of the bench: the root (recovered from the RTDS, conformance_pki) and
    each supplier's prepayment key agreement key (keystore `<eui>-pp-ka.pem`)."""

    def __init__(self, parties, keystore=None, root=None):
        super().__init__(parties)
        self.keystore = keystore
        self.root = root

    def trust_list(self):
        trust = DCC.trust_list(self)
        for entry in trust.values():
            if self.keystore is not None and self.keystore.has_public(entry["eui"], "pp-ka"):
                entry["pp"] = self.keystore.public(entry["eui"], "pp-ka").hex()
        if self.root is not None:
            trust["root"] = {"eui": "0000000000000000", "ca": self.root.hex()}
        return trust


def use_cases(link, page=40):
    """{message code: use case name} a board's firmware implements (CONTROL use_cases, a page
    at a time: the whole table as one reply needs more heap than a board may have free)."""
    out = {}
    start = 0
    while True:
        reply = link.control("use_cases", start=start, n=page)
        if not isinstance(reply, dict) or "use_cases" not in reply:
            # Firmware without paging: the whole table at once.
            return {int(k, 16): v for k, v in reply.items()}
        out.update((int(k, 16), v) for k, v in reply["use_cases"].items())
        start += page
        if start >= reply["total"]:
            return out


class _Device:
    """A device under test: its handle on the bench and what its firmware implements."""

    def __init__(self, role, handle):
        self.role = role
        self.handle = handle
        self.fresh = None  # (eui, dcc) it was provisioned with and has not been used since
        self.readmit = False  # its EUI changed: CCS01 again before it joins as that EUI
        self.provisioned_at_boot = None  # the board's boot count when last provisioned
        self.use_cases = use_cases(handle.link)
        st = handle.status()
        self.info = {"firmware": st.get("firmware"), "implementation": st.get("implementation"),
                     "board": st.get("board"), "port": handle.link.url,
                     "virtual": handle.board is not None}


# The heap of the virtual boards a replay runs on: the default, beside the ROMFS image that
# holds the code.
CONFORMANCE_HEAP = "256K"


class Runner:
    """Replays RTDS scenarios against devices on a bench (virtual boards unless `boards`
    maps a device type to a board URL)."""

    def __init__(self, rtds, keystore=None, boards=None, runtime="auto", heap=CONFORMANCE_HEAP,
                 work_dir=None, response_timeout=5.0, alert_timeout=3.0, device_init=None,
                 provision_timeout=10.0):
        self.rtds = Path(rtds)
        self.keystore = find_keystore(rtds, keystore)
        self.ks = ocrypto.KeyStore(self.keystore)
        self.parties, self.default_parties = load_parties(self.ks)
        if "acb" not in self.default_parties:
            raise ConformanceError("keystore %s holds no Access Control Broker key (OU 04)"
                                   % self.keystore)
        self.boards = {k.upper(): v for k, v in (boards or {}).items()}
        self.runtime = runtime
        self.heap = heap
        self.work_dir = work_dir
        self.response_timeout = response_timeout
        self.alert_timeout = alert_timeout
        self.provision_timeout = provision_timeout
        self.restarts = []  # (scenario id, what happened) for every board that had to restart
        self.device_init = RTDS_WORLD if device_init is None else device_init
        self.bench = None
        self.devices = {}
        self._scenarios = None
        self._root = None  # the RTDS root key (conformance_pki), False when none is found

    # -- set-up -------------------------------------------------------------------------------
    @property
    def emulated_types(self):
        from smets.node import ROLES

        return set(ROLES) | set(self.boards)

    def scenarios(self):
        if self._scenarios is None:
            self._scenarios = discover(self.rtds)
        return self._scenarios

    def select(self, devices=None, only=None):
        return select(self.scenarios(), devices, only)

    def _bench(self):
        if self.bench is None:
            from smetsbench.session import Bench  # imports the virtual-board machinery

            self.bench = Bench(dcc=DCC(list(self.default_parties.values())),
                               work_dir=self.work_dir, heap=self.heap, runtime=self.runtime,
                               response_timeout=self.response_timeout)
        return self.bench

    def _trusted(self, by_role, message_code):
        """The parties (and trust anchors) a device replaying `message_code` trusts."""
        root = None
        if message_code in cpki.PATH_CODES:
            if self._root is None:
                found = cpki.rtds_root_key(self.scenarios(), lambda path: envelope.decode(
                    read_hex(path)))
                self._root = found[0] if found else False
            root = self._root or None
        return TrustedParties(list(by_role.values()), self.ks if message_code in DETAILS_CODES
                              or message_code in TOP_UP_CODES else None, root)

    def _device_certificates(self, handle, eui):
        """The RTDS device certificates of `eui` re-issued for the device's own keys, stored
        on the device (CONTROL certificates) as its own."""
        import base64

        from cryptography.hazmat.primitives.serialization import Encoding

        put = {}
        for usage, key in (("ka", handle.ka_public), ("ds", handle.ds_public)):
            if self.ks.has_public(eui, usage):
                der = ocrypto.load_certificate(self.ks._file(eui, usage, "pem")).public_bytes(
                    Encoding.DER)
                put[usage] = base64.b64encode(cpki.reissue(der, key)).decode()
        if put:
            handle.link.control("certificates", put=put)

    def _device_payload(self, cmd, handle):
        """A command payload that is the device's own certificate (CS02d), re-issued for the
        key of its key usage (a keyAgreement certificate gets the KA key, any other the DS
        key)."""
        from smets.gbcs import cert as certs

        c = certs.parse(bytes(cmd.content))
        key = handle.ka_public if c.key_usage == certs.KU_KEY_AGREEMENT else handle.ds_public
        return cpki.reissue(bytes(cmd.content), key)

    def device(self, role, eui, dcc=None):
        """The device for a device type, started (or adopted) on first use as `eui`, then
        provisioned with `dcc`'s parties and the RTDS device world. The CHF is the hub's own
        (the bench runs it in process, or `--board CHF=URL`)."""
        dev = self.devices.get(role)
        if dev is None:
            bench = self._bench()
            if dcc is not None:
                bench.dcc = dcc
            init = self.device_init.get(role)
            if role == "CHF":
                handle = bench.use_chf(self.boards.get(role))
            elif role in self.boards:
                handle = bench.add_board(role, self.boards[role], eui=eui.hex(), init=init)
            elif roles.needs(role, roles.HUB):
                # A function of the hub (the GPF): run by the hub in this process.
                handle = bench.add_hub_function(role, eui=eui.hex(), init=init)
            else:
                handle = bench.add_virtual(role, eui=eui.hex(), init=init)
            dev = self.devices[role] = _Device(role, handle)
            # The hub's CHF has been working for the bench (device log changes) before.
            dev.fresh = None if role == "CHF" else (bytes(eui), dcc)
        return dev

    def _address(self, dev, eui):
        """Let the hub route `eui` to this device (e.g. the RTDS second ESME, …a6); the
        provisioning that follows gives the device that EUI."""
        if dev.handle.eui != eui and not roles.needs(dev.role, roles.HUB):
            dev.readmit = True  # a new HAN identity: it joins afresh, in its join period
            hub = self.bench.hub
            hub.detach(dev.handle.eui)
            dev.handle.eui = bytes(eui)
            hub.attach(dev.handle.link, eui, dev.role,
                       sleepy=roles.needs(dev.role, roles.SLEEPY))

    def _restart(self, role):
        """Restart the device of a device type: a virtual board is replaced by a new process
        (same flash: the firmware keeps its cached tables), a real board is reset (CONTROL
        reset) and adopted again. True if there was one."""
        dev = self.devices.pop(role, None)
        if dev is None:
            return False
        bench = self.bench
        handle = dev.handle
        if roles.needs(role, roles.HUB):
            bench.restart_chf()
            return True
        if handle.board is None:
            try:
                handle.link.control("reset", timeout=3.0)
            except Exception:
                pass  # it may not answer at all; adopting it again will tell
        bench.hub.detach(handle.eui)
        handle.link.close()
        if handle.board is not None:
            handle.board.stop()
        for items, item in ((bench.boards, handle.board), (bench.links, handle.link),
                            (bench.devices, handle)):
            if item in items:
                items.remove(item)
        return True

    @property
    def info(self):
        info = {"rtds": str(self.rtds), "keystore": str(self.keystore)}
        for role, dev in sorted(self.devices.items()):
            info["device " + role] = dev.info
        return info

    def close(self):
        if self.bench is not None:
            self.bench.close()
            self.bench = None
        self.devices = {}

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- one scenario -----------------------------------------------------------------------
    def run(self, scenario):
        """Replay one scenario. After a bench error (a board that stops answering or fails a
        CONTROL request, e.g. out of memory) or a failure during which the board logged an
        error, the board is restarted and the scenario replayed once; the restart is kept in
        `restarts` and in the result's notes, so it stays visible."""
        res = self._attempt(scenario)
        if (res.error or res.outcome == FAIL and res.board_errors) \
                and self._restart(scenario.device_type):
            self.restarts.append((scenario.id, "; ".join([res.reason] + res.board_errors[-1:])))
            first = res
            res = self._attempt(scenario)
            why = first.reason
            if first.board_errors:
                why += "; " + first.board_errors[-1]
            res.notes.insert(0, "replayed on a restarted board after: %s" % why)
            res.duration_ms += first.duration_ms
        return res

    def _attempt(self, scenario):
        res = ScenarioResult(scenario)
        t0 = time.perf_counter()
        since = time.time()
        try:
            self._run(scenario, res)
        except Exception as exc:  # a bench or board failure is this scenario's failure
            res.outcome = FAIL
            res.reason = res.reason or "bench error: %s: %s" % (type(exc).__name__,
                                                                _first_line(exc))
            res.error = _short_traceback(exc)
        dev = self.devices.get(scenario.device_type)
        if dev is not None:
            # Errors the board logged meanwhile (e.g. out of memory handling the command).
            res.board_errors = ["%s: %s" % (dev.handle.link.name, text)
                                for t, level, text in list(dev.handle.link.logs)
                                if t >= since and level == "E"]
        if res.outcome is None:
            res.outcome = PASS if res.checks.ok and not res.shape_diffs else FAIL
            if res.outcome == FAIL and not res.reason:
                res.reason = _fail_reason(res)
            elif res.outcome == PASS and res.board_errors:
                res.notes.append("the board logged: %s" % res.board_errors[-1])
        res.duration_ms = (time.perf_counter() - t0) * 1000
        return res

    def _run(self, sc, res):
        if sc.problem:
            return res.fail("RTDS file unreadable: %s" % sc.problem)
        if sc.kind == "alert":
            if sc.message_code in ALERT_TRIGGERS and sc.device_type in self.emulated_types:
                return self._run_triggered_alert(sc, res)
            return self._run_alert(sc, res)
        if sc.kind == "response":
            return res.not_emulated("RTDS RESPONSE without its COMMAND: nothing to replay")
        role = sc.device_type
        if role not in self.emulated_types:
            return res.not_emulated("device type %s is not emulated" % role)
        cmd = sc.message(sc.command)
        recipient = bytes(cmd.recipient)
        party = self.parties.get(bytes(cmd.originator))
        if party is None:
            return res.not_emulated("originator %s has no private key in the keystore: the "
                                    "command cannot be re-protected" % cmd.originator.hex())
        if cmd.signature is not None and party.ds_key is None:
            return res.not_emulated("originator %s has no signing key in the keystore"
                                    % cmd.originator.hex())
        # The parties a device trusts by default, with this command's originator in its role
        # (a keystore may hold two parties of one role). No more: a board's heap is small.
        roles = DETAILS_ROLES if cmd.message_code in DETAILS_CODES else DEVICE_TRUSTS
        trusted = {r: p for r, p in self.default_parties.items() if r in roles}
        trusted[party.role] = party
        dcc = self._trusted(trusted, cmd.message_code)
        dev = self.device(role, recipient, dcc)
        if cmd.message_code not in dev.use_cases:
            return res.not_emulated("message code %04X (%s) is not implemented by the %s" % (
                cmd.message_code, sc.use_case, role))
        if sc.response is None:
            return res.not_emulated("no RTDS RESPONSE for this COMMAND: nothing to compare with")
        expected = sc.message(sc.response)
        init = None
        if role == "ESME":
            variant = esme_variant(sc.id, cmd.message_code)
            if variant != "single":
                init = dict(self.device_init.get(role) or {})
                init.update(RTDS_TWIN if variant == "twin" else {"variant": variant})
        handle = self._fresh(dev, recipient, dcc, init)
        if cmd.message_code in DEVICE_CERTIFICATE_CODES:
            self._device_certificates(handle, recipient)
        epoch = message_time(expected) or RTDS_EPOCH
        handle.link.control("time", epoch=epoch)
        failure = dlms_failure(expected)
        if failure is None:
            # A future-dated command whose execution fails later (an 8F67 alert the RTDS
            # shows with the response code of the failure): the same failure, injected now.
            for path in sc.alerts:
                failure = failure or dlms_failure(sc.message(path))
        gbz_fault = self._gbz_failure(expected)
        if gbz_fault is not None:
            # A GBZ response reporting an execution failure (ZCL HARDWARE_FAILURE in a Default
            # Response or an attribute record): the same component fails on the device.
            handle.link.control("fault_gbz", component=gbz_fault[0], attribute=gbz_fault[2])
        if failure is not None:
            # The item RTDS fails, after the ones it executed (break on error does the rest).
            index = failure[0]
            reply = handle.link.control("fault_dlms", count=1, after=index, code=failure[1])
            if index and not (isinstance(reply, dict) and reply.get("after") == index):
                res.notes.append("RTDS fails item %d; this firmware can only fail the first "
                                 "item (CONTROL fault_dlms has no 'after')" % index)
        content = None
        if cmd.message_code in DEVICE_CERTIFICATE_COMMANDS:
            content = self._device_payload(cmd, handle)
            res.notes.append("the device certificate in the command is re-issued for the "
                             "device's own key")
        if cmd.message_code in TOP_UP_CODES:
            content = top_up_payload(cmd, self.ks, handle.eui, handle.ka_public)
            if content is not None:
                res.notes.append("the UTRN is made again for the device's own key agreement "
                                 "key (same counter and value)")
        raw = rewrap(cmd, party, dcc.acb, handle.eui, handle.ka_public, content)
        res.command = raw
        if content is None:
            res.checks.add("re-wrapped command keeps header and payload",
                           envelope.decode(raw).general_signing == cmd.general_signing)
        else:
            got_cmd = envelope.decode(raw)
            res.checks.add("re-wrapped command keeps the header", all(
                bytes(getattr(got_cmd, f) or b"") == bytes(getattr(cmd, f) or b"")
                for f in ("originator", "recipient", "other_info", "date_time"))
                and got_cmd.counter == cmd.counter)
        since = time.time()
        t0 = time.perf_counter()
        rec, rejected = self._exchange(handle, raw, cmd)
        if rec is None:
            res.checks.add("response received", False, self._no_response_detail(
                handle, rejected, since))
            return res
        res.rtt_ms = (time.perf_counter() - t0) * 1000
        res.response = rec.raw
        res.checks.add("response received", True)
        got = verify(rec.raw, envelope.CRA_RESPONSE, handle, self.parties, res.checks,
                     command=cmd)
        if got is None:
            return res
        self._compare(res, expected, got, handle)
        self._alerts(sc, res, handle, since, epoch)
        return res

    def _run_triggered_alert(self, sc, res):
        """A device-originated alert provoked by playing its condition (ALERT_TRIGGERS)."""
        role = sc.device_type
        expected = sc.message(sc.alerts[0])
        recipient = bytes(expected.recipient)
        if recipient not in self.parties or self.parties[recipient].ka_key is None:
            return res.not_emulated("alert recipient %s has no KA key in the keystore"
                                    % recipient.hex())
        trusted = {r: p for r, p in self.default_parties.items() if r in DEVICE_TRUSTS}
        dcc = self._trusted(trusted, expected.message_code)
        dev = self.device(role, bytes(expected.originator), dcc)
        dev.fresh = None
        handle = self._fresh(dev, bytes(expected.originator), dcc)
        epoch = message_time(expected) or RTDS_EPOCH
        handle.link.control("time", epoch=epoch)
        how, what = ALERT_TRIGGERS[expected.message_code]
        fields = self._alert_fields(expected)
        since = time.time()
        if how == "use_case":
            params = {}
            if what == "CCS01":
                # Register again a device the alert's log backup lists (or one of the world).
                euis = [bytes(x.value[0].value) for x in (fields[0].value[2].value
                                                         if fields else ())]
                eui = euis[0] if euis else bytes.fromhex("00db1234567890a0")
                params = {"eui": eui, "install_code": bytes(16) + b"",
                          "device_type": gbcs_device_type(RTDS_DEVICE_TYPES.get(eui.hex()))}
                known = self.bench.hub.device_log.get(eui)
                if known is not None:
                    params["install_code"] = known[0]
            run = self.bench.run(self.bench.chf, what, **params)
            res.notes.append("condition: %s %s" % (what, run.outcome))
        else:
            args = {}
            if what in ("duty_cycle", "no_capacity") and fields:
                args["eui"] = bytes(fields[0].value)
            elif what == "message_discarded" and fields:
                args["header"] = bytes(fields[0].value).hex()
            elif what == "channel_changed" and fields:
                args["channel"] = bytes(fields[0].value[0].value[1]).hex()
            self.bench.hub.han_event(what, **args)
            res.notes.append("condition: HAN %s %s" % (what, ", ".join(
                "%s=%s" % (k, v.hex() if isinstance(v, bytes) else v)
                for k, v in sorted(args.items()))))
        got = [a for a in self._device_alerts(handle, since)
               if a.msg is not None and a.msg.message_code == expected.message_code]
        if not res.checks.add("alert received", bool(got), "message code %04X"
                              % expected.message_code):
            return res
        res.response = got[-1].raw
        msg = verify(got[-1].raw, envelope.CRA_ALERT, handle, self.parties, res.checks,
                     recipient=recipient)
        if msg is None:
            return res
        self._compare(res, expected, msg, handle)
        return res

    def _compare(self, res, expected, got, handle):
        """The device's message against the RTDS one, field by field (decrypted both)."""
        e = cmp.message_node(expected, *self._decrypters(expected, self._rtds_ka(expected)))
        g = cmp.message_node(got, *self._decrypters(got, handle.ka_public))
        res.diffs, res.tree_diff = cmp.compare_messages(e, g)

    @staticmethod
    def _alert_fields(msg):
        """The use-case items of a DLMS alert's body (after alert code and time), or []."""
        try:
            body = access.DataNotification.from_bytes(bytes(msg.content)).body
            return list(body.value[2:])
        except (ValueError, AttributeError, TypeError):
            return []

    def _provision(self, role, handle, dcc, init=None):
        """A fresh device for a scenario: the hub's CHF with the RTDS device logs (and the
        bench's devices in them, so they stay on the HAN); a HAN device with its install code,
        in the CHF device log (CCS01) when it is not there yet, and back on the HAN. `init`:
        the role's unless given (another variant of the meter)."""
        bench = self.bench
        init = dict(self.device_init.get(role) or {} if init is None else init)
        if role == "CHF":
            log = [dict(e) for e in init.get("device_log", ())]
            for h in bench.devices:
                if roles.needs(h.role, roles.HUB):
                    continue  # a function of the hub itself (the GPF) joins no HAN
                entry = {"eui": h.eui.hex(), "install_code": h.install_code.hex(),
                         "type": gbcs_device_type(h.role), "joined": True}
                log = [e for e in log if e["eui"] != entry["eui"]] + [entry]
            init["device_log"] = log
            identity = device_identity(role, handle.eui, handle.ka_key, handle.ds_key,
                                       bench.hub.eui, dcc)
            handle.link.control("provision", identity=identity, init=init,
                                timeout=self.provision_timeout)
            bench.hub.sync_device_log()
            return
        if roles.needs(role, roles.HUB):
            # Another function of the hub (the GPF): no install code, no HAN join.
            identity = device_identity(role, handle.eui, handle.ka_key, handle.ds_key,
                                       bench.hub.eui, dcc)
            handle.link.control("provision", identity=identity, init=init,
                                timeout=self.provision_timeout)
            return
        since = time.time()
        known = bench.hub.device_log.get(handle.eui)
        dev = self.devices.get(role)
        if known is None or known[0] != handle.install_code or (dev and dev.readmit):
            bench.admit(handle)
            if dev:
                dev.readmit = False
        identity = device_identity(role, handle.eui, handle.ka_key, handle.ds_key,
                                   bench.hub.eui, dcc, handle.install_code)
        if dev is not None:
            self._restart_if_provisioned(dev)
            since = time.time()
        handle.link.control("provision", identity=identity, init=init,
                            timeout=self.provision_timeout)
        if dev is not None and handle.board is not None:
            dev.provisioned_at_boot = handle.board.boots
        if not bench.hub.wait_joined(handle.eui, self.provision_timeout, since=since):
            raise ConformanceError("%s %s did not join the HAN again after provisioning: %s"
                                   % (role, handle.eui.hex(),
                                      handle.link.control("status").get("han")))

    def _restart_if_provisioned(self, dev):
        """Reboot a virtual board whose device model was provisioned since it booted, before
        it is provisioned again (as `smetsbench provision` does a real board): a device model
        that has run leaves the heap too fragmented for the next one on a small board, which
        would otherwise fail with a MemoryError and cost a restart and a replay. A reboot
        takes about 0.1 s on the unix port."""
        board = dev.handle.board
        if board is None or dev.provisioned_at_boot != getattr(board, "boots", None):
            return
        from smetsbench.tools.probe import restart

        t0 = time.time()
        restart(dev.handle.link, self.provision_timeout, boots=lambda: board.boots)
        # Back on the HAN as it was, so that the join the provisioning makes is the next one.
        self.bench.hub.wait_joined(dev.handle.eui, self.provision_timeout, since=t0)

    def _fresh(self, dev, eui, dcc, init=None):
        """The device as `eui`, freshly provisioned with `dcc` (and `init`, default the
        role's): RTDS counters restart in every folder, and the outcome must not depend on
        which scenarios ran before. A board just started for this scenario already is
        (provisioning twice in a row costs a small board a heap peak: old and new device model
        side by side), unless the scenario needs another variant of the device (a twin-element
        ESME). Returns its handle."""
        self._address(dev, eui)
        handle = dev.handle
        fresh, dev.fresh = dev.fresh, None
        if init is None:
            init = self.device_init.get(dev.role) or {}
        if fresh is None or fresh[0] != eui or fresh[1] is not dcc \
                or init.get("variant", "single") != "single":
            self._provision(dev.role, handle, dcc, init)
        return handle

    def _run_alert(self, sc, res):
        """A device-originated alert with no command before it (GBCS 16: an event of the
        meter's): the device is asked to raise it (CONTROL alert, the event as the bench plays
        it), then its alert is checked and compared with the RTDS one like a command's."""
        role = sc.device_type
        if role not in self.emulated_types:
            return res.not_emulated("device-originated alert of a device type not emulated "
                                    "(%s): nothing to replay" % role)
        alert = sc.message(sc.alerts[0])
        code = _alert_key(alert)[1]
        if code is None:
            return res.not_emulated("device-originated alert without an alert code")
        trusted = {r: p for r, p in self.default_parties.items() if r in DEVICE_TRUSTS}
        dcc = self._trusted(trusted, alert.message_code)
        dev = self.device(role, bytes(alert.originator), dcc)
        handle = self._fresh(dev, bytes(alert.originator), dcc)
        epoch = message_time(alert) or RTDS_EPOCH
        handle.link.control("time", epoch=epoch)
        since = time.time()
        extra = {}
        if len(alert.other_info) > 2:
            # An alert about a command sent on another party's behalf (ECS100 8F85): the
            # event names who sent it, and the alert goes back that way.
            extra = {"recipient": bytes(alert.recipient).hex(),
                     "other_info": bytes(alert.other_info).hex()}
        try:
            handle.link.control("alert", code="%04X" % code,
                                message_code="%04X" % alert.message_code, **extra)
        except BoardError as exc:
            return res.not_emulated("the %s cannot be made to raise alert %04X (message code "
                                    "%04X): %s" % (role, code, alert.message_code,
                                                   _first_line(exc)))
        res.checks.add("alert raised on request", True, "CONTROL alert %04X" % code)
        self._alerts(sc, res, handle, since, epoch)
        return res

    def _gbz_failure(self, expected):
        """(component, status, attribute) of the execution failure a GBZ RTDS response
        reports (encrypted components decrypted with the keystore), or None."""
        if payloads.of_message(expected) is not payloads.GBZ:
            return None
        content = bytes(expected.content)
        try:
            g = payloads.GBZ.decode(content, expected)
        except ValueError:
            return None
        _, gbz_plain = self._decrypters(expected, self._rtds_ka(expected))
        plain = {}
        for i, c in enumerate(g.components):
            if c.encrypted:
                p = gbz_plain(i, c.ciphertext_and_tag)
                if isinstance(p, (bytes, bytearray)):
                    plain[i] = bytes(p)
        return payloads.GBZ.failure(content, expected, plain)

    def _exchange(self, handle, raw, cmd):
        """Send a command; (Received or None, security-log entry if the device rejected it).

        Waits for the response itself. Without one, the evidence that the device discarded
        the command is its security-log entry (asked for once the device has the command and
        after each alert or growing pause), or an error it logged; then a short grace for a
        response sent anyway."""
        hub = self.bench.hub
        hub.forget_response(handle.eui, cmd.counter)
        sent = time.time()
        alerts_seen = hub.alert_count(handle.eui)
        ticket = hub.put(handle.eui, raw)
        if roles.needs(handle.role, roles.SLEEPY):
            # A sleepy device (GSME) takes the command when it next polls: wake it now, as its
            # button would (GBCS 10.3), rather than wait for its wake-up interval.
            handle.link.control("wake")
        deadline = time.monotonic() + self.response_timeout
        pause = 0.05
        while True:
            left = deadline - time.monotonic()
            rec = hub.wait_response_or_alert(handle.eui, cmd.counter, alerts_seen,
                                             max(0.0, min(pause, left)))
            if rec is not None:
                return hub.take_response(handle.eui, cmd.counter), None
            alerts_seen = hub.alert_count(handle.eui)
            pause = min(pause * 2, 0.8)
            if ticket.delivered is not None:
                last = _last_security_entry(handle.link.control("security_log", n=1))
                if last and last.get("counter") == cmd.counter \
                        and last.get("originator") == bytes(cmd.originator).hex():
                    return hub.take_response(handle.eui, cmd.counter, 0.2), last
                if any(t >= sent and level == "E" for t, level, _ in list(handle.link.logs)):
                    return hub.take_response(handle.eui, cmd.counter, 0.2), None
            if deadline - time.monotonic() <= 0:
                return hub.take_response(handle.eui, cmd.counter), None

    def _no_response_detail(self, handle, rejected, since):
        parts = []
        errors = [text for t, level, text in list(handle.link.logs)
                  if t >= since and level == "E"]
        if rejected:
            parts.append("the device rejected the command: %s" % (
                rejected.get("text") or rejected.get("event")))
        elif errors:
            parts.append("no response; the board logged: %s" % errors[-1])
        else:
            parts.append("no response within %.1f s" % self.response_timeout)
        for a in self._device_alerts(handle, since):
            code = None
            if a.msg is not None:
                code = _alert_key(a.msg)[1]
            parts.append("alert %04X / %s" % (a.msg.message_code if a.msg else 0,
                                              "%04X" % code if code is not None else "?"))
        return "; ".join(parts)

    def _device_alerts(self, handle, since):
        return [a for a in list(self.bench.hub.alerts)
                if a.device == handle.eui and a.t >= since]

    def _rtds_ka(self, msg):
        title = bytes(msg.originator)
        return self.ks.public(title, "ka") if self.ks.has_public(title, "ka") else None

    def _decrypters(self, msg, device_ka):
        """Callbacks decrypting a message's protected DLMS attributes and GBZ components."""
        originator, counter, recipient = ocrypto.payload_kdf_inputs(msg)

        def plaintext(data):
            if device_ka is None:
                return "no KA certificate of %s" % originator.hex()
            if not self.ks.has_private(recipient, "ka"):
                return "no KA private key of %s" % recipient.hex()
            try:
                z = ocrypto.ecdh(self.ks.private(recipient, "ka"), device_ka)
                return ocrypto.decrypt_payload(z, originator, counter, recipient, data)
            except (ValueError, ocrypto.GBCSCryptoError) as exc:
                return "%s: %s" % (type(exc).__name__, exc)

        def dlms(index, prot):
            try:
                sc, _ic, ct, tag = prot.split()
            except ValueError as exc:
                return str(exc)
            if sc != 0x31:
                return "security control %02x, expected 31" % sc
            plain = plaintext(bytes(ct) + bytes(tag))
            if isinstance(plain, str):
                return plain
            try:
                return axdr.from_bytes(plain)
            except ValueError as exc:
                return "plaintext does not decode: %s" % exc

        def gbz(index, data):
            return plaintext(data)

        return dlms, gbz

    def _alerts(self, sc, res, handle, since, epoch):
        if not sc.alerts:
            extra = self._device_alerts(handle, since)
            if extra:
                res.notes.append("%d alert(s) not in the RTDS: %s" % (len(extra), ", ".join(
                    "%04X" % a.msg.message_code if a.msg else "?" for a in extra)))
            return
        wanted = [sc.message(a) for a in sc.alerts]
        times = [t for t in (message_time(m) for m in wanted) if t]
        if times and max(times) > epoch:
            # Future-dated: let the device clock reach the execution time.
            handle.link.control("time", epoch=max(times))
        deadline = time.monotonic() + self.alert_timeout
        got = []
        while time.monotonic() < deadline:
            got = [a for a in self._device_alerts(handle, since) if a.msg is not None]
            if len(got) >= len(wanted):
                break
            time.sleep(0.02)
        matches = _match_alerts(wanted, got)
        unused = [a for a in got if not any(a is m for m in matches)]
        for path, exp, match in zip(sc.alerts, wanted, matches):
            name = path.name[: -len(_HEX_SUFFIX)]
            if not res.checks.add("alert %s received" % name, match is not None,
                                  "message code %04X" % exp.message_code):
                continue
            res.alerts.append(match.raw)
            checks = Checks()
            msg = verify(match.raw, envelope.CRA_ALERT, handle, self.parties, checks,
                         recipient=bytes(exp.recipient))
            for c in checks:
                res.checks.add("alert %s: %s" % (name, c.name), c.ok, c.detail)
            if msg is None:
                continue
            e = cmp.message_node(exp, *self._decrypters(exp, self._rtds_ka(exp)))
            g = cmp.message_node(msg, *self._decrypters(msg, handle.ka_public))
            diffs, tree = cmp.compare_messages(e, g)
            for d in diffs:
                d.path = "alert %s: %s" % (name, d.path)
            res.diffs += diffs
            if any(d.kind == cmp.SHAPE for d in diffs):
                res.tree_diff += ["", "alert %s:" % name] + tree
        if unused:
            res.notes.append("%d alert(s) not in the RTDS: %s" % (len(unused), ", ".join(
                "%04X" % a.msg.message_code for a in unused)))

    # -- many scenarios ---------------------------------------------------------------------
    def run_all(self, scenarios, progress=None):
        started = time.perf_counter()
        results = []
        for i, sc in enumerate(scenarios):
            res = self.run(sc)
            results.append(res)
            if progress:
                progress(i + 1, len(scenarios), res)
        return Summary(results, self.info, time.perf_counter() - started, self.restarts)


def _short_traceback(exc, width=160, lines=12):
    """A traceback without the board frame dump (which holds the provisioned private keys)."""
    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__, limit=4))
    out = []
    for line in text.split("\n"):
        if line.startswith("last frames on"):
            break
        out.append(line if len(line) <= width else line[: width - 3] + "...")
    return "\n".join(out[-lines:])


def _first_line(exc):
    return (str(exc).strip().split("\n") or [""])[0]


def _last_security_entry(reply):
    """Last entry of a CONTROL security_log reply (a list, or {"entries": [...], ...})."""
    if isinstance(reply, dict):
        entries = reply.get("entries") or []
        last = dict(entries[-1]) if entries else None
        if last is not None and reply.get("last_detail") and "text" not in last:
            last["text"] = "%s: %s" % (last.get("event"), reply["last_detail"])
        return last
    return dict(reply[-1]) if reply else None


def _fail_reason(res):
    failed = res.checks.failures()
    if failed:
        c = failed[0]
        return "%s%s" % (c.name, (": " + c.detail) if c.detail else "")
    shape = res.shape_diffs
    if shape:
        more = " (+%d more)" % (len(shape) - 1) if len(shape) > 1 else ""
        return "shape differs: %s%s" % (shape[0], more)
    return "failed"


def verify(raw, cra, handle, parties, checks, command=None, recipient=None):
    """Check a device message with `cryptography`; returns the decoded Message or None.

    A response must echo the command's counter and message code and swap its titles; it is
    signed by the device (DS key) or MACed with Z = ECDH(recipient party KA, device KA)."""
    msg = checker.decode_checked(raw, checks)
    if msg is None:
        return None
    checks.add("CRA flag", msg.cra == cra, "%d, expected %d" % (msg.cra, cra))
    checks.add("originator is the device", bytes(msg.originator) == handle.eui,
               msg.originator.hex())
    if command is not None:
        recipient = bytes(command.originator)
        checks.add("counter echo", msg.counter == command.counter,
                   "%d, expected %d" % (msg.counter, command.counter))
        checks.add("message code echo", msg.message_code == command.message_code,
                   "%04X, expected %04X" % (msg.message_code, command.message_code))
    if recipient is not None:
        checks.add("recipient", bytes(msg.recipient) == recipient, msg.recipient.hex())
    if msg.signature is not None:
        checks.add("device signature", ocrypto.verify_message_signature(msg, handle.ds_public),
                   "device DS key")
    if msg.mac is not None:
        party = parties.get(bytes(msg.recipient))
        if party is None or party.ka_key is None:
            checks.add("MAC", False, "no KA key of recipient %s" % msg.recipient.hex())
        else:
            z = ocrypto.ecdh(party.ka_key, handle.ka_public)
            checks.add("MAC", ocrypto.verify_message_mac(msg, z),
                       "Z(recipient KA, device KA)")
    if msg.signature is None and msg.mac is None:
        checks.add("protected", False, "neither signed nor MACed")
    if cra == envelope.CRA_ALERT and payloads.of_message(msg) is payloads.DLMS:
        # gbcs-notes 4.5: a DLMS alert's invoke id carries its own originator counter.
        try:
            dn = access.DataNotification.from_bytes(bytes(msg.content))
            checks.add("alert invoke id = counter",
                       dn.invoke_id & access.INVOKE_ID_MASK == msg.counter & access.INVOKE_ID_MASK,
                       "%08x, counter %d" % (dn.invoke_id, msg.counter))
        except ValueError as exc:
            checks.add("DLMS payload decodes", False, str(exc))
    if command is not None and payloads.of_message(command) is payloads.DLMS:
        try:
            got = access.decode_apdu(bytes(msg.content))
            req = access.AccessRequest.from_bytes(bytes(command.content))
            checks.add("invoke id echo", getattr(got, "invoke_id", None) == req.invoke_id,
                       "%08x" % getattr(got, "invoke_id", 0))
        except ValueError as exc:
            checks.add("DLMS payload decodes", False, str(exc))
    return msg


# ------------------------------------------------------------------------------- CLI / API


def run(rtds, devices=None, only=None, junit=None, report=None, keystore=None, boards=None,
        out=print, quiet=False, **runner_args):
    """Replay an RTDS folder; print progress and the summary; write the reports. -> Summary"""
    from smetsbench.conformance import report as rep

    with Runner(rtds, keystore=keystore, boards=boards, **runner_args) as runner:
        scenarios = runner.select(devices, only)
        if out:
            out(rep.console_header(runner, scenarios))

        def progress(i, n, res):
            if out and (not quiet or res.outcome == FAIL):
                out(rep.console_line(i, n, res))

        summary = runner.run_all(scenarios, progress)
    if out:
        out(rep.console_summary(summary))
    if junit:
        rep.write_junit(summary, junit)
        if out:
            out("JUnit XML: %s" % junit)
    if report:
        rep.write_report(summary, report)
        if out:
            out("report: %s" % report)
    return summary


def _board_arg(text):
    role, sep, url = text.partition("=")
    if not sep or "/" in role or ":" in role:
        return "ESME", text
    return role.upper(), url


def main(args):
    try:
        boards = dict(_board_arg(b) for b in (args.board or []))
        devices = [d for arg in (args.device or []) for d in arg.split(",") if d]
        summary = run(args.rtds, devices=devices or None, only=args.only, junit=args.junit,
                      report=args.report, keystore=args.keystore, boards=boards,
                      quiet=args.quiet, runtime=args.runtime, heap=args.heap,
                      work_dir=args.dir, response_timeout=args.timeout)
    except ConformanceError as exc:
        print("smetsbench conformance: %s" % exc)
        return 2
    if summary.failed:
        return 1
    if args.min_pass is not None and summary.passed < args.min_pass:
        print("only %d scenarios passed, %d required" % (summary.passed, args.min_pass))
        return 1
    return 0


def register(sub):
    c = sub.add_parser(
        "conformance", help="replay the DCC RTDS against emulated devices and report",
        description="Replay every RTDS use-case scenario whose device type the bench emulates "
                    "(or a real board given with --board), check each response and compare it "
                    "with the RTDS response by shape.")
    c.add_argument("--rtds", required=True, metavar="PATH",
                   help="RTDS-shaped folder (e.g. ../shared/rtds); keystore/ in or above it")
    c.add_argument("--keystore", metavar="DIR", help="keystore folder (default: PATH/keystore)")
    c.add_argument("--device", action="append", metavar="TYPE",
                   help="only these device types (ESME, GSME, ...; repeat or comma-separate)")
    c.add_argument("--only", action="append", metavar="PATTERN",
                   help="only scenarios whose id, use case or message code match (glob or "
                        "substring; repeatable)")
    c.add_argument("--board", action="append", metavar="[TYPE=]URL",
                   help="run TYPE (default ESME) on a real board at this pyserial URL")
    c.add_argument("--junit", metavar="FILE", help="write JUnit XML here")
    c.add_argument("--report", metavar="FILE",
                   help="write a self-contained report here (.html or .md)")
    c.add_argument("--min-pass", type=int, metavar="N",
                   help="exit non-zero if fewer than N scenarios pass")
    c.add_argument("-q", "--quiet", action="store_true", help="print only failures and summary")
    c.add_argument("--timeout", type=float, default=5.0, metavar="S",
                   help="seconds to wait for each response (default: %(default)s)")
    c.add_argument("--heap", default=CONFORMANCE_HEAP, metavar="SIZE",
                   help="MicroPython heap of virtual boards, as -X heapsize= takes it "
                        "(default: %(default)s)")
    c.add_argument("--runtime", default="auto", choices=("auto", "micropython", "cpython"),
                   help="what runs virtual boards: the MicroPython unix port, or CPython "
                        "where no port exists for this machine (default: auto, the port "
                        "when installed)")
    c.add_argument("--dir", help="keep the virtual boards' directories here")
    c.set_defaults(func=main)
