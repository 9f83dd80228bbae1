"""A GBCS device whose payloads are GBZ (GBCS 7.2.2): the GSME, and the GPF on the hub.

A command's GBZ payload is checked against its use-case row (smets.gbcs.usecases: the row's
template words name each component's cluster, frame type, direction and command, whether it
may repeat and whether its response is encrypted), then each component runs: Read Attributes
is answered from the device's attribute table (smets.zcl.attrs), and each cluster-specific
command (smets.zcl.se layouts) has a handler the subclass names in its HANDLERS table. Every
component gets one response component: a Read Attributes Response, the ZSE response command,
or a Default Response with the ZCL status; after an execution failure the rest are answered
FAILURE for command "ff" (as the DCC RTDS ERROR responses show). Response components the row
marks are encrypted for the remote party (GBCS 7.3.5), their additional header counting the
encrypted components. Commands naming a future start time in a use case that may be future
dated are kept until then (subclasses run them with their `_due`).

A subclass gives: CLUSTERS (the component words' cluster index), HANDLERS ("<cluster><c|s>
<command>:<name>[/<activation time field>]" entries), `handler_module(name)` for handlers
that are not `_h_<name>` methods, EXT_MODULE (its rarely used code: asn1_use_case, urp),
`attrs` (an AttrTable), `state` (a dict with "pending", loaded with `_load_saved`),
`advance(now)`, and `check(name, c, fields, ctx)` for a handler's checks that must pass before
a command is kept for later.

The attribute values and the state are one record ("zattrs": the values, then the state as
JSON), written at once: the state says up to when the registers count (a GSME's time, its
sub-litre remainder, the pending commands), so a power cut must never leave one new and the
other old (the registers counted twice, or lost, at the next start).
"""

try:
    from micropython import const
except ImportError:  # CPython

    def const(x):  # type: ignore[misc]  # CPython has no micropython.const
        return x


import json
import struct

from smets import lazy
from smets.codec import date_time
from smets.devices.gbcsdev import GBCSDevice, Reject
from smets.gbcs import crypto, usecases
from smets.gbcs.pipeline import CREDENTIAL_CODES
from smets.gbcs.usecases import FLAG_ASN1, FLAG_DEVICE, FLAG_OPTIONAL
from smets.zcl import gbz, secmd
from smets.zcl.frame import (
    DEFAULT_RESPONSE,
    FAILURE,
    HARDWARE_FAILURE,
    INSUFFICIENT_SPACE,
    INVALID_FIELD,
    NOT_FOUND,
    READ_ATTRIBUTES,
    READ_ATTRIBUTES_RESPONSE,
    SUCCESS,
    TYPE_CLUSTER,
    TYPE_GLOBAL,
    UNSUP_COMMAND,
    UNSUPPORTED_ATTRIBUTE,
    ZCLError,
)

EPOCH_2000 = const(946684800)  # ZCL UTCTime counts from 2000-01-01 (ZCL 2.6.2.20)
NEVER_A = const(0xFFFFFFFE)  # start times GBCS commands use to cancel (RTDS CANCELLATION)
NEVER_B = const(0xFFFFFFFF)
MAX_PENDING = const(16)
_METERING = const(0x0702)
_PREPAYMENT = const(0x0705)
# Snapshot record: time, cause, id, volume, 4 tiers, 4 blocks; accumulated debt, 3 debts,
# emergency credit, credit (the Prepayment snapshot sub-payload, ZSE payload type 0). The
# registers are uint48 in ZCL; a snapshot keeps their low 32 bits (4 million m3 in litres: more
# than a domestic meter ever reads), 72 bytes a record rather than 108.
SNAPSHOT_FORMAT = ">III9Ii3Iii"
# Template word bits (smets.devices.gsme_model).
W_CLUSTER = const(0x100)
W_S2C = const(0x200)
W_REPEAT = const(0x400)
W_ENCRYPT = const(0x800)


class Failure(Exception):
    """A component the device cannot execute: answered with this ZCL status."""

    def __init__(self, status):
        super().__init__(status)
        self.status = status


def utc(now):
    """ZCL UTCTime of a unix time."""
    return max(0, now - EPOCH_2000) & 0xFFFFFFFF


class GBZDevice(GBCSDevice):
    CLUSTERS = ()
    HANDLERS = " "
    EXT_MODULE: str | None = None
    KEEP_MODULES: tuple = ()  # handler modules kept once loaded
    DROP = ("smets.gbcs.asn1", "smets.gbcs.cert", "smets.gbcs.utrn")

    def __init__(self, identity, store, now, log=None, fresh=False, init=None):
        GBCSDevice.__init__(self, identity, store, now, log, fresh, init)
        self.gbz_fault = None  # (component, attribute) failed once (CONTROL fault_gbz)
        self._loaded = {}  # handler modules loaded for the command being run
        self._kept = None  # records a handler keeps ({key: hex}), saved at the end
        self.to_alert = []  # alerts raised outside a command (CONTROL alert), for the next tick

    def device_tick(self, now):
        out, self.to_alert = self.to_alert, []
        return out

    def next_due(self, now):
        if self.to_alert:
            return now
        return GBCSDevice.next_due(self, now)

    def control(self, op, req, now):
        # The bench's ops of every GBZ device: injected execution failures (the conformance
        # runner replays RTDS ERROR responses with them) and one attribute's value.
        if op == "fault_dlms":
            # The runner's name for an execution failure of an ASN.1 use case.
            self.gbz_fault = (0, 0)
            return {"after": int(req.get("after", 0))}
        if op == "fault_gbz":
            # The next command's component `component` fails (its attribute `attribute` for
            # a Read Attributes) with HARDWARE_FAILURE.
            self.gbz_fault = (int(req.get("component", 0)), int(req.get("attribute", 0)))
            return {"component": self.gbz_fault[0], "attribute": self.gbz_fault[1]}
        if op == "attribute":
            row = self.attrs.find(int(req["cluster"], 16), int(req["attr"], 16))
            if row < 0:
                raise ValueError("no attribute %s/%s" % (req["cluster"], req["attr"]))
            self.advance(now)
            v = self.attrs.get(row)
            return {"type": self.attrs.type(row),
                    "value": v.hex() if isinstance(v, (bytes, bytearray)) else v}
        return GBCSDevice.control(self, op, req, now)

    def handler_module(self, name):
        return self.EXT_MODULE

    def advance(self, now):
        """Run the device's clock to `now` before a command (a meter's registers)."""

    def update_credentials(self, uc, msg, ctx):
        """A CS02x use case (GBCS 12): the pipeline's, for any GBCS device; a role with rules
        of its own overrides."""
        return self.execute_credentials(uc, msg, ctx)

    def take_execution_fault(self):
        # The bench's injected execution failure (CONTROL fault_gbz / fault_dlms) fails the
        # next command, a CS02x one too (smets.gbcs.credentials).
        if self.gbz_fault is None:
            return False
        self.gbz_fault = None
        return True

    def put_all(self, items):
        """Set attributes ((cluster, attribute id, value), ...) all or none: every value is
        checked first (one the model refuses: Failure with its ZCL status, nothing set)."""
        a = self.attrs
        for cluster, attr_id, value in items:
            row = a.find(cluster, attr_id)
            if row < 0:
                raise KeyError("no attribute %04x/%04x" % (cluster, attr_id))
            status = a.check(row, value)
            if status is not None:
                raise Failure(status)
        for cluster, attr_id, value in items:
            a.set(cluster, attr_id, value)
        self._dirty = True

    # -- the saved record: attribute values and state together ---------------------------------
    STATE_RECORD = "gbz"  # the state's own record in the earlier layout (two records)

    def _load_saved(self, fresh):
        """The saved state, its attribute values taken into `attrs`; None (the defaults kept)
        for a fresh start or nothing usable saved. Reads the earlier layout too (the values
        alone in "zattrs", the state in STATE_RECORD)."""
        if fresh:
            return None
        data = self.store.load_bytes("zattrs")
        n = len(self.attrs.values)
        if data is None or len(data) < n:
            return None
        if len(data) > n:
            try:
                state = json.loads(bytes(data[n:]).decode())
            except (ValueError, UnicodeError):
                state = None
        else:
            state = self.store.load(self.STATE_RECORD)
        if not isinstance(state, dict) or not self.attrs.load(data[:n]):
            return None
        return state

    def _save(self):
        """Write the attribute values and the state, one record (one atomic write)."""
        self.store.save_parts("zattrs", (self.attrs.values, json.dumps(self.state).encode()))

    # -- GBCS use cases ------------------------------------------------------------------------
    def execute(self, uc, msg, ctx):
        if self.USE_CASES.rows[uc.template + 3] & FLAG_ASN1:
            if msg.message_code in CREDENTIAL_CODES:
                return self.update_credentials(uc, msg, ctx)
            self.drop_tables()
            return lazy.call(self.EXT_MODULE, "asn1_use_case", (self, uc, msg, ctx), self.DROP)
        payload = gbz.GBZPayload.from_bytes(bytes(msg.content))
        words = self._match(uc, payload.components)
        try:
            return self._execute(uc, ctx, payload, words)
        finally:
            self._finish()

    def _execute(self, uc, ctx, payload, words):
        self.advance(ctx.now)
        self._dirty = False
        rows = self.USE_CASES.rows
        ddr = rows[uc.template + 3] & FLAG_DEVICE
        out = []
        broken = False
        encrypted = 0  # GBCS 7.3.5: the additional header counts the encrypted components
        for i in range(len(payload.components)):
            c = payload.components[i]
            w = words[i]
            if broken:
                # After an execution failure nothing more runs (as a DLMS break on error):
                # RTDS ERROR responses answer the rest with FAILURE for command "ff".
                out.append(self._default(c, 0xFF, FAILURE))
                continue
            resp, broken = self._component(i, c, w, ctx)
            if resp.command != DEFAULT_RESPONSE or resp.frame_control & 0x03 == TYPE_CLUSTER:
                if ddr:
                    resp.frame_control |= 0x10
                if w & W_ENCRYPT:
                    resp.ciphered = self._encrypt(ctx, resp.payload)
                    resp.control |= gbz.CONTROL_ENCRYPTED
                    resp.additional_header = bytes((0, encrypted & 0xFF))
                    resp.payload = None
                    encrypted += 1
            out.append(resp)
        if self._dirty:
            # Registers and state together (one record: the state holds the time the
            # registers are up to); a read changes neither, and the clock's captures save the
            # accrual.
            self._save()
        return gbz.GBZPayload(out).to_bytes()

    def _match(self, uc, comps):
        """The template word of each component: the row's components in order, each once or
        (marked *) repeated; with FLAG_OPTIONAL any of them may be left out."""
        r = self.USE_CASES.rows
        optional = r[uc.template + 3] & FLAG_OPTIONAL
        q = usecases.alternatives(r, uc.template)
        n_alts = r[q]
        q += 1
        for _ in range(n_alts):
            k = r[q]
            tpl = r[q + 1:q + 1 + 2 * k]
            q += 1 + 2 * k
            words = self._fit(tpl, comps, optional)
            if words is not None:
                return words
        raise Reject("bad_payload", "%s: GBZ components do not match the use case" % uc.name)

    def _fit(self, tpl, comps, optional):
        out = []
        j = 0
        n = len(comps)
        for i in range(0, len(tpl), 2):
            w = (tpl[i] << 8) | tpl[i + 1]
            seen = 0
            while j < n and self._is(w, comps[j]):
                out.append(w)
                j += 1
                seen += 1
                if not w & W_REPEAT:
                    break
            if not seen and not optional:
                return None
        if j != n or not n:
            return None
        return out

    def _is(self, w, c):
        fc = c.frame_control
        kind = fc & 0x03
        return (self.CLUSTERS[w >> 12] == c.cluster and c.command == (w & 0xFF)
                and kind == (TYPE_CLUSTER if w & W_CLUSTER else TYPE_GLOBAL)
                and bool(fc & 0x08) == bool(w & W_S2C) and not fc & 0x04)

    def _component(self, i, c, w, ctx):
        """(response component, whether execution broke off) of command component i."""
        fault = self.gbz_fault
        if fault is not None and fault[0] == i:
            self.gbz_fault = None
        else:
            fault = None
        if c.command == READ_ATTRIBUTES and not w & W_CLUSTER:
            return self._read(c, fault), fault is not None
        if fault is not None:
            return self._default(c, c.command, HARDWARE_FAILURE), True
        s2c = bool(c.frame_control & 0x08)
        try:
            fields = secmd.decode(c.cluster, s2c, c.command, c.payload)
            result = self._run(c, fields, ctx, s2c)
        except Failure as f:
            return self._default(c, c.command, f.status), f.status != NOT_FOUND
        except (ZCLError, IndexError, TypeError):
            return self._default(c, c.command, INVALID_FIELD), True
        if result is None:
            return self._default(c, c.command, SUCCESS), False
        cmd, resp = result
        # The response goes the other way (GetEventConfiguration, server to client, is
        # answered with ReportEventConfiguration, client to server).
        fc = TYPE_CLUSTER | (0 if s2c else 0x08)
        return gbz.GBZComponent(c.cluster, fc, c.seq, cmd, resp), False

    def _default(self, c, command, status):
        # ZCL 2.5.12: the Default Response goes the other way; RTDS sets no DDR bit on it.
        fc = TYPE_GLOBAL if c.frame_control & 0x08 else TYPE_GLOBAL | 0x08
        return gbz.GBZComponent(c.cluster, fc, c.seq, DEFAULT_RESPONSE, bytes((command, status)))

    def _read(self, c, fault):
        """Read Attributes (ZCL 2.5.1) answered from the attribute table: a record per id,
        UNSUPPORTED_ATTRIBUTE for one the meter does not have."""
        p = c.payload
        if len(p) % 2:
            return self._default(c, READ_ATTRIBUTES, INVALID_FIELD)
        t = self.attrs
        out = bytearray()
        for j in range(0, len(p), 2):
            out += p[j:j + 2]
            row = t.find(c.cluster, p[j] | (p[j + 1] << 8))
            if fault is not None and fault[1] == j // 2:
                out.append(HARDWARE_FAILURE)
            elif row < 0:
                out.append(UNSUPPORTED_ATTRIBUTE)
            else:
                out += bytes((SUCCESS, t.type(row))) + t.raw(row)
        return gbz.GBZComponent(c.cluster, TYPE_GLOBAL | 0x08, c.seq, READ_ATTRIBUTES_RESPONSE,
                                bytes(out))

    def _run(self, c, fields, ctx, s2c):
        key = " %04x%s%02x:" % (c.cluster, "s" if s2c else "c", c.command)
        handlers = self.HANDLERS
        i = handlers.find(key)
        if i < 0:
            raise Failure(UNSUP_COMMAND)
        i += len(key)
        j = handlers.find(" ", i)
        name, _, at = handlers[i:j].partition("/")
        # What the command asks is checked before it runs or is kept for later: a command
        # refused at its time would already have been acknowledged.
        self.check(name, c, fields, ctx)
        if at and ctx.uc.response_time:
            t = c.from_date_time if at == "F" else fields[int(at)]
            if t is not None and self._schedule(c, t, ctx):
                # For later: only ChangePaymentMode answers more than SUCCESS meanwhile.
                if name == "payment_mode":
                    return self._handle("payment_mode_reply", c, fields, ctx)
                return None
        return self._handle(name, c, fields, ctx)

    def check(self, name, c, fields, ctx):
        """Raise Failure when the command (handler `name`, its fields) may not run for the
        command's sender or use case (ctx.msg); a role with such rules overrides."""

    def _handle(self, name, c, fields, ctx):
        """Run a handler: a method of the class (the frequent ones), else the `handle` of
        the module `handler_module` names, loaded once for the command (a tariff is a dozen
        components) and let go when it is done (`_finish`)."""
        fn = getattr(self, "_h_" + name, None)
        if fn is not None:
            return fn(c, fields, ctx)
        module = self.handler_module(name)
        mod = self._loaded.get(module)
        if mod is None:
            mod = self._loaded[module] = __import__(module, None, None, ("handle",))
        return mod.handle(self, name, c, fields, ctx)

    def _finish(self):
        """After a command or a due change: the tariff records a handler kept, then the
        handlers' modules let go."""
        if self._kept:
            rec = self.store.load("tariff") or {}
            rec.update(self._kept)
            self.store.save("tariff", rec)
            self._kept = None
        for module in [m for m in self._loaded if m not in self.KEEP_MODULES]:
            lazy.unload(module)
            del self._loaded[module]

    # -- future-dated commands (GBCS 7.2.10 / gbcs-notes 6) -------------------------------------
    def _schedule(self, c, t, ctx):
        """True when the component is for later: scheduled (a start time in the future) or
        cancelling (the "never" times) the one pending from the same use case."""
        msg = ctx.msg
        pending = self.state["pending"]
        if t in (NEVER_A, NEVER_B):
            for e in [e for e in pending if e[1] == msg.message_code and e[4] == c.cluster
                      and e[6] == c.command]:
                pending.remove(e)
            self._dirty = True
            return True
        if t == 0 or t + EPOCH_2000 <= ctx.now:
            return False
        if len(pending) >= MAX_PENDING:
            # No room: the command is refused (ZCL INSUFFICIENT_SPACE, a failed execution) -
            # never a pending one dropped, which its sender holds acknowledged (GBCS 7.2.10:
            # it runs at its time and is reported with 8F66 / 8F67).
            self.log("W", "future-dated command refused: %d pending" % len(pending))
            raise Failure(INSUFFICIENT_SPACE)
        self._dirty = True  # saved with the command
        pending.append([t + EPOCH_2000, msg.message_code, msg.counter,
                        "".join("%02x" % b for b in msg.originator), c.cluster,
                        c.frame_control, c.command, "".join("%02x" % b for b in c.payload),
                        c.from_date_time or 0])
        return True

    # -- payload encryption (GBCS 7.3.5) --------------------------------------------------------
    def _encrypt(self, ctx, plaintext):
        """A component's ZCL payload encrypted for the remote party the response is for: the
        supplementary remote party of the other-information if there is one, else the
        originator; an unknown remote party's key comes from its certificate in the command."""
        msg = ctx.msg
        info = msg.other_info
        if ctx.urp is None and len(info) > 26:
            ctx.urp = lazy.call("smets.devices.gbz_ext", "urp", (self, ctx), self.DROP)
        if ctx.urp is not None:
            z, counter, recipient = ctx.urp
        else:
            counter = msg.counter
            recipient = bytes(info[2:10]) if len(info) >= 10 else bytes(msg.originator)
            party = self.parties.get(recipient)
            if party is None or party.ka is None:
                raise Reject("bad_payload", "no key agreement key of %s" % recipient.hex())
            z = self.zcache.z(party.ka)
        return crypto.protect_payload(z, self.eui, counter, recipient, plaintext)

    # -- snapshot logs (ZSE Metering D.3 and Prepayment D.7 snapshots; GBCS 10.4.2) -----------
    def find_snapshots(self, earliest, latest, cause):
        """Snapshot records taken between two UTC times whose cause matches, oldest first."""
        out = []
        for log in (self.snaps, self.bills):
            for i in range(len(log)):
                e = log.entry(i)
                t = utc(e[0])
                if earliest <= t <= latest and (e[1] & cause):
                    out.append(e)
        out.sort(key=lambda e: e[0])
        return out

    # -- Metering handlers -----------------------------------------------------------------------
    def _h_snapshot(self, c, f, ctx):
        """GetSnapshot (ZSE D.3.2.3.1.7): the snapshot at SnapshotOffset among those taken in
        the window whose cause matches (offset 0: the oldest, as the RTDS answers);
        PublishSnapshot with the block/tier payload (type 6), else NOT_FOUND."""
        found = self.find_snapshots(f[0], f[1], f[3])
        if f[2] >= len(found):
            raise Failure(NOT_FOUND)
        e = found[f[2]]
        sub = bytearray()
        sub += e[3].to_bytes(6, "little") + b"\x04"
        for v in e[4:8]:
            sub += v.to_bytes(6, "little")
        sub += b"\x14"  # one tier and four block thresholds' registers in use
        for v in e[8:12]:
            sub += v.to_bytes(6, "little")
        return 0x06, secmd.encode(_METERING, True, 0x06, [e[2], utc(e[0]), len(found), 0, 1,
                                                      e[1] & f[3], 6, bytes(sub)])

    def _h_prepay_snapshot(self, c, f, ctx):
        """GetPrepaySnapshot (ZSE D.7.2.4.7): as GetSnapshot, the Prepayment payload (type 0:
        accumulated debt, the three debt registers, emergency credit, credit)."""
        found = self.find_snapshots(f[0], f[1], f[3])
        if f[2] >= len(found):
            raise Failure(NOT_FOUND)
        e = found[f[2]]
        sub = struct.pack("<i3Iii", *e[12:18])
        return 0x01, secmd.encode(_PREPAYMENT, True, 0x01, [e[2], utc(e[0]), len(found), 0, 1,
                                                        e[1] & f[3], 0, sub])

    # -- alerts / time ---------------------------------------------------------------------------
    def alert_content(self, counter, alert_code, now, fields):
        """A GBZ alert (GBCS 7.2.9): profile, component count, alert code, UTC time, then the
        alert's data (future-dated outcome, integrity code, encrypted components)."""
        if callable(fields):
            fields = fields(counter)
        data = bytes(fields) if fields else b""
        head = b"\x01\x09" + (b"\x01" if data else b"\x00") + alert_code.to_bytes(2, "big")
        return head + utc(now).to_bytes(4, "big") + data

    def date_time(self, now):
        return date_time(now)
