"""Electricity Smart Metering Equipment (ESME): a DLMS/COSEM meter behind the GBCS pipeline.

The object model and the use cases are data (`esme_model`, compiled into `esme_image`): every
attribute is an A-XDR value in a `cosem.AttrStore`, and a use case is a row saying which remote
parties may send it, whether it is critical, whether the response carries the device date-time
and which ACCESS-Request specs it must carry. GET, SET and ACTION work generically on the store;
the few hooks below give behaviour where it matters: registers, balances and the clock come from
the device state (registers advance with `power_w` on the device clock), profiles and logs are
read from fixed-size rings filled as the clock passes period boundaries, activation date-times
schedule future-dated changes (GBCS 8F66 alerts when they take effect), Data protection objects
encrypt what they return (GBCS payload encryption), and the load switch runs its scripts.
"""

try:
    from micropython import const
except ImportError:  # CPython

    def const(x):  # type: ignore[misc]  # CPython has no micropython.const
        return x


from smets import cosem, devlog, lazy
from smets.codec import civil_from_days
from smets.cosem import (
    ACTION,
    GET,
    GET_WITH_SELECTION,
    OTHER_REASON,
    SET,
    COSEMError,
    DataAccessError,
    dlen,
    integer,
    octets,
    skip,
    structure,
)
from smets.devices.gbcsdev import GBCSDevice, Reject, _hex
from smets.gbcs import crypto, usecases
from smets.gbcs.usecases import FLAG_ASN1, FLAG_POLYPHASE, FLAG_TWIN
from smets.han import PROFILE_SE
from smets.logbook import Logbook

FIRMWARE_ID = b"\x00\x01\x00\x00"  # ECS52: four-byte firmware version identifier (0.1.0)
MODEL_VERSION = const(5)  # esme_model.VERSION the hooks below are numbered for

# Hooks (indices into esme_model.HOOKS): computed GETs, checked SETs, method behaviour.
H_CLOCK = const(1)
H_REGS = const(2)
H_TOU = const(3)
H_TOUB = const(4)
H_PWR = const(5)
H_PP = const(6)
H_BAL = const(7)
H_DCOUT = const(8)
H_DCSTATE = const(9)
H_LOG = const(10)
H_MPAN = const(11)
H_ACT = const(12)
H_LS = const(13)
H_DP = const(14)
H_ADJ = const(15)
H_ZERO = const(16)
H_CLR = const(17)
H_TOPUP = const(18)
H_EC = const(19)
H_PAS = const(20)
H_ANY = const(21)
H_ALCS = const(22)
H_CLKSET = const(23)


# Disconnect control (IC 70) control_state.
DISCONNECTED = const(0)
CONNECTED = const(1)
READY_FOR_RECONNECTION = const(2)

# Scripts of the disconnect script table 0-0-10-0-106-255 (GBCS ECS42/43/44).
SCRIPT_CLOSE = const(51)
SCRIPT_OPEN = const(52)
SCRIPT_ARM = const(54)

EVENT_LOG_SIZE = const(100)
HH_PROFILE_SIZE = const(96)  # two days of half-hours
DAILY_LOG_SIZE = const(31)
BILLING_LOG_SIZE = const(13)
MAX_PENDING = const(32)  # future-dated activations waiting
MAX_PROFILE_BYTES = const(3000)  # largest profile/log answer (the newest entries are kept)
_HH = const(1800)
_DAY = const(86400)
_CATCH_UP = const(3456000)  # 40 days: clock jumps beyond are accrued without captures
_SAVE_EVERY = const(300)  # seconds of device time a read may leave the state unsaved

# Event log codes: GBCS codes where GBCS has one (8F32 Supply Armed), else codes from the
# emulator's own range F0xx (GBCS Table 16.2 has no plain "supply enabled").
EVENT_SUPPLY_ARMED = const(0x8F32)
EVENT_SUPPLY_ENABLED = const(0xF001)
EVENT_SUPPLY_DISABLED = const(0xF002)
EVENT_SUPPLY_ENABLED_LOCALLY = const(0xF003)
EVENT_MPAN_SET = const(0xF010)
EVENT_EXPORT_MPAN_SET = const(0xF011)
EVENT_CREDIT_ADDED = const(0x810E)  # GBCS: credit added locally / remotely

MSG_FUTURE_DATED_ALERT = const(0x00CC)
MSG_COMMAND_NOT_SUPPORTED = const(0x0120)  # ECS100
ALERT_COMMAND_NOT_SUPPORTED = const(0x8F85)
MSG_BILLING_DATA_LOG_ALERT = const(0x0061)  # ECS68
ALERT_BILLING_DATA_LOG = const(0x8F0A)
ALERT_FUTURE_DATED_EXECUTED = const(0x8F66)

# Prepayment: the emulator charges a flat unit rate (1e-5 currency units per kWh) while the
# account is in prepayment mode; a UTRN top-up adds the UTRN's value (esme_ext.top_up).
UNIT_RATE = const(20000)

_KEY_MPAN_IMPORT = b"\x00\x01\x00\x00\x5e\x2c\x22\x0b\x02"
_KEY_MPAN_EXPORT = b"\x00\x01\x01\x00\x00\x00\x02\xff\x02"
_KEY_DEVICE_ID = b"\x00\x01\x00\x00\x60\x01\x01\xff\x02"
_KEY_FIRMWARE = b"\x00\x01\x00\x00\x00\x02\x01\xff\x02"
_KEY_PAYMENT_MODE = b"\x00\x6f\x00\x00\x13\x00\x00\xff\x02"
_KEY_EC_LIMIT = b"\x00\x70\x00\x00\x13\x0a\x01\xff\x09"
_KEY_BILLING_CALENDAR = b"\x00\x16\x00\x00\x0f\x00\x00\xff\x04"
_KEY_BILLING_LOG = b"\x00\x07\x00\x00\x62\x01\x00\xff\x02"
_JOINS = (0x000D, 0x000E, 0x000F, 0x0010, 0x0013)  # CS03A1, CS03B, CS04AC, CS04B, CS07: joins
_TYPE1 = (devlog.PPMID, devlog.HCALCS)  # joined devices whose commands esme_han takes
_TYPE_CLUSTER = const(1)  # ZCL frame type of a cluster-specific command (ZCL 2.4.1.1.1)
_CS06 = const(0x0012)  # Activate Firmware: esme_fw
# What esme_han loads for a Type 1 device's frame (PPMID and HCALCS commands, the key
# agreement), dropped with it.
_HAN_MODULES = ("smets.zcl.drlc", "smets.zcl.ppmid", "smets.devices.keyest")
_MODEL = None  # (keys, hooks, use cases, activation rules) from esme_image
# The SE clusters the meter serves its Type 2 devices (smets.devices.esme_se):
# smets.zcl.se.CONSUMER_SERVERS, restated so that this resident module does not load zcl.se
# (a core test holds the two equal).
_SE_CLUSTERS = (0x0000, 0x0700, 0x0702, 0x0703, 0x0705, 0x0708)


def _mpan(v):
    # MPANs are 13 ASCII digits, or 26 for a twin-element meter (primary || secondary).
    p = dlen(v, 1)[1]
    d = v[p:]
    if len(d) not in (13, 26) or not all(0x30 <= c <= 0x39 for c in d):
        raise DataAccessError(OTHER_REASON)


class ESME(GBCSDevice):
    ROLE = "ESME"
    # ... and the meter's: state and registers, attribute values, logs and profiles, pending
    # security credential updates.
    RECORDS = GBCSDevice.RECORDS + ("esme", "attrs", "attrkeys", "events", "hh", "daily",
                                    "bills", "cs02b", "cs02g", "devlog", "fwimage", "fwact")
    # The joins the meter takes (GBCS 13.7): as Method A initiator with a PPMID or an HCALCS,
    # by Method B with a Type 2 device (IHD, CAD).
    JOINS = {devlog.METHOD_A_INITIATOR: (devlog.HCALCS, devlog.PPMID),
             devlog.METHOD_B: (devlog.TYPE2,)}

    @classmethod
    def validate(cls, identity, init=None):
        GBCSDevice.validate(identity, init)
        _call("validate", init or {})  # provisioning only: the checks live in esme_ext

    def __init__(self, identity, store, now, log=None, fresh=False, init=None):
        GBCSDevice.__init__(self, identity, store, now, log, fresh, init)
        _call("load_model", self, fresh)
        state = None if fresh else store.load("esme")
        created = state is None
        if state is None:
            state = _call("create", self, init or {})  # first start: esme_ext
        for key, v in (("credit", 0), ("debit_ws", 0), ("ec_credit", 0), ("hh_ws", 0),
                       ("hh_vars", 0), ("day_ws", 0), ("pending", []), ("variant", "single")):
            state.setdefault(key, v)
        self.state = state
        self.twin = twin = state["variant"] == "twin"
        if twin:
            for key in ("power2_w", "import2_ws", "hh2_ws"):
                state.setdefault(key, 0)
        self.events = Logbook(store, "events", ">IH", EVENT_LOG_SIZE)
        self.device_log = devlog.DeviceLog(store)
        if fresh and init and init.get("device_log"):
            _call("fill", self.device_log, init["device_log"], module="joins")
        # A twin-element meter's records carry the second element's import (the last field).
        self.hh = Logbook(store, "hh", ">IIII" if twin else ">III", HH_PROFILE_SIZE,
                          autosave=False)
        self.daily = Logbook(store, "daily", ">IIIiI" if twin else ">IIIi", DAILY_LOG_SIZE,
                             autosave=False)
        self.bills = Logbook(store, "bills", ">IIiI" if twin else ">IIi", BILLING_LOG_SIZE,
                             autosave=False)
        self.to_push = []  # billing times whose ECS68 alert is due
        self._bill_slot = self.attrs.slot(_KEY_BILLING_CALENDAR)
        # Consumption restarts from the stored registers at boot: a meter measures nothing
        # while it has no power.
        self._t = now
        self._saved = now
        self.dlms_faults = 0
        self.dlms_fault_after = 0
        self.dlms_fault_code = 0  # an ASN.1 use case's response code for an injected failure
        self.alerts_out = []  # alerts a bench operation made (firmware distribution receipt)
        self.han_out = []  # HAN frames a command made (to an HCALCS), sent by the next tick
        if created:
            self._save()  # the variant and starting registers outlive a restart
        # Method A partners whose key is not agreed yet are asked again after a restart.
        self._ke_due = None
        for eui, _t in self.device_log.entries():
            e = self.device_log.entry(eui)
            if e[1] == devlog.METHOD_A_INITIATOR and not e[2] & devlog.FLAG_KEY:
                self._ke_due = now

    # -- the object model --------------------------------------------------------------------
    def _save_attrs(self):
        self.store.save_parts("attrs", self.attrs.parts(self.sig))

    def _sibling(self, slot, attr):
        """Slot of another attribute (or method, 0x80 | id) of the same object, or -1."""
        return self.attrs.slot(self.attrs.key(slot)[:8] + bytes((attr,)))

    def attribute(self, class_id, obis, attr):
        """Current A-XDR value of an attribute (bench and tests), or None."""
        s = self.attrs.slot(class_id.to_bytes(2, "big") + bytes(obis) + bytes((attr,)))
        return None if s < 0 else self._get(s, None, 0, None)

    # -- consumption and captures -------------------------------------------------------------
    def _prepayment(self):
        a = self.attrs
        return a.get(a.slot(_KEY_PAYMENT_MODE))[3] == 2

    def balance(self):
        s = self.state
        b = s["credit"] - s["debit_ws"] * UNIT_RATE // 3600000
        # Held in a double-long (and the daily log's int32): clamped, never wrapped.
        return -0x80000000 if b < -0x80000000 else 0x7FFFFFFF if b > 0x7FFFFFFF else b

    def advance(self, now):
        t = self._t
        if now <= t:
            self._t = max(t, now) if now == t else now
            return
        s = self.state
        on = s["control_state"] == CONNECTED
        p = s["power_w"] if on else 0
        q = s["reactive_var"] if on else 0
        # The second element of a twin meter (its own circuit, e.g. storage heating).
        p2 = s["power2_w"] if on and self.twin else 0
        prepay = self._prepayment()
        if now - t > _CATCH_UP:
            # A long clock jump: accrue without captures up to a day boundary near the end.
            skip_to = (now - _CATCH_UP) // _DAY * _DAY
            if skip_to > t:
                self._accrue(p * (skip_to - t), q * (skip_to - t), p2 * (skip_to - t), prepay)
                s["hh_ws"] = s["hh_vars"] = s["day_ws"] = 0
                if self.twin:
                    s["hh2_ws"] = 0
                t = self._t = skip_to
        captured = False
        while t < now:
            nb = (t // _HH + 1) * _HH
            end = min(nb, now)
            self._accrue(p * (end - t), q * (end - t), p2 * (end - t), prepay)
            # Accrued up to here: a capture below that fails must not accrue it again.
            t = self._t = end
            if end == nb:
                captured = True
                rec = (nb, s["hh_ws"] // 3600 & 0xFFFFFFFF, s["hh_vars"] // 3600 & 0xFFFFFFFF)
                wh2 = ()
                if self.twin:
                    rec += (s["hh2_ws"] // 3600 & 0xFFFFFFFF,)
                    s["hh2_ws"] = 0
                    wh2 = (s["import2_ws"] // 3600 & 0xFFFFFFFF,)
                self.hh.append(*rec)
                s["hh_ws"] = s["hh_vars"] = 0
                if nb % _DAY == 0:
                    wh = s["import_ws"] // 3600 & 0xFFFFFFFF
                    self.daily.append(nb, wh, s["day_ws"] // 3600 & 0xFFFFFFFF,
                                      self.balance(), *wh2)
                    s["day_ws"] = 0
                    if self._billing_day(nb):
                        # Billing calendar: a billing data log entry, pushed to the supplier
                        # (ECS68 alert, sent by the next device tick).
                        self.bills.append(nb, wh, self.balance(), *wh2)
                        self.bills.save()
                        self.to_push.append(nb)
        self._t = now
        if captured:
            self.hh.save()
            self.daily.save()
            self._save()

    def _billing_day(self, t):
        """Whether the billing calendar (0-0:15.0.0 execution_time) has an entry at midnight
        of `t`'s day (date fields FF are wildcards; GBCS billing runs at 00:00)."""
        y, m, d = civil_from_days(t // _DAY)
        dow = (t // _DAY + 3) % 7 + 1
        v = self.attrs.get(self._bill_slot)
        n, p = dlen(v, 1)
        for _ in range(n):
            # structure{octet-string(4) time, octet-string(5) date}
            tm = v[p + 4:p + 8]
            dt = v[p + 10:p + 15]
            p = skip(v, p)
            if tm[0] not in (0, 0xFF) or tm[1] not in (0, 0xFF):
                continue
            yy = (dt[0] << 8) | dt[1]
            if yy in (0xFFFF, y) and dt[2] in (0xFF, m) and dt[3] in (0xFF, d) \
                    and dt[4] in (0xFF, dow):
                return True
        return False

    def _accrue(self, e, r, e2, prepay):
        s = self.state
        s["import_ws"] += e
        s["reactive_vars"] += r
        s["hh_ws"] += e
        s["hh_vars"] += r
        s["day_ws"] += e
        if e2:
            s["import2_ws"] += e2
            s["hh2_ws"] += e2
        if prepay:
            s["debit_ws"] += e + e2

    def _save(self):
        self.store.save_often("esme", self.state)  # after most commands: two slots, in place
        self._saved = self._t

    def schedule_credentials(self, name, when, code, msg):
        # One pending update per use case family (slot -1 CS02b, -2 CS02g), run by
        # esme_ext.credentials_due among the future-dated activations.
        slot = -2 if name == "cs02g" else -1
        pending = self.state["pending"]
        for e in [e for e in pending if e[1] == slot]:
            pending.remove(e)
        if when is not None:
            pending.append([when, slot, code, msg.counter, _hex(msg.originator)])
        self._save()

    def _event(self, now, code):
        self.events.append(now & 0xFFFFFFFF, code)
        self.log("I", "event %04X" % code)

    # -- GBCS use cases ----------------------------------------------------------------------
    def execute(self, uc, msg, ctx):
        flags = self.USE_CASES.rows[uc.template + 3]
        if flags & (FLAG_TWIN | FLAG_POLYPHASE) and not flags & (
                FLAG_TWIN if self.twin else FLAG_POLYPHASE if self.state["variant"] ==
                "polyphase" else 0):
            # A use case of another meter variant (a second element, phases 2 and 3).
            return _call("unsupported", self, msg, ctx)
        if flags & FLAG_ASN1:
            if msg.message_code in _JOINS:
                # The device log (GBCS 13.7): who may talk to the meter on the HAN.
                return _call("execute", self, uc, msg, ctx, module="joins")
            if msg.message_code == _CS06:
                return _call("execute", self, uc, msg, ctx, module="esme_fw")
            return self.execute_credentials(uc, msg, ctx)
        c = bytes(msg.content)
        try:
            invoke, specs, slots, words = cosem.request_slots(self.attrs, c)
        except (COSEMError, IndexError) as exc:
            raise Reject("bad_payload", "%s: %s" % (uc.name, exc))
        self._check_template(uc, words, specs, c)
        self.advance(ctx.now)
        self._dirty = False
        data, results = cosem.execute_items(self, specs, slots, c, ctx)
        if self._dirty:
            self._save_attrs()
        # The state (registers, credit, switch) goes to flash after anything that may change
        # it; a read only saves when the registers have run on for a while since the last save.
        # (Class 30, data protection, method 1 get_protected_attributes is a read: ECS17b.)
        if any(s[0] != GET and s[0] != GET_WITH_SELECTION and s[1][:2] != b"\x00\x1e"
               for s in specs) or ctx.now - self._saved >= _SAVE_EVERY:
            self._save()
        return cosem.response(invoke, data, results)

    def _check_template(self, uc, words, specs, c):
        why = usecases.template_error(self.USE_CASES.rows, uc, words, specs, c, ACTION)
        if why is not None:
            raise Reject("bad_payload", why)

    def do_item(self, kind, slot, c, sel, dpos, ctx):
        if kind == GET:
            return self._get(slot, None, 0, ctx)
        if kind == GET_WITH_SELECTION:
            if c[sel] != 1:
                raise DataAccessError(OTHER_REASON)  # GBCS uses range descriptors only
            return self._get(slot, c, sel + 1, ctx)
        if kind == SET:
            self._set(slot, c[dpos:skip(c, dpos)], ctx)
            return None
        if kind == ACTION:
            return self._action(slot, c, dpos, ctx)
        raise DataAccessError(cosem.OBJECT_UNAVAILABLE)

    # -- GET ----------------------------------------------------------------------------------
    def _get(self, slot, buf, p, ctx):
        h = self.hooks[slot]
        if h == 0 or h > H_LOG:
            return self.attrs.get(slot)
        s = self.state
        if h == H_LOG:
            return _call("profile", self, slot, buf, p)
        if h == H_CLOCK:
            return octets(cosem.date_time(self._t))
        if h == H_BAL:
            return integer(cosem.DOUBLE_LONG, self.balance())
        if h == H_DCOUT:
            return b"\x03\xff" if s["control_state"] == CONNECTED else b"\x03\x00"
        if h == H_DCSTATE:
            return integer(cosem.ENUM, s["control_state"])
        wh = s["import_ws"] // 3600 & 0xFFFFFFFF
        u32 = cosem.DOUBLE_LONG_UNSIGNED
        # The second element's import register of a twin meter (GBCS: ECS17b, ECS17d).
        wh2 = s["import2_ws"] // 3600 & 0xFFFFFFFF if self.twin else 0
        if h == H_REGS:
            regs = (integer(u32, wh), b"\x02\x02\x0f\x00\x16\x1e",
                    integer(u32, s["reactive_vars"] // 3600 & 0xFFFFFFFF),
                    b"\x02\x02\x0f\x00\x16\x20")
            if self.twin:
                regs += (integer(u32, wh2),)
            return structure(regs)
        if h == H_TOU or h == H_TOUB:
            # Every unit so far was charged at the first rate (single-rate consumption model).
            n = 48 if h == H_TOU else 64
            tou = b"\x01" + cosem.elen(n) + integer(u32, wh) + integer(u32, 0) * (n - 1)
            if self.twin and h == H_TOU:
                # structure{primary TOU registers [48], secondary TOU registers [4]}
                return b"\x02\x02" + tou + b"\x01\x04" + integer(u32, wh2) + integer(u32, 0) * 3
            return b"\x02\x01" + tou
        if h == H_PWR:
            on = s["control_state"] == CONNECTED
            return structure((integer(u32, s["power_w"] if on else 0), b"\x02\x02\x0f\x00\x16\x1b",
                              integer(u32, s["reactive_var"] if on else 0)))
        if h == H_PP:
            i32 = cosem.DOUBLE_LONG
            return structure((integer(i32, self.balance()), integer(i32, s["ec_credit"]))
                             + (b"\x05\x00\x00\x00\x00",) * 4)
        return self.attrs.get(slot)

    # -- SET ----------------------------------------------------------------------------------
    def _set(self, slot, v, ctx):
        a = self.attrs
        h = self.hooks[slot]
        if h != H_ANY:
            r = cosem.shape(a.get(slot), 0, v, 0)
            if r is None or r[1] != len(v):
                raise DataAccessError(cosem.TYPE_UNMATCHED)
        if h == H_MPAN:
            _mpan(v)
            self._event(ctx.now, EVENT_MPAN_SET if a.key(slot) == _KEY_MPAN_IMPORT
                        else EVENT_EXPORT_MPAN_SET)
        elif h == H_ACT:
            _call("activation", self, slot, v[2:], ctx)
        a.put(slot, v)
        self._dirty = True

    # -- ACTION -------------------------------------------------------------------------------
    def _action(self, slot, c, p, ctx):
        h = self.hooks[slot]
        if h == 0:
            return None
        if h == H_DP:
            return self._get_protected(slot, c, p, ctx)
        if h == H_LS or h == H_ALCS:
            if c[p] != cosem.LONG_UNSIGNED:
                raise DataAccessError(cosem.TYPE_UNMATCHED)
            script = (c[p + 1] << 8) | c[p + 2]
            if h == H_LS:
                self._load_switch(script, ctx.now)
            else:
                # Auxiliary load control switches (ECS47): a HAN-connected one is told.
                _call("run_script", self, script, ctx.now, module="esme_han")
        else:
            _call("method", self, h, slot, c, p, ctx)
        return None

    def _load_switch(self, script, now):
        s = self.state
        before = s["control_state"]
        if script == SCRIPT_CLOSE:
            s["control_state"] = CONNECTED
        elif script == SCRIPT_OPEN:
            s["control_state"] = DISCONNECTED
        elif script == SCRIPT_ARM:
            # Arming only matters when the supply is off: the consumer then closes it locally.
            if before == DISCONNECTED:
                s["control_state"] = READY_FOR_RECONNECTION
        else:
            raise DataAccessError(OTHER_REASON)
        after = s["control_state"]
        if after != before:
            self._event(now, EVENT_SUPPLY_ARMED if after == READY_FOR_RECONNECTION else
                        EVENT_SUPPLY_DISABLED if after == DISCONNECTED else EVENT_SUPPLY_ENABLED)

    def button(self, now):
        # The consumer's supply button (runtime/app.py logs what it did).
        return "load switch closed" if self.press_button(now) else "no change"

    def press_button(self, now):
        """The consumer presses the supply button: an armed load switch closes."""
        self.advance(now)
        if self.state["control_state"] == READY_FOR_RECONNECTION:
            self.state["control_state"] = CONNECTED
            self._event(now, EVENT_SUPPLY_ENABLED_LOCALLY)
            self._save()
            return True
        return False

    def _get_protected(self, slot, c, p, ctx):
        """Data protection get_protected_attributes (IC 30 m1): the listed attributes,
        encrypted for the requester (GBCS payload encryption)."""
        try:
            return self._protected(slot, c, p, ctx)
        except IndexError:
            raise Reject("bad_payload", "get_protected_attributes parameters truncated")

    def _protected(self, slot, c, p, ctx):
        allowed = self.attrs.get(slot)
        if c[p:p + 3] != b"\x02\x02\x01":
            raise Reject("bad_payload", "get_protected_attributes parameters")
        n, p = dlen(c, p + 3)
        values = []
        for _ in range(n):
            # structure{class, logical name, attribute, data index, access selection}
            if c[p:p + 3] != b"\x02\x05\x12" or c[p + 18:p + 21] != b"\x02\x02\x16":
                raise Reject("bad_payload", "get_protected_attributes request")
            key = c[p + 3:p + 5] + c[p + 7:p + 13] + c[p + 14:p + 15]
            i = allowed.find(key)
            while i > 0 and i % 9:
                i = allowed.find(key, i + 1)
            if i < 0:
                raise DataAccessError(cosem.OBJECT_UNAVAILABLE)
            sel = c[p + 21]
            values.append(self._get(self.attrs.slot(key), c if sel else None, p + 22, ctx))
            p = skip(c, p + 22)
        if c[p:p + 2] != b"\x01\x01":
            raise DataAccessError(OTHER_REASON)
        q = p + 2
        end = skip(c, q)
        msg = ctx.msg
        # The requested protection must name this command (transaction id = 04 || originator
        # counter) and this device; anything else is a malformed command.
        if c[q:q + 8] != b"\x02\x02\x16\x02\x02\x05\x09\x09" or c[q + 17:q + 19] != b"\x09\x08" \
                or c[q + 27:q + 29] != b"\x09\x08" \
                or c[q + 8:q + 17] != b"\x04" + msg.counter.to_bytes(8, "big") \
                or c[q + 29:q + 37] != self.eui:
            raise Reject("bad_payload", "protection parameters do not match the command")
        recipient = msg.originator
        if len(msg.other_info) >= 10:
            recipient = bytes(msg.other_info[2:10])
        if len(msg.other_info) > 26:
            # An unknown remote party: its key agreement certificate is in the command, and
            # the encryption uses a fresh counter of the device's own (GBCS notes 1.3).
            z, counter = self.urp_key(ctx)
        else:
            z, counter = ctx.z(), msg.counter
        protected = crypto.protect_payload(z, self.eui, counter, recipient, structure(values))
        # The protection the device applies: the requested one, titles from this device.
        return b"".join((b"\x02\x02\x01\x01", c[q:q + 19], self.eui, b"\x09\x08",
                         msg.originator, c[q + 37:end], octets(protected)))

    # -- alerts / time -----------------------------------------------------------------------
    def alert_content(self, counter, alert_code, now, fields):
        return cosem.alert_notification(counter, alert_code, now, fields)

    def date_time(self, now):
        return cosem.date_time(now)

    # -- the HAN side: the meter's Type 1 devices (smets.devices.esme_han) and the ZigBee SE
    # server for its Type 2 devices and its PPMID's reads (smets.devices.esme_se) ----------
    _se = None  # made on the first frame from a Type 2 device

    def han_joined(self, eui):
        """The device type of a device the meter's device log holds, or None (GBCS 13.7)."""
        return self.device_log.joined(eui)

    def on_cluster(self, aps, zcl, now):
        if aps.profile != PROFILE_SE:
            return []  # not ZCL (ZDO service discovery is the hub's)
        if aps.cluster == 0x0800 or zcl.frame_type == _TYPE_CLUSTER and \
                self.device_log.joined(aps.src_eui) in _TYPE1:
            # A joined PPMID's prepayment commands, an HCALCS's load control frames, the
            # key establishment of a Method A join; the rest (reads: a PPMID's every minute)
            # goes to the SE server without loading esme_han.
            out = _call("on_frame", self, aps, zcl, now, module="esme_han")
            if out is not None:
                return out
        if aps.cluster not in _SE_CLUSTERS:
            return None  # Default Response UNSUPPORTED_CLUSTER, whoever asks
        return self.se_server(now).on_zcl(aps, zcl, now)

    def se_server(self, now):
        if self._se is None:
            import gc

            gc.collect()  # the server's lasting objects low in a clean heap, not among garbage
            from smets.devices import esme_se

            # The meter answers Type 2 devices in its device log only (CS03B joins them):
            # `han_joined(eui)` is that check where the ESME keeps the log.
            self._se = esme_se.server(self, now, getattr(self, "han_joined", None))
        return self._se

    def on_joined(self, eui, dtype, method, now):
        if method == devlog.METHOD_A_INITIATOR:
            self._ke_due = now  # agree a key with the new partner (smets.devices.keyest)

    def tick(self, now):
        if self._ke_due is not None and now >= self._ke_due:
            self._ke_due = _call("key_establishment", self, now, module="esme_han")
        out = GBCSDevice.tick(self, now)
        if self.han_out:
            out.extend(self.han_out)  # frames made by a command (ECS47 to an HCALCS)
            self.han_out = []
        if self._se is not None:
            out.extend(self._se.tick(now))
        return out

    def device_tick(self, now):
        self.advance(now)
        out = []
        pending = self.state["pending"]
        if pending and min(e[0] for e in pending) <= now:
            out = _call("due", self, now)
        while self.to_push:
            alert = _call("billing_alert", self, self.to_push.pop(0))
            if alert:
                out.append(alert)
        if self.alerts_out:
            out.extend(self.alerts_out)
            self.alerts_out = []
        return out

    def shutdown(self, now):
        # Registers and profiles run on in RAM between saves: an orderly stop keeps them.
        self.advance(now)
        self._save()
        for log in (self.hh, self.daily, self.bills):
            log.save()
        GBCSDevice.shutdown(self, now)

    def next_due(self, now):
        due = GBCSDevice.next_due(self, now)
        if self.han_out or self.alerts_out:
            return now
        if self._ke_due is not None:
            due = self._ke_due if due is None else min(due, self._ke_due)
        nb = (max(now, self._t) // _HH + 1) * _HH
        for e in self.state["pending"]:
            nb = min(nb, e[0])
        if self._se is not None:
            nb = min(nb, self._se.next_due(now) or nb)
        return nb if due is None else min(due, nb)

    # -- bench -------------------------------------------------------------------------------
    def status(self, now):
        self.advance(now)
        st = GBCSDevice.status(self, now)
        s = self.state
        st["import_wh"] = s["import_ws"] // 3600
        st["reactive_varh"] = s["reactive_vars"] // 3600
        st["power_w"] = s["power_w"]
        st["control_state"] = s["control_state"]
        st["balance"] = self.balance()
        st["pending"] = len(s["pending"])
        st["joined"] = len(self.device_log)
        st["variant"] = s["variant"]
        if self.twin:
            st["import2_wh"] = s["import2_ws"] // 3600
        v = self.attrs.get(self.attrs.slot(_KEY_MPAN_IMPORT))
        st["mpan_import"] = bytes(v[2:]).decode()
        if self._se is not None:
            st["han"] = self._se.status()
        return st

    def control(self, op, req, now):
        if op in ("set_load", "button", "fault_dlms", "events", "attribute", "device_log",
                  "firmware_image", "alert", "top_up"):
            return _call("control", self, op, req, now)
        return GBCSDevice.control(self, op, req, now)


def _call(name, *args, module="esme_ext"):
    """Run a function of the ESME's rarely used code (esme_ext; the joins and the firmware
    activation with the DER codec and certificate parser they import) and drop the modules
    again."""
    drop = ()
    if module == "joins":
        drop = ("smets.gbcs.cert", "smets.gbcs.asn1")
    elif module == "esme_fw":
        drop = ("smets.gbcs.asn1",)
    elif module == "esme_han":
        drop = _HAN_MODULES
    # A module that does not fit the heap gets the room of the parties' verification tables
    # (they load again from flash at their next use).
    dev = args[0] if args else None
    spare = dev.drop_tables if getattr(dev, "parties", None) else None
    return lazy.call("smets.devices." + module, name, args, drop, spare)
