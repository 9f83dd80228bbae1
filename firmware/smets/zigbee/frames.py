"""IEEE 802.15.4 MAC, ZigBee NWK and APS frames and the ZigBee auxiliary security header.

What a HAN link frame carries is an IEEE 802.15.4 MAC frame without its FCS (the link has its
own CRC): what the radio would put on the air. Inside a data frame is a ZigBee NWK frame, and
inside that an APS frame (ZigBee spec 05-3474-21: NWK 3.3, APS 2.2.5, security 4.5.1).

  MAC   frame control(2) seq(1) [dst PAN(2)] [dst(2|8)] [src PAN(2)] [src(2|8)] payload
        (IEEE 802.15.4-2006 5.2.1: frame type bits 0-2, ack request bit 5, PAN ID compression
        bit 6, address modes bits 10-11 / 14-15: 0 none, 2 short, 3 extended)
  NWK   frame control(2) dst(2) src(2) radius(1) seq(1) [dst IEEE(8)] [src IEEE(8)]
        [multicast control(1)] [source route: count(1) index(1) relays(2*count)]
        [auxiliary security header] payload [MIC]
  APS   frame control(1) [dst endpoint(1) | group(2)] [cluster(2) profile(2) src endpoint(1)]
        counter(1) [extended header] [auxiliary security header] payload [MIC]
  aux   security control(1) frame counter(4) [source IEEE(8) if extended nonce]
        [key sequence number(1) if network key]
        (security control: level bits 0-2, key identifier bits 3-4, extended nonce bit 5)

Addresses: a short address is an int, an IEEE address is 8 bytes held big-endian (as GBCS
titles) and reversed on the air. Decoders raise FrameError (a ValueError) with the bytes; a
decoded frame's payload is a memoryview into the bytes decoded (a 4 KB GBCS command is not
copied once per layer on a small heap).
"""

try:
    from micropython import const
except ImportError:  # CPython

    def const(x):  # type: ignore[misc]  # CPython has no micropython.const
        return x


# 802.15.4 frame types and MAC commands (802.15.4-2006 7.2.1.1.1, 7.3)
MAC_BEACON = const(0)
MAC_DATA = const(1)
MAC_ACK = const(2)
MAC_COMMAND = const(3)
MAC_ASSOCIATION_REQUEST = const(0x01)
MAC_ASSOCIATION_RESPONSE = const(0x02)
MAC_DATA_REQUEST = const(0x04)  # a device with its receiver off polls its parent (7.3.4)
MAC_BEACON_REQUEST = const(0x07)
BROADCAST_PAN = const(0xFFFF)
BROADCAST_SHORT = const(0xFFFF)
# Association response status (802.15.4-2006 7.3.2.3)
ASSOC_SUCCESS = const(0x00)
ASSOC_PAN_AT_CAPACITY = const(0x01)
ASSOC_PAN_ACCESS_DENIED = const(0x02)

# NWK frame types, commands, broadcast addresses (ZigBee 3.3.1, 3.4, 3.6.5)
NWK_DATA = const(0)
NWK_COMMAND = const(1)
NWK_VERSION = const(2)  # ZigBee PRO
NWK_LEAVE = const(0x04)
NWK_REJOIN_REQUEST = const(0x06)
NWK_REJOIN_RESPONSE = const(0x07)
NWK_BROADCAST_ALL = const(0xFFFF)
NWK_BROADCAST_RX_ON = const(0xFFFD)
NWK_BROADCAST_ROUTERS = const(0xFFFC)
_NWK_FC_MULTICAST = const(0x0100)
_NWK_FC_SECURITY = const(0x0200)
_NWK_FC_SOURCE_ROUTE = const(0x0400)
_NWK_FC_DST_IEEE = const(0x0800)
_NWK_FC_SRC_IEEE = const(0x1000)

# APS frame types, delivery modes, commands (ZigBee 2.2.5.1, 4.4.10)
APS_DATA = const(0)
APS_COMMAND = const(1)
APS_ACK = const(2)
APS_UNICAST = const(0)
APS_BROADCAST = const(2)
APS_GROUP = const(3)
APS_TRANSPORT_KEY = const(0x05)
APS_UPDATE_DEVICE = const(0x06)
APS_REMOVE_DEVICE = const(0x07)
APS_REQUEST_KEY = const(0x08)
_APS_FC_ACK_FORMAT = const(0x10)
_APS_FC_SECURITY = const(0x20)
_APS_FC_ACK_REQUEST = const(0x40)
_APS_FC_EXTENDED = const(0x80)

# Security (ZigBee 4.5.1): level 5 = ENC-MIC-32, the only level ZigBee PRO uses.
LEVEL_ENC_MIC32 = const(5)
KEY_DATA = const(0)  # a link key
KEY_NETWORK = const(1)
KEY_TRANSPORT = const(2)  # key-transport key: hash of a link key
KEY_LOAD = const(3)  # key-load key: hash of a link key
_SEC_EXT_NONCE = const(0x20)


class FrameError(ValueError):
    """Bytes that are not a well-formed frame of the layer decoding them."""


def _hexs(data, limit=24):
    data = bytes(data)
    text = " ".join("%02x" % b for b in data[:limit])
    return text + (" ..." if len(data) > limit else "")


def _rev(b):
    """An EUI-64 reversed (big-endian title <-> little-endian on the air)."""
    n = len(b)
    out = bytearray(n)
    for i in range(n):
        out[i] = b[n - 1 - i]
    return bytes(out)


def _u16(data, p):
    return data[p] | (data[p + 1] << 8)


def _need(data, end, what):
    if end > len(data):
        raise FrameError("%s: %d bytes needed, %d in %s" % (what, end, len(data), _hexs(data)))


def _addr_bytes(a):
    if isinstance(a, int):
        return bytes((a & 0xFF, (a >> 8) & 0xFF))
    return _rev(a)


# -- IEEE 802.15.4 MAC ----------------------------------------------------------------------------
class MacFrame:
    """A MAC frame: `dst` / `src` None (absent), an int (short) or 8 bytes (extended).
    `pending`: the frame pending bit (7.2.1.1.3), set by a parent that holds more frames for
    a polling device."""

    __slots__ = ("ftype", "seq", "dst_pan", "dst", "src_pan", "src", "payload", "ack_req",
                 "pending")

    def __init__(self, ftype, seq, dst_pan, dst, src_pan, src, payload=b"", ack_req=False,
                 pending=False):
        self.ftype = ftype
        self.seq = seq & 0xFF
        self.dst_pan = dst_pan
        self.dst = dst
        self.src_pan = src_pan
        self.src = src
        self.payload = payload
        self.ack_req = ack_req
        self.pending = pending

    @classmethod
    def from_bytes(cls, data):
        _need(data, 3, "802.15.4 header")
        fc = _u16(data, 0)
        ftype = fc & 7
        if ftype > MAC_COMMAND:
            raise FrameError("802.15.4 frame type %d is reserved in %s" % (ftype, _hexs(data)))
        if fc & 0x08:
            raise FrameError("802.15.4 MAC security is not used by ZigBee in %s" % _hexs(data))
        dmode = (fc >> 10) & 3
        smode = (fc >> 14) & 3
        if dmode == 1 or smode == 1:
            raise FrameError("reserved 802.15.4 address mode in %s" % _hexs(data))
        p = 3
        dst_pan = dst = src_pan = src = None
        if dmode:
            _need(data, p + 2, "802.15.4 destination PAN")
            dst_pan = _u16(data, p)
            p += 2
            dst, p = _mac_addr(data, p, dmode)
        if smode:
            if dmode and fc & 0x40:
                src_pan = dst_pan  # PAN ID compression
            else:
                _need(data, p + 2, "802.15.4 source PAN")
                src_pan = _u16(data, p)
                p += 2
            src, p = _mac_addr(data, p, smode)
        return cls(ftype, data[2], dst_pan, dst, src_pan, src, memoryview(data)[p:],
                   bool(fc & 0x20), bool(fc & 0x10))

    def to_bytes(self):
        dmode = 0 if self.dst is None else 2 if isinstance(self.dst, int) else 3
        smode = 0 if self.src is None else 2 if isinstance(self.src, int) else 3
        compress = dmode and smode and self.dst_pan == self.src_pan
        fc = self.ftype | (dmode << 10) | (smode << 14)
        if self.ack_req:
            fc |= 0x20
        if self.pending:
            fc |= 0x10
        if compress:
            fc |= 0x40
        out = bytearray((fc & 0xFF, fc >> 8, self.seq))
        if dmode:
            out += bytes((self.dst_pan & 0xFF, self.dst_pan >> 8)) + _addr_bytes(self.dst)
        if smode:
            if not compress:
                out += bytes((self.src_pan & 0xFF, self.src_pan >> 8))
            out += _addr_bytes(self.src)
        return bytes(out) + self.payload  # one copy of the payload (any buffer)


def _mac_addr(data, p, mode):
    if mode == 2:
        _need(data, p + 2, "802.15.4 short address")
        return _u16(data, p), p + 2
    _need(data, p + 8, "802.15.4 extended address")
    return _rev(data[p:p + 8]), p + 8


# -- auxiliary security header --------------------------------------------------------------------
class Aux:
    """The ZigBee auxiliary security header (4.5.1)."""

    __slots__ = ("key_id", "counter", "src_eui", "key_seq", "level")

    def __init__(self, key_id, counter, src_eui=None, key_seq=0, level=LEVEL_ENC_MIC32):
        self.key_id = key_id
        self.counter = counter
        self.src_eui = src_eui  # None: no extended nonce (the source comes from the NWK layer)
        self.key_seq = key_seq
        self.level = level

    @classmethod
    def from_bytes(cls, data, p):
        """(Aux, position after it) of the header at data[p]."""
        _need(data, p + 5, "auxiliary security header")
        ctrl = data[p]
        if ctrl & 0xC0:
            raise FrameError("reserved bits in security control %02x" % ctrl)
        key_id = (ctrl >> 3) & 3
        counter = data[p + 1] | (data[p + 2] << 8) | (data[p + 3] << 16) | (data[p + 4] << 24)
        p += 5
        src = None
        if ctrl & _SEC_EXT_NONCE:
            _need(data, p + 8, "auxiliary header source address")
            src = _rev(data[p:p + 8])
            p += 8
        seq = 0
        if key_id == KEY_NETWORK:
            _need(data, p + 1, "auxiliary header key sequence number")
            seq = data[p]
            p += 1
        return cls(key_id, counter, src, seq, ctrl & 7), p

    def control(self, level):
        return level | (self.key_id << 3) | (_SEC_EXT_NONCE if self.src_eui else 0)

    def to_bytes(self, level=0):
        """The header as sent (ZigBee 4.3.1.1 step 7: the level field is sent as 0) or, with
        `level`, as the MIC covers it."""
        c = self.counter
        out = bytes((self.control(level), c & 0xFF, (c >> 8) & 0xFF, (c >> 16) & 0xFF,
                     (c >> 24) & 0xFF))
        if self.src_eui:
            out += _rev(self.src_eui)
        if self.key_id == KEY_NETWORK:
            out += bytes((self.key_seq,))
        return out

    def nonce(self, src_eui=None, level=LEVEL_ENC_MIC32):
        """The CCM* nonce (4.5.2.2): source IEEE address, frame counter (both little-endian)
        and the security control with the real level."""
        src = self.src_eui or src_eui
        if src is None:
            raise FrameError("no source IEEE address for the security nonce")
        c = self.counter
        return _rev(src) + bytes((c & 0xFF, (c >> 8) & 0xFF, (c >> 16) & 0xFF, (c >> 24) & 0xFF,
                                  self.control(level)))


# -- NWK ------------------------------------------------------------------------------------------
class NwkFrame:
    """A NWK frame. When secured, `aux` is its auxiliary header and `payload` what follows it
    (ciphertext and MIC) until smets.zigbee.security opens it; `header` keeps the header bytes
    as received (the MIC covers them)."""

    __slots__ = ("ftype", "dst", "src", "radius", "seq", "dst_eui", "src_eui", "discover",
                 "aux", "payload", "header")

    def __init__(self, ftype, dst, src, seq, payload=b"", dst_eui=None, src_eui=None,
                 radius=30, discover=0, aux=None):
        self.ftype = ftype
        self.dst = dst
        self.src = src
        self.seq = seq & 0xFF
        self.payload = payload
        self.dst_eui = dst_eui
        self.src_eui = src_eui
        self.radius = radius
        self.discover = discover
        self.aux = aux
        self.header = None

    @classmethod
    def from_bytes(cls, data):
        _need(data, 8, "NWK header")
        fc = _u16(data, 0)
        ftype = fc & 3
        if ftype not in (NWK_DATA, NWK_COMMAND):
            raise FrameError("NWK frame type %d is not data or command in %s" % (ftype,
                                                                                _hexs(data)))
        if (fc >> 2) & 15 != NWK_VERSION:
            raise FrameError("NWK protocol version %d, not %d in %s" % ((fc >> 2) & 15,
                                                                        NWK_VERSION, _hexs(data)))
        p = 8
        dst_eui = src_eui = None
        if fc & _NWK_FC_DST_IEEE:
            _need(data, p + 8, "NWK destination IEEE address")
            dst_eui = _rev(data[p:p + 8])
            p += 8
        if fc & _NWK_FC_SRC_IEEE:
            _need(data, p + 8, "NWK source IEEE address")
            src_eui = _rev(data[p:p + 8])
            p += 8
        if fc & _NWK_FC_MULTICAST:
            _need(data, p + 1, "NWK multicast control")
            p += 1
        if fc & _NWK_FC_SOURCE_ROUTE:
            _need(data, p + 2, "NWK source route")
            p += 2 + 2 * data[p]
            _need(data, p, "NWK relay list")
        frame = cls(ftype, _u16(data, 2), _u16(data, 4), data[7], b"", dst_eui, src_eui,
                    data[6], (fc >> 6) & 3)
        frame.header = bytes(data[:p])
        if fc & _NWK_FC_SECURITY:
            frame.aux, p = Aux.from_bytes(data, p)
        frame.payload = memoryview(data)[p:]
        return frame

    def header_bytes(self):
        fc = self.ftype | (NWK_VERSION << 2) | (self.discover << 6)
        if self.aux is not None:
            fc |= _NWK_FC_SECURITY
        if self.dst_eui:
            fc |= _NWK_FC_DST_IEEE
        if self.src_eui:
            fc |= _NWK_FC_SRC_IEEE
        out = bytes((fc & 0xFF, fc >> 8, self.dst & 0xFF, self.dst >> 8, self.src & 0xFF,
                     self.src >> 8, self.radius, self.seq))
        if self.dst_eui:
            out += _rev(self.dst_eui)
        if self.src_eui:
            out += _rev(self.src_eui)
        return out

    def to_bytes(self):
        """An unsecured frame (a secured one is built by smets.zigbee.security.seal)."""
        if self.aux is not None:
            raise FrameError("a secured NWK frame is built by security.seal")
        return self.header_bytes() + bytes(self.payload)


# -- APS ------------------------------------------------------------------------------------------
class ApsPdu:
    """An APS frame (data, command or acknowledgement). A secured one has `aux`, with `payload`
    the ciphertext and MIC until opened; `header` keeps its header bytes as received."""

    __slots__ = ("ftype", "delivery", "ack_req", "dst_ep", "group", "cluster", "profile",
                 "src_ep", "counter", "aux", "payload", "header")

    def __init__(self, ftype, counter, payload=b"", cluster=0, profile=0, dst_ep=0, src_ep=0,
                 delivery=APS_UNICAST, ack_req=False, group=None, aux=None):
        self.ftype = ftype
        self.counter = counter & 0xFF
        self.payload = payload
        self.cluster = cluster
        self.profile = profile
        self.dst_ep = dst_ep
        self.src_ep = src_ep
        self.delivery = delivery
        self.ack_req = ack_req
        self.group = group
        self.aux = aux
        self.header = None

    @classmethod
    def from_bytes(cls, data):
        _need(data, 2, "APS header")
        fc = data[0]
        ftype = fc & 3
        delivery = (fc >> 2) & 3
        if ftype == 3:
            raise FrameError("inter-PAN APS frames are not carried in NWK frames: %s"
                             % _hexs(data))
        if delivery == 1:
            raise FrameError("reserved APS delivery mode in %s" % _hexs(data))
        f = cls(ftype, 0, delivery=delivery, ack_req=bool(fc & _APS_FC_ACK_REQUEST))
        p = 1
        addressed = ftype == APS_DATA or (ftype == APS_ACK and not fc & _APS_FC_ACK_FORMAT)
        if addressed:
            if delivery == APS_GROUP:
                _need(data, p + 2, "APS group address")
                f.group = _u16(data, p)
                p += 2
            else:
                _need(data, p + 1, "APS destination endpoint")
                f.dst_ep = data[p]
                p += 1
            _need(data, p + 5, "APS cluster, profile and source endpoint")
            f.cluster = _u16(data, p)
            f.profile = _u16(data, p + 2)
            f.src_ep = data[p + 4]
            p += 5
        _need(data, p + 1, "APS counter")
        f.counter = data[p]
        p += 1
        if fc & _APS_FC_EXTENDED:
            # Fragmentation (2.2.5.1.8): not used by the bench, but well formed.
            _need(data, p + 1, "APS extended header")
            ext = data[p]
            p += 1 + (1 if ext & 3 else 0) + (1 if ftype == APS_ACK and ext & 3 else 0)
            _need(data, p, "APS extended header")
        f.header = bytes(data[:p])
        if fc & _APS_FC_SECURITY:
            f.aux, p = Aux.from_bytes(data, p)
        f.payload = memoryview(data)[p:]
        return f

    def header_bytes(self):
        fc = self.ftype | (self.delivery << 2)
        if self.aux is not None:
            fc |= _APS_FC_SECURITY
        if self.ack_req:
            fc |= _APS_FC_ACK_REQUEST
        out = bytearray((fc,))
        if self.ftype == APS_DATA or self.ftype == APS_ACK:
            if self.delivery == APS_GROUP:
                out += bytes((self.group & 0xFF, self.group >> 8))
            else:
                out.append(self.dst_ep)
            out += bytes((self.cluster & 0xFF, self.cluster >> 8, self.profile & 0xFF,
                          self.profile >> 8, self.src_ep))
        out.append(self.counter)
        return bytes(out)

    def to_bytes(self):
        """An unsecured frame (a secured one is built by smets.zigbee.security.seal)."""
        if self.aux is not None:
            raise FrameError("a secured APS frame is built by security.seal")
        return self.header_bytes() + bytes(self.payload)
