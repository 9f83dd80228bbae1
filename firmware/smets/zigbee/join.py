"""Joining, rejoining and leaving a HAN (ZigBee spec 05-3474 3.6.1.4, 3.6.1.10, 4.6.3), and
finding a partner's network address (2.4.3.1.1): the rarely run half of smets.zigbee.stack,
loaded for one step at a time through smets.lazy.

Each function takes the HanStack and the monotonic ms; frames to send go to `stack.out`.
"""

from smets.han import BROADCAST_EUI, ApsFrame
from smets.zigbee import security
from smets.zigbee import stack as S
from smets.zigbee.frames import (
    APS_COMMAND,
    APS_TRANSPORT_KEY,
    ASSOC_SUCCESS,
    BROADCAST_PAN,
    BROADCAST_SHORT,
    KEY_NETWORK,
    KEY_TRANSPORT,
    MAC_ASSOCIATION_REQUEST,
    MAC_ASSOCIATION_RESPONSE,
    MAC_BEACON,
    MAC_BEACON_REQUEST,
    MAC_COMMAND,
    NWK_COMMAND,
    NWK_LEAVE,
    NWK_REJOIN_REQUEST,
    NWK_REJOIN_RESPONSE,
    ApsPdu,
    FrameError,
    MacFrame,
    NwkFrame,
    _rev,
)
from smets.zigbee.sec import SecurityError

SCAN_MS = 500  # beacons awaited after a beacon request (one channel: the bench's)
ASSOCIATE_MS = 2000  # association response awaited (macResponseWaitTime, generous)
AUTHENTICATE_MS = 5000  # the network key awaited (apsSecurityTimeOutPeriod)
REJOIN_MS = 2000
REJOIN_TRIES = 3
BACKOFF_MIN_MS = 1000
RESOLVE_MS = 2000  # a NWK_addr_req unanswered this long is asked again
BACKOFF_MAX_MS = 60000
LEAVE_HOLD_MS = 60000  # told to leave: the next try to join is this far off
KEY_TYPE_NETWORK = 0x01  # APS Transport Key key types (4.4.10.1: standard network key)
ZDO_DEVICE_ANNCE = 0x0013


def _retry(st, now, why):
    """Back to IDLE, trying again after a growing pause."""
    st.backoff = min(max(st.backoff * 2, BACKOFF_MIN_MS), BACKOFF_MAX_MS)
    st.state = S.IDLE
    st.due = now + st.backoff
    st.log("I", "%s; joining again in %d s" % (why, st.backoff // 1000))


def tick(st, now):
    if st.state == S.IDLE:
        # Active scan (802.15.4-2006 7.5.2.1.2): one beacon request, then collect beacons.
        st.beacons = []
        st.state = S.SCANNING
        st.due = now + SCAN_MS
        st.out.append(MacFrame(MAC_COMMAND, st.next_mac_seq(), BROADCAST_PAN, BROADCAST_SHORT,
                               None, None, bytes((MAC_BEACON_REQUEST,))).to_bytes())
    elif st.state == S.SCANNING:
        st.beacons = None
        _retry(st, now, "no joinable PAN of hub %s found" % S._hex(st.hub_eui))
    elif st.state == S.ASSOCIATING:
        _retry(st, now, "no association response")
    elif st.state == S.AUTHENTICATING:
        # The trust center's Transport Key never arrived, or did not open (the wrong install
        # code: the key-transport key differs, 4.6.3.2): the device has no network key.
        st.short = None
        _retry(st, now, "no network key from the trust center within %d s" % (
            AUTHENTICATE_MS // 1000))
    elif st.state == S.REJOINING:
        tries = getattr(st, "rejoin_tries", 0)
        if tries >= REJOIN_TRIES:
            _forget(st)
            _retry(st, now, "rejoin not answered")
            return
        st.rejoin_tries = tries + 1
        # A secured NWK rejoin request to the parent (3.6.1.4.2): the network key and the
        # counters saved before the reboot.
        nwk = NwkFrame(NWK_COMMAND, S.COORDINATOR, st.short, st.next_nwk_seq(),
                       dst_eui=st.hub_eui, src_eui=st.eui, radius=1)
        st.out.append(st.mac_data(st.seal_nwk(nwk, bytes((NWK_REJOIN_REQUEST,
                                                           st.capability)))))
        st.due = now + REJOIN_MS


def _beacon(mac):
    """(PAN id, extended PAN id, association permit) of a ZigBee beacon, or None
    (802.15.4-2006 7.2.2.1; ZigBee 3.6.7 beacon payload)."""
    p = mac.payload
    if len(p) < 4 or mac.src_pan is None:
        return None
    permit = bool(p[1] & 0x80)
    gts = p[2] & 7
    q = 3 + (1 + 3 * gts if gts else 0)
    q += 1 + (p[q] & 7) * 2 + ((p[q] >> 4) & 7) * 8  # pending address specification
    if len(p) < q + 15 or p[q] != 0:  # ZigBee protocol id 0
        return None
    return mac.src_pan, _rev(p[q + 3:q + 11]), permit


def on_mac(st, mac, now):
    if mac.ftype == MAC_BEACON and st.state == S.SCANNING:
        b = None
        try:
            b = _beacon(mac)
        except IndexError:
            pass
        if b is None or b[1] != st.hub_eui:
            return  # another PAN (GBCS: the extended PAN ID is the hub's IEEE address)
        if not b[2]:
            st.log("I", "PAN %04x of hub %s does not permit joining" % (b[0], S._hex(b[1])))
            return
        st.pan = b[0]
        st.state = S.ASSOCIATING
        st.due = now + ASSOCIATE_MS
        # Association request (7.3.1) to the coordinator, from our extended address.
        st.out.append(MacFrame(MAC_COMMAND, st.next_mac_seq(), st.pan, S.COORDINATOR,
                               BROADCAST_PAN, st.eui,
                               bytes((MAC_ASSOCIATION_REQUEST, st.capability)),
                               ack_req=True).to_bytes())
    elif mac.ftype == MAC_COMMAND and st.state == S.ASSOCIATING and mac.dst == st.eui \
            and len(mac.payload) >= 4 and mac.payload[0] == MAC_ASSOCIATION_RESPONSE:
        p = mac.payload
        status = p[3]
        if status != ASSOC_SUCCESS:
            # 0x01 PAN at capacity, 0x02 PAN access denied: not in the CHF device log.
            st.stats["refused"] += 1
            st.pan = None
            _retry(st, now, "association refused by %s (status %d)" % (
                S._hex(mac.src) if isinstance(mac.src, bytes) else "hub", status))
            return
        st.short = p[1] | (p[2] << 8)
        st.state = S.AUTHENTICATING
        st.due = now + AUTHENTICATE_MS
        st.log("I", "associated to PAN %04x as %04x; waiting for the network key" % (
            st.pan, st.short))


def on_unsecured(st, nwk, now):
    """An unsecured NWK frame while authenticating: the trust center's Transport Key."""
    try:
        aps = ApsPdu.from_bytes(nwk.payload)
    except FrameError as exc:
        st._drop("bad_frames", "bad APS frame: %s" % exc)
        return
    aux = aps.aux
    if aps.ftype != APS_COMMAND or aux is None or aux.key_id != KEY_TRANSPORT \
            or aux.src_eui != st.hub_eui:
        st._drop("unsecured", "unsecured frame while joining dropped")
        return
    key = st.crypto.key(security.aps_key(st.crypto, KEY_TRANSPORT, st.link_raw))
    try:
        payload = security.open_frame(st.crypto, key, aps)
    except SecurityError:
        st._drop("bad_mic", "the Transport Key from %s does not open with this install "
                            "code's link key" % S._hex(aux.src_eui))
        return
    if len(payload) < 35 or payload[0] != APS_TRANSPORT_KEY or payload[1] != KEY_TYPE_NETWORK \
            or _rev(payload[19:27]) != st.eui or _rev(payload[27:35]) != st.hub_eui:
        st._drop("bad_frames", "unexpected APS command while joining")
        return
    st.aps_in.accept(aux.src_eui, aux.counter)
    st.nwk_raw = bytes(payload[2:18])
    st.nwk_key = st.crypto.key(st.nwk_raw)
    st.key_seq = payload[18]
    st.stats["joins"] += 1
    _joined(st, now, "joined PAN %04x as %04x" % (st.pan, st.short))


def _joined(st, now, text):
    st.state = S.JOINED
    st.backoff = 0
    st.rejoin_tries = 0
    st.nwk_in.forget(st.hub_eui)  # a new network key (or a hub that restarted) counts anew
    st.save()
    st.log("I", text)
    _announce(st)
    st.flush_pending(now)


def _announce(st):
    """ZDO Device_annce (ZigBee 2.4.3.1.11), broadcast to the devices with receivers on."""
    body = bytes((st.next_aps_seq(), st.short & 0xFF, st.short >> 8)) + _rev(st.eui) \
        + bytes((st.capability,))
    st.send(ApsFrame(st.eui, BROADCAST_EUI, ZDO_DEVICE_ANNCE, body, src_ep=0, dst_ep=0,
                     profile=0, flags=0), 0)


def _forget(st):
    st.nwk_raw = None
    st.nwk_key = None
    st.pan = None
    st.short = None
    st.nwk_in = security.InCounters()
    st.aps_in = security.InCounters()
    st.save()


def on_nwk_command(st, nwk, payload, now):
    if not payload:
        st._drop("bad_frames", "empty NWK command")
        return
    cmd = payload[0]
    from_parent = nwk.src == S.COORDINATOR
    if cmd == NWK_LEAVE and from_parent and len(payload) >= 2 and payload[1] & 0x40:
        # Leave request from the parent (3.4.4): the trust center removed this device.
        st.stats["leaves"] += 1
        rejoin = payload[1] & 0x20
        _forget(st)
        st.state = S.IDLE
        st.due = now + (BACKOFF_MIN_MS if rejoin else LEAVE_HOLD_MS)
        st.log("W", "told to leave the HAN by the hub%s" % (" (rejoin)" if rejoin else ""))
    elif cmd == NWK_REJOIN_RESPONSE and from_parent and st.state == S.REJOINING \
            and len(payload) >= 4:
        if payload[3] != 0:
            st.stats["refused"] += 1
            _forget(st)
            _retry(st, now, "rejoin refused (status %d)" % payload[3])
            return
        st.short = payload[1] | (payload[2] << 8)
        st.stats["rejoins"] += 1
        _joined(st, now, "rejoined PAN %04x as %04x" % (st.pan, st.short))
    else:
        st.stats["not_for_us"] += 1


def on_aps_command(st, nwk, aps, src_eui, now):
    # Network key updates and application link keys are not used by the bench's trust center
    # yet: the command is counted and dropped.
    st._drop("not_for_us", "APS command %s from %s not handled" % (
        "%02x" % aps.payload[0] if aps.payload else "-", S._hex(src_eui)))


# -- address discovery (ZigBee 2.4.3.1.1, 2.4.4.2.1) ----------------------------------------------


def resolve(st, aps, now):
    """A unicast to a partner whose network address is unknown (a device log names the
    meter of a PPMID or HCALCS by its EUI-64 only): held while the hub's discovery cache
    is asked for it with NWK_addr_req; sent when NWK_addr_rsp gives it (`resolved`)."""
    held = st.resolving
    if len(held) >= S.PENDING_MAX:
        held.pop(0)
        st.stats["dropped"] += 1
    held.append(aps)
    from smets import zdo

    asked = st._asking.get(aps.dst_eui)
    if asked is not None and now - asked[1] < RESOLVE_MS:
        return
    tsn = st.next_aps_seq()
    st._asking[aps.dst_eui] = (tsn, now)
    st.send(ApsFrame(st.eui, st.hub_eui, zdo.NWK_ADDR_REQ, zdo.nwk_addr_req(tsn, aps.dst_eui),
                     src_ep=zdo.ENDPOINT_ZDO, dst_ep=zdo.ENDPOINT_ZDO, dst_short=S.COORDINATOR,
                     profile=zdo.PROFILE_ZDO, flags=0), now)


def resolved(st, payload, now):
    """The hub's NWK_addr_rsp: the frames held for that partner sent (or, not found,
    dropped and counted)."""
    from smets import zdo

    try:
        tsn, status, eui, short = zdo.parse_ieee_addr_rsp(payload)
    except zdo.ZDOError as exc:
        st._drop("bad_frames", "bad NWK_addr_rsp: %s" % exc)
        return
    for e, asked in st._asking.items():
        if asked[0] == tsn:
            eui = e if eui is None else eui
            break
    else:
        return  # not an answer to this device's question
    st._asking.pop(eui, None)
    held = [a for a in st.resolving if a.dst_eui == eui]
    st.resolving = [a for a in st.resolving if a.dst_eui != eui]
    if status != zdo.SUCCESS:
        st.stats["dropped"] += len(held)
        st.last_error = "no network address for %s (ZDO status %02x)" % (S._hex(eui), status)
        st.log("W", st.last_error)
        return
    st.addr[eui] = short
    for aps in held:
        st.send(aps, now)


__all__ = ("tick", "on_mac", "on_unsecured", "on_nwk_command", "on_aps_command", "resolve",
           "resolved", "KEY_NETWORK")
