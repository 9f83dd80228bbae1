"""The Communications Hub (CHF) of the bench: threads and waiting around the sans-IO HAN network.

`CommsHub` owns the board links and feeds what they receive to a `HanNetwork`
(`smetsbench.han.network`), which routes the frames, serves the GBCS tunnel and keeps one mailbox
per device. The hub adds what a network must not have: the clock (`clock()`, seconds since 1970,
given to the network as `now`), locks, the sending of frames on the links, and callers waiting
for responses and alerts. A response is matched to its command by originator counter.

A command for a sleepy device waits in its mailbox until the device polls (GBCS GET); for an
always-on device it is pushed at once. Either way `command()` waits for the response itself.

The hub is also the Communications Hub Function (CHF, smets.devices.chf): a device model run by
the hub (`attach_chf`: an in-process board, or a real one), whose GBCS commands go straight to
it (CONTROL "gbcs": the hub's WAN side) and whose device log decides who may join the HAN. The
HAN is secured (`secure=True`, the default): the network's coordinator (smets.zigbee, with the
host's `cryptography` primitives) admits the devices in the CHF device log, and what happens on
the HAN (joins, leaves, refusals) goes back to the CHF for its logs (CONTROL "han_event").
"""

import collections
import logging
import threading
import time

from smets.gbcs import envelope

from smetsbench.han.network import (  # noqa: F401 - Received and CHF_EUI are this API too
    CHF_EUI,
    MAILBOX_SIZE,
    Delivered,
    HanDevice,
    HanEvent,
    HanNetwork,
    NetworkError,
    Received,
    Ticket,
    Transmit,
)
from smetsbench.usecases.library import TYPE_2_DEVICE

log = logging.getLogger("smetsbench.han.hub")

MAX_UNCLAIMED = 1000
DeviceLink = HanDevice  # the name this record had before the network existed


class HubError(RuntimeError):
    pass


class NoResponse(HubError):
    """A device sent nothing back for a command within the timeout."""


class CommsHub:
    def __init__(self, eui=CHF_EUI, mailbox_size=MAILBOX_SIZE, clock=time.time, secure=True):
        coordinator = None
        if secure:
            from smets.zigbee.coordinator import Coordinator

            from smetsbench.han import zcrypto

            coordinator = Coordinator(eui, self._authorize, crypto=zcrypto,
                                      nwk_only=self._type2,
                                      log=lambda level, text: log.log(
                                          logging.WARNING if level in "WE" else logging.INFO,
                                          "HAN: %s", text))
        self.network = HanNetwork(eui, mailbox_size=mailbox_size, coordinator=coordinator)
        self.clock = clock
        # The CHF: a link to its device model (CONTROL gbcs, han_devices, han_event) and the
        # hub's copy of its device logs {eui: (install code, join until, joined before)}.
        self.chf = None
        self.device_log = {}
        self.type2 = set()  # the Type 2 devices of the CHF device logs (CCS01 device type 6)
        self.han_events = collections.deque(maxlen=1000)
        self._reports = collections.deque()
        self._reported = {}
        # One lock over the network and what is stored; frames are sent outside it (a link
        # may answer on the same thread, e.g. an in-process board).
        self._cond = threading.Condition()
        self._outbox = collections.deque()
        self._flushing = False
        # (device eui, counter) -> Received, oldest first; a response nobody takes (it came
        # after its command timed out) is dropped once MAX_UNCLAIMED newer ones are stored.
        self._responses = collections.OrderedDict()
        self.alerts = collections.deque(maxlen=1000)
        self.unmatched = collections.deque(maxlen=100)
        self._alert_counts = collections.Counter()

    @property
    def eui(self):
        return self.network.eui

    @eui.setter
    def eui(self, value):
        self.network.eui = bytes(value)

    @property
    def devices(self):
        return self.network.devices

    @property
    def taps(self):
        """callables(direction, ApsFrame, device eui, t); direction "up" / "down"."""
        return self.network.taps

    @property
    def errors(self):
        return self.network.errors

    @property
    def coordinator(self):
        """The HAN's PAN coordinator and trust center (None: an unsecured HAN)."""
        return self.network.coordinator

    @property
    def air_taps(self):
        """callables(direction, frame, device eui or None, t) of every frame on the air."""
        return self.network.air_taps

    # -- devices ------------------------------------------------------------------------------
    def attach(self, link, eui, role=None, sleepy=False, endpoints=(1,), in_hub=False):
        """Route HAN frames of a board link through this hub; returns the device record.
        A sleepy device gets its messages when it polls (GET), an always-on one at once.
        `in_hub`: a function of the hub (the GPF), whose link carries APS frames that never
        go on the air (smets.hubport.HubPort)."""
        with self._cond:
            dev = self.network.add_device(eui, link, endpoints, sleepy, role, in_hub)
        link.on_han = self._on_han
        return dev

    def host(self, endpoint, eui, clusters=None):
        """A hub function (the GPF) serves the hub's `endpoint` (HanNetwork.host)."""
        with self._cond:
            self.network.host(endpoint, eui, clusters)

    def detach(self, eui):
        with self._cond:
            self.network.remove_device(eui)

    def wait_tunnel(self, eui, timeout=10.0):
        dev = self._device(eui)
        with self._cond:
            if not self._cond.wait_for(lambda: dev.tunnel_id is not None, timeout):
                raise HubError("device %s did not open a GBCS tunnel within %.0f s\n%s" % (
                    dev.eui.hex(), timeout, dev.link.tail()))
            return dev.tunnel_id

    def _device(self, eui):
        try:
            return self.network.devices[bytes(eui)]
        except KeyError:
            raise HubError("no device %s on this hub" % bytes(eui).hex()) from None

    # -- sending ------------------------------------------------------------------------------
    def put(self, eui, message, tunnel_timeout=10.0):
        """Give one GBCS message to a device (GBCS PUT, or its mailbox until it polls); returns
        the network's Ticket (`delivered` is set once the device has it)."""
        if self.chf is not None and bytes(eui) == self.eui:
            return self._chf_put(message)
        dev = self._device(eui)
        if dev.tunnel_id is None:
            self.wait_tunnel(eui, tunnel_timeout)
        with self._cond:
            try:
                ticket, events = self.network.put(eui, message, self.clock())
            except NetworkError as exc:
                raise HubError(str(exc)) from None
            self._handle(events)
        self._flush()
        return ticket

    def send(self, aps):
        """Send any APS frame from the hub to the device it is addressed to."""
        with self._cond:
            try:
                events = self.network.send(aps, self.clock())
            except NetworkError as exc:
                raise HubError(str(exc)) from None
            self._handle(events)
        self._flush()

    def command(self, eui, message, timeout=5.0, nudge=None):
        """Send a GBCS command and wait for the device's response with the same counter.

        `nudge()`, when given, is called once the command is on its way (in a sleepy
        device's mailbox): e.g. the bench pressing the device's button so that it polls now.
        Returns a Received; raises NoResponse when nothing comes back in time (which is the
        right outcome for a command the device must discard)."""
        counter = envelope.decode(message).counter
        self.forget_response(eui, counter)
        ticket = self.put(eui, message)
        if nudge is not None:
            nudge()
        rec = self.take_response(eui, counter, timeout)
        if rec is None:
            raise NoResponse("no response from %s to counter %d within %.1f s%s" % (
                bytes(eui).hex(), counter, timeout, self.delivery_note(ticket)))
        return rec

    def delivery_note(self, ticket):
        """Where a message is: "" once delivered to an always-on device, else a sentence
        saying whether it still waits and when the device last polled."""
        with self._cond:
            dev = self.network.devices.get(ticket.device)
            now = self.clock()
            if ticket.delivered is None:
                text = "; the message is still in the device's mailbox"
            elif dev is not None and dev.sleepy:
                text = "; handed over %.1f s ago" % (now - ticket.delivered)
            else:
                return ""
            if dev is None:
                return text + " (the device has left the hub)"
            if dev.last_poll is None:
                return text + "; the device has not polled (GET) since it was attached"
            return text + "; the device last polled %.1f s ago" % (now - dev.last_poll)

    def forget_response(self, eui, counter):
        """Drop a stored response to (device, counter), e.g. before sending that command."""
        with self._cond:
            self._responses.pop((bytes(eui), counter), None)

    def take_response(self, eui, counter, timeout=0.0):
        """The response of `eui` to the command with originator counter `counter` (a Received),
        waiting up to `timeout` seconds for it; None if there is none."""
        key = (bytes(eui), counter)
        with self._cond:
            if self._cond.wait_for(lambda: key in self._responses, timeout):
                return self._responses.pop(key)
            return None

    def wait_alert(self, eui=None, alert_filter=None, timeout=5.0, since=0.0):
        """The first alert (Received) from `eui` after `since` matching `alert_filter`."""

        def first():
            for a in self.alerts:
                if a.t < since or (eui is not None and a.device != bytes(eui)):
                    continue
                if alert_filter is None or alert_filter(a):
                    return a
            return None

        with self._cond:
            return self._cond.wait_for(first, timeout)

    def alert_count(self, eui):
        """How many alerts `eui` has sent since it was first attached (a mark for waiting)."""
        with self._cond:
            return self._alert_counts[bytes(eui)]

    def wait_response_or_alert(self, eui, counter, alerts_seen, timeout):
        """Wait until the response to `counter` is in, or `eui` has sent more than
        `alerts_seen` alerts, or `timeout` passes; the response (not taken) or None. An alert
        ends the wait because a device that rejects a command says so with one (GBCS 19.2)."""
        key = (bytes(eui), counter)

        def done():
            return key in self._responses or self._alert_counts[key[0]] > alerts_seen

        with self._cond:
            self._cond.wait_for(done, timeout)
            return self._responses.get(key)

    def wait_delivered(self, ticket, timeout):
        """True once the device has its message (pushed, or handed over on its GET)."""
        with self._cond:
            return self._cond.wait_for(lambda: ticket.delivered is not None, timeout)

    # -- receiving ------------------------------------------------------------------------------
    def _on_han(self, link, payload):
        with self._cond:
            seen = sum(self.network.errors.values())
            now = self.clock()
            events = self.network.air_tick(now) + self.network.receive(link, payload, now)
            if sum(self.network.errors.values()) != seen:
                log.warning("%s: HAN frame not handled (%s): %s", link.name,
                            ", ".join("%s %d" % kv for kv in sorted(self.network.errors.items())),
                            bytes(payload[:40]).hex())
            self._handle(events)
        self._flush()
        self._report()

    def _handle(self, events):
        """Store what came in and queue what goes out (the lock is held)."""
        notify = False
        for ev in events:
            if isinstance(ev, Transmit):
                self._outbox.append(ev)
            elif isinstance(ev, Received):
                notify = True
                if ev.kind == "response":
                    self._responses[(ev.device, ev.msg.counter)] = ev
                    while len(self._responses) > MAX_UNCLAIMED:
                        self._responses.popitem(last=False)
                        self.network.errors["unclaimed_responses_dropped"] += 1
                elif ev.kind == "alert":
                    self.alerts.append(ev)
                    self._alert_counts[ev.device] += 1
                else:
                    self.unmatched.append(ev)
            elif isinstance(ev, HanEvent):
                notify = True
                self.han_events.append(ev)
                self._queue_report(ev)
            else:  # TunnelOpened, Delivered
                notify = True
        if notify:
            self._cond.notify_all()

    def _flush(self):
        """Send queued frames in order. One thread sends at a time; a frame queued while it
        sends (by a link answering on the same thread, or by another thread) is sent by it."""
        with self._cond:
            if self._flushing:
                return
            self._flushing = True
        try:
            while True:
                with self._cond:
                    if not self._outbox:
                        self._flushing = False
                        return
                    tx = self._outbox.popleft()
                if tx.link is None:  # a frame only on the air (taps saw it)
                    continue
                try:
                    tx.link.send_han(tx.data)
                except Exception as exc:  # noqa: BLE001 - a link gone (a board stopped)
                    # The frame is lost, as on the air; the hub goes on with the others.
                    with self._cond:
                        self.network.errors["send_failed"] += 1
                    log.warning("%s: HAN frame not sent: %s", getattr(tx.link, "name", "?"),
                                exc)
        except BaseException:
            with self._cond:
                self._flushing = False
            raise

    # -- the CHF --------------------------------------------------------------------------------
    def attach_chf(self, link):
        """Run the CHF behind `link` (an in-process board or a real one provisioned as CHF with
        this hub's EUI): GBCS commands for the hub's EUI go to it, and its device log decides
        who joins the HAN."""
        self.chf = link
        self.sync_device_log()

    def _chf_put(self, message):
        """A GBCS command for the CHF: handled at once (its response and alerts are stored as
        any device's); the device log is read again afterwards (CCS01 / CCS02 change it)."""
        now = self.clock()
        ticket = Ticket(self.eui, bytes(message), now)
        out = self.chf.control("gbcs", hex=bytes(message).hex(), timeout=20.0)
        ticket.delivered = self.clock()
        with self._cond:
            self._handle([Received(self.eui, bytes.fromhex(m), ticket.delivered) for m in out])
        self.sync_device_log()
        return ticket

    def sync_device_log(self):
        """Read the CHF device logs (CONTROL han_devices) into the hub's copy; a device that
        has left them is told to leave the HAN (GBCS CCS02: it cannot rejoin)."""
        if self.chf is None:
            return
        reply = self.chf.control("han_devices")
        now = self.clock()
        log_now = {}
        type2 = set()
        for d in reply["devices"]:
            eui = bytes.fromhex(d["eui"])
            log_now[eui] = (bytes.fromhex(d["install_code"]), now + d["join_left"], d["joined"])
            if d.get("type") == TYPE_2_DEVICE:
                type2.add(eui)
        with self._cond:
            gone = [e for e in self.device_log if e not in log_now]
            self.device_log = log_now
            self.type2 = type2
            events = []
            for eui in gone:
                events += self.network.remove_member(eui, now)
            self._handle(events)
        self._flush()
        self._report()

    def _authorize(self, eui, now):
        """The trust center's question (smets.zigbee.coordinator): (install code, may join
        now) of a device in the CHF device log, else None; `eui` None: may any join now."""
        if eui is None:
            return (b"", True) if any(u > now for _c, u, _j in self.device_log.values()) \
                else None
        entry = self.device_log.get(bytes(eui))
        if entry is None:
            return None
        code, until, _joined = entry
        return code, until > now

    def _type2(self, eui):
        """The trust center's other question: whether `eui` is a Type 2 device in the CHF
        device log, with which Smart Energy frames carry NWK security only (GBCS Method B;
        smets.zigbee.stack.HanStack.aps_required)."""
        return bytes(eui) in self.type2

    # HAN events the CHF logs; "dropped" frames at most once a minute per device.
    _REPORTED = {"joined": "joined", "rejoined": "rejoined", "left": "left",
                 "refused": "refused", "join_failed": "join_failed", "announce": "heard",
                 "dropped": "dropped"}

    def _queue_report(self, ev):
        kind = self._REPORTED.get(ev.kind)
        if kind is None or self.chf is None:
            return
        if kind == "dropped":
            key = (ev.device, kind)
            if ev.t - self._reported.get(key, -1e9) < 60:
                return
            self._reported[key] = ev.t
        self._reports.append({"kind": kind, "eui": ev.device.hex() if ev.device else ""})

    def _report(self):
        """Tell the CHF what happened on the HAN (outside the lock: a board answers slowly)."""
        while self.chf is not None and self._reports:
            try:
                req = self._reports.popleft()
            except IndexError:
                return
            try:
                out = self.chf.control("han_event", **req)
            except Exception as exc:  # noqa: BLE001 - the HAN carries on without the CHF log
                log.warning("CHF han_event %s: %s", req, exc)
                continue
            if out:
                with self._cond:
                    now = self.clock()
                    self._handle([Received(self.eui, bytes.fromhex(m), now) for m in out])

    def han_event(self, kind, eui=None, **fields):
        """Tell the CHF of a HAN condition the bench plays (a duty cycle limit, a channel
        change, a message discarded, no device capacity: GBCS DBCH06-DBCH11); returns the
        alerts it raised (Received)."""
        req = dict(fields, kind=kind, eui=bytes(eui).hex() if eui else "")
        out = self.chf.control("han_event", **req)
        now = self.clock()
        recs = [Received(self.eui, bytes.fromhex(m), now) for m in out]
        with self._cond:
            self._handle(recs)
        return recs

    def wait_joined(self, eui, timeout=10.0, since=None):
        """Wait until `eui` has joined (or rejoined) the secured HAN; True if it has."""
        if self.coordinator is None:
            return True
        eui = bytes(eui)

        def joined():
            if since is None:
                return self.coordinator.joined(eui)
            return any(e.device == eui and e.kind in ("joined", "rejoined") and e.t >= since
                       for e in self.han_events)

        with self._cond:
            return self._cond.wait_for(joined, timeout)

    def tick(self):
        """Run the trust center's timers (joiners that never used the network key)."""
        with self._cond:
            self._handle(self.network.air_tick(self.clock()))
        self._report()
