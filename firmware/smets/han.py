"""HAN frames: the ZigBee APS-level frame that a link HAN frame carries.

The bench does not emulate the 2.4 GHz radio, MAC or NWK layers; a HAN frame is what the APS layer
would deliver to an endpoint (ZigBee spec 2.2.5, SE 1.4 profile 0x0109). On the serial link it is:

  off len field
    0   1 version (1)
    1   1 flags: bit0 APS ack requested, bit1 broadcast, bit2 security (APS link key used)
    2   8 source EUI-64        } little-endian on the wire, as ZigBee sends them;
   10   8 destination EUI-64   } `src_eui`/`dst_eui` hold them big-endian, as GBCS titles
   18   2 source short address (LE)
   20   2 destination short address (LE)
   22   1 source endpoint
   23   1 destination endpoint
   24   2 profile id (LE)
   26   2 cluster id (LE)
   28   1 APS counter
   29   - ZCL frame
"""

try:
    from micropython import const
except ImportError:  # CPython

    def const(x):  # type: ignore[misc]  # CPython has no micropython.const
        return x


PROFILE_SE = const(0x0109)
VERSION = const(1)
FLAG_ACK = const(0x01)
FLAG_BROADCAST = const(0x02)
FLAG_SECURE = const(0x04)
HEADER_LEN = const(29)
BROADCAST_EUI = b"\xff" * 8


class HANError(ValueError):
    """A HAN frame that does not follow the layout."""


def _rev(b):
    return bytes(b[i] for i in range(len(b) - 1, -1, -1))


class ApsFrame:
    __slots__ = (
        "src_eui",
        "dst_eui",
        "src_short",
        "dst_short",
        "src_ep",
        "dst_ep",
        "profile",
        "cluster",
        "counter",
        "flags",
        "payload",
    )

    def __init__(
        self,
        src_eui,
        dst_eui,
        cluster,
        payload,
        src_ep=1,
        dst_ep=1,
        src_short=0xFFFE,
        dst_short=0xFFFE,
        profile=PROFILE_SE,
        counter=0,
        flags=FLAG_SECURE,
    ):
        if len(src_eui) != 8 or len(dst_eui) != 8:
            raise HANError("EUI-64 must be 8 bytes")
        self.src_eui = bytes(src_eui)
        self.dst_eui = bytes(dst_eui)
        self.src_short = src_short
        self.dst_short = dst_short
        self.src_ep = src_ep
        self.dst_ep = dst_ep
        self.profile = profile
        self.cluster = cluster
        self.counter = counter & 0xFF
        self.flags = flags
        self.payload = bytes(payload)

    @classmethod
    def from_bytes(cls, data):
        if len(data) < HEADER_LEN:
            raise HANError("HAN frame of %d bytes is shorter than its %d-byte header" % (
                len(data), HEADER_LEN))
        if data[0] != VERSION:
            raise HANError("unknown HAN frame version %d" % data[0])
        return cls(
            _rev(data[2:10]),
            _rev(data[10:18]),
            data[26] | (data[27] << 8),
            data[HEADER_LEN:],
            src_ep=data[22],
            dst_ep=data[23],
            src_short=data[18] | (data[19] << 8),
            dst_short=data[20] | (data[21] << 8),
            profile=data[24] | (data[25] << 8),
            counter=data[28],
            flags=data[1],
        )

    def to_bytes(self):
        out = bytearray(HEADER_LEN)
        out[0] = VERSION
        out[1] = self.flags
        out[2:10] = _rev(self.src_eui)
        out[10:18] = _rev(self.dst_eui)
        out[18] = self.src_short & 0xFF
        out[19] = self.src_short >> 8
        out[20] = self.dst_short & 0xFF
        out[21] = self.dst_short >> 8
        out[22] = self.src_ep
        out[23] = self.dst_ep
        out[24] = self.profile & 0xFF
        out[25] = self.profile >> 8
        out[26] = self.cluster & 0xFF
        out[27] = self.cluster >> 8
        out[28] = self.counter
        return bytes(out) + self.payload

    def reply(self, cluster, payload, counter=0):
        """A frame back to this frame's sender, from its destination."""
        return ApsFrame(
            self.dst_eui,
            self.src_eui,
            cluster,
            payload,
            src_ep=self.dst_ep,
            dst_ep=self.src_ep,
            src_short=self.dst_short,
            dst_short=self.src_short,
            profile=self.profile,
            counter=counter,
            flags=self.flags & FLAG_SECURE,
        )

    def __repr__(self):
        return "<APS %s->%s cluster %04x %d bytes>" % (
            self.src_eui.hex(), self.dst_eui.hex(), self.cluster, len(self.payload))

