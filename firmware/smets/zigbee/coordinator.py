"""The Communications Hub's side of the HAN (sans-IO): PAN coordinator and trust center.

    tc = Coordinator(hub_eui, authorize, crypto)
    events = tc.receive(mac_bytes, now)     # one 802.15.4 frame from a device's link
    events = tc.send(aps, now)               # an APS frame (smets.han.ApsFrame) from the hub
    events = tc.remove(eui, now)             # a device taken out of the CHF device log
    events = tc.tick(now)

Events are tuples: ("tx", eui or None, frame) a frame to send to a device (None: back where
the frame just received came from, for a device that has not joined), ("aps", ApsFrame) a
frame for the hub, and what happened: ("joined" | "rejoined" | "left", eui),
("refused", eui, why), ("join_failed", eui, why), ("dropped", eui or None, why), and from
send(): ("held", eui) a frame kept for a sleepy device until it polls.

Admission (ZigBee spec 05-3474 4.6.3, 4.7.3; GBCS: only devices in the CHF device log join):
`authorize(eui, now)` returns (install code, may join now) for a device in the CHF device log,
or None. A device not in the log, or whose join period is over and that has never joined, is
refused at association (802.15.4 status 0x02, PAN access denied). An admitted device gets the
network key in an APS Transport Key secured with the key-transport key of the link key of its
install code (4.6.3.4); it has joined once a frame of its verifies with that network key.
Every frame after that is NWK-secured (hop by hop: the coordinator relays device-to-device
frames re-secured with its own frame counter, 4.3.1.2) and Smart Energy clusters are also
APS-secured with the device's link key (stack.se_cluster), but for Type 2 devices
(`nwk_only(eui)`: the CHF device log's type 6, GBCS Method B: no link key is agreed with
them, see HanStack.aps_required). Replayed or stale counters, bad MICs, unsecured frames and
frames from devices that are not members are dropped and reported; a Smart Energy frame
without the APS security it needs is answered with a ZCL Default Response FAILURE (ZSE 5.4.6).
ZDO frames (profile 0) go up to the hub, whose discovery cache answers them; a Device_annce
is the "announce" event.
A removed device gets a NWK Leave request (3.4.4) and is forgotten: it cannot rejoin.

A sleepy member (capability "receiver on when idle" clear: the GSME) hears nothing unasked:
the coordinator holds its frames (indirect transmission, 802.15.4-2006 7.5.6.3; INDIRECT_MAX
per device, oldest dropped) until it polls with a MAC Data Request, then sends the oldest with
the frame pending bit set while more wait, or an empty data frame when none does. Broadcasts
to the devices with receivers on (0xFFFD) leave it out; those to all devices wait for it too.

`crypto` is smets.zigbee.sec on a board, or the host's `cryptography` provider.
"""

import binascii
import os

from smets.han import BROADCAST_EUI, FLAG_ACK, FLAG_BROADCAST, FLAG_SECURE, ApsFrame
from smets.zigbee import security
from smets.zigbee.frames import (
    APS_ACK,
    APS_BROADCAST,
    APS_COMMAND,
    APS_DATA,
    APS_TRANSPORT_KEY,
    APS_UNICAST,
    ASSOC_PAN_ACCESS_DENIED,
    ASSOC_SUCCESS,
    BROADCAST_SHORT,
    KEY_DATA,
    KEY_NETWORK,
    KEY_TRANSPORT,
    MAC_ASSOCIATION_REQUEST,
    MAC_ASSOCIATION_RESPONSE,
    MAC_BEACON,
    MAC_BEACON_REQUEST,
    MAC_COMMAND,
    MAC_DATA,
    MAC_DATA_REQUEST,
    NWK_BROADCAST_RX_ON,
    NWK_COMMAND,
    NWK_DATA,
    NWK_LEAVE,
    NWK_REJOIN_REQUEST,
    NWK_REJOIN_RESPONSE,
    ApsPdu,
    Aux,
    FrameError,
    MacFrame,
    NwkFrame,
    _rev,
)
from smets.zigbee.sec import SecurityError
from smets.zigbee.stack import COORDINATOR, se_cluster, zcl_refusal

AUTHENTICATION_TIMEOUT_S = 10  # a joiner must use the network key within this (wrong code)
INDIRECT_MAX = 8  # frames held for one sleepy device until it polls (oldest dropped)
KEY_TYPE_NETWORK = 0x01
ZDO_DEVICE_ANNCE = 0x0013
_PENDING = "authenticating"
_JOINED = "joined"


def _hex(b):
    return binascii.hexlify(b).decode()


class Member:
    """A device that has associated: its short address, link key and state."""

    __slots__ = ("eui", "short", "link_raw", "link", "state", "since", "capability", "heard")

    def __init__(self, eui, short, link_raw, crypto, state, since, capability=0x8C):
        self.eui = eui
        self.short = short
        self.link_raw = link_raw
        self.link = crypto.key(link_raw)
        self.state = state
        self.since = since
        self.capability = capability
        self.heard = since

    @property
    def sleepy(self):
        return not self.capability & 0x08  # receiver off when idle (802.15.4 7.3.1.2)


class Coordinator:
    def __init__(self, eui, authorize, crypto=None, pan_id=None, nwk_key=None, log=None,
                 record=None, nwk_only=None):
        if crypto is None:
            from smets.zigbee import sec as crypto
        self.crypto = crypto
        self.eui = bytes(eui)
        self.authorize = authorize
        self.nwk_only = nwk_only  # nwk_only(eui): a Type 2 member (no APS link key use)
        self._log = log
        self.members = {}
        self.stats = {"rx": 0, "tx": 0, "bad_frames": 0, "bad_mic": 0, "replayed": 0,
                      "unsecured": 0, "unknown_device": 0, "refused": 0, "joined": 0,
                      "rejoined": 0, "relayed": 0, "removed": 0, "join_failed": 0,
                      "held": 0, "polled": 0, "held_dropped": 0}
        # Frames held for sleepy devices until they poll: short address -> [MAC frame bytes]
        # (by short address, the MAC destination: a device told to leave still polls for it).
        self.indirect = {}
        self._mac_seq = 0
        self._nwk_seq = 0
        self._aps_seq = 0
        rec = record or {}
        # PAN id: not 0xFFFF (broadcast); from the hub's EUI so that it is stable.
        self.pan = pan_id if pan_id is not None else rec.get("pan", (
            (self.eui[6] << 8 | self.eui[7]) % 0xFFF0) or 0x1A62)
        raw = rec.get("nwk")
        self.nwk_raw = bytes.fromhex(raw) if raw else bytes(nwk_key or os.urandom(16))
        self.nwk_key = crypto.key(self.nwk_raw)
        self.key_seq = rec.get("seq", 0)
        self.nwk_out = security.OutCounter(rec.get("nwk_out", 0))
        self.aps_out = security.OutCounter(rec.get("aps_out", 0))
        self.nwk_in = security.InCounters(rec.get("nwk_in"))
        self.aps_in = security.InCounters(rec.get("aps_in"))
        self.dirty = record is None  # something to save (record())
        for e, m in (rec.get("members") or {}).items():
            eui_b = bytes.fromhex(e)
            self.members[eui_b] = Member(eui_b, m["short"], bytes.fromhex(m["link"]), crypto,
                                         m["state"], m.get("since", 0), m.get("cap", 0x8C))

    # -- persistence --------------------------------------------------------------------------
    def record(self):
        """The state to keep across restarts (JSON-able); `dirty` is cleared."""
        self.dirty = False
        return {"pan": self.pan, "nwk": _hex(self.nwk_raw), "seq": self.key_seq,
                "nwk_out": self.nwk_out.ceiling, "aps_out": self.aps_out.ceiling,
                "nwk_in": self.nwk_in.to_record(), "aps_in": self.aps_in.to_record(),
                "members": {_hex(m.eui): {"short": m.short, "link": _hex(m.link_raw),
                                          "state": m.state, "since": m.since,
                                          "cap": m.capability}
                            for m in self.members.values()}}

    def log(self, level, text):
        if self._log:
            self._log(level, text)

    def _drop(self, what, eui, text):
        self.stats[what] += 1
        self.log("W", text)
        return [("dropped", eui, text)]

    def keys(self):
        """(label, key) of every key in use, for a capture's key file."""
        out = [("network key, sequence %d" % self.key_seq, self.nwk_raw)]
        for m in self.members.values():
            out.append(("trust center link key %s" % _hex(m.eui), m.link_raw))
        return out

    # -- helpers ------------------------------------------------------------------------------
    def member(self, eui):
        return self.members.get(bytes(eui))

    def joined(self, eui):
        m = self.members.get(bytes(eui))
        return m is not None and m.state == _JOINED

    def _count(self, counter):
        value, save = counter.take()
        if save:
            self.dirty = True
        return value

    def _seq(self, name):
        v = (getattr(self, name) + 1) & 0xFF
        setattr(self, name, v)
        return v

    def _short_for(self, eui):
        m = self.members.get(eui)
        if m is not None:
            return m.short
        # A short address from the EUI, clear of those in use and of the reserved range.
        used = {x.short for x in self.members.values()}
        s = ((eui[6] << 8) | eui[7]) % 0xFFF0 or 1
        while s in used or s == COORDINATOR:
            s = (s + 1) % 0xFFF0 or 1
        return s

    def _to(self, m, frame):
        """The event sending `frame` to member `m`: now, or held until it polls when its
        receiver is off (a sleepy device); [] when held."""
        if not m.sleepy or m.state != _JOINED:
            return [("tx", m.eui, frame)]
        q = self.indirect.setdefault(m.short, [])
        if len(q) >= INDIRECT_MAX:
            q.pop(0)
            self.stats["held_dropped"] += 1
            self.log("W", "frame held for %s dropped: %d waiting" % (_hex(m.eui), len(q)))
        q.append(frame)
        self.stats["held"] += 1
        return []

    def _data_request(self, mac, now):
        """A sleepy device polls (802.15.4-2006 7.5.6.3): the oldest frame held for it (frame
        pending set while more wait), or an empty data frame."""
        m = None
        if isinstance(mac.src, bytes):
            m = self.members.get(mac.src)
        else:
            for x in self.members.values():
                if x.short == mac.src:
                    m = x
        short = m.short if m is not None else mac.src
        q = self.indirect.get(short)
        if m is None and q is None:
            return self._drop("unknown_device", None, "Data Request from %s, which has not "
                                                      "joined" % (mac.src,))
        self.stats["polled"] += 1
        eui = m.eui if m is not None else None
        if m is not None:
            m.heard = now
        if q:
            frame = q.pop(0)
            if q:
                frame = bytes((frame[0] | 0x10,)) + frame[1:]  # frame pending (7.2.1.1.3)
            else:
                del self.indirect[short]
            return [("tx", eui, frame)]
        return [("tx", eui, self._mac(short, b""))]

    def _mac(self, dst, payload, ftype=MAC_DATA):
        self.stats["tx"] += 1
        return MacFrame(ftype, self._seq("_mac_seq"), self.pan, dst, self.pan, COORDINATOR,
                        payload, ack_req=dst != BROADCAST_SHORT).to_bytes()

    def _seal_nwk(self, nwk, payload):
        return security.seal_nwk(self.crypto, self.nwk_key, self.key_seq, self.eui,
                                 self._count(self.nwk_out), nwk, payload)

    # -- frames in ----------------------------------------------------------------------------
    def receive(self, data, now):
        self.stats["rx"] += 1
        try:
            mac = MacFrame.from_bytes(data)
        except FrameError as exc:
            return self._drop("bad_frames", None, "bad 802.15.4 frame: %s" % exc)
        if mac.ftype == MAC_COMMAND:
            return self._mac_command(mac, now)
        if mac.ftype != MAC_DATA:
            return self._drop("bad_frames", None, "802.15.4 frame type %d from a device"
                              % mac.ftype)
        if mac.dst_pan != self.pan or mac.dst not in (COORDINATOR, BROADCAST_SHORT, self.eui):
            return self._drop("bad_frames", None, "802.15.4 frame for PAN %s address %s" % (
                mac.dst_pan, mac.dst))
        try:
            nwk = NwkFrame.from_bytes(mac.payload)
        except FrameError as exc:
            return self._drop("bad_frames", None, "bad NWK frame: %s" % exc)
        mac = None
        aux = nwk.aux
        if aux is None:
            return self._drop("unsecured", nwk.src_eui, "unsecured NWK frame from %04x dropped"
                              % nwk.src)
        sender = aux.src_eui or nwk.src_eui
        if aux.key_id != KEY_NETWORK or sender is None:
            return self._drop("unsecured", sender, "NWK frame not secured with the network "
                                                   "key, or without its source")
        m = self.members.get(sender)
        if not self.nwk_in.fresh(sender, aux.counter):
            return self._drop("replayed", sender, "NWK frame counter %d from %s replayed or "
                                                  "stale" % (aux.counter, _hex(sender)))
        try:
            payload = security.open_frame(self.crypto, self.nwk_key, nwk, sender)
        except SecurityError as exc:
            return self._drop("bad_mic", sender, "NWK frame from %s: %s" % (_hex(sender), exc))
        if m is None:
            if nwk.ftype == NWK_COMMAND and payload[:1] == bytes((NWK_REJOIN_REQUEST,)):
                # A device the trust center does not know any more, with the network key.
                self.nwk_in.accept(sender, aux.counter)
                return self._rejoin(None, sender, nwk, payload, now)
            return self._drop("unknown_device", sender, "frame from %s, which has not joined"
                              % _hex(sender))
        self.nwk_in.accept(sender, aux.counter)
        m.heard = now
        events = []
        if m.state == _PENDING:
            # Its first frame under the network key: it has the key (4.6.3.4 done).
            m.state = _JOINED
            m.since = now
            self.dirty = True
            self.stats["joined"] += 1
            self.log("I", "%s joined as %04x" % (_hex(sender), m.short))
            events.append(("joined", sender))
        if nwk.ftype == NWK_COMMAND:
            return events + self._nwk_command(m, nwk, payload, now)
        if nwk.dst not in (COORDINATOR, NWK_BROADCAST_RX_ON, BROADCAST_SHORT, 0xFFFC):
            return events + self._relay(m, nwk, payload, now)
        if nwk.dst >= 0xFFF8:
            events += self._relay_broadcast(m, nwk, payload)
        return events + self._aps_in(m, nwk, payload, now)

    def _aps_in(self, m, nwk, payload, now):
        try:
            aps = ApsPdu.from_bytes(payload)
        except FrameError as exc:
            return self._drop("bad_frames", m.eui, "bad APS frame from %s: %s" % (
                _hex(m.eui), exc))
        secured = aps.aux is not None
        if secured:
            aux = aps.aux
            sender = aux.src_eui or m.eui
            if aux.key_id != KEY_DATA or sender != m.eui:
                return self._drop("unsecured", m.eui, "APS frame from %s with key %d"
                                  % (_hex(m.eui), aux.key_id))
            if not self.aps_in.fresh(sender, aux.counter):
                return self._drop("replayed", m.eui, "APS frame counter %d from %s replayed "
                                                     "or stale" % (aux.counter, _hex(m.eui)))
            try:
                aps.payload = security.open_frame(self.crypto, m.link, aps, sender)
            except SecurityError as exc:
                return self._drop("bad_mic", m.eui, "APS frame from %s: %s" % (_hex(m.eui),
                                                                              exc))
            self.aps_in.accept(sender, aux.counter)
        if aps.ftype in (APS_ACK, APS_COMMAND):
            return []  # no APS commands from devices are used (no key requests)
        if not secured and self._aps_required(aps.cluster, m.eui):
            out = self._drop("unsecured", m.eui, "cluster %04x from %s without APS security"
                             % (aps.cluster, _hex(m.eui)))
            zcl = zcl_refusal(aps.payload) if nwk.dst < 0xFFF8 else None
            if zcl is not None:
                pdu = ApsPdu(APS_DATA, self._seq("_aps_seq"), cluster=aps.cluster,
                             profile=aps.profile, dst_ep=aps.src_ep, src_ep=aps.dst_ep)
                back = NwkFrame(NWK_DATA, m.short, COORDINATOR, self._seq("_nwk_seq"),
                                dst_eui=m.eui, src_eui=self.eui)
                out += self._to(m, self._mac(m.short, self._seal_nwk(
                    back, pdu.header_bytes() + zcl)))
            return out
        if aps.profile == 0 and aps.cluster == ZDO_DEVICE_ANNCE:
            return [("announce", m.eui)]
        flags = (FLAG_SECURE if secured else 0) | (FLAG_ACK if aps.ack_req else 0)
        dst = self.eui
        if nwk.dst >= 0xFFF8:
            flags |= FLAG_BROADCAST
            dst = BROADCAST_EUI
        return [("aps", ApsFrame(m.eui, dst, aps.cluster, aps.payload, src_ep=aps.src_ep,
                                 dst_ep=aps.dst_ep, src_short=m.short, dst_short=nwk.dst,
                                 profile=aps.profile, counter=aps.counter, flags=flags))]

    def _aps_required(self, cluster, eui):
        """As HanStack.aps_required, with the trust center's knowledge of its members."""
        return se_cluster(cluster) and (self.nwk_only is None or not self.nwk_only(eui))

    def _relay(self, m, nwk, payload, now):
        """A frame for another device: NWK re-secured by the coordinator (hop by hop), the APS
        frame (and its end-to-end security) untouched."""
        dst = None
        if nwk.dst_eui is not None:
            dst = self.members.get(nwk.dst_eui)
        if dst is None:
            for x in self.members.values():
                if x.short == nwk.dst:
                    dst = x
        if dst is None or dst.state != _JOINED:
            return self._drop("unknown_device", nwk.dst_eui, "no joined device %04x to relay "
                                                             "to" % nwk.dst)
        self.stats["relayed"] += 1
        out = NwkFrame(nwk.ftype, nwk.dst, nwk.src, nwk.seq, dst_eui=nwk.dst_eui,
                       src_eui=nwk.src_eui or m.eui, radius=max(nwk.radius - 1, 0))
        return self._to(dst, self._mac(dst.short, self._seal_nwk(out, payload)))

    def _relay_broadcast(self, m, nwk, payload):
        out = []
        for x in self.members.values():
            if x is m or x.state != _JOINED or x.sleepy and nwk.dst != BROADCAST_SHORT:
                continue
            f = NwkFrame(nwk.ftype, nwk.dst, nwk.src, nwk.seq, src_eui=nwk.src_eui or m.eui,
                         radius=max(nwk.radius - 1, 0))
            out += self._to(x, self._mac(BROADCAST_SHORT, self._seal_nwk(f, payload)))
        return out

    def _nwk_command(self, m, nwk, payload, now):
        cmd = payload[0] if payload else -1
        if cmd == NWK_REJOIN_REQUEST:
            return self._rejoin(m, m.eui, nwk, payload, now)
        if cmd == NWK_LEAVE and len(payload) >= 2 and not payload[1] & 0x40:
            # The device says it is leaving (3.4.4.3.2).
            self._forget(m.eui)
            self.log("I", "%s left the HAN" % _hex(m.eui))
            return [("left", m.eui)]
        return self._drop("bad_frames", m.eui, "NWK command %d from %s not handled" % (
            cmd, _hex(m.eui)))

    def _rejoin(self, m, eui, nwk, payload, now):
        """A secured NWK rejoin request (3.6.1.4.2): a device resuming after a reboot. Only a
        device still in the CHF device log may stay."""
        auth = self.authorize(eui, now)
        if auth is None:
            status = ASSOC_PAN_ACCESS_DENIED
            self.stats["refused"] += 1
            events = [("refused", eui, "rejoin of a device not in the CHF device log")]
            short = 0xFFFF
        else:
            status = ASSOC_SUCCESS
            if m is None:
                # Known to the log but not to this coordinator (it restarted): the device
                # proved it holds the network key, and its link key is the log's.
                m = Member(eui, self._short_for(eui), self.crypto.install_code_key(auth[0]),
                           self.crypto, _JOINED, now)
                self.members[eui] = m
            m.state = _JOINED
            m.heard = now
            if len(payload) >= 2:
                m.capability = payload[1]
            short = m.short
            self.stats["rejoined"] += 1
            self.dirty = True
            events = [("rejoined", eui)]
        nwk_out = NwkFrame(NWK_COMMAND, short if short != 0xFFFF else nwk.src, COORDINATOR,
                           self._seq("_nwk_seq"), dst_eui=eui, src_eui=self.eui, radius=1)
        body = bytes((NWK_REJOIN_RESPONSE, short & 0xFF, short >> 8, status))
        dst_mac = nwk.src if status == ASSOC_SUCCESS else nwk.src
        events.append(("tx", eui, self._mac(dst_mac, self._seal_nwk(nwk_out, body))))
        if status != ASSOC_SUCCESS:
            self._forget(eui)
        return events

    def _mac_command(self, mac, now):
        p = mac.payload
        if not p:
            return self._drop("bad_frames", None, "empty 802.15.4 command")
        if p[0] == MAC_BEACON_REQUEST:
            return [("tx", None, self._beacon(now))]
        if p[0] == MAC_DATA_REQUEST and mac.dst_pan == self.pan and mac.src is not None:
            return self._data_request(mac, now)
        if p[0] == MAC_ASSOCIATION_REQUEST and isinstance(mac.src, bytes) and len(p) >= 2 \
                and mac.dst_pan == self.pan:
            return self._associate(mac.src, p[1], now)
        return self._drop("bad_frames", mac.src if isinstance(mac.src, bytes) else None,
                          "802.15.4 command %02x not handled" % p[0])

    def permit_joining(self, now):
        return self.authorize(None, now) is not None

    def _beacon(self, now):
        """A beacon (802.15.4-2006 7.2.2.1) with the ZigBee beacon payload (3.6.7): PAN
        coordinator, association permitted while a device may join, the extended PAN ID =
        the hub's EUI-64 (GBCS)."""
        permit = self.permit_joining(now)
        sf = 0x0F | (0x0F << 4) | (0x0F << 8) | 0x4000 | (0x8000 if permit else 0)
        payload = bytes((sf & 0xFF, sf >> 8, 0, 0,  # superframe, no GTS, no pending addresses
                         0x00, 0x22, 0x84)) + _rev(self.eui) + b"\xff\xff\xff\x00"
        self.stats["tx"] += 1
        return MacFrame(MAC_BEACON, self._seq("_mac_seq"), None, None, self.pan, COORDINATOR,
                        payload).to_bytes()

    def _associate(self, eui, capability, now):
        auth = self.authorize(eui, now)
        m = self.members.get(eui)
        why = None
        if auth is None:
            why = "not in the CHF device log"
        elif not auth[1]:
            why = "its join period is over"
        if why is not None:
            self.stats["refused"] += 1
            self.log("W", "association of %s refused: %s" % (_hex(eui), why))
            resp = bytes((MAC_ASSOCIATION_RESPONSE, 0xFF, 0xFF, ASSOC_PAN_ACCESS_DENIED))
            return [("refused", eui, why),
                    ("tx", None, MacFrame(MAC_COMMAND, self._seq("_mac_seq"), self.pan, eui,
                                          self.pan, self.eui, resp, ack_req=True).to_bytes())]
        short = self._short_for(eui)
        link_raw = self.crypto.install_code_key(auth[0])
        if m is not None:
            # Associating again (it lost its network): counters start anew with the new join.
            self.nwk_in.forget(eui)
            self.aps_in.forget(eui)
        self.members[eui] = Member(eui, short, link_raw, self.crypto, _PENDING, now, capability)
        self.indirect.pop(short, None)  # held for an earlier holder of the address
        self.dirty = True
        resp = bytes((MAC_ASSOCIATION_RESPONSE, short & 0xFF, short >> 8, ASSOC_SUCCESS))
        events = [("associated", eui),
                  ("tx", None, MacFrame(MAC_COMMAND, self._seq("_mac_seq"), self.pan, eui,
                                        self.pan, self.eui, resp, ack_req=True).to_bytes())]
        events.append(("tx", None, self._transport_key(eui, short, link_raw)))
        return events

    def _transport_key(self, eui, short, link_raw):
        """APS Transport Key with the network key (4.4.10.1), secured with the key-transport
        key of the joiner's link key; NWK unsecured (the joiner has no network key yet)."""
        body = bytes((APS_TRANSPORT_KEY, KEY_TYPE_NETWORK)) + self.nwk_raw \
            + bytes((self.key_seq,)) + _rev(eui) + _rev(self.eui)
        pdu = ApsPdu(APS_COMMAND, self._seq("_aps_seq"))
        pdu.aux = Aux(KEY_TRANSPORT, self._count(self.aps_out), self.eui)
        key = self.crypto.key(security.aps_key(self.crypto, KEY_TRANSPORT, link_raw))
        aps = security.seal(self.crypto, key, pdu.header_bytes(), pdu.aux, body)
        nwk = NwkFrame(NWK_DATA, short, COORDINATOR, self._seq("_nwk_seq"), dst_eui=eui,
                       src_eui=self.eui, radius=1)
        return self._mac(short, nwk.to_bytes() + aps)

    # -- frames out ---------------------------------------------------------------------------
    def send(self, aps, now):
        """Events sending one APS frame of the hub (smets.han.ApsFrame) to its device."""
        broadcast = aps.dst_eui == BROADCAST_EUI
        m = None
        if not broadcast:
            m = self.members.get(aps.dst_eui)
            if m is None or m.state != _JOINED:
                return self._drop("unknown_device", aps.dst_eui, "no joined device %s to send "
                                                                 "to" % _hex(aps.dst_eui))
        pdu = ApsPdu(APS_DATA, aps.counter, cluster=aps.cluster, profile=aps.profile,
                     dst_ep=aps.dst_ep, src_ep=aps.src_ep,
                     delivery=APS_BROADCAST if broadcast else APS_UNICAST,
                     ack_req=bool(aps.flags & FLAG_ACK) and not broadcast)
        if m is not None and self._aps_required(aps.cluster, m.eui):
            pdu.aux = Aux(KEY_DATA, self._count(self.aps_out), self.eui)
            body = security.seal(self.crypto, m.link, pdu.header_bytes(), pdu.aux,
                                 aps.payload)
        else:
            body = pdu.header_bytes() + aps.payload
        dst = NWK_BROADCAST_RX_ON if broadcast else m.short
        nwk = NwkFrame(NWK_DATA, dst, COORDINATOR, self._seq("_nwk_seq"),
                       dst_eui=None if broadcast else m.eui, src_eui=self.eui)
        if broadcast:
            # To the devices with receivers on (0xFFFD): not the sleepy ones.
            frame = self._mac(BROADCAST_SHORT, self._seal_nwk(nwk, body))
            return [("tx", x.eui, frame) for x in self.members.values()
                    if x.state == _JOINED and not x.sleepy]
        out = self._to(m, self._mac(m.short, self._seal_nwk(nwk, body)))
        return out or [("held", m.eui)]

    def remove(self, eui, now):
        """A device taken out of the CHF device log: told to leave (NWK Leave request, no
        rejoin, 3.4.4) and forgotten, so that nothing of it is accepted any more."""
        eui = bytes(eui)
        m = self.members.get(eui)
        if m is None:
            return []
        events = [("left", eui)]
        if m.state == _JOINED:
            nwk = NwkFrame(NWK_COMMAND, m.short, COORDINATOR, self._seq("_nwk_seq"),
                           dst_eui=eui, src_eui=self.eui, radius=1)
            events += self._to(m, self._mac(m.short, self._seal_nwk(
                nwk, bytes((NWK_LEAVE, 0x40)))))
        self._forget(eui)
        self.stats["removed"] += 1
        self.log("I", "%s removed from the HAN" % _hex(eui))
        return events

    def _forget(self, eui):
        self.members.pop(eui, None)
        self.nwk_in.forget(eui)
        self.aps_in.forget(eui)
        self.dirty = True

    def tick(self, now):
        """Joiners that never used the network key (a wrong install code cannot open the
        Transport Key) are dropped after AUTHENTICATION_TIMEOUT_S."""
        events = []
        for m in list(self.members.values()):
            if m.state == _PENDING and now - m.since > AUTHENTICATION_TIMEOUT_S:
                self._forget(m.eui)
                self.stats["join_failed"] += 1
                why = "no frame under the network key within %d s of its Transport Key " \
                      "(wrong install code?)" % AUTHENTICATION_TIMEOUT_S
                self.log("W", "%s did not join: %s" % (_hex(m.eui), why))
                events.append(("join_failed", m.eui, why))
        return events
