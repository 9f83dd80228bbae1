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

Secured HAN (`coordinator=`, a smets.zigbee.coordinator.Coordinator): the links then carry what
is on the air, IEEE 802.15.4 frames with secured ZigBee NWK frames inside. The coordinator (the
hub's PAN coordinator and trust center) admits devices in the CHF device log, opens and secures
every frame and relays device-to-device frames; the network above it sees APS frames as before.
`air_taps` see every frame on the air; `HanEvent`s say who joined, left or was refused. Without
a coordinator the links carry bare APS frames (smets.han), for tests of the routing alone.

Frames for the hub on clusters other than Tunneling are answered from the hub's endpoint: the
Time cluster (smets.zcl.time), the CHF being the SMHAN's time source.

No threads, no sockets, no clock: `now` (seconds since 1970, as given) is an argument and is
what the records carry. Bad or unexpected frames are counted in `errors`, never raised.
"""

import collections
import hashlib

from smets import roles, zdo
from smets.gbcs import envelope
from smets.han import BROADCAST_EUI, PROFILE_SE, ApsFrame, HANError
from smets.zcl import se, tunnel
from smets.zcl.endpoint import Endpoint
from smets.zcl.frame import DEFAULT_RESPONSE, TYPE_CLUSTER, ZCLError, ZCLFrame
from smets.zcl.time import TimeServer

CHF_EUI = bytes.fromhex(roles.default_eui("CHF"))  # the RTDS Communications Hub
# The SE server clusters on endpoint 1 of each role that serves consumer devices: the hub's
# discovery cache answers ZDO Match Descriptor requests with them (smets.zdo).
SE_SERVERS = {"ESME": se.CONSUMER_SERVERS, "GPF": se.CONSUMER_SERVERS}
MAX_INCOMING = 1500  # the hub's maximum incoming transfer size (RequestTunnelResponse)
MAILBOX_SIZE = 16  # GBCS messages waiting for one device; the GET-RESPONSE count is one byte
HUB_SHORT = 0x0000  # the hub's network address: the PAN coordinator's (ZigBee 3.6.1.4)
MAX_TUNNEL_ID = 0xFFFE  # 0xFFFF is the "no tunnel" id of a refused RequestTunnel


class NetworkError(ValueError):
    """A request the network cannot carry out (unknown device, full mailbox)."""


class MailboxFull(NetworkError):
    pass


# -- events -----------------------------------------------------------------------------------
class Transmit:
    """Send `aps` on `link` (the HAN frame bytes are `data`: the frame on the air when the HAN
    is secured, else the APS frame). `link` None: nothing to send (a secured HAN refused the
    frame: its device has not joined)."""

    __slots__ = ("link", "aps", "t", "raw")

    def __init__(self, link, aps, t, raw=None):
        self.link = link
        self.aps = aps
        self.t = t
        self.raw = raw

    @property
    def data(self):
        return self.raw if self.raw is not None else self.aps.to_bytes()

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


class HanEvent:
    """Something the secured HAN did: `kind` "associated", "joined", "rejoined", "left",
    "refused", "join_failed", "announce" or "dropped" (a frame the trust center refused),
    `device` the EUI-64 (None when unknown), `detail` why."""

    __slots__ = ("kind", "device", "detail", "t")

    def __init__(self, kind, device, detail, t):
        self.kind = kind
        self.device = device
        self.detail = detail
        self.t = t

    def __repr__(self):
        return "<HanEvent %s %s %s>" % (self.kind, self.device.hex() if self.device else "-",
                                        self.detail or "")


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
                 mailbox_size=MAILBOX_SIZE, in_hub=False):
        self.eui = bytes(eui)
        self.link = link
        self.endpoints = tuple(endpoints)
        self.sleepy = bool(sleepy)
        self.role = role
        # A function of the hub itself (the GPF): its link carries APS frames, never on the
        # air; what it sends through the hub goes on the air as the hub's.
        self.in_hub = bool(in_hub)
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
                 max_incoming=MAX_INCOMING, coordinator=None):
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
        # The secured HAN: the hub's PAN coordinator / trust center, the frames on the air.
        self.coordinator = coordinator
        self.air_taps = []  # callables(direction, frame bytes, device eui or None, t)
        # The hub's own clusters besides Tunneling: the Time cluster (CHF time source).
        self.time = TimeServer()
        self.endpoint = Endpoint(self.endpoints[0], (self.time.cluster(),))

    # -- devices ------------------------------------------------------------------------------
    def add_device(self, eui, link, endpoints=(1,), sleepy=False, role=None, in_hub=False):
        """Register (or re-register) a device; a re-registered one keeps its mailbox.
        `in_hub`: a function of the hub (HanDevice.in_hub)."""
        eui = bytes(eui)
        if len(eui) != 8:
            raise NetworkError("EUI-64 must be 8 bytes, got %s" % eui.hex())
        old = self.devices.get(eui)
        dev = HanDevice(eui, link, endpoints, sleepy, role, self.mailbox_size, in_hub)
        if old is not None:
            dev.mailbox.extend(old.mailbox)
            if old.link is link:
                # The same device described again (e.g. its endpoints): its tunnel stays.
                dev.tunnel_id, dev.tunnel_opened = old.tunnel_id, old.tunnel_opened
                dev.max_incoming, dev.last_poll = old.max_incoming, old.last_poll
            elif old.tunnel_id is not None:
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

    def _in_hub(self, link):
        """Whether `link` is a hub function's (its frames are APS frames, not on the air)."""
        return any(d.in_hub and d.link is link for d in self.devices.values())

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
        if self.coordinator is not None and not self._in_hub(link):
            return self._receive_air(link, payload, now)
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
        return self._from_device(src, aps, now)

    def _from_device(self, src, aps, now):
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
            if self.coordinator is not None:
                return []  # the coordinator relayed it at the NWK layer
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
        discovery cache answers for it, as a coordinator does for sleeping devices; on the
        air the response comes from the hub, its NWKAddrOfInterest naming the device); and
        IEEE_addr_req (2.4.3.1.2), the EUI-64 of a device the cache named; NWK_addr_req
        (2.4.3.1.1), the network address of a device known by its EUI-64 (a PPMID's meter)."""
        if aps.cluster == zdo.IEEE_ADDR_REQ:
            return self._ieee_addr(dev, aps, now)
        if aps.cluster == zdo.NWK_ADDR_REQ:
            return self._nwk_addr(dev, aps, now)
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
            short = self._short(other)
            if other is dev or profile != PROFILE_SE or not any(c in servers for c in ins) \
                    or short is None:
                continue
            eui, ep = other.eui, other.endpoints[0]
            if other.in_hub:
                # A function of the hub (the GPF): its server is the hub's endpoint it hosts
                # for every cluster (the mirror, ZSE D.3.4), on the hub's own address.
                eui = self.eui
                ep = next((e for e, (d, cl) in sorted(self.hosted.items())
                           if d == other.eui and cl is None), ep)
            rsp = ApsFrame(eui, dev.eui, zdo.MATCH_DESC_RSP, zdo.match_desc_rsp(
                tsn, short, [ep]), src_ep=zdo.ENDPOINT_ZDO,
                dst_ep=zdo.ENDPOINT_ZDO, src_short=short, dst_short=aps.src_short,
                profile=zdo.PROFILE_ZDO)
            events.append(self._transmit(dev, rsp, now, "down"))
        return events

    def _ieee_addr(self, dev, aps, now):
        try:
            tsn, addr, _kind = zdo.parse_ieee_addr_req(aps.payload)
        except zdo.ZDOError:
            self.errors["bad_zdo"] += 1
            return []
        payload = zdo.ieee_addr_rsp(tsn, b"\xff" * 8, addr, zdo.DEVICE_NOT_FOUND)
        if addr == HUB_SHORT:
            payload = zdo.ieee_addr_rsp(tsn, self.eui, addr)  # the hub (and what it hosts)
        for other in self.devices.values():
            if not other.in_hub and self._short(other) == addr:
                payload = zdo.ieee_addr_rsp(tsn, other.eui, addr)
        rsp = ApsFrame(self.eui, dev.eui, zdo.IEEE_ADDR_RSP, payload, src_ep=zdo.ENDPOINT_ZDO,
                       dst_ep=zdo.ENDPOINT_ZDO, dst_short=aps.src_short,
                       profile=zdo.PROFILE_ZDO)
        return [self._transmit(dev, rsp, now, "down")]

    def _nwk_addr(self, dev, aps, now):
        try:
            tsn, eui, _kind = zdo.parse_nwk_addr_req(aps.payload)
        except zdo.ZDOError:
            self.errors["bad_zdo"] += 1
            return []
        other = self.devices.get(eui)
        short = HUB_SHORT if eui == self.eui else None if other is None else self._short(other)
        if short is None:
            payload = zdo.ieee_addr_rsp(tsn, eui, 0xFFFF, zdo.DEVICE_NOT_FOUND)
        else:
            payload = zdo.ieee_addr_rsp(tsn, eui, short)
        rsp = ApsFrame(self.eui, dev.eui, zdo.NWK_ADDR_RSP, payload, src_ep=zdo.ENDPOINT_ZDO,
                       dst_ep=zdo.ENDPOINT_ZDO, dst_short=aps.src_short,
                       profile=zdo.PROFILE_ZDO)
        return [self._transmit(dev, rsp, now, "down")]

    def _short(self, dev):
        """A device's 16-bit network address: the one the trust center gave it on a secured
        HAN (None while it is not a member), else the network's stand-in."""
        if dev.in_hub:
            return HUB_SHORT
        if self.coordinator is None:
            return dev.short
        m = self.coordinator.member(dev.eui)
        return m.short if m is not None and self.coordinator.joined(dev.eui) else None

    def _for_hub(self, dev, aps, now):
        if aps.cluster != tunnel.CLUSTER:
            return self._hub_endpoint(dev, aps, now)
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
        if self.coordinator is None or dev.in_hub:
            return Transmit(dev.link, aps, now)
        for ev in self.coordinator.send(aps, now):
            if ev[0] == "tx":
                self._air_tap("down", ev[2], ev[1], now)
                return Transmit(dev.link, aps, now, ev[2])
            if ev[0] == "held":
                # A sleepy device's: on the air (and tapped) when it polls for it.
                return Transmit(None, aps, now)
        self.errors["not_joined"] += 1
        return Transmit(None, aps, now)

    # -- the secured HAN (a coordinator) --------------------------------------------------------
    def _receive_air(self, link, payload, now):
        """One frame off the air: the coordinator opens, relays or answers it; what is for
        the hub goes on as an APS frame."""
        self._air_tap("up", payload, None, now)
        events = []
        for ev in self.coordinator.receive(payload, now):
            kind = ev[0]
            if kind == "tx":
                events += self._air_out(link, ev[1], ev[2], now)
            elif kind == "aps":
                aps = ev[1]
                src = self.devices.get(aps.src_eui)
                if src is None:
                    src = self.add_device(aps.src_eui, link)
                elif src.link is not link:
                    self.errors["wrong_link"] += 1
                    continue
                self._tap("up", aps, aps.src_eui, now)
                events += self._from_device(src, aps, now)
            else:
                eui = ev[1]
                if kind == "associated" and eui not in self.devices:
                    # A device joining on a link of its own: the link is where it lives.
                    m = self.coordinator.member(eui)
                    self.add_device(eui, link, sleepy=m is not None and m.sleepy)
                elif kind == "dropped":
                    self.errors["air_" + ("unknown" if eui is None else "dropped")] += 1
                if eui is not None and eui in self.devices:
                    self.devices[eui].last_heard = now
                events.append(HanEvent(kind, eui, ev[2] if len(ev) > 2 else None, now))
        return events

    def _air_out(self, link, eui, frame, now):
        dev = self.devices.get(eui) if eui is not None else None
        self._air_tap("down", frame, eui, now)
        if dev is not None:
            dev.tx += 1
            return [Transmit(dev.link, None, now, frame)]
        return [Transmit(link, None, now, frame)]

    def air_tick(self, now):
        """Events of the coordinator's timers (joiners that never got the network key)."""
        if self.coordinator is None:
            return []
        return [HanEvent(ev[0], ev[1], ev[2], now) for ev in self.coordinator.tick(now)]

    def remove_member(self, eui, now):
        """A device taken out of the CHF device log: told to leave the HAN and forgotten by the
        trust center (its network record stays, for a device that comes back)."""
        if self.coordinator is None:
            return []
        events = []
        for ev in self.coordinator.remove(eui, now):
            if ev[0] == "tx":
                events += self._air_out(None, ev[1], ev[2], now)
            else:
                events.append(HanEvent(ev[0], ev[1], None, now))
        return events

    def _air_tap(self, direction, frame, eui, now):
        self._notify(self.air_taps, direction, frame, eui, now)

    def _hub_endpoint(self, dev, aps, now):
        """A frame for the hub's own clusters (the Time cluster); Default Response otherwise."""
        self.time.at(now)
        try:
            zcl = ZCLFrame.from_bytes(aps.payload)
        except ZCLError:
            self.errors["bad_zcl"] += 1
            return []
        if self.endpoint.cluster(aps.cluster, not zcl.server_to_client) is None:
            self.errors["unsupported_cluster"] += 1
        answer = self.endpoint.handle(aps.cluster, zcl, now)
        if answer is None:
            return []
        return [self._transmit(dev, aps.reply(aps.cluster, answer.to_bytes()), now, "down")]

    def _tap(self, direction, aps, eui, now):
        self._notify(self.taps, direction, aps, eui, now)

    def _notify(self, taps, direction, frame, eui, now):
        for tap in taps:
            try:
                tap(direction, frame, eui, now)
            except Exception:  # noqa: BLE001 - a broken capture must not stop the HAN
                self.errors["tap_failed"] += 1
