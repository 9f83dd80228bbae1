"""The GBCS security pipeline: command checks, the failures table, responses, alerts, the
security log and the remote parties a device trusts.

Any GBCS device subclasses GBCSPipeline: an ESME or GSME on a board (through
smets.devices.gbcsdev.GBCSDevice, which adds the HAN tunnel client and CONTROL), or a hub-side
function (CHF, GPF) on the host. It lists its use cases in USE_CASES (a dict of code -> UseCase
or a smets.gbcs.usecases.Table) and implements `execute(uc, msg, ctx)` returning the response
content, `alert_content` and `date_time`. Sans-IO: GBCS bytes in, GBCS messages out, time
passed in.

Command checks, in order (GBCS 4.3 and 6.2.4; the GBCS text fixes the order, this follows it as
far as the public sources show): envelope well formed; a command (CRA 01); addressed to this
device; originator is a remote party this device trusts; message code known and emulated;
MAC right (ACB key agreement key, GBCS 4.3.3); originator counter greater than the last one
accepted from that party (anti-replay, GBCS 4.3.1.3); party's role authorised for the use
case; originator signature on critical commands; payload as the use case's template requires.
A failing check discards the command (no response: a response would give an attacker an
oracle), writes a security-log entry and raises the alert in FAILURE_ALERTS. The alert codes
are the emulator's reading of GBCS Table 16.2, kept here as data because the normative GBCS
text for each case was not available (docs/research/gbcs-notes.md 3.3).
"""

try:
    from micropython import const
except ImportError:  # CPython

    def const(x):  # type: ignore[misc]  # CPython has no micropython.const
        return x


import binascii
import gc
import struct

from smets import lazy
from smets.gbcs import crypto, envelope, p256
from smets.gbcs.envelope import GBCSFormatError
from smets.gbcs.usecases import UseCase  # noqa: F401 - the row class devices import from here

# Remote party roles (bit per role) as in SMKI role codes.
ROLE_SUPPLIER = const(0x01)
ROLE_NETWORK_OPERATOR = const(0x02)
ROLE_ACB = const(0x04)
ROLE_WAN_PROVIDER = const(0x08)
ROLE_TCOS = const(0x10)
ROLE_RECOVERY = const(0x20)
ROLE_LOAD_CONTROLLER = const(0x40)

ROLE_BITS = {
    "supplier": ROLE_SUPPLIER,
    "network_operator": ROLE_NETWORK_OPERATOR,
    "acb": ROLE_ACB,
    "wan_provider": ROLE_WAN_PROVIDER,
    "tcos": ROLE_TCOS,
    "recovery": ROLE_RECOVERY,
    "load_controller": ROLE_LOAD_CONTROLLER,
}

# Alert message codes (GBCS Table 13.3.5): generic critical / non-critical alert.
MSG_GENERIC_CRITICAL_ALERT = const(0x1000)
MSG_GENERIC_NON_CRITICAL_ALERT = const(0x1001)

# failure -> (alert code or None, security log event text). GBCS Table 16.2 names:
# 8F1E integrity check of content or format of command failed; 8F30 source does not have
# authority for command; 8F3D trusted source authentication failure; 8F53 failed
# authentication or authorisation not covered by other codes.
# The order is the failure number stored in the security log: only append.
FAILURES = (
    ("malformed", 0x8F1E, "command format check failed"),
    ("not_a_command", None, "message is not a command"),
    ("wrong_recipient", None, "command for another device"),
    ("unknown_party", 0x8F30, "originator is not a trusted remote party"),
    ("unknown_code", 0x8F1E, "message code not supported"),
    ("bad_mac", 0x8F53, "command MAC check failed"),
    ("replay", 0x8F53, "originator counter not greater than the last accepted"),
    ("not_authorised", 0x8F30, "remote party role may not send this command"),
    ("no_signature", 0x8F3D, "critical command without originator signature"),
    ("bad_signature", 0x8F3D, "originator signature check failed"),
    ("bad_payload", 0x8F1E, "payload does not match the use case"),
    ("flood", 0x8F60, "unusual numbers of malformed, out-of-order or unexpected commands"),
)
FAILURE_ALERTS = {name: (code, text) for name, code, text in FAILURES}
_FAILURE_INDEX = {row[0]: i for i, row in enumerate(FAILURES)}
# Security events of accepted commands (the device log changing, GBCS 13.7: logged, no
# alert) are numbered from EVENT_BASE in the security log: smets.gbcs.pipeline_ops
# SECURITY_EVENTS, where they are looked up (seldom: a join, a log cleared).
EVENT_BASE = const(0x80)
# Security log record: time, failure number, alert code (0 = none), originator, counter, code.
_SECLOG_FORMAT = ">IBH8sQH"

SECURITY_LOG_SIZE = 100
# Keys of the counter record (smets.store.CounterLog "security"): 01 || originator title ->
# last accepted originator counter; 02 || 00 * 8 -> the device's last alert counter.
_ALERT_KEY = b"\x02" + bytes(8)
_FIRST_ALERT_COUNTER = 0x7D0  # read by pipeline_ops: not a const

# Floods of unauthenticated input (garbage, wrong MACs, replays, strangers): each rejection
# writes a security-log entry to flash and signs an alert, so unthrottled they would wear the
# flash out and starve real commands. GBCS has the alert for this case, 0x8F60 "Unusual
# numbers of malformed, out-of-order or unexpected Commands received" (GBCS alert code
# catalogue, as listed by Wireshark's packet-gbcs.c and gbcs-parser); the thresholds are not
# in the sources available here (docs/research/gbcs-notes.md 3.3), so these are the
# emulator's: a token bucket of FLOOD_BURST rejections, one more every FLOOD_REFILL_S seconds
# of device time. Past it a rejection is counted in RAM only (stats "suppressed"); the first
# one of a flood logs a "flood" entry and raises 8F60 once, and the next rejection the bucket
# admits logs how many were suppressed. Rejections of authenticated commands (MAC and counter
# right: not_authorised, bad_payload) are never throttled.
FLOOD_BURST = 16
FLOOD_REFILL_S = 10
_AUTHENTICATED = ("not_authorised", "bad_payload")
# What a use case's handler raises on a payload it cannot use (MicroPython's struct raises
# ValueError; CPython's struct.error is its own class).
_PAYLOAD_ERRORS = (ValueError, IndexError, KeyError, TypeError,
                   getattr(struct, "error", ValueError))


class Reject(Exception):
    """A command check failed: `failure` is a FAILURE_ALERTS key."""

    def __init__(self, failure, detail=""):
        super().__init__(failure)
        self.failure = failure
        self.detail = detail


class Party:
    __slots__ = ("role", "bit", "eui", "ka", "ds", "_table")

    def __init__(self, role, eui, ka, ds):
        self.role = role
        self.bit = ROLE_BITS.get(role, 0)
        self.eui = eui
        self.ka = ka
        self.ds = ds
        self._table = None


class Context:
    """What a use case's handler may need beyond the message: time, keys, response options."""

    __slots__ = ("device", "msg", "party", "now", "uc", "alerts", "other_info", "urp")

    def __init__(self, device, msg, party, now, uc):
        self.device = device
        self.msg = msg
        self.party = party
        self.now = now
        self.uc = uc
        self.alerts = []
        self.other_info = None  # the response's other-information, when not the echo
        self.urp = None  # (Z, counter, recipient) of an unknown remote party, once found

    def z(self):
        """ECDH secret between this device's KA key and the originator's KA key."""
        return self.device.zcache.z(self.party.ka)


def _hex(b):
    return binascii.hexlify(b).decode()  # one allocation (titles per command, outcomes)


# Security credential message codes answered by smets.gbcs.credentials_keys (CS02a/c/d/e/f);
# the other CS02 codes (CS02b/g) by smets.gbcs.credentials_anchors.
_CS02_KEYS = (0x0008, 0x000A, 0x000B, 0x000C, 0x011B)
# Every security credential message code (GBCS 12): the keys' and the trust anchors' (CS02b
# replacement modes, CS02g), for devices whose ASN.1 use cases are not all CS02x.
CREDENTIAL_CODES = _CS02_KEYS + (0x0100, 0x0101, 0x0102, 0x0103, 0x0104, 0x0105, 0x0106,
                                 0x0107, 0x0108, 0x0109, 0x0125, 0x0126)
# What the security credential code imports beside itself, dropped with it after the call.
_CS02_DROP = ("smets.gbcs.credentials", "smets.gbcs.cert", "smets.gbcs.asn1")


class GBCSPipeline:
    ROLE: str | None = None
    USE_CASES: dict = {}
    ALERT_RECIPIENT = "supplier"
    # Store records of this device's own state (removed for a fresh start; set aside, and put
    # back, by a provisioning that fails): replay counters, replaced keys and trust anchors,
    # security log, ECDH cache.
    RECORDS = ("security", "keys", "trust", "seclog", "zcache")

    @classmethod
    def validate(cls, identity, init=None):
        """Raise ValueError unless the pipeline can start from `identity`: called before a
        provisioning replaces anything, so that a bad request leaves the old state alone."""
        try:
            if len(bytes.fromhex(identity["eui"])) != 8:
                raise ValueError("eui must be 8 bytes")
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError("bad identity: %s %s" % (type(exc).__name__, exc))
        lazy.call("smets.gbcs.pipeline_ops", "validate_keys", (identity,))
        if init is not None and not isinstance(init, dict):
            raise ValueError("init must be an object")

    def __init__(self, identity, store, now, log=None, fresh=False, init=None):
        self.store = store
        self._log = log
        self.eui = bytes.fromhex(identity["eui"])
        if fresh:
            # A new identity starts from nothing the last one left.
            for name in self.RECORDS:
                store.remove(name)
        self.init_gbcs(identity)

    def init_gbcs(self, identity):
        """The pipeline's state from `identity` and the store (`self.store`, `self.eui` and
        `self._log` set): a device that starts its HAN side first calls this after it. Run
        once per start, so its code is loaded for the call only (smets.gbcs.pipeline_ops)."""
        lazy.call("smets.gbcs.pipeline_ops", "init_gbcs", (self, identity))
        # Signing needs the generator table: build it now, while the heap is unfragmented and
        # the start-up code is let go (only a GBCS device gets here: a HAN-only device never
        # builds it).
        p256.generator_table()

    # -- logging / persistence ----------------------------------------------------------------
    def log(self, level, text):
        if self._log:
            self._log(level, text)

    def _save_security(self):
        """Every counter at once (after a change other than one counter going up: the CS02
        use cases), and the ECDH cache when it grew."""
        values = {_ALERT_KEY: self.alert_counter}
        for title, counter in self.counters.items():
            values[b"\x01" + binascii.unhexlify(title)] = counter
        self.counter_log.replace(values)
        self._save_zcache()

    def _save_zcache(self):
        if len(self.zcache) != self._zcache_saved:
            self.store.save("zcache", {_hex(k): _hex(z) for k, z in self.zcache.items()})
            self._zcache_saved = len(self.zcache)

    def _security_event(self, now, failure, msg, detail, count=0):
        code, text = FAILURE_ALERTS[failure]
        self.last_detail = detail[:80]
        self.log_security(now, failure, msg, count)
        self.log("W", "rejected command: %s%s" % (text, (": " + detail) if detail else ""))
        return code

    def log_security(self, now, event, msg=None, count=0):
        """A security-log entry for the command `msg`: a FAILURES name (a rejected command) or
        a pipeline_ops.SECURITY_EVENTS one (an event of an accepted command, e.g.
        "device_joined"); with no
        command, `count` goes where the counter would (suppressed rejections)."""
        if event in _FAILURE_INDEX:
            number = _FAILURE_INDEX[event]
            code = FAILURE_ALERTS[event][0]
        else:
            number, code = lazy.call("smets.gbcs.pipeline_ops", "security_event", (event,))
        if msg is None:
            originator, counter, msg_code = b"\x00" * 8, count, 0
        else:
            originator, counter, msg_code = msg.originator, msg.counter, msg.message_code
        self.security_log.append(now & 0xFFFFFFFF, number, code or 0, originator,
                                 counter & 0xFFFFFFFFFFFFFFFF, msg_code)

    def security_entries(self, start=0, count=None):
        """Security log entries as dicts (CONTROL security_log)."""
        return lazy.call("smets.gbcs.pipeline_ops", "security_entries", (self, start, count))

    def load_parties(self, entries):
        """Trust the remote parties of {role: {"eui", "ka", "ds"}} (smets.gbcs.pipeline_ops)."""
        lazy.call("smets.gbcs.pipeline_ops", "load_parties", (self, entries))

    def _party_by_role(self, role):
        for p in self.parties.values():
            if p.role == role:
                return p
        return None

    # -- GBCS ---------------------------------------------------------------------------------
    def handle_gbcs(self, raw, now):
        """GBCS bytes in; list of GBCS messages out (a response and/or alerts)."""
        self.stats["commands"] += 1
        self.last_code = None
        msg = None
        try:
            try:
                msg = envelope.decode(raw)
            except GBCSFormatError as exc:
                raise Reject("malformed", str(exc))
            self.last_code = msg.message_code
            party, uc = self._check(msg)
            # The counter of an authenticated command is used up before the command runs: a
            # power cut while it runs, or before its response leaves, must not let it run twice.
            self.counters[_hex(msg.originator)] = msg.counter
            self.counter_log.put(b"\x01" + bytes(msg.originator), msg.counter)
            self._save_zcache()
            ctx = Context(self, msg, party, now, uc)
            try:
                content = self.execute(uc, msg, ctx)
            except Reject:
                raise
            except _PAYLOAD_ERRORS as exc:
                # Codec errors of the payload (AXDRError, DLMSError, ZCLError, ASN1Error...)
                # and a payload too short or of the wrong types for its use case.
                raise Reject("bad_payload", "%s: %s" % (type(exc).__name__, exc))
        except Reject as rej:
            self.stats["rejected"] += 1
            self.last_outcome = rej.failure
            out = []
            if rej.failure not in _AUTHENTICATED and not (
                    msg is not None and msg.mac is not None and "signature" in rej.failure):
                if not self._admit_rejection(now):
                    self.last_outcome = rej.failure + " (suppressed)"
                    return self._suppress(now)
                flood = self._flood
                if flood[2]:
                    self._security_event(now, "flood", None, "%d rejected commands not "
                                         "logged" % flood[2], flood[2])
                    flood[2] = 0
            code = self._security_event(now, rej.failure, msg, rej.detail)
            if code is None:
                return out
            return [self.alert(MSG_GENERIC_CRITICAL_ALERT, code, now)]
        if content is None:
            # No response: the device answers with alerts only (GBCS 7.2.9.1, ECS100 "command
            # not supported by device" for a use case this device variant does not have).
            self.last_outcome = "unsupported"
            return ctx.alerts
        self.stats["accepted"] += 1
        response = self._respond(msg, ctx, content)
        self.last_outcome = "accepted"
        return [response] + ctx.alerts

    def _admit_rejection(self, now):
        """Whether an unauthenticated rejection may be logged and alerted (token bucket)."""
        flood = self._flood  # [tokens, refilled at, suppressed since last logged, flooding]
        if now < flood[1]:
            flood[1] = now  # the clock was set back: refill from here
        elif flood[0] < FLOOD_BURST:
            n = (now - flood[1]) // FLOOD_REFILL_S
            if n:
                flood[0] = min(FLOOD_BURST, flood[0] + n)
                flood[1] += n * FLOOD_REFILL_S
        else:
            flood[1] = now
        if flood[0] >= FLOOD_BURST:
            flood[3] = False  # a full bucket: any flood is over
        if flood[0] > 0:
            flood[0] -= 1
            return True
        return False

    def _suppress(self, now):
        """A rejection past the bucket: counted in RAM; the first of a flood raises 8F60."""
        flood = self._flood
        self.stats["suppressed"] += 1
        flood[2] += 1
        if flood[3]:
            return []
        flood[3] = True
        code = self._security_event(now, "flood", None, "rejections past %d per %d s" % (
            FLOOD_BURST, FLOOD_REFILL_S))
        return [self.alert(MSG_GENERIC_CRITICAL_ALERT, code, now)]

    def _check(self, msg):
        if msg.cra != envelope.CRA_COMMAND:
            raise Reject("not_a_command", "CRA flag %d" % msg.cra)
        if msg.recipient != self.eui:
            raise Reject("wrong_recipient", "recipient %s" % _hex(msg.recipient))
        party = self.parties.get(msg.originator)
        if party is None:
            raise Reject("unknown_party", _hex(msg.originator))
        uc = self.USE_CASES.get(msg.message_code)
        if uc is None:
            raise Reject("unknown_code", "%04X" % msg.message_code)
        if msg.mac is None:
            # Without the ACB's MAC only the originator's signature can authenticate it.
            if not (party.bit & uc.sig_roles):
                raise Reject("bad_mac", "command has no MAC")
        else:
            if self.acb is None or self.acb.ka is None:
                raise Reject("bad_mac", "no ACB key agreement key provisioned")
            try:
                z = self.zcache.z(self.acb.ka)
            except p256.P256Error as exc:  # a trust anchor that is no key: nothing verifies
                raise Reject("bad_mac", "ACB key agreement key: %s" % exc)
            if not crypto.verify_message_mac(msg, z):
                raise Reject("bad_mac", "MAC %s" % _hex(msg.mac))
        last = self.counters.get(_hex(msg.originator), -1)
        if msg.counter <= last:
            raise Reject("replay", "counter %d <= %d" % (msg.counter, last))
        if not (party.bit & uc.roles):
            raise Reject("not_authorised", "%s may not send %s" % (party.role, uc.name))
        if uc.critical or msg.mac is None:
            if msg.signature is None:
                raise Reject("no_signature", uc.name)
            try:
                good = party.ds is not None and crypto.verify_message_signature(
                    msg, self._verifier(party))
            except p256.P256Error as exc:
                raise Reject("bad_signature", "%s: %s signing key: %s" % (uc.name, party.role,
                                                                          exc))
            if not good:
                raise Reject("bad_signature", uc.name)
        return party, uc

    # -- security credentials (CS02x, GBCS section 12) ---------------------------------------
    def execute_credentials(self, uc, msg, ctx):
        """Response content of a CS02x command (ASN.1 payloads, rarely sent): their code is
        loaded for the call, in room made by dropping the parties' verification tables (they
        load again from flash when next needed)."""
        self.drop_tables()
        if msg.message_code in _CS02_KEYS:
            return lazy.call("smets.gbcs.credentials_keys", "execute", (self, uc, msg, ctx),
                             _CS02_DROP)
        content, changes = lazy.call("smets.gbcs.credentials_anchors", "execute",
                                     (self, uc, msg, ctx), _CS02_DROP)
        if changes:
            # Replaced trust anchors, written once the CS02b code has left the heap.
            lazy.call("smets.gbcs.pipeline_ops", "commit_trust", (self, changes))
        return content

    def urp_key(self, ctx):
        """(Z, counter) of a response encrypted to an unknown remote party (ECS21b URP)."""
        return lazy.call("smets.gbcs.credentials_keys", "urp", (self, ctx), _CS02_DROP)

    def schedule_credentials(self, name, when, code, msg):
        """Run the CS02b / CS02g update recorded as `name` ("cs02b" / "cs02g") at device time
        `when` (None: cancel the pending one). Devices with future-dated commands override."""
        raise Reject("bad_payload", "%s does not take future-dated security credentials"
                     % self.ROLE)

    dlms_faults = 0  # executions the bench asked to fail (CONTROL fault_dlms), if it can ask

    def take_execution_fault(self):
        """Whether the bench asked this command's execution to fail (CONTROL fault injection:
        `dlms_faults` left to fail; a device with another kind of injection overrides)."""
        if self.dlms_faults > 0:
            self.dlms_faults -= 1
            return True
        return False

    def drop_tables(self):
        """Let go of the parties' verification tables (2 KB each) for a while: a rarely used
        piece of code needs the heap; each loads again from flash on its next use."""
        for p in self.parties.values():
            p._table = None

    def _verifier(self, party):
        """The party's verification table, or its key where the table (2 KB in one block)
        does not fit in the heap right now: slower, but the command is not lost."""
        try:
            return self._ds_table(party)
        except MemoryError:
            party._table = None
            gc.collect()
            self.log("W", "no room for %s's verification table: verifying without" % (
                party.role,))
            return party.ds

    def _ds_table(self, party):
        """Fixed-base table for a trusted signing key, cached on flash (GBCS verify fast path)."""
        if party._table is None:
            name = "t_" + _hex(party.eui)
            blob = self.store.load_bytes(name)
            table = None
            if blob:
                try:
                    table = p256.Table.from_bytes(blob)
                    if table.point != party.ds:
                        table = None
                except ValueError:
                    table = None
            if table is None:
                table = p256.Table(party.ds)
                self.store.save_bytes(name, table.buffer)  # no 2 KB copy
            party._table = table
        return party._table

    def _respond(self, msg, ctx, content):
        uc = ctx.uc
        other_info = ctx.other_info
        if other_info is None:
            other_info = self.response_other_info(msg)
        date_time = self.date_time(ctx.now) if uc.response_time else None
        gs = envelope.encode_general_signing(
            envelope.CRA_RESPONSE, msg.counter, self.eui, msg.originator, other_info, content,
            date_time,
        )
        if uc.critical or uc.signed or msg.mac is None:
            # GBCS 4.3.2: a response to a critical command is signed by the device, no MAC.
            return envelope.with_signature(gs, crypto.sign_apdu(self.ds_key, gs))
        return crypto.add_mac(ctx.z(), envelope.with_signature(gs))

    def response_other_info(self, msg):
        # GBCS 4.3.2.4: echo message code and supplementary remote party fields (18 bytes);
        # a remote party certificate carried in a command is not echoed.
        info = msg.other_info
        return bytes(info[:18]) if len(info) > 18 else bytes(info)

    def alert(self, message_code, alert_code, now, fields=(), critical=True, recipient=None,
              other_info=None, content=None):
        """A device-originated alert (CRA 03) with a fresh device originator counter: its
        payload the device model's (`alert_content`) or, given, `content` (an ASN.1 alert);
        `other_info` replaces the bare message code (supplementary remote party fields)."""
        party = recipient or self._party_by_role(self.ALERT_RECIPIENT)
        self.alert_counter += 1
        counter = self.alert_counter
        # Saved before the alert exists: after a reboot no alert may reuse its counter.
        self.counter_log.put(_ALERT_KEY, counter)
        self._save_zcache()
        if content is None:
            content = self.alert_content(counter, alert_code, now, fields)
        target = party.eui if party else b"\x00" * 8
        gs = envelope.encode_general_signing(
            envelope.CRA_ALERT, counter, self.eui, target,
            other_info or message_code.to_bytes(2, "big"), content,
        )
        self.stats["alerts"] += 1
        self.log("I", "alert %04X to %s" % (alert_code, _hex(target)))
        if critical or party is None or party.ka is None:
            return envelope.with_signature(gs, crypto.sign_apdu(self.ds_key, gs))
        return crypto.add_mac(self.zcache.z(party.ka), envelope.with_signature(gs))

    # -- to implement by device models -----------------------------------------------------------
    def execute(self, uc, msg, ctx):
        raise Reject("unknown_code", uc.name)

    def alert_content(self, counter, alert_code, now, fields):
        raise NotImplementedError

    def date_time(self, now):
        raise NotImplementedError


