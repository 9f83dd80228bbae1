"""ZigBee Device Objects: the service discovery a consumer device uses to find its meters.

ZDO frames are APS frames on profile 0x0000, endpoint 0 (ZigBee spec 2.4.3.1.7 / 2.4.4.2.7):

    Match_Desc_req  (cluster 0x0006)  TSN, NWKAddrOfInterest (2), ProfileID (2),
                                      NumInClusters (1), InClusterList (2 each),
                                      NumOutClusters (1), OutClusterList (2 each)
    Match_Desc_rsp  (cluster 0x8006)  TSN, Status (1), NWKAddrOfInterest (2),
                                      MatchLength (1), MatchList (endpoints)

    IEEE_addr_req   (cluster 0x0001)  TSN, NWKAddrOfInterest (2), RequestType (1: 0 single
                                      device), StartIndex (1)
    IEEE_addr_rsp   (cluster 0x8001)  TSN, Status (1), IEEEAddrRemoteDev (8),
                                      NWKAddrRemoteDev (2) (a single device response has
                                      no associated device list: 2.4.4.2.2)
    NWK_addr_req    (cluster 0x0000)  TSN, IEEEAddress (8), RequestType (1), StartIndex (1)
    NWK_addr_rsp    (cluster 0x8000)  as IEEE_addr_rsp (2.4.4.2.1)

A ZigBee SE device sends Match_Desc_req for the Metering server cluster (SE 1.4 5.7.2, service
discovery) to the coordinator, whose discovery cache answers for the devices it knows (the
Communications Hub knows every device of its HAN). On an unsecured test HAN a response comes
with the matching device as its APS source; on the air it comes from the hub, and the
NWKAddrOfInterest is all it says of the device: the requester asks the cache for that
address's IEEE address (IEEE_addr_req, 2.4.3.1.2). A device that knows a partner's IEEE address
only (a PPMID or HCALCS its device log joined to a meter) asks the cache for its network address
(NWK_addr_req, 2.4.3.1.1; smets.zigbee.stack does it for any unicast it cannot address).
Little-endian; ZDOError is the only error.
"""

try:
    from micropython import const
except ImportError:  # CPython

    def const(x):  # type: ignore[misc]  # CPython has no micropython.const
        return x


PROFILE_ZDO = const(0x0000)
ENDPOINT_ZDO = const(0)
MATCH_DESC_REQ = const(0x0006)
MATCH_DESC_RSP = const(0x8006)
IEEE_ADDR_REQ = const(0x0001)
IEEE_ADDR_RSP = const(0x8001)
NWK_ADDR_REQ = const(0x0000)
NWK_ADDR_RSP = const(0x8000)
DEVICE_NOT_FOUND = const(0x81)
BROADCAST_RX_ON = const(0xFFFD)  # NWKAddrOfInterest: every device with its receiver on
SUCCESS = const(0x00)


class ZDOError(ValueError):
    """ZDO bytes that cannot be decoded."""


def _le16(v):
    return bytes((v & 0xFF, (v >> 8) & 0xFF))


def match_desc_req(tsn, profile, in_clusters, out_clusters=(), addr=BROADCAST_RX_ON):
    return (bytes((tsn & 0xFF,)) + _le16(addr) + _le16(profile) + bytes((len(in_clusters),))
            + b"".join(_le16(c) for c in in_clusters) + bytes((len(out_clusters),))
            + b"".join(_le16(c) for c in out_clusters))


def _clusters(data, p):
    if p >= len(data) or p + 1 + 2 * data[p] > len(data):
        raise ZDOError("Match_Desc_req cluster list truncated at %d" % p)
    n = data[p]
    return [data[p + 1 + 2 * i] | (data[p + 2 + 2 * i] << 8) for i in range(n)], p + 1 + 2 * n


def parse_match_desc_req(data):
    """(tsn, addr, profile, in clusters, out clusters)."""
    if len(data) < 6:
        raise ZDOError("Match_Desc_req of %d bytes" % len(data))
    ins, p = _clusters(data, 5)
    outs, p = _clusters(data, p)
    return data[0], data[1] | (data[2] << 8), data[3] | (data[4] << 8), ins, outs


def match_desc_rsp(tsn, addr, endpoints, status=SUCCESS):
    return bytes((tsn & 0xFF, status)) + _le16(addr) + bytes((len(endpoints),)) + bytes(
        endpoints)


def parse_match_desc_rsp(data):
    """(tsn, status, addr, [endpoints])."""
    if len(data) < 5 or len(data) < 5 + data[4]:
        raise ZDOError("Match_Desc_rsp of %d bytes" % len(data))
    return data[0], data[1], data[2] | (data[3] << 8), list(data[5:5 + data[4]])


def ieee_addr_req(tsn, addr):
    """IEEE_addr_req for one device (RequestType 0, single device response)."""
    return bytes((tsn & 0xFF,)) + _le16(addr) + b"\x00\x00"


def parse_ieee_addr_req(data):
    """(tsn, addr, request type)."""
    if len(data) < 5:
        raise ZDOError("IEEE_addr_req of %d bytes" % len(data))
    return data[0], data[1] | (data[2] << 8), data[3]


def ieee_addr_rsp(tsn, eui, addr, status=SUCCESS):
    """IEEE_addr_rsp (or NWK_addr_rsp: the same fields), single device: `eui` big-endian as
    held, little-endian on the air."""
    return bytes((tsn & 0xFF, status)) + bytes(reversed(bytes(eui))) + _le16(addr)


def parse_ieee_addr_rsp(data):
    """(tsn, status, eui (big-endian), addr) of an IEEE_addr_rsp or NWK_addr_rsp; a failed
    lookup has no address fields."""
    if len(data) < 2 or (data[1] == SUCCESS and len(data) < 12):
        raise ZDOError("address response of %d bytes" % len(data))
    if data[1] != SUCCESS:
        return data[0], data[1], None, None
    return data[0], data[1], bytes(reversed(bytes(data[2:10]))), data[10] | (data[11] << 8)


def nwk_addr_req(tsn, eui):
    """NWK_addr_req for one device (RequestType 0, single device response)."""
    return bytes((tsn & 0xFF,)) + bytes(reversed(bytes(eui))) + b"\x00\x00"


def parse_nwk_addr_req(data):
    """(tsn, eui (big-endian), request type)."""
    if len(data) < 11:
        raise ZDOError("NWK_addr_req of %d bytes" % len(data))
    return data[0], bytes(reversed(bytes(data[1:9]))), data[9]
