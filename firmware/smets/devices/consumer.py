"""A consumer device on the HAN (a GBCS Type 2 device): what the IHD and the CAD share.

It finds the meters (ZDO Match Descriptor for the Metering server cluster, answered by the
Communications Hub's discovery cache; or the EUI-64s given at provisioning), reads their ZigBee
SE clusters (Metering, Price, Prepayment, Device Management), asks for the current price and
the last supplier message, configures attribute reporting of the fast-moving values (power,
registers, credit) so that a change reaches it within a second, and keeps what it learnt per
meter. The electricity meter (the ESME) and the gas meter's mirror (on the GPF) look alike on
the HAN: MeteringDeviceType (0 electric, 1 gas; +128 mirrored) says which fuel a meter is.

What it keeps is bounded whatever the HAN sends (any device can put any source EUI-64 and any
attribute id in a frame): the meters given at provisioning, and those its own discovery found
(an answer that echoes its last Match_Desc_req's TSN, ZigBee 2.4.2.8), at most MAX_METERS; of
each meter only the attributes it reads (_FAST, _SLOW). Frames from anyone else, unasked-for
discovery answers and other attributes are dropped and counted ("strays", "unwanted").

A meter that stops answering (or never answers: it has not joined this device, GBCS CS03B) is
reported as not responding after STALE_POLLS polls. Values are kept as the meter sends them and
converted on demand (`fuel(kind)`): energy in Wh, power in W, money in 10^-5 GBP (the price
trailing digit of the meter's Price cluster), gas volume in litres. Sans-IO: APS frames in,
APS frames out; `version` counts changes, for the IHD's screen and the CAD's publications.
"""

try:
    from micropython import const
except ImportError:  # CPython

    def const(x):  # type: ignore[misc]  # CPython has no micropython.const
        return x


from smets import zdo
from smets.codec import civil_from_days, decode_text
from smets.devices.handev import HANDevice
from smets.han import PROFILE_SE, ApsFrame
from smets.zcl import foundation, se, types
from smets.zcl.endpoint import Attribute, Cluster, Endpoint
from smets.zcl.foundation import ReportingConfig
from smets.zcl.frame import (
    CONFIGURE_REPORTING,
    DEFAULT_RESPONSE,
    READ_ATTRIBUTES,
    READ_ATTRIBUTES_RESPONSE,
    REPORT_ATTRIBUTES,
    SUCCESS,
    TYPE_CLUSTER,
    TYPE_GLOBAL,
    ZCLError,
    ZCLFrame,
)

DEFAULT_POLL_S = const(10)
DISCOVER_S = const(15)
STALE_POLLS = const(3)
SLOW_EVERY = const(6)  # polls between reads of what seldom changes (units, MPAN, supplier)
MAX_MESSAGES = const(4)
# Meters a consumer device keeps: an ESME (or the two elements of a twin one) and the gas
# meter's mirror, with room to spare; a home has no more.
MAX_METERS = const(4)
_MAX_FOUND = const(8)  # meters whose EUI-64 is asked for at once
UTC_2000 = const(946684800)
# Gas in kWh from m3 (GBCS / the Gas (Calculation of Thermal Energy) Regulations): volume x
# correction factor x calorific value (MJ/m3) / 3.6, where the meter gives no other.
GAS_CF = const(102264)  # 1.02264 x 10^5
GAS_CV = const(39500)  # 39.5 MJ/m3 x 10^3

# What is read every poll, and what only every SLOW_EVERY polls, per cluster.
_FAST = (
    (se.METERING, (se.M_SUMMATION_DELIVERED, se.M_SUMMATION_RECEIVED, se.M_SUPPLY_STATUS,
                   se.M_DEMAND, se.M_DAY, se.M_WEEK, se.M_MONTH)),
    (se.PREPAYMENT, (se.PP_CONTROL, se.PP_CREDIT, se.PP_EMERGENCY_CREDIT, se.PP_CREDIT_STATUS,
                     se.PP_DEBT)),
)
_SLOW = (
    (se.METERING, (se.M_UNIT, se.M_MULTIPLIER, se.M_DIVISOR, se.M_DEVICE_TYPE, se.M_SITE_ID,
                   se.M_SERIAL)),
    # ConversionFactor and CalorificValue with their trailing digits (gas, D.4.2.2.4)
    (se.PRICE, (se.P_STANDING_CHARGE, se.P_TRAILING_DIGIT, se.P_TIER1_BLOCK1_PRICE,
                0x0302, 0x0303, 0x0304, 0x0306)),
    (se.DEVICE_MANAGEMENT, (se.DM_PROVIDER_NAME,)),
)
# Reported on change (SE 1.4 5.7: a client may configure reporting on a meter's attributes):
# attribute, type, minimum s, maximum s, reportable change.
_REPORTS = (
    (se.METERING, (ReportingConfig(se.M_DEMAND, types.INT24, 1, 60, 1),
                   ReportingConfig(se.M_SUMMATION_DELIVERED, types.UINT48, 1, 300, 1),
                   ReportingConfig(se.M_SUPPLY_STATUS, types.ENUM8, 1, 600))),
    (se.PREPAYMENT, (ReportingConfig(se.PP_CREDIT, types.INT32, 1, 300, 1),)),
)


class Meter:
    """What a consumer device knows of one meter (ESME, or the GPF's gas mirror)."""

    __slots__ = ("eui", "short", "ep", "values", "price", "polls", "heard", "reporting",
                 "asked")

    def __init__(self, eui, short=0xFFFE, ep=1):
        self.eui = eui
        self.short = short
        self.ep = ep
        self.values = {}  # (cluster << 16) | attribute -> value
        self.price = None  # the last Publish Price (se.parse_publish_price)
        self.polls = 0  # polls since the meter last answered
        self.heard = None  # device time it last answered
        self.reporting = False  # Configure Reporting accepted
        self.asked = 0  # polls done

    def get(self, cluster, attr, default=None):
        return self.values.get((cluster << 16) | attr, default)

    @property
    def kind(self):
        t = self.get(se.METERING, se.M_DEVICE_TYPE)
        if t is None:
            return None
        return "gas" if t & 0x7F == se.DEVICE_GAS else "elec" if t & 0x7F == 0 else None

    @property
    def responding(self):
        return self.heard is not None and self.polls < STALE_POLLS


def _wanted(cluster, attr):
    """Whether a meter's attribute is one this device reads (and so keeps)."""
    for table in (_FAST, _SLOW):
        for c, attrs in table:
            if c == cluster and attr in attrs:
                return True
    return False


def _scaled(value, mult, div, factor=1000):
    """value x multiplier / divisor in thousandths of the unit (Wh from kWh, W from kW)."""
    if value is None:
        return None
    return value * mult * factor // (div or 1)


class ConsumerDevice(HANDevice):
    RECORDS = HANDevice.RECORDS + ("consumer",)
    POLL_S = DEFAULT_POLL_S

    @classmethod
    def validate(cls, identity, init=None):
        HANDevice.validate(identity, init)
        init = init or {}
        for eui in init.get("meters", ()):
            if not isinstance(eui, str) or len(bytes.fromhex(eui)) != 8:
                raise ValueError("init meters must be EUI-64s in hex, got %r" % (eui,))
        v = init.get("poll_s", DEFAULT_POLL_S)
        if not isinstance(v, int) or not 1 <= v <= 3600:
            raise ValueError("init poll_s must be 1..3600 s, got %r" % (v,))

    def __init__(self, identity, store, now, log=None, fresh=False, init=None):
        HANDevice.__init__(self, identity, store, now, log, fresh, init)
        cfg = None if fresh else store.load("consumer")
        if cfg is None:
            cfg = self.config_from(init or {})
            store.save("consumer", cfg)
        self.cfg = cfg
        self.poll_s = cfg.get("poll_s", DEFAULT_POLL_S)
        self.meters = {}
        for eui in cfg.get("meters", ()):
            self.meters[bytes.fromhex(eui)] = Meter(bytes.fromhex(eui))
        self._found = {}  # short address -> endpoint of meters whose EUI-64 is asked for
        self._disc_tsn = None  # the TSN of the last Match_Desc_req: answers echo it
        self.messages = []  # [message id, text, start (device time), meter eui, confirmed]
        self.version = 0
        self._next_poll = now
        self._next_discover = now
        self._polls = 0
        self._seen = None
        self.stats.update({"reads": 0, "reports": 0, "prices": 0, "messages": 0, "polls": 0,
                           "discover": 0, "strays": 0, "unwanted": 0})
        self.ep = Endpoint(1, (Cluster(se.BASIC, (
            Attribute(0x0000, types.UINT8, lambda: 8),
            Attribute(0x0004, types.CHAR_STRING, lambda: b"smetsbench"),
            Attribute(0x0005, types.CHAR_STRING, lambda: self.ROLE.encode()),
            Attribute(0x0007, types.ENUM8, lambda: 0x01),
        ), name="Basic"),))

    def config_from(self, init):
        """The device's stored configuration from provisioning values (roles add theirs)."""
        return {"meters": list(init.get("meters", ())),
                "poll_s": init.get("poll_s", DEFAULT_POLL_S)}

    def changed(self):
        self.version += 1

    def han_nwk_only(self, eui):
        """A Type 2 device holds no certificates and agrees no link key (GBCS Method B join):
        its Smart Energy frames, with a meter or the hub, carry NWK security only."""
        return True

    # -- frames in ----------------------------------------------------------------------------
    def on_han(self, aps, now):
        if aps.profile == zdo.PROFILE_ZDO:
            return self._zdo(aps, now)
        return HANDevice.on_han(self, aps, now)

    def _zdo(self, aps, now):
        if aps.cluster == zdo.IEEE_ADDR_RSP:
            return self._ieee_addr(aps, now)
        if aps.cluster != zdo.MATCH_DESC_RSP:
            return []
        try:
            tsn, status, short, endpoints = zdo.parse_match_desc_rsp(aps.payload)
        except zdo.ZDOError as exc:
            self.stats["zcl_errors"] += 1
            self.log("W", "bad Match_Desc_rsp: %s" % exc)
            return []
        if tsn != self._disc_tsn:
            self.stats["strays"] += 1  # not an answer to this device's discovery
            return []
        if status != zdo.SUCCESS or not endpoints:
            return []
        eui = bytes(aps.src_eui)
        if eui == self.hub_eui:
            # The hub's discovery cache answered on the air (the frame's source is the hub):
            # the meter is the NWKAddrOfInterest; its EUI-64 from the cache (ZigBee 2.4.3.1.2).
            for m in self.meters.values():
                if m.short == short:
                    m.ep = endpoints[0]
                    return []
            if len(self._found) >= _MAX_FOUND:
                self._found.clear()  # answers that never came: forget them
            self._found[short] = endpoints[0]
            return [ApsFrame(self.eui, self.hub_eui, zdo.IEEE_ADDR_REQ, zdo.ieee_addr_req(
                self.next_zcl_seq(), short), src_ep=zdo.ENDPOINT_ZDO, dst_ep=zdo.ENDPOINT_ZDO,
                dst_short=0x0000, profile=zdo.PROFILE_ZDO)]
        self._meter_found(eui, short, endpoints[0], now)
        return []

    def _ieee_addr(self, aps, now):
        try:
            _tsn, status, eui, short = zdo.parse_ieee_addr_rsp(aps.payload)
        except zdo.ZDOError as exc:
            self.stats["zcl_errors"] += 1
            self.log("W", "bad IEEE_addr_rsp: %s" % exc)
            return []
        ep = self._found.pop(short, None) if status == zdo.SUCCESS else None
        if ep is not None and bytes(aps.src_eui) == self.hub_eui:
            self._meter_found(eui, short, ep, now)
        return []

    def _meter_found(self, eui, short, ep, now):
        m = self.meters.get(eui)
        if m is None:
            if len(self.meters) >= MAX_METERS and not self._forget_a_meter():
                self.stats["strays"] += 1
                self.log("W", "meter %s not kept: %d meters already" % (eui.hex(),
                                                                         MAX_METERS))
                return
            m = self.meters[eui] = Meter(eui)
            self.log("I", "found meter %s" % eui.hex())
            self._next_poll = now  # read it at once
            self.changed()
        m.short = short
        m.ep = ep

    def _forget_a_meter(self):
        """Make room for a meter found now: forget one that discovery found but that never
        answered (a device that is no meter, or one that has not joined this device, GBCS
        CS03B; found again if it is). Meters given at provisioning, or that answered, stay.
        True when one was forgotten."""
        given = self.cfg.get("meters", ())
        for eui, m in self.meters.items():
            if m.heard is None and eui.hex() not in given:
                del self.meters[eui]
                return True
        return False

    def on_zcl(self, aps, zcl, now):
        if not zcl.server_to_client:
            # Someone reads this device (its Basic cluster).
            resp = self.ep.handle(aps.cluster, zcl, now)
            return [] if resp is None else [aps.reply(aps.cluster, resp.to_bytes())]
        m = self.meters.get(bytes(aps.src_eui))
        if m is None:
            self.stats["strays"] += 1  # not from a meter of ours
            return []
        first = m.heard is None
        m.heard = now
        m.polls = 0
        out = []
        try:
            if zcl.frame_type == TYPE_GLOBAL:
                self._global(m, aps.cluster, zcl, now)
            else:
                out = self._command(m, aps, zcl, now)
        except (ZCLError, ValueError, KeyError, IndexError) as exc:
            self.stats["zcl_errors"] += 1
            self.log("W", "bad frame from meter %s: %s" % (m.eui.hex(), exc))
        if first:
            out.extend(self._configure(m))  # the meter answers: subscribe at once
        return out

    def _global(self, m, cluster, zcl, now):
        cmd = zcl.command
        if cmd in (READ_ATTRIBUTES_RESPONSE, REPORT_ATTRIBUTES):
            self.stats["reads" if cmd == READ_ATTRIBUTES_RESPONSE else "reports"] += 1
            changed = False
            for r in foundation.decode(cmd, zcl.payload):
                if r.status != SUCCESS:
                    continue
                if not _wanted(cluster, r.id):
                    self.stats["unwanted"] += 1  # kept nowhere: no table grows with ids
                    continue
                key = (cluster << 16) | r.id
                if m.values.get(key) != r.value:
                    m.values[key] = r.value
                    changed = True
            if changed:
                self.changed()
        elif cmd == CONFIGURE_REPORTING + 1:
            recs = foundation.decode(cmd, zcl.payload)
            if recs and recs[0].status == SUCCESS and recs[0].attr_id is None:
                m.reporting = True
        elif cmd == DEFAULT_RESPONSE:
            command, status = foundation.decode(cmd, zcl.payload)
            if status != SUCCESS:
                self.log("D", "meter %s: %04x/%02x status %02x" % (
                    m.eui.hex(), cluster, command, status))

    def _command(self, m, aps, zcl, now):
        if aps.cluster == se.PRICE and zcl.command == se.PUBLISH_PRICE:
            m.price = se.parse_publish_price(zcl.payload)
            self.stats["prices"] += 1
            self.changed()
            # A new tariff: its standing charge and block prices are Price attributes.
            return [self._read(m, c, a) for c, a in _SLOW if c == se.PRICE]
        elif aps.cluster == se.MESSAGING and zcl.command == se.DISPLAY_MESSAGE:
            mid, control, _start, _dur, text = se.parse_display_message(zcl.payload)
            self.stats["messages"] += 1
            for msg in self.messages:
                if msg[0] == mid and msg[3] == m.eui:
                    return []
            self.messages.insert(0, [mid, decode_text(text), now, m.eui, not control & 0x80])
            del self.messages[MAX_MESSAGES:]
            self.changed()
        elif aps.cluster == se.MESSAGING and zcl.command == se.CANCEL_MESSAGE:
            mid = int.from_bytes(zcl.payload[:4], "little")
            self.messages = [x for x in self.messages if x[0] != mid]
            self.changed()
        elif zcl.wants_default_response():
            return [aps.reply(aps.cluster, zcl.default_response(0x81).to_bytes())]
        return []

    # -- frames out ---------------------------------------------------------------------------
    def _to(self, m, cluster, zcl):
        return ApsFrame(self.eui, m.eui, cluster, zcl.to_bytes(), src_ep=1, dst_ep=m.ep,
                        dst_short=m.short, profile=PROFILE_SE)

    def _read(self, m, cluster, attrs):
        return self._to(m, cluster, ZCLFrame(
            READ_ATTRIBUTES, foundation.encode(READ_ATTRIBUTES, attrs), frame_type=TYPE_GLOBAL,
            disable_default_response=True, seq=self.next_zcl_seq()))

    def _cmd(self, m, cluster, command, payload=b""):
        return self._to(m, cluster, ZCLFrame(command, payload, frame_type=TYPE_CLUSTER,
                                             seq=self.next_zcl_seq()))

    def confirm(self, msg, now):
        """Message Confirmation of a supplier message the consumer has seen (SE D.5.2.4.2)."""
        m = self.meters.get(msg[3])
        msg[4] = True
        self.changed()
        if m is None:
            return []
        return [self._cmd(m, se.MESSAGING, se.MESSAGE_CONFIRMATION,
                          se.message_confirmation(msg[0], (now - UTC_2000) & 0xFFFFFFFF))]

    def tick(self, now):
        out = []
        if now >= self._next_discover:
            self.stats["discover"] += 1
            # Until a meter answers, ask often; then now and again for meters added later.
            found = any(m.heard is not None for m in self.meters.values())
            self._next_discover = now + (DISCOVER_S * 20 if found else DISCOVER_S)
            self._disc_tsn = self.next_zcl_seq()
            out.append(ApsFrame(self.eui, self.hub_eui, zdo.MATCH_DESC_REQ, zdo.match_desc_req(
                self._disc_tsn, PROFILE_SE, (se.METERING,)), src_ep=zdo.ENDPOINT_ZDO,
                dst_ep=zdo.ENDPOINT_ZDO, dst_short=0x0000, profile=zdo.PROFILE_ZDO))
        if now >= self._next_poll and self.meters:
            self._next_poll = now + self.poll_s
            self.stats["polls"] += 1
            for m in self.meters.values():
                out.extend(self._poll(m))
        state = tuple(m.responding for m in self.meters.values())
        if state != self._seen:
            self._seen = state
            self.changed()
        return out

    def _poll(self, m):
        was = m.responding
        m.polls += 1
        if was != m.responding:
            self.log("W", "meter %s is not answering" % m.eui.hex())
        first = m.asked == 0 or m.heard is None
        out = []
        if first or m.asked % SLOW_EVERY == 0 or m.kind is None:
            out.extend(self._read(m, c, a) for c, a in _SLOW)
            out.append(self._cmd(m, se.PRICE, se.GET_CURRENT_PRICE, b"\x00"))
        if first:
            out.append(self._cmd(m, se.MESSAGING, se.GET_LAST_MESSAGE))
        if not m.reporting and m.heard is not None:
            out.extend(self._configure(m))  # again: the meter may have restarted
        out.extend(self._read(m, c, a) for c, a in _FAST)
        m.asked += 1
        return out

    def _configure(self, m):
        return [self._to(m, c, ZCLFrame(
            CONFIGURE_REPORTING, foundation.encode(CONFIGURE_REPORTING, configs),
            frame_type=TYPE_GLOBAL, disable_default_response=True, seq=self.next_zcl_seq()))
            for c, configs in _REPORTS]

    def next_due(self, now):
        return min(self._next_poll if self.meters else self._next_discover,
                   self._next_discover)

    # -- what the device knows, per fuel -----------------------------------------------------
    def meter(self, kind):
        """The meter of a fuel ("elec", "gas"), or None."""
        for m in self.meters.values():
            if m.kind == kind:
                return m
        return None

    def fuel(self, kind, now=None):
        """A dict of what is known of a fuel (None values: not read yet), or None when no
        meter of that fuel was found. Energy Wh, power W, money 10^-5 GBP, volume litres.
        With `now`, the week's and month's costs include their days of standing charge."""
        m = self.meter(kind)
        if m is None:
            return None
        g = m.get
        mult = g(se.METERING, se.M_MULTIPLIER, 1) or 1
        div = g(se.METERING, se.M_DIVISOR, 1000) or 1
        gas = kind == "gas"
        d = {"eui": m.eui, "responding": m.responding, "heard": m.heard}
        # Meter values in kWh (electricity) or m3 (gas), times multiplier / divisor.
        for name, attr in (("total", se.M_SUMMATION_DELIVERED),
                           ("export", se.M_SUMMATION_RECEIVED), ("day", se.M_DAY),
                           ("week", se.M_WEEK), ("month", se.M_MONTH), ("power", se.M_DEMAND)):
            d[name] = _scaled(g(se.METERING, attr), mult, div)
        if gas:
            cf = _decimals(g(se.PRICE, 0x0302), g(se.PRICE, 0x0303), 5) or GAS_CF
            cv = _decimals(g(se.PRICE, 0x0304), g(se.PRICE, 0x0306), 3) or GAS_CV
            for name in ("total", "day", "week", "month"):
                litres = d[name]
                d[name + "_l"] = litres
                d[name] = None if litres is None else litres * cf * cv // 360000000
            d["export"] = 0
        d["site"] = g(se.METERING, se.M_SITE_ID)
        d["supply"] = g(se.METERING, se.M_SUPPLY_STATUS)
        digits = (g(se.PRICE, se.P_TRAILING_DIGIT, 0x50) or 0) >> 4
        rate = g(se.PRICE, se.P_TIER1_BLOCK1_PRICE)
        if m.price is not None:
            rate, digits = m.price["price"], m.price["trailing"]
        d["rate"] = _money(rate, digits)
        d["standing"] = _money(g(se.PRICE, se.P_STANDING_CHARGE), (
            g(se.PRICE, se.P_TRAILING_DIGIT, 0x50) or 0) >> 4)
        d["supplier"] = g(se.DEVICE_MANAGEMENT, se.DM_PROVIDER_NAME)
        control = g(se.PREPAYMENT, se.PP_CONTROL)
        d["prepay"] = None if control is None else bool(control & se.PAY_PREPAYMENT_ENABLED)
        d["credit"] = _money(g(se.PREPAYMENT, se.PP_CREDIT), digits)
        d["ec"] = _money(g(se.PREPAYMENT, se.PP_EMERGENCY_CREDIT), digits)
        d["debt"] = _money(g(se.PREPAYMENT, se.PP_DEBT), digits)
        d["credit_status"] = g(se.PREPAYMENT, se.PP_CREDIT_STATUS)
        # Cost of a period: its energy at the unit rate plus a standing charge per day.
        week_days = month_days = None
        if now is not None:
            day = now // 86400
            week_days = (day + 3) % 7 + 1  # Monday is day 1 (1970-01-01 was a Thursday)
            month_days = civil_from_days(day)[2]
        for period, days in (("day", 1), ("week", week_days), ("month", month_days)):
            d["cost_" + period] = _cost(d[period], d["rate"], d["standing"], days)
        return d

    def alerts(self):
        """What the consumer should be told now, most urgent first (text)."""
        out = []
        for kind, name in (("elec", "Electricity"), ("gas", "Gas")):
            d = self.fuel(kind)
            if d is None:
                continue
            if not d["responding"]:
                out.append("%s meter not responding" % name)
                continue
            if d["supply"] == se.SUPPLY_OFF:
                out.append("%s supply OFF" % name)
            elif d["supply"] == se.SUPPLY_ARMED:
                out.append("%s supply armed: press meter button" % name)
            cs = d["credit_status"] or 0
            if d["prepay"] and cs & se.CREDIT_LOW:
                out.append("%s credit low" % name)
            if cs & se.CREDIT_EC_SELECTED:
                out.append("%s on emergency credit" % name)
        if not self.meters:
            out.append("Searching for meters")
        elif not any(m.kind for m in self.meters.values()):
            out.append("Waiting for meter data")
        for msg in self.messages:
            if not msg[4]:
                out.append("New message from supplier")
                break
        return out

    def status(self, now):
        st = HANDevice.status(self, now)
        st["meters"] = {m.eui.hex(): {"kind": m.kind, "responding": m.responding,
                                      "heard": m.heard, "reporting": m.reporting}
                        for m in self.meters.values()}
        st["version"] = self.version
        st["messages"] = [{"id": x[0], "text": x[1], "confirmed": x[4]} for x in self.messages]
        st["alerts"] = self.alerts()
        return st

    def control(self, op, req, now):
        if op == "readings":
            out = {}
            for kind in ("elec", "gas"):
                d = self.fuel(kind)
                if d is not None:
                    d = dict(d)
                    d["eui"] = d["eui"].hex()
                    for key in ("site", "supplier"):
                        if isinstance(d.get(key), (bytes, bytearray)):
                            d[key] = decode_text(d[key])
                out[kind] = d
            return out
        return HANDevice.control(self, op, req, now)


def _money(value, digits):
    """`value` with `digits` decimal places, as 10^-5 GBP (None stays None)."""
    if value is None:
        return None
    while digits < 5:
        value *= 10
        digits += 1
    while digits > 5:
        value //= 10
        digits -= 1
    return value


def _decimals(value, digits_map, want):
    """`value` whose trailing digit is the high nibble of `digits_map`, with `want` decimals."""
    if value is None:
        return None
    return _money(value, ((digits_map or 0) >> 4) + 5 - want)


def _cost(wh, rate, standing, days):
    """Cost in 10^-5 GBP of `wh` at `rate` per kWh plus `days` of standing charge (None days:
    the energy alone)."""
    if wh is None or rate is None:
        return None
    cost = wh * rate // 1000
    if days and standing is not None:
        cost += standing * days
    return cost
