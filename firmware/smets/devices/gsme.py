"""Gas Smart Metering Equipment (GSME): a sleepy ZigBee SE meter behind the GBCS pipeline.

The cluster model and the use cases are data (`gsme_model`, compiled into `gsme_image`): every
attribute of the meter's Basic, Metering, Price, Prepayment and Device Management clusters is a
ZCL value in one `smets.zcl.attrs.AttrTable`, and a use case is a row saying who may send it,
whether it is critical, and which GBZ components (GBCS 7.2.2) its command carries in which
order. A command's GBZ payload is checked against its row, then each component runs: Read
Attributes is answered from the table, and each cluster-specific command has a handler (the
`_HANDLERS` table below maps ZSE command ids to methods). Every component gets one response
component: a Read Attributes Response, the ZSE response command, or a Default Response with the
ZCL status; after an execution failure the rest are answered "FAILURE" (as the DCC RTDS ERROR
responses show). Components the row marks are encrypted for the remote party (GBCS 7.3.5).

The meter itself: gas flows at `flow_lph` while the valve is open, summing into the volume,
TOU tier and block registers on the device clock; snapshots are taken at midnight UTC (daily
read log, cause General, GBCS 10.4.2.1), at the end of each billing period and on a change of
tariff, supplier or payment mode; half-hour consumption is profiled; prepayment credit is
spent and debt recovered; future-dated commands run at their time and are reported with an 8F66
alert (message code 0x00CD). The GSME is battery powered and sleepy (GBCS 7.2, 10.3): it polls
the hub with tunnel GETs when it wakes - every WAKE_S on its own schedule, when the consumer
presses its button, and when it has an alert to send - until the hub says nothing is left,
and at the end of each wake-up (the hub's mailbox emptied, so what the commands changed is
in) it reports its registers to the Gas Proxy Function's mirror on the hub (ZSE D.3
mirroring: RequestMirror, then Report Attributes and PublishSnapshot to the mirror).
"""

try:
    from micropython import const
except ImportError:  # CPython

    def const(x):  # type: ignore[misc]  # CPython has no micropython.const
        return x



from smets import lazy
from smets.devices.gbzdev import (  # noqa: F401 - Failure and utc are this module's API too
    EPOCH_2000,
    NEVER_A,
    NEVER_B,
    SNAPSHOT_FORMAT,
    Failure,
    GBZDevice,
    utc,
)
from smets.gbcs import usecases
from smets.han import ApsFrame
from smets.logbook import Logbook
from smets.zcl import secmd
from smets.zcl.attrs import REPORTABLE, AttrTable
from smets.zcl.frame import (
    DEFAULT_RESPONSE,
    INVALID_FIELD,
    NOT_AUTHORIZED,
    NOT_FOUND,
    REPORT_ATTRIBUTES,
    TYPE_CLUSTER,
    TYPE_GLOBAL,
    ZCLError,
    ZCLFrame,
)
from smets.zcl.se import (  # noqa: F401 - the clusters are this module's API too
    BASIC,
    CALENDAR,
    DEVICE_MANAGEMENT,
    EVENTS,
    MESSAGING,
    METERING,
    PREPAYMENT,
    PRICE,
)

MODEL_VERSION = const(1)  # gsme_model.VERSION this code is written for
FIRMWARE_ID = b"\x00\x01\x00\x00"  # Metering CurrentMeterID: the firmware version (GCS38)

# Wake-up interval of the sleepy GSME: it updates the GPF "typically once every 30 minutes"
# (SEC modification SECMP0015, which gives the GSME's own clock time to that update) and must
# take its midnight snapshot to the GPF before the next scheduled wake (GBCS 10.4.2.1).
WAKE_S = const(1800)
# smets.devlog's join methods and device types (not imported: a sleepy meter loads the log
# only when asked).
_METHOD_B = const(2)
_METHOD_C = const(3)
_GPF = const(3)
_PPMID = const(5)
_TYPE2 = const(6)
DAY_S = const(86400)
HH_S = const(1800)
_CATCH_UP = const(3456000)  # 40 days: a longer clock jump accrues without captures


# Metering SupplyStatus (ZSE D.3.2.2.2.20) as a gas valve has it.
SUPPLY_OFF = const(0)
SUPPLY_ARMED = const(1)
SUPPLY_ON = const(2)
# The only GBCS use cases that carry ChangeSupply to a GSME, each with its one proposed supply
# status: GCS32 "Remotely close valve" (0x0081: off) and GCS39 "Arm valve" (0x0085: armed;
# the RTDS 7.2 / 7.3 commands). No use case opens the valve remotely: for gas safety the
# consumer opens an armed valve at the meter (SMETS2 GSME: supply armed, then enabled by
# consumer interaction; `button`).
_MSG_VALVE_CLOSE = const(0x0081)
_MSG_VALVE_ARM = const(0x0085)

# Snapshot causes (ZSE D.3.2.3.1.?: SnapshotCause bitmap).
CAUSE_GENERAL = const(0x0001)
CAUSE_BILLING = const(0x0002)
CAUSE_TARIFF = const(0x0008)
CAUSE_TENANCY = const(0x1000)
CAUSE_SUPPLIER = const(0x2000)
CAUSE_MODE = const(0x4000)

# Alerts and event codes (GBCS Table 16.2 names, gbcs-parser util.ts).
MSG_FUTURE_DATED_ALERT = const(0x00CD)
MSG_BILLING_ALERT = const(0x008B)  # GCS53
ALERT_FUTURE_DATED_EXECUTED = const(0x8F66)
ALERT_FUTURE_DATED_NOT_EXECUTED = const(0x8F67)
ALERT_BILLING_DATA_LOG = const(0x8F0A)
EVENT_SUPPLY_ARMED = const(0x8F32)
EVENT_CREDIT_ADDED_LOCALLY = const(0x810E)
EVENT_EC_ACTIVATED = const(0x81AB)
EVENT_UTRN_NOT_AUTHENTIC = const(0x8F63)
EVENT_EVENT_LOG_CLEARED = const(0x8F52)
EVENT_SUPPLY_ENABLED = const(0xF001)  # the emulator's own range: GBCS has no plain code
EVENT_SUPPLY_DISABLED = const(0xF002)
EVENT_SUPPLY_ENABLED_LOCALLY = const(0xF003)
EVENT_SITE_ID_SET = const(0xF010)
LOG_GENERAL = const(0x03)  # ZSE Events log ids: general event log
LOG_SECURITY = const(0x04)

# PaymentControlConfiguration bit 1: prepayment enabled (ZSE D.7.2.2.1); GBCS 0x0C97 / 0x0C94.
_PREPAYMENT_ENABLED = const(0x0002)
CREDIT_PER_PENNY = const(1000)  # credit attributes count thousandths of a penny (RTDS CS01b)

SNAPSHOT_LOG_SIZE = const(31)  # daily read log: 31 days (GBCS GCS16a/b read 31)
BILLING_LOG_SIZE = const(12)  # billing data log: 12 entries (GCS15b/c read 12)
HH_LOG_SIZE = const(100)  # half-hour profile kept on the board (two days)
TOPUP_LOG_SIZE = const(5)  # GBCS: the last five top-ups (GCS15e)
EVENT_LOG_SIZE = const(100)
DEBT_LOG_SIZE = const(20)
SAMPLE_LOG_SIZE = const(64)  # a network data sampling session (GCS31 / GCS18)

# Handlers: "<cluster><c|s><command>:<method>" (c client to server, s server to client), and
# where the command names an activation time, the index of that field ("F": the GBZ component's
# from-date-time, GBCS 7.2.10). A str constant: one find() per component, flash on a board.
_HANDLERS = (
    " 0702c06:snapshot 0702c07:start_sampling 0702c08:sampled 0702c0b:change_supply/3"
    " 0702c0c:local_supply 0702c0d:supply_state 0702c0e:flow_threshold"
    " 0705c00:select_ec 0705c02:change_debt 0705c03:ec_setup/1 0705c04:top_up"
    " 0705c05:credit_adjust 0705c06:payment_mode/2 0705c07:prepay_snapshot 0705c08:top_up_log"
    " 0705c09:low_credit/F 0705c0a:debt_log 0705c0b:max_credit/2 0705c0c:debt_cap/2"
    " 0700s01:block_period 0700s02:conversion/1 0700s03:calorific/1 0700s04:tariff/3"
    " 0700s05:price_matrix/2 0700s06:thresholds/2 0700s09:billing_period"
    " 0700c06:tariff_get 0700c07:tariff_get 0700c08:tariff_get 0700c0b:billing_get"
    " 0707s00:calendar/3 0707s01:calendar 0707s02:calendar 0707s03:calendar 0707s04:calendar/3"
    " 0707c00:calendar_get 0707c01:calendar_get 0707c02:calendar_get 0707c03:calendar_get"
    " 0707c04:calendar_get"
    " 0703s00:message 0708s00:tenancy/3 0708s01:supplier/4 0708s02:password 0708s03:site_id"
    " 0708s04:event_config 0708s05:event_config_get 0708s06:cin"
    " 0709c00:event_log 0709c01:clear_log "
)
# Rarely used handlers: run from gsme_ext (their code is loaded for the call).
_EXT_HANDLERS = ("tariff_get", "billing_get", "calendar_get", "event_config",
                 "event_config_get", "event_log", "clear_log", "debt_log", "top_up_log",
                 "start_sampling")
_MODEL = None  # (index, default values, use-case Table, clusters) from gsme_image


def _call(name, *args):
    """A function of the GSME's rarely used code (gsme_ext), loaded for the call with the
    codecs only it uses (ASN.1, certificates, UTRNs)."""
    return lazy.call("smets.devices.gsme_ext", name, args, GBZDevice.DROP)
# The configuration commands' module: loaded at the first of them and kept (importing it for
# each command leaves holes in a small heap; its code is ~3 KB).
_CFG = "smets.devices.gsme_cfg"


def _model():
    """The shared model tables (gsme_image: a few bytes constants), loaded once; the module
    itself is let go."""
    global _MODEL
    if _MODEL is None:
        from smets.devices import gsme_image as im

        if im.VERSION != MODEL_VERSION:
            raise ValueError("gsme_image %d, firmware expects %d" % (im.VERSION, MODEL_VERSION))
        _MODEL = (im.INDEX, im.DEFAULTS, usecases.Table(im.USE_CASES), im.CLUSTERS)
        del im
        lazy.unload("smets.devices.gsme_image")
    return _MODEL


class GSME(GBZDevice):
    ROLE = "GSME"
    SLEEPY = True
    POLL_S = WAKE_S
    HANDLERS = _HANDLERS
    EXT_MODULE = "smets.devices.gsme_ext"
    KEEP_MODULES = (_CFG,)
    STATE_RECORD = "gsme"
    RECORDS = GBZDevice.RECORDS + ("gsme", "zattrs", "snaps", "bills", "hh", "topups",
                                    "events", "debtlog", "samples", "tariff", "evcfg",
                                    "devlog")

    # The joins the meter takes (GBCS 13.7, smets.devices.joins): a Type 2 device by Method B
    # (the RTDS CS03B joins its Type 2 device 00db12345678909c with device type 3, and
    # refuses a PPMID that way: response 2), a PPMID by Method C (its certificate).
    JOINS = {_METHOD_B: (_GPF, _TYPE2), _METHOD_C: (_PPMID,)}

    @classmethod
    def validate(cls, identity, init=None):
        GBZDevice.validate(identity, init)
        _call("validate_init", init or {})

    @property
    def device_log(self):
        """The HAN device log (GBCS 13.7, smets.devlog), read from flash when asked (the joins,
        CS07, a frame of a HAN partner other than the hub): a sleepy meter keeps no copy."""
        from smets.devlog import DeviceLog

        return DeviceLog(self.store)

    def han_joined(self, eui):
        """The device type of a device the meter's device log holds, or None."""
        return self.device_log.joined(eui)

    def __init__(self, identity, store, now, log=None, fresh=False, init=None):
        init = init or {}
        GBZDevice.__init__(self, identity, store, now, log, fresh, init)
        # The long-lived buffers first, while no transient code sits in the heap: the model
        # tables, the attribute values, the state and the logs.
        index, defaults, self.USE_CASES, self.CLUSTERS = _model()
        self.attrs = AttrTable(index, defaults)
        state = self._load_saved(fresh)
        if state is None:
            # The wake-up interval may be given at provisioning (a bench that wants a faster
            # or slower GSME); kept in the state, so a restart wakes at the same interval.
            state = {"t": now, "flow": 0, "frac": 0, "hh": 0, "day": 0, "period": 0,
                     "pending": [], "snap_id": 0, "utrn": [],
                     "wake_s": int(init.get("wake_s", WAKE_S))}
            fresh = True
        self.state = state
        self.POLL_S = self.tunnel.poll_s = state.get("wake_s", WAKE_S)
        self.stats["mirror_refused"] = 0  # RequestMirrorResponses not from the hub
        self.snaps = Logbook(store, "snaps", SNAPSHOT_FORMAT, SNAPSHOT_LOG_SIZE)
        self.bills = Logbook(store, "bills", SNAPSHOT_FORMAT, BILLING_LOG_SIZE)
        self.hh = Logbook(store, "hh", ">II", HH_LOG_SIZE, autosave=False)
        self.topups = Logbook(store, "topups", ">Ii20s", TOPUP_LOG_SIZE)
        self.events = Logbook(store, "events", ">IHB", EVENT_LOG_SIZE)
        self.debts = Logbook(store, "debtlog", ">IIBI", DEBT_LOG_SIZE)
        self.samples = Logbook(store, "samples", ">II", SAMPLE_LOG_SIZE)
        self._dirty = False
        if fresh:
            _call("world", self, now, init)
        self.to_push = []  # billing snapshots to push (GCS53) at the next tick
        self._mirror_seen = 0  # daily snapshot ids already pushed to the mirror
        self._drained = 0  # the tunnel's wake-ups the mirror has been updated for
        self.mirror_frames = 0  # frames sent into the mirror since the start

    # -- the model ---------------------------------------------------------------------------
    def handler_module(self, name):
        return self.EXT_MODULE if name in _EXT_HANDLERS else _CFG

    def get(self, cluster, attr_id):
        return self.attrs.value(cluster, attr_id)

    def put(self, cluster, attr_id, value):
        self.put_all(((cluster, attr_id, value),))

    def add(self, cluster, attr_id, delta, lo=None, hi=None):
        v = self.attrs.value(cluster, attr_id) + delta
        if lo is not None and v < lo:
            v = lo
        if hi is not None and v > hi:
            v = hi
        self.attrs.set(cluster, attr_id, v)
        self._dirty = True
        return v

    def _event(self, now, code, log_id=LOG_GENERAL):
        self.events.append(now & 0xFFFFFFFF, code, log_id)
        self.log("I", "event %04X" % code)

    def check(self, name, c, fields, ctx):
        """The valve rule (before the command runs or is kept for later): a remote command
        may close the valve (GCS32) or arm it (GCS39), never open it - ZCL NOT_AUTHORIZED;
        a status other than its use case's is INVALID_FIELD."""
        if name != "change_supply":
            return
        proposed = fields[4]
        code = ctx.msg.message_code
        if proposed == SUPPLY_ON:
            self.log("W", "a remote command may not open the valve (%04X)" % code)
            raise Failure(NOT_AUTHORIZED)
        if proposed != (SUPPLY_OFF if code == _MSG_VALVE_CLOSE else
                        SUPPLY_ARMED if code == _MSG_VALVE_ARM else -1):
            raise Failure(INVALID_FIELD)

    def prepayment(self):
        return bool(self.get(PREPAYMENT, 0x0000) & _PREPAYMENT_ENABLED)

    # -- gas flow, registers, captures ---------------------------------------------------------
    def advance(self, now):
        """Run the meter from its last time to `now`: consumption, profiles, snapshots."""
        s = self.state
        t = s["t"]
        if now <= t:
            if now < t:
                s["t"] = now  # a clock set back: nothing is measured twice
            return
        if now - t > _CATCH_UP:
            # A long jump: the registers accrue, the logs keep the last 40 days only.
            skip_to = (now - _CATCH_UP) // DAY_S * DAY_S
            if skip_to > t:
                self._accrue(t, skip_to)
                t = s["t"] = skip_to
        captured = False
        while t < now:
            nb = (t // HH_S + 1) * HH_S
            end = min(nb, now)
            self._accrue(t, end)
            t = s["t"] = end
            if end == nb:
                captured = True
                self.hh.append(nb & 0xFFFFFFFF, s["hh"])
                s["hh"] = 0
                if nb % DAY_S == 0:
                    self._midnight(nb)
        if s.get("session"):
            self._sample(now)
        if captured:
            self.hh.save()
            self._save()


    def _accrue(self, t0, t1):
        """Gas used between t0 and t1 (the valve open), in litres (the register unit with
        the model's divisor of 1000 m3), into every register it counts in."""
        s = self.state
        if self.get(METERING, 0x0014) != SUPPLY_ON or not s["flow"]:
            return
        litres = s["flow"] * (t1 - t0) + s["frac"]
        s["frac"] = litres % 3600
        litres //= 3600
        if not litres:
            return
        s["hh"] += litres
        s["day"] += litres
        s["period"] += litres
        a = self.attrs
        for attr in (0x0000, 0x0100 + 2 * (self._tier(t1) - 1), 0x0700 + self._block()):
            a.set(METERING, attr, (a.value(METERING, attr) + litres) & 0xFFFFFFFFFFFF)
        # CurrentDayConsumptionDelivered (ZSE D.3.2.2.5): today's gas so far, for the IHD.
        a.set(METERING, 0x0401, min(s["day"], 0xFFFFFF))
        if self.prepayment():
            # Charged at the price of the block in use (NoTierBlockNPrice, thousandths of a
            # penny per m3 x 1000 / 1000): the meter balance goes down, then emergency credit.
            price = a.value(PRICE, 0x0400 + self._block())
            cost = (litres * price) // 1000
            credit = a.value(PREPAYMENT, 0x0001) - cost
            if credit < 0 and a.value(PREPAYMENT, 0x0002) > 0:
                ec = a.value(PREPAYMENT, 0x0002) + credit
                credit = 0
                if ec < 0:
                    credit, ec = ec, 0
                a.set(PREPAYMENT, 0x0002, ec)
            a.set(PREPAYMENT, 0x0001, max(-0x80000000, credit))
            if credit <= 0 and a.value(PREPAYMENT, 0x0002) <= 0:
                # Out of credit: the valve closes (SMETS disablement threshold 0).
                a.set(METERING, 0x0014, SUPPLY_OFF)
                self._event(t1, EVENT_SUPPLY_DISABLED)

    def _tier(self, now):
        """The TOU tier in force (1-4): the tariff calendar's, else tier 1."""
        tier = self.state.get("tier")
        return tier if tier else 1

    def _block(self):
        """The price block (0-3) the volume of this block period has reached."""
        used = self.state["period"]
        n = 0
        for i in range(3):
            th = self.get(PRICE, 0x0100 + i)
            if th and used >= th:
                n = i + 1
        return n


    # -- snapshots -----------------------------------------------------------------------------
    def snapshot(self, t, cause):
        """Take a snapshot of the registers (ZSE D.3 / D.7 snapshots: one record holds the
        Metering and the Prepayment payloads)."""
        a = self.attrs
        s = self.state
        m = [a.value(METERING, x) & 0xFFFFFFFF for x in (0x0000, 0x0100, 0x0102, 0x0104,
                                                         0x0106, 0x0700, 0x0701, 0x0702,
                                                         0x0703)]
        p = [a.value(PREPAYMENT, x) for x in (0x0005, 0x0211, 0x0221, 0x0231, 0x0002, 0x0001)]
        log = self.snaps if cause == CAUSE_GENERAL else self.bills
        log.append(t & 0xFFFFFFFF, cause, s["snap_id"], *(m + p))
        s["snap_id"] += 1

    def _h_sampled(self, c, f, ctx):
        """GetSampledData (ZSE D.3.2.3.1.9). Sample id 0 is the half-hour consumption profile,
        addressed by time: the NumberOfSamples periods from EarliestSampleTime (a span the log
        holds nothing of is NOT_FOUND, RTDS GCS17). A sampling session (GCS31) is addressed by
        its id: its first NumberOfSamples samples at or after EarliestSampleTime (GCS18)."""
        sid, earliest, stype, n = f
        lo = earliest + EPOCH_2000
        if sid == 0:
            log, interval = self.hh, HH_S
            hi = lo + n * interval
        elif sid == self.state.get("session", [None])[0]:
            interval = self.state["session"][2]
            log, hi = self.samples, 1 << 40
        else:
            raise Failure(NOT_FOUND)
        first = None
        samples = []
        for i in range(len(log)):
            e = log.entry(i)
            if lo <= e[0] < hi and len(samples) < n:
                if first is None:
                    first = e[0]
                samples.append((min(e[1], 0xFFFFFF),))
        if first is None:
            raise Failure(NOT_FOUND)
        return 0x07, secmd.encode(METERING, True, 0x07, [sid, utc(first), stype, interval,
                                                      len(samples), samples])

    # -- Prepayment handlers ------------------------------------------------------------------
    def _h_top_up(self, c, f, ctx):
        """ConsumerTopUp (GBCS CS01b, and PCS01 from a PPMID): the UTRN checked (GBCS 14),
        its value credited; ConsumerTopUpResponse (ZSE D.7.2.5.3: 0 accepted, 1 rejected as
        invalid, 2 as a duplicate)."""
        return 0x03, _call("top_up", self, f, ctx)

    # -- HAN: the mirror on the GPF, the button --------------------------------------------------


    def _due(self, now):
        try:
            return _call("due", self, now)
        finally:
            self._finish()


    # -- time-driven work, the mirror, the button, the status ------------------------------
    def _sample(self, now):
        """A sampling session (GCS31) samples the consumption every interval, up to its
        number of samples."""
        s = self.state
        _sid, t0, interval, n = s["session"]
        k = len(self.samples)
        at = t0 + k * interval
        while k < n and at <= now:
            vol = self.get(METERING, 0x0000)
            self.samples.append(at & 0xFFFFFFFF, max(0, vol - s.get("sampled", vol)))
            s["sampled"] = vol
            k += 1
            at += interval

    def _midnight(self, t):
        """Midnight UTC: the daily read log snapshot (GBCS 10.4.2.1: cause General), the
        day's consumption, daily debt recovery and the billing period's end."""
        s = self.state
        a = self.attrs
        a.set(METERING, 0x0403, min(s["day"], 0xFFFFFF))
        a.set(METERING, 0x0401, 0)
        s["day"] = 0
        self._recover_debts(t)
        self.snapshot(t, CAUSE_GENERAL)
        end = self._billing_end(t)
        if end:
            self.snapshot(t, CAUSE_BILLING)
            self.to_push.append(self.state["snap_id"] - 1)
            a.set(PRICE, 0x0602, a.value(PRICE, 0x0600))
            a.set(PRICE, 0x0600, utc(t))
            s["period"] = 0

    def _billing_end(self, t):
        """Whether a billing period ends at midnight t (PublishBillingPeriod: start, duration
        and its unit, ZSE D.4.2.4.10 duration type low nibble 0 minutes, 1 days, 2 weeks,
        3 months; GBCS default monthly)."""
        start = self.get(PRICE, 0x0600) + EPOCH_2000
        dur = self.get(PRICE, 0x0601) or 1
        unit = self.get(PRICE, 0x0604) & 0x0F
        if t <= start:
            return False
        if unit == 3:
            from smets.codec import civil_from_days

            y0, m0, d0 = civil_from_days(start // DAY_S)
            y, m, d = civil_from_days(t // DAY_S)
            months = (y - y0) * 12 + m - m0
            return d == d0 and months > 0 and months % dur == 0 and t % DAY_S == start % DAY_S
        step = dur * (60, DAY_S, 7 * DAY_S)[unit] if unit < 3 else DAY_S
        return (t - start) % step == 0

    def _recover_debts(self, t):
        """Time-based debts (1 and 2) are recovered once a day from the meter balance
        (DebtRecoveryFrequency 1 = daily; GBCS SMETS2 time debt registers)."""
        if not self.prepayment():
            return
        for base in (0x0210, 0x0220):
            debt = self.get(PREPAYMENT, base + 1)
            rate = self.get(PREPAYMENT, base + 7)
            if debt and rate:
                take = min(debt, rate)
                self.attrs.set(PREPAYMENT, base + 1, debt - take)
                self.add(PREPAYMENT, 0x0001, -take, -0x80000000)
                self.debts.append(t & 0xFFFFFFFF, take, 1 if base == 0x0210 else 3,
                                  debt - take)

    def _report(self, now):
        """The wake-up update of the GPF mirror (ZSE D.3.4 mirroring; GBCS 10.4): Report
        Attributes of every attribute the model marks reported, cluster by cluster, and the
        daily read log snapshots the mirror has not had (GBCS 10.4.2.1: PublishSnapshot)."""
        m = self.state.get("mirror")
        if not m:
            return [self._to_mirror(METERING, ZCLFrame(0x01, b"", server_to_client=True,
                                                     disable_default_response=True), 1, None)]
        self.advance(now)
        self.attrs.set(METERING, 0x0007, utc(now))  # ReadingSnapShotTime (SECMP0015)
        out = []
        t = self.attrs
        for cluster in (BASIC, METERING, PRICE, PREPAYMENT):
            rows = list(t.rows(cluster, REPORTABLE))
            while rows:
                part, rows = rows[:24], rows[24:]
                data = b"".join(
                    bytes((t.key(r)[1] & 0xFF, t.key(r)[1] >> 8, t.type(r))) + t.raw(r)
                    for r in part)
                zcl = ZCLFrame(REPORT_ATTRIBUTES, data, frame_type=TYPE_GLOBAL,
                               server_to_client=True, disable_default_response=True)
                out.append(self._to_mirror(cluster, zcl, m[0], m[1]))
        last = self.state.get("pushed", -1)
        for i in range(len(self.snaps)):
            e = self.snaps.entry(i)
            if e[2] <= last:
                continue
            for cluster, fn in ((METERING, self._h_snapshot), (PREPAYMENT,
                                                               self._h_prepay_snapshot)):
                cmd, payload = fn(None, [utc(e[0]), utc(e[0]), 0, CAUSE_GENERAL], None)
                zcl = ZCLFrame(cmd, payload, server_to_client=True,
                               disable_default_response=True)
                out.append(self._to_mirror(cluster, zcl, m[0], m[1]))
            self.state["pushed"] = e[2]
        self.mirror_frames += len(out)
        return out

    def _to_mirror(self, cluster, zcl, ep, eui_hex):
        zcl.seq = self.next_zcl_seq()
        dst = bytes.fromhex(eui_hex) if eui_hex else self.hub_eui
        return ApsFrame(self.eui, dst, cluster, zcl.to_bytes(), dst_ep=ep)

    def on_cluster(self, aps, zcl, now):
        if aps.cluster == METERING and zcl.frame_type == TYPE_CLUSTER \
                and not zcl.server_to_client and zcl.command == 0x01:
            # RequestMirrorResponse (ZSE D.3.4.2.3.2): the mirror's endpoint on the hub.
            try:
                ep = secmd.decode(METERING, False, 0x01, zcl.payload)[0]
            except ZCLError:
                return []
            if bytes(aps.src_eui) != self.hub_eui:
                # The GPF's mirror is on the hub (ZSE D.3.4: the ESI answers RequestMirror):
                # another device's answer would send the meter's data elsewhere.
                self.stats["mirror_refused"] += 1
                self.log("W", "RequestMirrorResponse from %s, not the hub" %
                         bytes(aps.src_eui).hex())
                return []
            if ep == 0xFFFF:
                self.log("W", "the hub has no mirror for this meter")
                return []
            self.state["mirror"] = [ep, aps.src_eui.hex()]
            self._save()
            self.log("I", "mirror on %s endpoint %d" % (aps.src_eui.hex(), ep))
            return self._report(now)
        if zcl.frame_type == TYPE_GLOBAL and zcl.command == DEFAULT_RESPONSE:
            p = zcl.payload
            if len(p) == 2 and p[1] and p[0] in (REPORT_ATTRIBUTES, 0x06, 0x01) \
                    and bytes(aps.src_eui) == self.hub_eui and self.state.get("mirror"):
                # The mirror refused a report or snapshot (the GPF started afresh, or the
                # mirror is not this meter's): the next wake-up asks for a mirror again.
                self.log("W", "the mirror refused a report (status %02X)" % p[1])
                self.state["mirror"] = None
                self._save()
            return []
        return None

    def button(self, now):
        """The consumer's button: wakes the meter; an armed valve opens (SMETS2: the consumer
        re-enables an armed supply)."""
        self.advance(now)
        self.tunnel.wake()
        if self.get(METERING, 0x0014) == SUPPLY_ARMED:
            self.attrs.set(METERING, 0x0014, SUPPLY_ON)
            self._event(now, EVENT_SUPPLY_ENABLED_LOCALLY)
            self._save()
            return "valve opened; awake"
        return "awake"

    def status(self, now):
        self.advance(now)
        st = GBZDevice.status(self, now)
        st["volume"] = self.get(METERING, 0x0000)
        st["supply"] = ("off", "armed", "on")[min(2, self.get(METERING, 0x0014))]
        st["credit"] = self.get(PREPAYMENT, 0x0001)
        st["prepayment"] = self.prepayment()
        st["flow_lph"] = self.state["flow"]
        st["pending"] = len(self.state["pending"])
        st["mirror"] = self.state.get("mirror")
        st["mirror_frames"] = self.mirror_frames
        st["polls"] = self.tunnel.gets
        st["last_poll"] = self.tunnel.last_poll
        st["wake_s"] = self.POLL_S
        if self.state.get("message"):
            st["message"] = self.state["message"]
        return st

    # -- alerts / time ---------------------------------------------------------------------------

    def tick(self, now):
        out = GBZDevice.tick(self, now)
        if self.tunnel.drained != self._drained:
            # A wake-up's messages are done (the hub's mailbox is empty): the mirror's update
            # goes before the meter sleeps, so the GPF has what the commands changed.
            self._drained = self.tunnel.drained
            out.extend(self._report(now))
        return out

    def device_tick(self, now):
        self.advance(now)
        out, self.to_alert = self.to_alert, []
        if self.state["pending"] and min(e[0] for e in self.state["pending"]) <= now:
            out += self._due(now)
        while self.to_push:
            alert = _call("billing_alert", self, self.to_push.pop(0))
            if alert:
                out.append(alert)
        if out:
            self.tunnel.wake()  # a sleepy meter wakes to send its alerts
        return out

    def next_due(self, now):
        if self.tunnel.drained != self._drained:
            return now  # the mirror's update is due
        due = GBZDevice.next_due(self, now)
        nb = (max(now, self.state["t"]) // HH_S + 1) * HH_S
        for e in self.state["pending"]:
            nb = min(nb, e[0])
        return nb if due is None else min(due, nb)

    def shutdown(self, now):
        self.advance(now)
        self._save()
        self.hh.save()
        GBZDevice.shutdown(self, now)

    # -- bench --------------------------------------------------------------------------------

    def control(self, op, req, now):
        if op in ("set_flow", "button", "events", "alert", "wake", "top_up"):
            return _call("control", self, op, req, now)
        return GBZDevice.control(self, op, req, now)
