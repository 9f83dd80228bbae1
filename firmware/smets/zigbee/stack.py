"""A HAN device's ZigBee stack under its APS frames (sans-IO): what every role that sits on the
SMHAN (ESME, GSME, IHD, CAD, HANTEST) runs between its serial link and its device model.

    stack = HanStack(identity, store, log)
    apps = stack.receive(mac_bytes, now_ms)   # smets.han.ApsFrame objects for the device model
    stack.send(aps, now_ms)                   # the device model's frames, secured
    stack.tick(now_ms)                        # joining, rejoining, timeouts
    for frame in stack.take(): write it       # 802.15.4 frames for the link

Joining (ZigBee spec 05-3474 3.6.1.4, 4.6.3; ZigBee SE 1.4 5.4): the device scans with a MAC
beacon request, picks the PAN whose extended PAN ID is its Communications Hub's EUI-64 (GBCS:
the extended PAN ID is the hub's HAN interface IEEE address) and that permits joining,
associates, and waits for the trust center's APS Transport Key: the network key, secured with
the key-transport key of its preconfigured link key (AES-MMO of its install code and CRC). A
device with the wrong install code cannot open it and never gets the network key; one that is
not in the CHF device log is refused at association. Joined, every frame carries NWK security
with the network key; Smart Energy clusters also carry APS security with a link key (ZSE 1.4
5.4.6), except between a Type 2 device and the devices that joined it by Method B, which share
no link key (`nwk_only`, see `aps_required`). After a reboot the device resumes with the
network it saved (a secured NWK rejoin request, 3.6.1.4.2); told to leave (NWK Leave), it
forgets the network. A unicast to a partner known by its EUI-64 alone waits while the hub's
discovery cache is asked for the partner's network address (ZDO NWK_addr_req, 2.4.3.1.1).

A sleepy device (the GSME: capability "receiver on when idle" clear, 802.15.4 7.3.1.2) is a
ZigBee end device that sleeps: once joined, its receiver is off but while it is awake, and its
parent (the hub) holds the frames for it until it asks (indirect transmission, 802.15.4-2006
7.5.6.3). After each frame it sends it is awake for AWAKE_MS and polls its parent with a MAC
Data Request every POLL_MS; a frame with the frame pending bit makes it poll again at once, an
empty data frame says nothing is held. Frames that reach it while it sleeps are not heard
(dropped, counted as "asleep"). While it joins or rejoins its receiver is on.

The join procedure lives in smets.zigbee.join, loaded only while it runs (smets.lazy); this
module keeps the secured data path. Time is monotonic milliseconds, passed in: the device clock
(GBCS time) may be set backwards by the hub, the HAN timers must not care.
"""

try:
    from micropython import const
except ImportError:  # CPython

    def const(x):  # type: ignore[misc]  # CPython has no micropython.const
        return x


import binascii
import sys

from smets import lazy
from smets.han import BROADCAST_EUI, FLAG_ACK, FLAG_BROADCAST, FLAG_SECURE, ApsFrame
from smets.zigbee import security
from smets.zigbee.frames import (
    APS_ACK,
    APS_BROADCAST,
    APS_COMMAND,
    APS_DATA,
    APS_UNICAST,
    KEY_DATA,
    KEY_NETWORK,
    MAC_COMMAND,
    MAC_DATA,
    MAC_DATA_REQUEST,
    NWK_BROADCAST_RX_ON,
    NWK_COMMAND,
    NWK_DATA,
    ApsPdu,
    Aux,
    FrameError,
    MacFrame,
    NwkFrame,
)
from smets.zigbee.sec import SecurityError

# Join states
IDLE = const(0)  # no network; a scan is due at `due`
SCANNING = const(1)
ASSOCIATING = const(2)
AUTHENTICATING = const(3)  # associated, waiting for the network key
REJOINING = const(4)
JOINED = const(5)
STATE_NAMES = ("idle", "scanning", "associating", "authenticating", "rejoining", "joined")

COORDINATOR = const(0x0000)
PENDING_MAX = const(8)  # APS frames held while the device is not joined (oldest dropped)
POLL_MS = const(250)  # a sleepy device's Data Requests while it is awake (fast poll)
AWAKE_MS = const(1000)  # a sleepy device stays awake this long after its last frame out
_SAVE_IN_EVERY = const(16)  # accepted frames between saves of the incoming counters
_PARTNER_KEYS = const(8)  # key schedules of partners' link keys kept (a device log's size)
_NWK_ADDR_RSP = const(0x8000)  # ZDO NWK_addr_rsp (smets.zdo)
RECORD = "zigbee"


def se_cluster(cluster):
    """Whether a cluster carries APS security with a link key (ZigBee SE 1.4 5.4.6, security
    key assignments: the Smart Energy clusters 0x0700-0x07FF (Price, DRLC, Metering, Messaging,
    Tunneling, Prepayment, ...) use an APS link key; general clusters, Key Establishment and
    ZDO use the network key only)."""
    return 0x0700 <= cluster <= 0x07FF


def zcl_refusal(payload):
    """ZSE 1.4 5.4.6: a frame that lacks the APS security its cluster requires is answered with
    a ZCL Default Response, status FAILURE (0x01), under the network key only. Its ZCL bytes
    for the ZCL frame `payload`, or None when none is due (a Default Response itself, ZCL
    2.5.12.2, or no ZCL header to answer)."""
    from smets.zcl.frame import DEFAULT_RESPONSE, FAILURE, TYPE_GLOBAL, ZCLError, ZCLFrame

    try:
        zcl = ZCLFrame.from_bytes(payload[:5])  # the header is all a Default Response needs
    except ZCLError:
        return None
    if zcl.frame_type == TYPE_GLOBAL and zcl.command == DEFAULT_RESPONSE:
        return None
    return zcl.default_response(FAILURE).to_bytes()


def _hex(b):
    return binascii.hexlify(b).decode()


def split_install_code(raw):
    """The install code without its CRC: `raw` is a code of 6, 8, 12 or 16 bytes, or one with
    its CRC-16 appended (as on a device label); ValueError otherwise."""
    from smets.zigbee.sec import INSTALL_CODE_SIZES, crc16

    raw = bytes(raw)
    n = len(raw)
    if n - 2 in INSTALL_CODE_SIZES and crc16(raw[:-2]) == raw[-2] | (raw[-1] << 8):
        return raw[:-2]
    if n in INSTALL_CODE_SIZES:
        return raw
    raise ValueError("install code of %d bytes: 6, 8, 12 or 16 bytes (+ CRC-16)" % n)


class HanStack:
    def __init__(self, identity, store, log=None, crypto=None, capability=None, nwk_only=None,
                 link_key=None):
        if crypto is None:
            from smets.zigbee import sec as crypto
        self.crypto = crypto
        self.store = store
        self._log = log
        self.eui = bytes.fromhex(identity["eui"])
        self.hub_eui = bytes.fromhex(identity.get("hub_eui") or "00" * 8)
        code = split_install_code(bytes.fromhex(identity["install_code"]))
        # What the saved network belongs to: another identity starts from nothing.
        self.ident = _hex(self.eui + self.hub_eui + code)
        self.link_raw = crypto.install_code_key(code)
        self.tc_link = crypto.key(self.link_raw)
        # 802.15.4 capability information (7.3.1.2): allocate address, receiver on when idle
        # and mains powered unless the role sleeps.
        self.capability = 0x8C if capability is None else capability
        self.sleepy = not self.capability & 0x08
        self.poll_due = None  # a sleepy device's next Data Request (None: asleep)
        self.awake_until = 0
        self._now = 0  # the latest monotonic ms seen (frames queued by join steps have none)
        # nwk_only(eui): the partners whose Smart Energy frames carry NWK security only (the
        # device model's, from what it is and its device log; see aps_required).
        self.nwk_only = nwk_only
        self.partner_key = link_key  # link_key(eui): a Method A partner's agreed key, or None
        self._partner_keys = {}  # eui -> (raw, key): key schedules of the partners' keys
        self.stats = {"rx": 0, "tx": 0, "bad_frames": 0, "bad_mic": 0, "replayed": 0,
                      "unsecured": 0, "not_for_us": 0, "dropped": 0, "joins": 0,
                      "rejoins": 0, "leaves": 0, "refused": 0, "polls": 0, "asleep": 0}
        self.out = []
        self.pending = []
        self.addr = {}  # EUI-64 -> short address of HAN partners seen
        self.resolving = []  # APS frames held while their destination's address is asked for
        self._asking = {}  # EUI-64 -> (ZDO TSN, ms) of the NWK_addr_req that asked for it
        self._mac_seq = 0
        self._nwk_seq = 0
        self._aps_seq = 0
        self._in_unsaved = 0
        self.due = 0
        self.backoff = 0
        self.beacons = None
        self.last_error = None
        self._load()

    # -- persistence --------------------------------------------------------------------------
    def _load(self):
        rec = self.store.load(RECORD) or {}
        self.pan = None
        self.short = None
        self.nwk_raw = None
        self.nwk_key = None
        self.key_seq = 0
        self.state = IDLE
        self.nwk_out = security.OutCounter(0)
        self.aps_out = security.OutCounter(0)
        self.nwk_in = security.InCounters()
        self.aps_in = security.InCounters()
        if rec.get("id") != self.ident:
            return
        # The counters resume above their saved ceilings even when the network is gone: the
        # link key (and a network key it might get back) must never see a counter twice.
        self.nwk_out = security.OutCounter(rec.get("nwk_out", 0))
        self.aps_out = security.OutCounter(rec.get("aps_out", 0))
        if rec.get("nwk"):
            self.pan = rec["pan"]
            self.short = rec["short"]
            self.nwk_raw = bytes.fromhex(rec["nwk"])
            self.nwk_key = self.crypto.key(self.nwk_raw)
            self.key_seq = rec.get("seq", 0)
            self.nwk_in = security.InCounters(rec.get("nwk_in"))
            self.aps_in = security.InCounters(rec.get("aps_in"))
            self.state = REJOINING  # resume: a secured rejoin at the first tick
            self.due = 0

    def save(self):
        rec = {"id": self.ident, "nwk_out": self.nwk_out.ceiling,
               "aps_out": self.aps_out.ceiling}
        if self.nwk_raw is not None and self.state in (JOINED, REJOINING):
            rec.update({"pan": self.pan, "short": self.short, "nwk": _hex(self.nwk_raw),
                        "seq": self.key_seq, "nwk_in": self.nwk_in.to_record(),
                        "aps_in": self.aps_in.to_record()})
        self.store.save(RECORD, rec)
        self._in_unsaved = 0

    def shutdown(self):
        self.save()

    def log(self, level, text):
        if self._log:
            self._log(level, "HAN: " + text)

    def _drop(self, what, text):
        self.stats[what] += 1
        self.last_error = text
        self.log("W", text)

    # -- state --------------------------------------------------------------------------------
    @property
    def joined(self):
        return self.state == JOINED

    def status(self):
        st = {"state": STATE_NAMES[self.state], "pan": self.pan, "short": self.short,
              "key_seq": self.key_seq, "nwk_out": self.nwk_out.value,
              "pending": len(self.pending)}
        if self.sleepy:
            st["awake"] = self.poll_due is not None
        st.update(self.stats)
        if self.last_error:
            st["last_error"] = self.last_error
        return st

    def take(self):
        out, self.out = self.out, []
        return out

    def next_due(self, now):
        """Monotonic ms of the next join step, or while joined of a sleepy device's next poll
        (None: nothing due)."""
        return self.poll_due if self.state == JOINED else self.due

    def tick(self, now):
        self._now = now
        if self.state != JOINED:
            if now >= self.due:
                lazy.call("smets.zigbee.join", "tick", (self, now))
        elif self.poll_due is not None and now >= self.poll_due:
            self._poll(now)

    # -- a sleepy device: awake, polling its parent ---------------------------------------------
    def _wake(self, now):
        self.awake_until = max(self.awake_until, now + AWAKE_MS)
        if self.poll_due is None or self.poll_due > now:
            self.poll_due = now  # poll right after the frame that woke it

    def _poll(self, now):
        if now >= self.awake_until:
            self.poll_due = None  # asleep: receiver off until the next frame out
            return
        # MAC Data Request (802.15.4-2006 7.3.4) to the parent, from the short address.
        self.stats["polls"] += 1
        self.out.append(MacFrame(MAC_COMMAND, self.next_mac_seq(), self.pan, COORDINATOR,
                                 self.pan, self.short, bytes((MAC_DATA_REQUEST,)),
                                 ack_req=True).to_bytes())
        self.poll_due = now + POLL_MS  # again, if nothing comes back

    # -- sequence numbers and counters ----------------------------------------------------------
    def next_mac_seq(self):
        self._mac_seq = (self._mac_seq + 1) & 0xFF
        return self._mac_seq

    def next_nwk_seq(self):
        self._nwk_seq = (self._nwk_seq + 1) & 0xFF
        return self._nwk_seq

    def next_aps_seq(self):
        self._aps_seq = (self._aps_seq + 1) & 0xFF
        return self._aps_seq

    def _count(self, counter):
        value, save = counter.take()
        if save:
            self.save()  # the new ceiling is on flash before the counter goes on the air
        return value

    def mac_data(self, nwk_bytes, dst=COORDINATOR):
        """A MAC data frame to the parent (a star: every frame goes through the coordinator)."""
        self.stats["tx"] += 1
        return MacFrame(MAC_DATA, self.next_mac_seq(), self.pan, dst, self.pan, self.short,
                        nwk_bytes, ack_req=dst != 0xFFFF).to_bytes()

    def seal_nwk(self, nwk, payload):
        return security.seal_nwk(self.crypto, self.nwk_key, self.key_seq, self.eui,
                                 self._count(self.nwk_out), nwk, payload)

    # -- frames in ----------------------------------------------------------------------------
    def receive(self, data, now):
        """One 802.15.4 frame from the link; the APS frames in it for the device model."""
        self.stats["rx"] += 1
        try:
            mac = MacFrame.from_bytes(data)
        except FrameError as exc:
            self._drop("bad_frames", "bad 802.15.4 frame: %s" % exc)
            return []
        if mac.ftype != MAC_DATA:
            # Beacons and MAC commands (association response) matter while joining only.
            if self.state in (SCANNING, ASSOCIATING):
                lazy.call("smets.zigbee.join", "on_mac", (self, mac, now))
            else:
                self.stats["not_for_us"] += 1
            return []
        if not self._for_us(mac):
            self.stats["not_for_us"] += 1
            return []
        if self.sleepy and self.state == JOINED:
            self._now = max(self._now, now)
            if self.poll_due is None:
                self.stats["asleep"] += 1  # its receiver is off
                return []
            # A parent's answer to a poll: more held for it (frame pending) -> poll at once;
            # an empty frame -> nothing held (7.5.6.3), poll again later while awake.
            self.poll_due = now if mac.pending else now + POLL_MS
            if not len(mac.payload):
                return []
        try:
            nwk = NwkFrame.from_bytes(mac.payload)
        except FrameError as exc:
            self._drop("bad_frames", "bad NWK frame: %s" % exc)
            return []
        mac = None
        if nwk.aux is None:
            if self.state == AUTHENTICATING:
                # The trust center's Transport Key: NWK unsecured, APS secured (4.6.3.2).
                lazy.call("smets.zigbee.join", "on_unsecured", (self, nwk, now))
            else:
                self._drop("unsecured", "unsecured NWK frame from %04x dropped" % nwk.src)
            return []
        payload = self._open_nwk(nwk)
        if payload is None:
            return []
        if nwk.ftype == NWK_COMMAND:
            lazy.call("smets.zigbee.join", "on_nwk_command", (self, nwk, payload, now))
            return []
        try:
            aps = ApsPdu.from_bytes(payload)
        except FrameError as exc:
            self._drop("bad_frames", "bad APS frame: %s" % exc)
            return []
        payload = None
        return self._aps_in(nwk, aps, now)

    def _for_us(self, mac):
        if mac.dst_pan not in (self.pan, 0xFFFF) and self.pan is not None:
            return False
        return mac.dst == 0xFFFF or mac.dst == self.eui or (
            self.short is not None and mac.dst == self.short)

    def _open_nwk(self, nwk):
        aux = nwk.aux
        if self.nwk_key is None or aux.key_id != KEY_NETWORK:
            self._drop("unsecured", "NWK frame secured with key %d and no network key"
                       % aux.key_id)
            return None
        sender = aux.src_eui or nwk.src_eui
        if sender is None:
            self._drop("bad_frames", "secured NWK frame without its source IEEE address")
            return None
        if not self.nwk_in.fresh(sender, aux.counter):
            self._drop("replayed", "NWK frame counter %d from %s replayed or stale" % (
                aux.counter, _hex(sender)))
            return None
        try:
            payload = security.open_frame(self.crypto, self.nwk_key, nwk, sender)
        except SecurityError as exc:
            self._drop("bad_mic", "NWK frame from %s: %s" % (_hex(sender), exc))
            return None
        self.nwk_in.accept(sender, aux.counter)
        self._accepted()
        if nwk.src_eui is not None:
            self.addr[nwk.src_eui] = nwk.src
        return payload

    def _accepted(self):
        self._in_unsaved += 1
        if self._in_unsaved >= _SAVE_IN_EVERY:
            self.save()

    def _aps_in(self, nwk, aps, now):
        src_eui = nwk.src_eui
        if src_eui is None:
            src_eui = COORDINATOR_EUI_UNKNOWN
            for eui, short in self.addr.items():
                if short == nwk.src:
                    src_eui = eui
        secured = aps.aux is not None
        if secured:
            payload = self._open_aps(aps, src_eui)
            if payload is None:
                return []
            aps.payload = payload
        if aps.ftype == APS_COMMAND:
            lazy.call("smets.zigbee.join", "on_aps_command", (self, nwk, aps, src_eui, now))
            return []
        if aps.ftype == APS_ACK:
            return []
        if aps.profile == 0 and aps.cluster == _NWK_ADDR_RSP:
            self._discovery("resolved", (self, aps.payload, now))
            return []
        if not secured and self.aps_required(aps.cluster, src_eui):
            self._drop("unsecured", "cluster %04x from %s without APS security dropped" % (
                aps.cluster, _hex(src_eui)))
            if aps.delivery == APS_UNICAST and nwk.dst < 0xFFF8 \
                    and src_eui != COORDINATOR_EUI_UNKNOWN:
                self._refuse(nwk, aps, src_eui)
            return []
        flags = (FLAG_SECURE if secured else 0) | (FLAG_ACK if aps.ack_req else 0)
        dst = self.eui
        if aps.delivery == APS_BROADCAST or nwk.dst >= 0xFFF8:
            flags |= FLAG_BROADCAST
            dst = BROADCAST_EUI
        out = ApsFrame(src_eui, dst, aps.cluster, b"", src_ep=aps.src_ep, dst_ep=aps.dst_ep,
                       src_short=nwk.src, dst_short=nwk.dst, profile=aps.profile,
                       counter=aps.counter, flags=flags)
        out.payload = aps.payload  # no copy: the device model's ZCL parse takes its own
        return [out]

    def aps_required(self, cluster, eui):
        """Whether a unicast frame on `cluster` with the partner `eui` carries APS security.

        ZSE 1.4 5.4.6 (Table 5-12, security key assignments per cluster): the Smart Energy
        clusters use an APS link key, the general ones the network key only. GBCS agrees a link
        key between two devices only where it joins them by Method A (CBKE, CS03A); a Type 2
        device (an IHD, a CAD: no certificates, GBCS device type 6) is joined to a meter by
        Method B (CS03B carries its EUI-64 and type, no key material: RTDS 8.7.2), so between
        the two Smart Energy frames carry NWK security only. Which partners share no link key
        is the device model's knowledge (`nwk_only`): every partner for a Type 2 device; for a
        meter, all but its hub and the Method A partners of its device log (which then decides
        whom it answers). Those partners, the hub first, keep APS security where ZSE requires
        it: a Smart Energy frame from them without it is dropped and refused."""
        if not se_cluster(cluster):
            return False
        return self.nwk_only is None or not self.nwk_only(eui)

    def _refuse(self, nwk, aps, src_eui):
        """The ZSE 5.4.6 FAILURE Default Response to an unsecured Smart Energy frame."""
        zcl = zcl_refusal(aps.payload)
        if zcl is None:
            return
        pdu = ApsPdu(APS_DATA, self.next_aps_seq(), cluster=aps.cluster, profile=aps.profile,
                     dst_ep=aps.src_ep, src_ep=aps.dst_ep)
        out = NwkFrame(NWK_DATA, nwk.src, self.short, self.next_nwk_seq(), dst_eui=src_eui,
                       src_eui=self.eui)
        self.out.append(self.mac_data(self.seal_nwk(out, pdu.header_bytes() + zcl)))

    def link_key_for(self, eui):
        """The link key shared with `eui`: the trust center link key for the hub, the key a
        GBCS Method A join agreed with a partner (the device model's `link_key(eui)`: 16 bytes
        or None), else None."""
        if eui == self.hub_eui:
            return self.tc_link
        raw = self.partner_key(eui) if self.partner_key is not None else None
        if raw is None:
            return None
        k = self._partner_keys.get(eui)
        if k is None or k[0] != raw:
            if len(self._partner_keys) >= _PARTNER_KEYS:
                self._partner_keys.clear()
            k = self._partner_keys[eui] = (raw, self.crypto.key(raw))
        return k[1]

    def _open_aps(self, aps, src_eui):
        aux = aps.aux
        sender = aux.src_eui or src_eui
        if aux.key_id == KEY_DATA:
            key = self.link_key_for(sender)
        else:
            key = None  # key-transport / key-load frames come unsecured at NWK (join)
        if key is None:
            self._drop("unsecured", "APS frame from %s with key %d: no such key" % (
                _hex(sender), aux.key_id))
            return None
        if not self.aps_in.fresh(sender, aux.counter):
            self._drop("replayed", "APS frame counter %d from %s replayed or stale" % (
                aux.counter, _hex(sender)))
            return None
        try:
            payload = security.open_frame(self.crypto, key, aps, sender)
        except SecurityError as exc:
            self._drop("bad_mic", "APS frame from %s: %s" % (_hex(sender), exc))
            return None
        self.aps_in.accept(sender, aux.counter)
        return payload

    # -- frames out ---------------------------------------------------------------------------
    def send(self, aps, now):
        """Queue one APS frame of the device model (held until the device has joined)."""
        if self.state != JOINED:
            if len(self.pending) >= PENDING_MAX:
                self.pending.pop(0)
                self.stats["dropped"] += 1
            self.pending.append(aps)
            return
        broadcast = aps.dst_eui == BROADCAST_EUI
        key = None if broadcast else self.link_key_for(aps.dst_eui)
        secure = not broadcast and self.aps_required(aps.cluster, aps.dst_eui)
        if secure and key is None:
            self._drop("dropped", "no link key with %s for cluster %04x" % (
                _hex(aps.dst_eui), aps.cluster))
            return
        if broadcast:
            dst = NWK_BROADCAST_RX_ON
        elif aps.dst_eui == self.hub_eui:
            dst = COORDINATOR
        elif aps.dst_short < 0xFFF8:
            dst = aps.dst_short
        else:
            dst = self.addr.get(aps.dst_eui)
            if dst is None:
                # Address discovery (ZigBee 2.4.3.1.1): held while the hub is asked.
                self._discovery("resolve", (self, aps, now))
                return
        pdu = ApsPdu(APS_DATA, self.next_aps_seq(), cluster=aps.cluster, profile=aps.profile,
                     dst_ep=aps.dst_ep, src_ep=aps.src_ep,
                     delivery=APS_BROADCAST if broadcast else APS_UNICAST,
                     ack_req=bool(aps.flags & FLAG_ACK) and not broadcast)
        payload = aps.payload
        aps.payload = b""
        if secure:
            pdu.aux = Aux(KEY_DATA, self._count(self.aps_out), self.eui)
            body = security.seal(self.crypto, key, pdu.header_bytes(), pdu.aux, payload)
        else:
            body = pdu.header_bytes() + payload
        payload = None
        nwk = NwkFrame(NWK_DATA, dst, self.short, self.next_nwk_seq(),
                       dst_eui=None if broadcast else aps.dst_eui, src_eui=self.eui)
        self.out.append(self.mac_data(self.seal_nwk(nwk, body)))
        if self.sleepy:
            self._now = max(self._now, now)
            self._wake(self._now)

    def _discovery(self, name, args):
        """Address discovery, in smets.zigbee.join with smets.zdo (dropped again unless the
        device model keeps it: a consumer device's service discovery)."""
        drop = () if "smets.zdo" in sys.modules else ("smets.zdo",)
        lazy.call("smets.zigbee.join", name, args, drop)

    def flush_pending(self, now):
        pending, self.pending = self.pending, []
        for aps in pending:
            self.send(aps, now)


# An APS frame relayed from a device whose address the stack has not learnt (no source IEEE
# in its NWK header): the device model sees this title and answers nothing it cannot route.
COORDINATOR_EUI_UNKNOWN = b"\xff\xff\xff\xff\xff\xff\xff\xfe"
