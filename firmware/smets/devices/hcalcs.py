"""HAN-Connected Auxiliary Load Control Switch (HCALCS): a relay the ESME switches.

GBCS device model (Type 1, smets.devices.type1): joined to its ESME by Method A (CS03A2 here,
CS03A1 on the meter), unjoined by CS04AC, its firmware read by CS08. The ESME keeps the switch's
configuration and commanded state (ECS46c names the HCALCS of auxiliary load control switch
[n], ECS47 sets its state) and tells the HCALCS over the HAN with the ZSE Demand Response and
Load Control cluster (smets.zcl.drlc): a Load Control Event with duty cycle 100 closes the
relay (load on), 0 opens it, for a duration or until the next event; Cancel Load Control Event
opens it. The HCALCS answers each with Report Event Status, and asks for what is scheduled
(Get Scheduled Events, GBCS HECS01) when it joins or restarts. It takes events only from the
ESME its device log holds. Sans-IO.
"""

from smets import devlog, lazy
from smets.devices.type1 import Type1Device
from smets.han import ApsFrame
from smets.zcl import drlc
from smets.zcl.frame import TYPE_CLUSTER, ZCLError, ZCLFrame

_UTC_2000 = 946684800


_KE_CLUSTER = 0x0800


class HCALCS(Type1Device):
    ROLE = "HCALCS"
    JOINS = {devlog.METHOD_A_RESPONDER: (devlog.ESME,)}

    def __init__(self, identity, store, now, log=None, fresh=False, init=None):
        Type1Device.__init__(self, identity, store, now, log, fresh, init)
        s = self.state
        for key, v in (("relay", 0), ("event", None), ("until", None), ("switched", 0)):
            s.setdefault(key, v)
        # After a restart, ask the meter what the switch should be doing (HECS01).
        self._ask = self.peer() is not None

    def on_joined(self, eui, dtype, method, now):
        self._ask = True

    def _ask_meter(self):
        meter = self.peer()
        if meter is None:
            return
        frame = ZCLFrame(drlc.GET_SCHEDULED_EVENTS, drlc.get_scheduled_events(0, 1),
                         seq=self.next_zcl_seq())
        self.han_out.append(ApsFrame(self.eui, meter, drlc.CLUSTER, frame.to_bytes()))

    def _switch(self, on, event, until, now):
        s = self.state
        if (1 if on else 0) != s["relay"]:
            s["switched"] += 1
            self.log("I", "relay %s" % ("closed: load on" if on else "open: load off"))
        s["relay"] = 1 if on else 0
        s["event"] = event
        s["until"] = until
        self.store.save("type1", s)

    def _report(self, aps, event_id, status, now):
        rep = drlc.EventStatus(event_id, status, (now - _UTC_2000) & 0xFFFFFFFF,
                               duty_cycle=drlc.DUTY_ON if self.state["relay"] else drlc.DUTY_OFF)
        frame = ZCLFrame(drlc.REPORT_EVENT_STATUS, rep.to_bytes(), seq=self.next_zcl_seq())
        return aps.reply(drlc.CLUSTER, frame.to_bytes())

    def on_cluster(self, aps, zcl, now):
        if aps.cluster == _KE_CLUSTER:  # the meter's key agreement of a Method A join
            return lazy.call("smets.devices.keyest", "on_frame", (self, aps, zcl, now))
        if aps.cluster != drlc.CLUSTER or zcl.frame_type != TYPE_CLUSTER \
                or not zcl.server_to_client:
            return None
        if self.device_log.joined(aps.src_eui) != devlog.ESME:
            self.stats["unjoined"] = self.stats.get("unjoined", 0) + 1
            return []  # events only from the ESME the switch is joined to
        try:
            if zcl.command == drlc.LOAD_CONTROL_EVENT:
                ev = drlc.LoadControlEvent.from_bytes(zcl.payload)
                until = None
                if ev.duration != drlc.DURATION_UNTIL_CHANGED:
                    start = now if ev.start == 0 else ev.start + _UTC_2000
                    until = start + 60 * ev.duration
                self._switch(ev.duty_cycle == drlc.DUTY_ON, ev.event_id, until, now)
                return [self._report(aps, ev.event_id, drlc.STATUS_STARTED, now)]
            if zcl.command in (drlc.CANCEL_LOAD_CONTROL_EVENT,
                               drlc.CANCEL_ALL_LOAD_CONTROL_EVENTS):
                event = self.state["event"]
                if zcl.command == drlc.CANCEL_LOAD_CONTROL_EVENT:
                    event = drlc.CancelEvent.from_bytes(zcl.payload).event_id
                self._switch(False, None, None, now)
                return [self._report(aps, event or 0, drlc.STATUS_CANCELLED, now)]
        except ZCLError as exc:
            self.stats["zcl_errors"] += 1
            self.log("W", "bad DRLC frame from the ESME: %s" % exc)
            return [aps.reply(aps.cluster, zcl.default_response(0x80).to_bytes())]
        return None

    def tick(self, now):
        if self._ask:
            self._ask = False
            self._ask_meter()
        s = self.state
        if s["until"] is not None and now >= s["until"]:
            event = s["event"] or 0
            self._switch(False, None, None, now)
            meter = self.peer()
            if meter is not None:
                rep = drlc.EventStatus(event, drlc.STATUS_COMPLETED,
                                       (now - _UTC_2000) & 0xFFFFFFFF, duty_cycle=0)
                frame = ZCLFrame(drlc.REPORT_EVENT_STATUS, rep.to_bytes(),
                                 seq=self.next_zcl_seq())
                self.han_out.append(ApsFrame(self.eui, meter, drlc.CLUSTER, frame.to_bytes()))
        return Type1Device.tick(self, now)

    def next_due(self, now):
        due = Type1Device.next_due(self, now)
        if self._ask:
            return now
        until = self.state["until"]
        if until is not None:
            due = until if due is None else min(due, until)
        return due

    def status(self, now):
        st = Type1Device.status(self, now)
        st["relay"] = "closed" if self.state["relay"] else "open"
        st["switched"] = self.state["switched"]
        return st

    def button(self, now):
        return "relay %s (the ESME controls it)" % ("closed" if self.state["relay"] else "open")
