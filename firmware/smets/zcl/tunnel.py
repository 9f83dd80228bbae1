"""SE Tunneling cluster 0x0704 (ZSE 1.4 D.6) and the GBCS tunnel commands carried inside it.

The Communications Hub (CHF) is the Tunneling server; ESME and GSME are clients that open a
tunnel with RequestTunnel (protocol 6, GB-HRGP) and exchange GBCS messages in TransferData.
The first byte of TransferData.Data is a GBCS tunnel command (GBCS 7.2):

  01           GET            device -> CHF: send me the next message queued for me (GSME)
  02 n <msg>   GET-RESPONSE   CHF -> device: a message and how many are still queued after it
  02 00        GET-RESPONSE   CHF -> device: nothing queued
  03 <msg>     PUT            either way: a GBCS command, response or alert

A message that starts with DD or DF directly (no tunnel command) is accepted too: Wireshark's
GBCS dissector treats that form as a bare GBCS message.
"""

try:
    from micropython import const
except ImportError:  # CPython

    def const(x):  # type: ignore[misc]  # CPython has no micropython.const
        return x


from smets.zcl.frame import ZCLError, hexs

CLUSTER = const(0x0704)
PROTOCOL_GB_HRGP = const(6)
MANUFACTURER_STANDARD = const(0xFFFF)

# client -> server
REQUEST_TUNNEL = const(0x00)
CLOSE_TUNNEL = const(0x01)
TRANSFER_DATA_C2S = const(0x02)
TRANSFER_DATA_ERROR_C2S = const(0x03)
# server -> client
REQUEST_TUNNEL_RESPONSE = const(0x00)
TRANSFER_DATA_S2C = const(0x01)
TRANSFER_DATA_ERROR_S2C = const(0x02)
TUNNEL_CLOSURE_NOTIFICATION = const(0x06)

# RequestTunnelResponse status
TUNNEL_SUCCESS = const(0)
TUNNEL_BUSY = const(1)
TUNNEL_NO_MORE_IDS = const(2)
TUNNEL_PROTOCOL_NOT_SUPPORTED = const(3)
TUNNEL_FLOW_CONTROL_NOT_SUPPORTED = const(4)

# TransferDataError status
NO_SUCH_TUNNEL = const(0)
WRONG_DEVICE = const(1)
DATA_OVERFLOW = const(2)

# GBCS tunnel commands
GBCS_GET = const(0x01)
GBCS_GET_RESPONSE = const(0x02)
GBCS_PUT = const(0x03)


def _u16(data, pos):
    if pos + 2 > len(data):
        raise ZCLError("tunneling payload truncated at offset %d: %s" % (pos, hexs(data)))
    return data[pos] | (data[pos + 1] << 8)


def _le16(v):
    return bytes((v & 0xFF, (v >> 8) & 0xFF))


def request_tunnel(max_incoming=1500, protocol=PROTOCOL_GB_HRGP,
                   manufacturer=MANUFACTURER_STANDARD, flow_control=False):
    return bytes((protocol,)) + _le16(manufacturer) + bytes((1 if flow_control else 0,)) + \
        _le16(max_incoming)


def parse_request_tunnel(payload):
    if len(payload) < 6:
        raise ZCLError("RequestTunnel needs 6 bytes: %s" % hexs(payload))
    return {
        "protocol": payload[0],
        "manufacturer": _u16(payload, 1),
        "flow_control": bool(payload[3]),
        "max_incoming": _u16(payload, 4),
    }


def request_tunnel_response(tunnel_id, status=TUNNEL_SUCCESS, max_incoming=1500):
    return _le16(tunnel_id) + bytes((status,)) + _le16(max_incoming)


def parse_request_tunnel_response(payload):
    if len(payload) < 5:
        raise ZCLError("RequestTunnelResponse needs 5 bytes: %s" % hexs(payload))
    return {"tunnel_id": _u16(payload, 0), "status": payload[2], "max_incoming": _u16(payload, 3)}


def transfer_data(tunnel_id, data):
    return _le16(tunnel_id) + bytes(data)


def parse_transfer_data(payload):
    """(tunnel_id, data)."""
    return _u16(payload, 0), payload[2:]


def transfer_data_error(tunnel_id, status):
    return _le16(tunnel_id) + bytes((status,))


def parse_transfer_data_error(payload):
    if len(payload) < 3:
        raise ZCLError("TransferDataError needs 3 bytes: %s" % hexs(payload))
    return _u16(payload, 0), payload[2]


def tunnel_closure(tunnel_id):
    return _le16(tunnel_id)


def parse_tunnel_closure(payload):
    """The tunnel id of a TunnelClosureNotification."""
    if len(payload) < 2:
        raise ZCLError("TunnelClosureNotification needs 2 bytes: %s" % hexs(payload))
    return _u16(payload, 0)


def gbcs_put(message):
    return bytes((GBCS_PUT,)) + bytes(message)


def gbcs_get():
    return bytes((GBCS_GET,))


def gbcs_get_response(message=None, remaining=0):
    if message is None:
        return bytes((GBCS_GET_RESPONSE, 0))
    return bytes((GBCS_GET_RESPONSE, remaining & 0xFF)) + bytes(message)


def parse_gbcs_tunnel(data):
    """(command, message or None, remaining); command None when the data is a bare message."""
    if not data:
        raise ZCLError("empty GBCS tunnel data")
    first = data[0]
    if first == GBCS_PUT:
        if len(data) < 2:
            raise ZCLError("GBCS PUT without a message: %s" % hexs(data))
        return GBCS_PUT, data[1:], 0
    if first == GBCS_GET:
        return GBCS_GET, None, 0
    if first == GBCS_GET_RESPONSE:
        if len(data) < 2:
            raise ZCLError("GBCS GET-RESPONSE without remaining-messages field: %s" % hexs(data))
        return GBCS_GET_RESPONSE, (data[2:] or None), data[1]
    if first in (0xDD, 0xDF):
        return None, data, 0
    raise ZCLError("unknown GBCS tunnel command %02x: %s" % (first, hexs(data)))
