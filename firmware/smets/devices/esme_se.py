"""The ESME as a ZigBee Smart Energy server: what an IHD or a CAD reads over the HAN.

GBCS 10 makes the meter the server of the SE clusters its Type 2 devices read: Basic,
Metering, Price, Prepayment, Messaging and Device Management. Every value here is computed from
the ESME's own COSEM registers and device state when it is read (the attribute tables below
hold getters, not copies), so a GBCS command that changes the tariff, the balance or the load
switch is what the next ZCL read, report or Publish Price carries:

    Metering   summation delivered      import register (device state, Wh)
               summation received       1-0:2.8.0 export register
               instantaneous demand     active power import (0 while the supply is off)
               day / week / month       the day register and the daily log (midnight
                                        readings: the week starts on Monday, GB convention)
               supply status            disconnect control 0-0:96.3.10 control_state
               site id / serial         MPAN 0-0:94.44.34.11, device id 0-0:96.1.1
    Price      tier prices              TOU charge 0-0:19.20.0 (unit_charge, active)
               standing charge          standing charge 0-0:19.20.4
               block thresholds         0-0:16.0.11 register monitor thresholds
    Prepayment credit / EC / debt       meter balance, prepayment registers 0-0:94.44.34.30,
                                        emergency credit account 0-0:19.10.1
    Messaging  Display Message          the consumer message 0-2:96.13.1 (GBCS ECS10)
    Device Management provider name     supplier contact details 0-0:96.13.0/1 (ECS16)

Prices and balances keep the ESME's scale (10^-5 GBP, from the charges' price scale), given to
clients as PriceTrailingDigit 5. A Type 2 device is answered only while the meter's device log
holds it (GBCS 4.3.3 / CS03B: the meter keeps no link key for anyone else): `joined(eui)` is the
ESME's device-log check, frames from others are dropped and counted, as an APS frame the meter
cannot decrypt would be. The Endpoint answers Read Attributes and Configure Reporting with the
ZCL status codes (UNSUPPORTED_ATTRIBUTE, MALFORMED_COMMAND, ...); `tick` sends the reports the
configuration makes due, a Publish Price to every client when the tariff changes and a Display
Message when the supplier's message changes. Loaded on the first frame from a Type 2 device
(an ESME nobody reads never holds it). Sans-IO like the ESME.
"""

try:
    from micropython import const
except ImportError:  # CPython

    def const(x):  # type: ignore[misc]  # CPython has no micropython.const
        return x


from smets import cosem
from smets.codec import civil_from_days, days_from_civil
from smets.han import ApsFrame
from smets.zcl import se, types
from smets.zcl.endpoint import Attribute, Cluster, Endpoint
from smets.zcl.frame import NOT_FOUND, TYPE_CLUSTER, ZCLError, ZCLFrame

_DAY = const(86400)
UTC_2000 = const(946684800)
TRAILING_DIGIT = const(5)  # the ESME's charges and balances are in 10^-5 GBP
_NO_THRESHOLD = 0xFFFFFFFF
_MAX_CLIENTS = const(8)  # Type 2 devices remembered for pushes (GBCS: a few IHD/CAD/PPMID)

# COSEM attribute keys: class (2) | logical name (6) | attribute (1).
_K_EXPORT = b"\x00\x03\x01\x00\x02\x08\x00\xff\x02"
_K_TOU_CHARGE = b"\x00\x71\x00\x00\x13\x14\x00\xff\x05"
_K_STANDING = b"\x00\x71\x00\x00\x13\x14\x04\xff\x05"
_K_THRESHOLDS = b"\x00\x15\x00\x00\x10\x00\x0b\xff\x02"
_K_EC_LIMIT = b"\x00\x70\x00\x00\x13\x0a\x01\xff\x09"
_K_EC_THRESHOLD = b"\x00\x70\x00\x00\x13\x0a\x01\xff\x0a"
_K_PP_REGS = b"\x00\x01\x00\x00\x5e\x2c\x22\x1e\x02"
_K_SUPPLIER = b"\x23\x28\x00\x00\x60\x0d\x00\xff\x02"
_K_CONTACT = b"\x23\x28\x00\x00\x60\x0d\x01\xff\x02"
_K_MESSAGE = b"\x00\x01\x00\x02\x60\x0d\x01\xff\x02"
_K_MPAN = b"\x00\x01\x00\x00\x5e\x2c\x22\x0b\x02"
_K_DEVICE_ID = b"\x00\x01\x00\x00\x60\x01\x01\xff\x02"
_K_PAYMENT_MODE = b"\x00\x6f\x00\x00\x13\x00\x00\xff\x02"

# Disconnect control_state -> SupplyStatus (0 disconnected, 1 connected, 2 ready).
_SUPPLY = (se.SUPPLY_OFF, se.SUPPLY_ON, se.SUPPLY_ARMED)


def _charges(v):
    """(price scale, [charge per unit]) of a Charge unit_charge A-XDR value:
    structure{structure{commodity scale, price scale}, commodity reference,
    array{structure{index, charge per unit}}} (DLMS IC 113)."""
    scale = cosem.value_int(v, 6)
    p = cosem.skip(v, 2)
    p = cosem.skip(v, p)
    n, p = cosem.dlen(v, p + 1)
    out = []
    for _ in range(n):
        q = cosem.skip(v, p + 2)  # past the index
        out.append(cosem.value_int(v, q))
        p = cosem.skip(v, p)
    return scale, out


def _ints(v):
    """The integers of an A-XDR array or structure of integers."""
    n, p = cosem.dlen(v, 1)
    out = []
    for _ in range(n):
        out.append(cosem.value_int(v, p))
        p = cosem.skip(v, p)
    return out


def _octets(v):
    if v is None or v[0] not in (cosem.OCTET_STRING, cosem.VISIBLE_STRING, cosem.UTF8_STRING):
        return b""
    n, p = cosem.dlen(v, 1)
    return bytes(v[p:p + n])


def _u(v, bits):
    """Clamp to an unsigned ZCL field (a register never wraps on the HAN)."""
    top = (1 << bits) - 1
    return 0 if v < 0 else top if v > top else v


def _s(v, bits):
    top = (1 << (bits - 1)) - 1
    return -top - 1 if v < -top - 1 else top if v > top else v


class SEServer:
    def __init__(self, esme, now, joined=None):
        self.esme = esme
        self.now = now
        self._joined = joined
        self.clients = {}  # eui -> (short address, endpoint) of Type 2 devices that read us
        self.reporting_to = {}  # cluster id -> [eui] that configured reporting on it
        self.stats = {"zcl_in": 0, "zcl_out": 0, "unjoined": 0, "publish_price": 0,
                      "display_message": 0, "reports": 0}
        self.ep = Endpoint(1, self._clusters())
        self._price = self._price_key()
        self._price_since = (now - UTC_2000) & 0xFFFFFFFF
        self._message = _octets(self._value(_K_MESSAGE))
        self.message_id = 0
        if self._message:
            self.message_id = (now - UTC_2000) & 0xFFFFFFFF
        # Work for the next tick is event-driven, not a poll every second: `_stale` when a
        # client arrived or configured reporting, or when the meter wrote its store since the
        # last look (every change a command, a clock capture or a top-up makes is saved:
        # tariff, message, registers, device log); else `_next_report`, the next time a
        # report may be due (None: none).
        self._stale = True
        self._writes = -1
        self._next_report = None

    # -- the ESME's registers ---------------------------------------------------------------
    def _value(self, key):
        a = self.esme.attrs
        s = a.slot(key)
        return None if s < 0 else self.esme._get(s, None, 0, None)

    def _int(self, key, default=0):
        v = self._value(key)
        return default if v is None else cosem.value_int(v)

    def _wh(self):
        return self.esme.state["import_ws"] // 3600

    def demand(self):
        s = self.esme.state
        return s["power_w"] if s["control_state"] == 1 else 0

    def _since(self, t):
        """Energy (Wh) imported since midnight `t`: the register now less the daily log's
        reading at `t`. Without one (the meter started after `t`, or the log wrapped), from the
        start of the oldest logged day after `t` (its reading less its day's consumption)."""
        log = self.esme.daily
        wh = self._wh() & 0xFFFFFFFF
        for i in range(len(log)):
            e = log.entry(i)
            if e[0] >= t:
                base = e[1] if e[0] == t else e[1] - e[2]
                return wh - base if wh >= base else 0
        return self.esme.state["day_ws"] // 3600  # no midnight since `t`: today's

    def week(self):
        day = self.now // _DAY
        return self._since((day - (day + 3) % 7) * _DAY)

    def month(self):
        y, m, _d = civil_from_days(self.now // _DAY)
        return self._since(days_from_civil(y, m, 1) * _DAY)

    def tier_prices(self):
        v = self._value(_K_TOU_CHARGE)
        return (-5, [0]) if v is None else _charges(v)

    def unit_rate(self):
        """The price now, in 10^-TRAILING_DIGIT GBP per kWh: tier 1 of the TOU charge (the
        emulator's tariff runs its calendar's single day profile, script 1 = tier 1)."""
        scale, prices = self.tier_prices()
        return self._rescale(prices[0] if prices else 0, scale)

    def standing_charge(self):
        v = self._value(_K_STANDING)
        if v is None:
            return 0
        scale, charges = _charges(v)
        return self._rescale(charges[0] if charges else 0, scale)

    def _rescale(self, value, scale):
        shift = scale + TRAILING_DIGIT
        while shift > 0:
            value *= 10
            shift -= 1
        while shift < 0:
            value //= 10
            shift += 1
        return _u(value, 32)

    def thresholds(self):
        v = self._value(_K_THRESHOLDS)
        return [] if v is None else [t for t in _ints(v) if t != _NO_THRESHOLD]

    def _prepayment(self):
        v = self._value(_K_PAYMENT_MODE)
        return v is not None and v[3] == 2

    def pp_regs(self):
        v = self._value(_K_PP_REGS)
        return [0] * 6 if v is None else _ints(v)

    def credit_status(self):
        bal = self.esme.balance()
        ec = self.esme.state.get("ec_credit", 0)
        st = se.CREDIT_EC_ENABLED
        if bal > 0:
            st |= se.CREDIT_OK
        if bal < self._int(_K_EC_THRESHOLD):
            st |= se.CREDIT_LOW
        if ec > 0:
            st |= se.CREDIT_EC_SELECTED
        elif bal <= self._int(_K_EC_THRESHOLD):
            st |= se.CREDIT_EC_AVAILABLE
        return st

    def supplier(self):
        return _octets(self._value(_K_SUPPLIER))[:16]

    # -- the cluster tables -----------------------------------------------------------------
    def _clusters(self):
        esme = self.esme
        u48 = types.UINT48
        u24 = types.UINT24
        no_report = False
        metering = (
            (se.M_SUMMATION_DELIVERED, u48, lambda: _u(self._wh(), 48)),
            (se.M_SUMMATION_RECEIVED, u48, lambda: _u(self._int(_K_EXPORT), 48)),
            (se.M_SUPPLY_STATUS, types.ENUM8, lambda: _SUPPLY[esme.state["control_state"] % 3]),
            (se.M_TIER1_SUMMATION, u48, lambda: _u(self._wh(), 48)),
            (se.M_TIER1_SUMMATION + 2, u48, lambda: 0),
            (se.M_STATUS, types.MAP8, lambda: 0),
            Attribute(se.M_UNIT, types.ENUM8, lambda: se.UNIT_KWH, reportable=no_report),
            Attribute(se.M_MULTIPLIER, u24, lambda: 1, reportable=no_report),
            Attribute(se.M_DIVISOR, u24, lambda: 1000, reportable=no_report),
            # 6 digits left of the decimal point, 3 right, leading zeros suppressed
            Attribute(se.M_SUMMATION_FORMATTING, types.MAP8, lambda: 0xB3,
                      reportable=no_report),
            Attribute(se.M_DEMAND_FORMATTING, types.MAP8, lambda: 0x9B, reportable=no_report),
            Attribute(se.M_HISTORICAL_FORMATTING, types.MAP8, lambda: 0x9B,
                      reportable=no_report),
            Attribute(se.M_DEVICE_TYPE, types.MAP8, lambda: se.DEVICE_ELECTRIC,
                      reportable=no_report),
            Attribute(se.M_SITE_ID, types.OCTET_STRING, lambda: _octets(self._value(_K_MPAN)),
                      reportable=no_report),
            Attribute(se.M_SERIAL, types.OCTET_STRING,
                      lambda: _octets(self._value(_K_DEVICE_ID)), reportable=no_report),
            (se.M_DEMAND, types.INT24, lambda: _s(self.demand(), 24)),
            (se.M_DAY, u24, lambda: _u(esme.state["day_ws"] // 3600, 24)),
            (se.M_PREVIOUS_DAY, u24, self._previous_day),
            (se.M_WEEK, u24, lambda: _u(self.week(), 24)),
            (se.M_MONTH, u24, lambda: _u(self.month(), 24)),
        )
        price = [
            (se.P_STANDING_CHARGE, types.UINT32, self.standing_charge),
            Attribute(se.P_UNIT, types.ENUM8, lambda: se.UNIT_KWH, reportable=no_report),
            Attribute(se.P_CURRENCY, types.UINT16, lambda: se.CURRENCY_GBP,
                      reportable=no_report),
            Attribute(se.P_TRAILING_DIGIT, types.MAP8, lambda: TRAILING_DIGIT << 4,
                      reportable=no_report),
        ]
        for i in range(4):  # Tier1Block1Price .. Tier4Block1Price
            price.append((se.P_TIER1_BLOCK1_PRICE + 0x10 * i, types.UINT32,
                          self._tier_getter(i)))
        for i in range(3):  # Block1Threshold .. Block3Threshold
            price.append((se.P_BLOCK1_THRESHOLD + i, u48, self._threshold_getter(i)))
        prepayment = (
            (se.PP_CONTROL, types.MAP16, lambda: se.PAY_DISCONNECTION_ENABLED | (
                se.PAY_PREPAYMENT_ENABLED if self._prepayment() else 0)),
            (se.PP_CREDIT, types.INT32, lambda: _s(esme.balance(), 32)),
            (se.PP_EMERGENCY_CREDIT, types.INT32, lambda: _s(esme.state.get("ec_credit", 0), 32)),
            (se.PP_CREDIT_STATUS, types.MAP8, self.credit_status),
            (se.PP_DEBT, types.INT32, lambda: _s(self.pp_regs()[2], 32)),
            (se.PP_EC_LIMIT, types.UINT32, lambda: _u(self._int(_K_EC_LIMIT), 32)),
            (se.PP_EC_THRESHOLD, types.UINT32, lambda: _u(self._int(_K_EC_THRESHOLD), 32)),
        )
        basic = (
            Attribute(0x0000, types.UINT8, lambda: 8, reportable=no_report),  # ZCL r8
            Attribute(0x0004, types.CHAR_STRING, lambda: b"smetsbench", reportable=no_report),
            Attribute(0x0005, types.CHAR_STRING, lambda: b"ESME", reportable=no_report),
            Attribute(0x0007, types.ENUM8, lambda: 0x01, reportable=no_report),  # mains
        )
        dm = (
            Attribute(se.DM_PROVIDER_NAME, types.OCTET_STRING, self.supplier,
                      reportable=no_report),
            Attribute(se.DM_PROVIDER_CONTACT, types.OCTET_STRING,
                      lambda: _octets(self._value(_K_CONTACT))[:19], reportable=no_report),
        )
        return (
            Cluster(se.BASIC, basic, name="Basic"),
            Cluster(se.METERING, metering, name="Metering"),
            Cluster(se.PRICE, price, {se.GET_CURRENT_PRICE: self._get_current_price},
                    name="Price"),
            Cluster(se.PREPAYMENT, prepayment, name="Prepayment"),
            Cluster(se.MESSAGING, (), {se.GET_LAST_MESSAGE: self._get_last_message,
                                       se.MESSAGE_CONFIRMATION: self._confirmed},
                    name="Messaging"),
            Cluster(se.DEVICE_MANAGEMENT, dm, name="Device Management"),
        )

    def _previous_day(self):
        log = self.esme.daily
        return _u(log.entry(-1)[2], 24) if len(log) else 0

    def _tier_getter(self, i):
        def get():
            scale, prices = self.tier_prices()
            return self._rescale(prices[i], scale) if i < len(prices) else 0

        return get

    def _threshold_getter(self, i):
        def get():
            t = self.thresholds()
            return t[i] if i < len(t) else 0

        return get

    # -- commands -----------------------------------------------------------------------------
    def publish_price(self, seq):
        prices = self.tier_prices()[1]
        payload = se.publish_price(0, self.supplier()[:12] or b"tariff", self._price_event,
                                   (self.now - UTC_2000) & 0xFFFFFFFF, se.UNIT_KWH,
                                   se.CURRENCY_GBP, TRAILING_DIGIT, 1, self.unit_rate(),
                                   tiers=len(prices), thresholds=len(self.thresholds()))
        self.stats["publish_price"] += 1
        return ZCLFrame(se.PUBLISH_PRICE, payload, frame_type=TYPE_CLUSTER,
                        server_to_client=True, disable_default_response=True, seq=seq)

    def display_message(self, seq):
        self.stats["display_message"] += 1
        return ZCLFrame(se.DISPLAY_MESSAGE, se.display_message(
            self.message_id, self._message, (self.now - UTC_2000) & 0xFFFFFFFF,
            se.MESSAGE_CONFIRM_REQUIRED), frame_type=TYPE_CLUSTER, server_to_client=True,
            disable_default_response=True, seq=seq)

    def _get_current_price(self, cluster, frame, now):
        return self.publish_price(frame.seq)

    def _get_last_message(self, cluster, frame, now):
        if not self._message:
            return NOT_FOUND  # SE 1.4 D.5.2.4.1: no message: Default Response NOT_FOUND
        return self.display_message(frame.seq)

    def _confirmed(self, cluster, frame, now):
        se.parse_message_confirmation(frame.payload)  # ZCLError: MALFORMED_COMMAND
        self.stats["confirmed"] = self.stats.get("confirmed", 0) + 1
        return None

    # -- frames in and out --------------------------------------------------------------------
    def joined(self, eui):
        """Whether the meter's device log holds `eui` (the ESME's `han_joined` gives the
        device type, which may be 0, or None)."""
        if self._joined is None:
            return True
        kind = self._joined(eui)
        return kind is not None and kind is not False

    def on_zcl(self, aps, zcl, now):
        """The answer to a ZCL frame from a Type 2 device (list of APS frames)."""
        if not self.joined(aps.src_eui):
            self.stats["unjoined"] += 1
            self.esme.log("W", "ZCL from %s dropped: not in the device log" % (
                aps.src_eui.hex(),))
            return []
        self.stats["zcl_in"] += 1
        self.now = now
        self._stale = True  # a new client, a reporting configuration
        self.esme.advance(now)
        eui = bytes(aps.src_eui)
        if eui not in self.clients and len(self.clients) >= _MAX_CLIENTS:
            self.clients.pop(next(iter(self.clients)))
        self.clients[eui] = (aps.src_short, aps.src_ep)
        resp = self.ep.handle(aps.cluster, zcl, now)
        if resp is None:
            return []
        if zcl.frame_type == 0 and zcl.command == 0x06 and resp.payload == b"\x00":
            # Configure Reporting accepted: reports of this cluster go to this client too.
            subs = self.reporting_to.setdefault(aps.cluster, [])
            if eui not in subs:
                subs.append(eui)
        self.stats["zcl_out"] += 1
        return [aps.reply(aps.cluster, resp.to_bytes())]

    def tick(self, now):
        """Reports that are due, and pushes for a changed tariff or supplier message."""
        writes = self.esme.store.writes
        if not self._stale and writes == self._writes and (self._next_report is None
                                                           or now < self._next_report):
            return []
        self._stale = False
        self._writes = writes
        self.now = now
        for eui in [e for e in self.clients if not self.joined(e)]:
            # Unjoined (CS04B): nothing more goes to it, reports and pushes included.
            del self.clients[eui]
            for subs in self.reporting_to.values():
                if eui in subs:
                    subs.remove(eui)
        if not self.clients:
            return []
        self.esme.advance(now)
        out = []
        price = self._price_key()
        if price != self._price:
            self._price = price
            self._price_since = (now - UTC_2000) & 0xFFFFFFFF
            for eui in self.clients:
                out.append(self._to(eui, se.PRICE, self.publish_price(self.esme.next_zcl_seq())))
        message = _octets(self._value(_K_MESSAGE))
        if message != self._message:
            self._message = message
            if message:
                self.message_id = (now - UTC_2000) & 0xFFFFFFFF
                for eui in self.clients:
                    out.append(self._to(eui, se.MESSAGING,
                                        self.display_message(self.esme.next_zcl_seq())))
        for cluster_id, frame in self.ep.reports(now):
            for eui in self.reporting_to.get(cluster_id, ()):
                if eui in self.clients:
                    self.stats["reports"] += 1
                    out.append(self._to(eui, cluster_id, frame))
        self._next_report = self._report_time(now)
        self.stats["zcl_out"] += len(out)
        return out

    def _report_time(self, now):
        """The next time a configured report may be due (ZCL 2.5.11.2.2): at the maximum
        interval, and for a reportable change from the minimum interval on, looked at every
        minimum interval (at least a second) while the registers run; None with none."""
        due = None
        for c in self.ep.clusters():
            for rep in c.reporting.values():
                last = rep.last_time
                if last is None:
                    return now
                t = last + rep.max_interval if rep.max_interval else None
                step = rep.min_interval if rep.min_interval > 1 else 1
                change = last + step if last + step > now else now + step
                t = change if t is None or change < t else t
                due = t if due is None or t < due else due
        return due

    def next_due(self, now):
        if not self.clients:
            return None
        if self._stale or self.esme.store.writes != self._writes:
            return now
        return self._next_report

    @property
    def _price_event(self):
        # Issuer Event ID: a new value for each tariff the meter holds (SE 1.4 D.4.2.4.1.3:
        # newer information has a larger id), from the time the meter saw the change.
        return self._price_since

    def _price_key(self):
        return bytes(self._value(_K_TOU_CHARGE) or b"") + bytes(self._value(_K_STANDING) or b"")

    def _to(self, eui, cluster, frame):
        short, ep = self.clients[eui]
        return ApsFrame(self.esme.eui, eui, cluster, frame.to_bytes(), src_ep=self.ep.number,
                        dst_ep=ep, dst_short=short)

    def status(self):
        st = dict(self.stats)
        st["clients"] = [e.hex() for e in self.clients]
        return st


def server(esme, now, joined=None):
    """The SE server of `esme` (called once, lazily, by the ESME)."""
    return SEServer(esme, now, joined)


__all__ = ("SEServer", "server", "ZCLError")
