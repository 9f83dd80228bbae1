"""Prepayment Meter Interface Device (PPMID): the consumer's prepayment display and keypad.

GBCS device model (Type 1, smets.devices.type1): joined to an ESME by Method A (CS03A2, the
meter's CS03A1 makes it the initiator) or to a GSME by Method C (CS03C, with the meter's key
agreement certificate), unjoined by CS04AC, its firmware read by CS08 and announced by CS09.

On the HAN it is the meter's prepayment client (ZSE, smets.zcl.ppmid):
- credit display: it reads the meter's Prepayment cluster (credit remaining, emergency credit
  remaining, credit status) every READ_S seconds and shows the latest values;
- emergency credit: the consumer's button (or CONTROL emergency_credit) sends Select Available
  Emergency Credit (GBCS PECS02 / PCS02);
- top-up: CONTROL topup sends a 20-digit UTRN in Consumer Top Up (PECS01 / PCS01);
- supply: CONTROL enable_supply sends Local Change Supply "ON" (PECS03), which closes an armed
  load switch.
It talks only to a meter its device log holds, and takes answers only from it. Sans-IO.
"""

try:
    from micropython import const
except ImportError:  # CPython

    def const(x):  # type: ignore[misc]  # CPython has no micropython.const
        return x


from smets import devlog, lazy
from smets.devices.type1 import _CRITICAL, _SA, CS08, Type1Device
from smets.han import ApsFrame
from smets.zcl import ppmid as pz
from smets.zcl.frame import (
    DEFAULT_RESPONSE,
    READ_ATTRIBUTES,
    READ_ATTRIBUTES_RESPONSE,
    SUCCESS,
    TYPE_CLUSTER,
    TYPE_GLOBAL,
    ZCLError,
    ZCLFrame,
)

READ_S = const(60)  # how often the display refreshes the credit (device seconds)
_UTC_2000 = const(946684800)
# Prepayment cluster attributes shown (ZSE D.7.2.2): credit remaining, emergency credit
# remaining, credit status.
_ATTRS = (0x0001, 0x0002, 0x0003)
_NAMES = {0x0001: "credit", 0x0002: "emergency_credit", 0x0003: "credit_status"}


_KE_CLUSTER = 0x0800


class PPMID(Type1Device):
    ROLE = "PPMID"
    ROWS = (
        (0x00AB, "CS03A2", _SA, _CRITICAL),
        (0x00AF, "CS03C", _SA, _CRITICAL),
        (0x000F, "CS04AC", _SA, _CRITICAL),
        (CS08, "CS08", _SA, 0),
    )
    # GBCS 13.7: with an ESME by Method A (the meter initiates), with a GSME by Method C.
    JOINS = {devlog.METHOD_A_RESPONDER: (devlog.ESME,), devlog.METHOD_C: (devlog.GSME,)}
    PEER_TYPES = (devlog.ESME, devlog.GSME)

    def __init__(self, identity, store, now, log=None, fresh=False, init=None):
        Type1Device.__init__(self, identity, store, now, log, fresh, init)
        self.display = {"meter": None, "credit": None, "emergency_credit": None,
                        "credit_status": None, "read_at": None, "read_status": None, "last": None}
        self._next_read = now
        self._asked = {}  # ZCL sequence number -> what was asked of the meter

    def on_joined(self, eui, dtype, method, now):
        self._next_read = now  # show the new meter's credit at once

    # -- frames to the meter ----------------------------------------------------------------
    def _to_meter(self, cluster, zcl, what):
        meter = self.peer()
        if meter is None:
            return None
        zcl.seq = self.next_zcl_seq()
        # Answers are matched by ZCL sequence number (a Default Response names only the
        # command id, which a global and a cluster command may share).
        self._asked[zcl.seq] = what
        while len(self._asked) > 8:
            self._asked.pop(next(iter(self._asked)))
        self.han_out.append(ApsFrame(self.eui, meter, cluster, zcl.to_bytes()))
        return meter

    def read_credit(self, now):
        body = b"".join(bytes((a & 0xFF, a >> 8)) for a in _ATTRS)
        self._next_read = now + READ_S
        return self._to_meter(pz.PREPAYMENT, ZCLFrame(READ_ATTRIBUTES, body,
                                                      frame_type=TYPE_GLOBAL), "read")

    def request_emergency_credit(self, now):
        return self._to_meter(pz.PREPAYMENT, ZCLFrame(
            pz.SELECT_EMERGENCY_CREDIT, pz.select_emergency_credit(now - _UTC_2000)),
            "emergency credit")

    def top_up(self, utrn):
        return self._to_meter(pz.PREPAYMENT, ZCLFrame(pz.CONSUMER_TOP_UP,
                                                      pz.consumer_top_up(utrn)), "top-up")

    def enable_supply(self):
        return self._to_meter(pz.METERING, ZCLFrame(pz.LOCAL_CHANGE_SUPPLY,
                                                    pz.local_change_supply(pz.SUPPLY_ON)),
                              "supply on")

    def tick(self, now):
        if now >= self._next_read and self.peer() is not None:
            self.read_credit(now)
        return Type1Device.tick(self, now)

    def next_due(self, now):
        due = Type1Device.next_due(self, now)
        if self.peer() is None:
            return due
        return self._next_read if due is None else min(due, self._next_read)

    # -- frames from the meter --------------------------------------------------------------
    def on_cluster(self, aps, zcl, now):
        if aps.cluster == _KE_CLUSTER:  # the meter's key agreement of a Method A join
            return lazy.call("smets.devices.keyest", "on_frame", (self, aps, zcl, now))
        if self.device_log.joined(aps.src_eui) not in self.PEER_TYPES:
            self.stats["unjoined"] = self.stats.get("unjoined", 0) + 1
            return []  # not our meter: dropped, as an undecryptable frame would be
        d = self.display
        d["meter"] = "".join("%02x" % b for b in aps.src_eui)
        try:
            if zcl.frame_type == TYPE_GLOBAL and zcl.command == READ_ATTRIBUTES_RESPONSE \
                    and aps.cluster == pz.PREPAYMENT:
                self._asked.pop(zcl.seq, None)
                self._credit(zcl.payload, now)
            elif zcl.frame_type == TYPE_GLOBAL and zcl.command == DEFAULT_RESPONSE \
                    and len(zcl.payload) == 2:
                what = self._asked.pop(zcl.seq, None)
                ok = zcl.payload[1] == SUCCESS
                if what == "read":
                    d["read_status"] = zcl.payload[1]  # the meter does not serve the credit
                elif what is not None:
                    d["last"] = "%s %s" % (what, "accepted" if ok else
                                           "refused (status %02x)" % zcl.payload[1])
                    if what == "emergency credit" and ok:
                        self._next_read = now  # emergency credit changes the credit shown
            elif zcl.frame_type == TYPE_CLUSTER and aps.cluster == pz.PREPAYMENT \
                    and zcl.command == pz.CONSUMER_TOP_UP_RESPONSE:
                self._asked.pop(zcl.seq, None)
                result, value, _source, credit = pz.parse_top_up_response(zcl.payload)
                d["last"] = "top-up %s" % ("accepted: +%d" % value if result == 0 else
                                           "rejected (%d %s)" % (result, pz.TOP_UP_RESULTS.get(
                                               result, "?")))
                d["credit"] = credit
            elif zcl.frame_type == TYPE_CLUSTER and aps.cluster == pz.METERING \
                    and zcl.command == pz.SUPPLY_STATUS_RESPONSE:
                self._asked.pop(zcl.seq, None)
                status = pz.parse_supply_status_response(zcl.payload)[3]
                d["last"] = "supply " + ("off", "armed", "on", "?")[min(status, 3)]
            else:
                return None
        except ZCLError as exc:
            self.stats["zcl_errors"] += 1
            self.log("W", "bad answer from the meter: %s" % exc)
        return []

    def _credit(self, payload, now):
        d = self.display
        p = 0
        n = len(payload)
        while p + 3 <= n:
            attr = payload[p] | (payload[p + 1] << 8)
            status = payload[p + 2]
            p += 3
            if status != SUCCESS:
                continue
            if p >= n:
                raise ZCLError("Read Attributes Response truncated")
            ztype = payload[p]
            size = {0x2B: 4, 0x18: 1, 0x19: 2, 0x23: 4}.get(ztype)  # int32, map8/16, uint32
            if size is None or p + 1 + size > n:
                raise ZCLError("attribute %04x of type %02x not understood" % (attr, ztype))
            v = int.from_bytes(payload[p + 1:p + 1 + size], "little")
            if ztype == 0x2B and v & 0x80000000:
                v -= 1 << 32
            if attr in _NAMES:
                d[_NAMES[attr]] = v
            p += 1 + size
        d["read_at"] = now

    # -- consumer and bench -----------------------------------------------------------------
    def button(self, now):
        meter = self.request_emergency_credit(now)
        return "emergency credit requested" if meter else "not joined to a meter"

    def status(self, now):
        st = Type1Device.status(self, now)
        st["display"] = self.display
        return st

    def control(self, op, req, now):
        if op == "display":
            return self.display
        if op in ("emergency_credit", "topup", "enable_supply", "read"):
            if op == "emergency_credit":
                meter = self.request_emergency_credit(now)
            elif op == "topup":
                utrn = str(req.get("utrn", ""))
                # The keypad takes a UTRN whose form and check digit (GBCS 14.8) are right;
                # the meter checks the rest (smets.gbcs.utrn.accept).
                lazy.call("smets.gbcs.utrn", "parse", (utrn,))
                meter = self.top_up(utrn.encode())
            elif op == "enable_supply":
                meter = self.enable_supply()
            else:
                meter = self.read_credit(now)
            if meter is None:
                raise ValueError("the PPMID is not joined to a meter")
            return {"sent_to": "".join("%02x" % b for b in meter)}
        return Type1Device.control(self, op, req, now)
