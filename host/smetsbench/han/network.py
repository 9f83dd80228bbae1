"""The HAN as the Communications Hub sees it, sans-IO: devices, routing, the GBCS tunnel server.

`HanNetwork` knows the devices on the HAN (EUI-64, the link that reaches them, their endpoints,
whether they sleep) and turns what arrives into events:

    events = net.receive(link, han_bytes, now)   # a HAN frame from a board link
    ticket, events = net.put(eui, gbcs_message, now)   # a GBCS message for a device

Events are `Transmit` (a frame to send on a link), `Received` (a GBCS response, alert or other
message from a device), `TunnelOpened` and `Delivered` (a queued message handed to its device).
APS frames between two devices are routed by destination EUI-64 and endpoint whatever their
cluster (an IHD reading an ESME's Metering cluster goes through here). Frames for the hub itself
on the Tunneling cluster (0x0704) are served as GBCS 7.2 describes: RequestTunnel opens the
GB-HRGP tunnel, TransferData carries the GBCS tunnel commands GET / GET-RESPONSE / PUT.

Each device has one mailbox of messages for it. An always-on device gets them pushed in a PUT as
soon as its tunnel is open; a sleepy device (a GSME) polls with GET and gets one message per
GET-RESPONSE, with the number still waiting after it (GBCS 7.2.2), or the "nothing queued"
GET-RESPONSE (02 00). Mailboxes are bounded: a put beyond the bound is refused and counted.

No threads, no sockets, no clock: `now` (seconds since 1970, as given) is an argument and is
what the records carry. Bad or unexpected frames are counted in `errors`, never raised.
"""

import collections
import hashlib

from smets import roles, zdo
from smets.gbcs import envelope
from smets.han import BROADCAST_EUI, PROFILE_SE, ApsFrame, HANError
from smets.zcl import tunnel
from smets.zcl.frame import DEFAULT_RESPONSE, TYPE_CLUSTER, ZCLError, ZCLFrame

CHF_EUI = bytes.fromhex(roles.default_eui("CHF"))  # the RTDS Communications Hub
# The SE server clusters on endpoint 1 of each role that serves consumer devices (GBCS 10:
# the ESME, and the GPF for gas from its mirror): the hub's discovery cache answers ZDO
# Match Descriptor requests with them (smets.zdo).
SE_SERVERS = {
    "ESME": (0x0000, 0x0700, 0x0702, 0x0703, 0x0705, 0x0708),
    "GPF": (0x0000, 0x0700, 0x0702, 0x0703, 0x0705, 0x0708),
}
MAX_INCOMING = 1500  # the hub's maximum incoming transfer size (RequestTunnelResponse)
MAILBOX_SIZE = 16  # GBCS messages waiting for one device; the GET-RESPONSE count is one byte
MAX_TUNNEL_ID = 0xFFFE  # 0xFFFF is the "no tunnel" id of a refused RequestTunnel


class NetworkError(ValueError):
    """A request the network cannot carry out (unknown device, full mailbox)."""


class MailboxFull(NetworkError):
    pass


# -- events -----------------------------------------------------------------------------------
class Transmit:
    """Send `aps` on `link` (the HAN frame bytes are `data`)."""

    __slots__ = ("link", "aps", "t")

    def __init__(self, link, aps, t):
        self.link = link
        self.aps = aps
        self.t = t

    @property
    def data(self):
        return self.aps.to_bytes()

    def __repr__(self):
        return "<Transmit %r>" % (self.aps,)


class Received:
    """A GBCS message from a device; `kind` is "response", "alert" or "other"."""

    __slots__ = ("t", "device", "raw", "msg", "error", "kind")

    def __init__(self, device, raw, t):
        self.t = t
        self.device = bytes(device)
        self.raw = bytes(raw)
        self.msg = None
        self.error = None
        self.kind = "other"
        try:
            self.msg = envelope.decode(self.raw)
        except envelope.GBCSFormatError as exc:
            self.error = str(exc)
            return
        if self.msg.cra == envelope.CRA_RESPONSE:
            self.kind = "response"
        elif self.msg.cra == envelope.CRA_ALERT:
            self.kind = "alert"

    @property
    def counter(self):
        return self.msg.counter if self.msg is not None else None

    def __repr__(self):
        return "<Received %s from %s at %s>" % (self.kind, self.device.hex(), self.t)


class TunnelOpened:
    __slots__ = ("device", "tunnel_id", "t")

    def __init__(self, device, tunnel_id, t):
        self.device = device
        self.tunnel_id = tunnel_id
        self.t = t


class Delivered:
    """A message for `device` left the mailbox (`ticket.delivered` is the time)."""

    __slots__ = ("device", "ticket", "t")

    def __init__(self, device, ticket, t):
        self.device = device
        self.ticket = ticket
        self.t = t


class Ticket:
    """One GBCS message put for a device: queued at `queued`, handed over at `delivered`."""

    __slots__ = ("device", "message", "queued", "delivered")

    def __init__(self, device, message, queued):
        self.device = device
        self.message = message
        self.queued = queued
        self.delivered = None

    def __repr__(self):
        return "<Ticket for %s queued %s delivered %s>" % (self.device.hex(), self.queued,
                                                           self.delivered)


# -- devices ----------------------------------------------------------------------------------
class HanDevice:
    """What the network knows of one device."""

    def __init__(self, eui, link, endpoints=(1,), sleepy=False, role=None,
                 mailbox_size=MAILBOX_SIZE):
        self.eui = bytes(eui)
        self.link = link
        self.endpoints = tuple(endpoints)
        self.sleepy = bool(sleepy)
        self.role = role
        self.tunnel_id = None
        self.tunnel_opened = None  # when its tunnel was (last) opened
        self.max_incoming = None  # from its RequestTunnel
        self.mailbox = collections.deque((), mailbox_size)
        self.mailbox_size = mailbox_size
        self.last_poll = None  # time of its last GET
        self.last_heard = None  # time of its last frame
        # Its 16-bit network address: a stand-in until the HAN assigns real ones at joining.
        self.short = int.from_bytes(hashlib.sha256(self.eui).digest()[:2], "big") % 0xFFF0
        self.rx = 0
        self.tx = 0

    def __repr__(self):
        return "<HanDevice %s%s tunnel %s, %d waiting>" % (
            self.eui.hex(), " sleepy" if self.sleepy else "", self.tunnel_id, len(self.mailbox))


class HanNetwork:
    def __init__(self, eui=CHF_EUI, endpoints=(1,), mailbox_size=MAILBOX_SIZE,
                 max_incoming=MAX_INCOMING):
        if not 0 < mailbox_size <= 255:
            raise ValueError("a mailbox holds 1..255 messages (GET-RESPONSE counts in a byte)")
        self.eui = bytes(eui)
        self.endpoints = tuple(endpoints)
        self.mailbox_size = mailbox_size
        self.max_incoming = max_incoming
        self.devices = {}
        # The hub's endpoints served by a hub function that is a device of its own (the GPF's
        # mirror): endpoint -> (device EUI, clusters or None for every cluster but Tunneling).
        self.hosted = {}
        self.taps = []  # callables(direction, aps, eui, t); "up" (from a device), "down"
        self.errors = collections.Counter()
        self._tunnels = {}  # tunnel id -> device EUI
        self._next_tunnel = 1
        self._zcl_seq = 0
        self._aps_counter = 0

    # -- devices ------------------------------------------------------------------------------
    def add_device(self, eui, link, endpoints=(1,), sleepy=False, role=None):
        """Register (or re-register) a device; a re-registered one keeps its mailbox."""
        eui = bytes(eui)
        if len(eui) != 8:
            raise NetworkError("EUI-64 must be 8 bytes, got %s" % eui.hex())
        old = self.devices.get(eui)
        dev = HanDevice(eui, link, endpoints, sleepy, role, self.mailbox_size)
        if old is not None:
            dev.mailbox.extend(old.mailbox)
            if old.tunnel_id is not None:
                self._tunnels.pop(old.tunnel_id, None)
        self.devices[eui] = dev
        return dev

    def remove_device(self, eui):
        """Forget a device, its tunnel and its mailbox; the device record or None."""
        dev = self.devices.pop(bytes(eui), None)
        if dev is not None and dev.tunnel_id is not None:
            self._tunnels.pop(dev.tunnel_id, None)
        return dev

    def host(self, endpoint, eui, clusters=None):
        """Let the device `eui` (a hub function: the GPF) serve the hub's `endpoint`: frames for
        the hub on that endpoint, Tunneling aside (or only of `clusters`), go to it, and it
        answers as the hub (ZSE D.3.4: a meter's mirror lives on the hub)."""
        self.hosted[endpoint] = (bytes(eui), tuple(clusters) if clusters else None)

    def _hosting(self, aps):
        """The device serving a frame for the hub, or None (the CHF itself)."""
        h = self.hosted.get(aps.dst_ep)
        if h is None or aps.cluster == tunnel.CLUSTER or h[1] and aps.cluster not in h[1]:
            return None
        return self.devices.get(h[0])

    def device(self, eui):
        try:
            return self.devices[bytes(eui)]
        except KeyError:
            raise NetworkError("no device %s on this HAN" % bytes(eui).hex()) from None

    # -- the hub sends ------------------------------------------------------------------------
    def put(self, eui, message, now):
        """Queue one GBCS message for a device; (Ticket, events). Pushed at once to an
        always-on device with an open tunnel; kept for a sleepy one's GET. Raises MailboxFull
        (counted as "mailbox_overflow") when the device's mailbox is full."""
        dev = self.device(eui)
        if len(dev.mailbox) >= dev.mailbox_size:
            self.errors["mailbox_overflow"] += 1
            raise MailboxFull("mailbox of %s is full (%d messages waiting)" % (
                dev.eui.hex(), len(dev.mailbox)))
        ticket = Ticket(dev.eui, bytes(message), now)
        dev.mailbox.append(ticket)
        return ticket, self._push(dev, now)

    def send(self, aps, now):
        """Events sending a frame from the hub (any cluster) to the device it is addressed to."""
        dev = self.devices.get(aps.dst_eui)
        if dev is None:
            raise NetworkError("no device %s on this HAN" % aps.dst_eui.hex())
        return [self._transmit(dev, aps, now, "down")]

    def pending(self, eui):
        """Messages still waiting in a device's mailbox."""
        return len(self.device(eui).mailbox)

    # -- frames in ----------------------------------------------------------------------------
    def receive(self, link, payload, now):
        """Events for one HAN frame (link frame payload) that arrived on `link`."""
        try:
            aps = ApsFrame.from_bytes(payload)
        except HANError:
            self.errors["bad_han"] += 1
            return []
        self._tap("up", aps, aps.src_eui, now)
        src = self.devices.get(aps.src_eui)
        if src is None and aps.src_eui == self.eui:
            # A hub function answering as the hub (see host()).
            src = next((self.devices[e] for e, _ in self.hosted.values()
                        if e in self.devices and self.devices[e].link is link), None)
        if src is None or src.link is not link:
            self.errors["unknown_device"] += 1
            return []
        src.rx += 1
        src.last_heard = now
        if aps.dst_eui == self.eui:
            if aps.profile == zdo.PROFILE_ZDO and aps.dst_ep == zdo.ENDPOINT_ZDO:
                return self._zdo(src, aps, now)
            function = self._hosting(aps)
            if function is not None:
                return [self._transmit(function, aps, now, None)]
            if aps.dst_ep not in self.endpoints:
                self.errors["unknown_endpoint"] += 1
                return []
            return self._for_hub(src, aps, now)
        if aps.dst_eui == BROADCAST_EUI:
            return [self._transmit(d, aps, now, None) for d in self.devices.values()
                    if d is not src]
        dst = self.devices.get(aps.dst_eui)
        if dst is None:
            self.errors["unknown_destination"] += 1
            return []
        if aps.dst_ep not in dst.endpoints:
            self.errors["unknown_endpoint"] += 1
            return []
        # Tapped once, as it came in: one frame on the air, whoever relays it.
        return [self._transmit(dst, aps, now, None)]

    def _zdo(self, dev, aps, now):
        """Service discovery (ZigBee 2.4.3.1.7): a Match_Desc_rsp, from each device whose SE
        endpoint serves one of the clusters asked for, with that device as the source (the
        discovery cache answers for it, as a coordinator does for sleeping devices)."""
        if aps.cluster != zdo.MATCH_DESC_REQ:
            self.errors["unsupported_zdo"] += 1
            return []
        try:
            tsn, _addr, profile, ins, outs = zdo.parse_match_desc_req(aps.payload)
        except zdo.ZDOError:
            self.errors["bad_zdo"] += 1
            return []
        events = []
        for other in self.devices.values():
            servers = SE_SERVERS.get(other.role, ())
            if other is dev or profile != PROFILE_SE or not any(c in servers for c in ins):
                continue
            rsp = ApsFrame(other.eui, dev.eui, zdo.MATCH_DESC_RSP, zdo.match_desc_rsp(
                tsn, other.short, [other.endpoints[0]]), src_ep=zdo.ENDPOINT_ZDO,
                dst_ep=zdo.ENDPOINT_ZDO, src_short=other.short, dst_short=aps.src_short,
                profile=zdo.PROFILE_ZDO)
            events.append(self._transmit(dev, rsp, now, "down"))
        return events

    def _for_hub(self, dev, aps, now):
        if aps.cluster != tunnel.CLUSTER:
            # The hub serves no other cluster yet (the GPF's mirror comes with the GSME).
            self.errors["unsupported_cluster"] += 1
            return []
        try:
            zcl = ZCLFrame.from_bytes(aps.payload)
        except ZCLError:
            self.errors["bad_zcl"] += 1
            return []
        if zcl.frame_type != TYPE_CLUSTER:
            if zcl.command != DEFAULT_RESPONSE:
                self.errors["unexpected_zcl"] += 1
            return []
        if zcl.server_to_client:
            self.errors["wrong_direction"] += 1
            return []
        try:
            if zcl.command == tunnel.REQUEST_TUNNEL:
                return self._request_tunnel(dev, aps, zcl, now)
            if zcl.command == tunnel.TRANSFER_DATA_C2S:
                return self._transfer_data(dev, aps, zcl, now)
            if zcl.command == tunnel.CLOSE_TUNNEL:
                tid = tunnel.parse_tunnel_closure(zcl.payload)  # CloseTunnel: tunnel id only
                if tid == dev.tunnel_id:
                    self._tunnels.pop(tid, None)
                    dev.tunnel_id = None
                else:
                    self.errors["no_such_tunnel"] += 1
                return []
            if zcl.command == tunnel.TRANSFER_DATA_ERROR_C2S:
                tunnel.parse_transfer_data_error(zcl.payload)
                self.errors["transfer_data_error"] += 1
                return []
        except ZCLError:
            self.errors["bad_tunnel"] += 1
            return []
        self.errors["unsupported_tunnel_command"] += 1
        return []

    def _request_tunnel(self, dev, aps, zcl, now):
        req = tunnel.parse_request_tunnel(zcl.payload)
        events = []
        if req["protocol"] != tunnel.PROTOCOL_GB_HRGP:
            status, tid = tunnel.TUNNEL_PROTOCOL_NOT_SUPPORTED, 0xFFFF
        elif dev.tunnel_id is None and self._next_tunnel > MAX_TUNNEL_ID:
            status, tid = tunnel.TUNNEL_NO_MORE_IDS, 0xFFFF
        else:
            status = tunnel.TUNNEL_SUCCESS
            if dev.tunnel_id is None:
                # A device asking again (it rebooted) keeps its id: its tunnel is the hub's.
                dev.tunnel_id = self._next_tunnel
                self._tunnels[dev.tunnel_id] = dev.eui
                self._next_tunnel += 1
            dev.max_incoming = req["max_incoming"]
            dev.tunnel_opened = now
            tid = dev.tunnel_id
        events.append(self._zcl_to(dev, aps, tunnel.REQUEST_TUNNEL_RESPONSE,
                                   tunnel.request_tunnel_response(tid, status,
                                                                  self.max_incoming), now))
        if status == tunnel.TUNNEL_SUCCESS:
            events.append(TunnelOpened(dev.eui, tid, now))
            events.extend(self._push(dev, now))
        return events

    def _transfer_data(self, dev, aps, zcl, now):
        tid, data = tunnel.parse_transfer_data(zcl.payload)
        if tid != dev.tunnel_id or self._tunnels.get(tid) != dev.eui:
            self.errors["no_such_tunnel"] += 1
            return [self._zcl_to(dev, aps, tunnel.TRANSFER_DATA_ERROR_S2C,
                                 tunnel.transfer_data_error(tid, tunnel.NO_SUCH_TUNNEL), now)]
        command, message, _ = tunnel.parse_gbcs_tunnel(data)
        if command == tunnel.GBCS_GET:
            return self._get(dev, aps, now)
        if command == tunnel.GBCS_GET_RESPONSE:
            # GBCS 7.2: only the CHF answers a GET; a device has no mailbox to serve.
            self.errors["unexpected_get_response"] += 1
            return []
        rec = Received(dev.eui, message, now)
        if rec.kind == "other":
            self.errors["unexpected_gbcs"] += 1
        return [rec]

    def _get(self, dev, aps, now):
        """GBCS 7.2.2: one message per GET-RESPONSE with the count still waiting after it."""
        dev.last_poll = now
        if not dev.mailbox:
            return [self._zcl_to(dev, aps, tunnel.TRANSFER_DATA_S2C, tunnel.transfer_data(
                dev.tunnel_id, tunnel.gbcs_get_response()), now)]
        ticket = dev.mailbox.popleft()
        ticket.delivered = now
        data = tunnel.gbcs_get_response(ticket.message, len(dev.mailbox))
        return [self._zcl_to(dev, aps, tunnel.TRANSFER_DATA_S2C,
                             tunnel.transfer_data(dev.tunnel_id, data), now),
                Delivered(dev.eui, ticket, now)]

    # -- helpers ------------------------------------------------------------------------------
    def _push(self, dev, now):
        """PUT every waiting message to an always-on device whose tunnel is open."""
        events = []
        if dev.sleepy or dev.tunnel_id is None:
            return events
        while dev.mailbox:
            ticket = dev.mailbox.popleft()
            ticket.delivered = now
            events.append(self._zcl_to(dev, None, tunnel.TRANSFER_DATA_S2C, tunnel.transfer_data(
                dev.tunnel_id, tunnel.gbcs_put(ticket.message)), now))
            events.append(Delivered(dev.eui, ticket, now))
        return events

    def _zcl_to(self, dev, request, command, payload, now):
        """A Tunneling cluster command from the hub to `dev` (to the endpoint `request` came
        from, when it answers one)."""
        self._zcl_seq = (self._zcl_seq + 1) & 0xFF
        zcl = ZCLFrame(command, payload, frame_type=TYPE_CLUSTER, server_to_client=True,
                       disable_default_response=True, seq=self._zcl_seq)
        self._aps_counter = (self._aps_counter + 1) & 0xFF
        src_ep = request.dst_ep if request is not None else self.endpoints[0]
        dst_ep = request.src_ep if request is not None else dev.endpoints[0]
        aps = ApsFrame(self.eui, dev.eui, tunnel.CLUSTER, zcl.to_bytes(), src_ep=src_ep,
                       dst_ep=dst_ep, counter=self._aps_counter)
        return self._transmit(dev, aps, now, "down")

    def _transmit(self, dev, aps, now, direction):
        if direction is not None:
            self._tap(direction, aps, dev.eui, now)
        dev.tx += 1
        return Transmit(dev.link, aps, now)

    def _tap(self, direction, aps, eui, now):
        for tap in self.taps:
            try:
                tap(direction, aps, eui, now)
            except Exception:  # noqa: BLE001 - a broken capture must not stop the HAN
                self.errors["tap_failed"] += 1
