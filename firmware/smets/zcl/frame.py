"""ZCL frames (ZigBee Cluster Library r6, 2.4): header, default response, status codes.

  frame control(1) [manufacturer code(2, LE)] transaction sequence(1) command id(1) payload

Frame control: bits 0-1 frame type (0 global, 1 cluster specific), bit 2 manufacturer specific,
bit 3 direction (0 client->server, 1 server->client), bit 4 disable default response.
"""

try:
    from micropython import const
except ImportError:  # CPython

    def const(x):  # type: ignore[misc]  # CPython has no micropython.const
        return x


TYPE_GLOBAL = const(0)
TYPE_CLUSTER = const(1)
FC_MANUFACTURER = const(0x04)
FC_SERVER_TO_CLIENT = const(0x08)
FC_DISABLE_DEFAULT_RESPONSE = const(0x10)

# Global (foundation) command ids (ZCL 2.5, table 2-3)
READ_ATTRIBUTES = const(0x00)
READ_ATTRIBUTES_RESPONSE = const(0x01)
WRITE_ATTRIBUTES = const(0x02)
WRITE_ATTRIBUTES_UNDIVIDED = const(0x03)
WRITE_ATTRIBUTES_RESPONSE = const(0x04)
WRITE_ATTRIBUTES_NO_RESPONSE = const(0x05)
CONFIGURE_REPORTING = const(0x06)
CONFIGURE_REPORTING_RESPONSE = const(0x07)
READ_REPORTING_CONFIGURATION = const(0x08)
READ_REPORTING_CONFIGURATION_RESPONSE = const(0x09)
REPORT_ATTRIBUTES = const(0x0A)
DEFAULT_RESPONSE = const(0x0B)

# Status codes (ZCL 2.6.3, table 2-12)
SUCCESS = const(0x00)
FAILURE = const(0x01)
NOT_AUTHORIZED = const(0x7E)
MALFORMED_COMMAND = const(0x80)
UNSUP_COMMAND = const(0x81)
UNSUP_CLUSTER_COMMAND = const(0x81)  # ZCL r6 folds the old codes into UNSUP_COMMAND
UNSUP_GENERAL_COMMAND = const(0x82)
UNSUP_MANUF_CLUSTER_COMMAND = const(0x83)
UNSUP_MANUF_GENERAL_COMMAND = const(0x84)
INVALID_FIELD = const(0x85)
UNSUPPORTED_ATTRIBUTE = const(0x86)
INVALID_VALUE = const(0x87)
READ_ONLY = const(0x88)
INSUFFICIENT_SPACE = const(0x89)
NOT_FOUND = const(0x8B)
UNREPORTABLE_ATTRIBUTE = const(0x8C)
INVALID_DATA_TYPE = const(0x8D)
WRITE_ONLY = const(0x8F)
HARDWARE_FAILURE = const(0xC0)
SOFTWARE_FAILURE = const(0xC1)
UNSUPPORTED_CLUSTER = const(0xC3)


class ZCLError(ValueError):
    """ZCL bytes that cannot be decoded (frames, data types, foundation payloads)."""


def hexs(data, limit=32):
    """Space-separated hex of the first `limit` bytes, for error messages."""
    text = " ".join("%02x" % b for b in data[:limit])
    return text + " ..." if len(data) > limit else text


class ZCLFrame:
    __slots__ = ("frame_type", "direction", "disable_default_response", "manufacturer",
                 "seq", "command", "payload")

    def __init__(self, command, payload=b"", frame_type=TYPE_CLUSTER, server_to_client=False,
                 disable_default_response=False, seq=0, manufacturer=None):
        self.frame_type = frame_type
        self.direction = 1 if server_to_client else 0
        self.disable_default_response = disable_default_response
        self.manufacturer = manufacturer
        self.seq = seq & 0xFF
        self.command = command
        self.payload = bytes(payload)

    @property
    def server_to_client(self):
        return self.direction == 1

    @classmethod
    def from_bytes(cls, data):
        if len(data) < 3:
            raise ZCLError("ZCL frame of %d bytes is too short: %s" % (len(data), hexs(data)))
        fc = data[0]
        pos = 1
        manufacturer = None
        if fc & FC_MANUFACTURER:
            if len(data) < 5:
                raise ZCLError("manufacturer-specific ZCL frame too short: %s" % hexs(data))
            manufacturer = data[1] | (data[2] << 8)
            pos = 3
        if fc & 0x03 > TYPE_CLUSTER:
            raise ZCLError("reserved ZCL frame type %d in %s" % (fc & 0x03, hexs(data)))
        return cls(
            data[pos + 1],
            data[pos + 2:],
            frame_type=fc & 0x03,
            server_to_client=bool(fc & FC_SERVER_TO_CLIENT),
            disable_default_response=bool(fc & FC_DISABLE_DEFAULT_RESPONSE),
            seq=data[pos],
            manufacturer=manufacturer,
        )

    def to_bytes(self):
        fc = self.frame_type
        if self.manufacturer is not None:
            fc |= FC_MANUFACTURER
        if self.direction:
            fc |= FC_SERVER_TO_CLIENT
        if self.disable_default_response:
            fc |= FC_DISABLE_DEFAULT_RESPONSE
        head = bytearray((fc,))
        if self.manufacturer is not None:
            head.append(self.manufacturer & 0xFF)
            head.append(self.manufacturer >> 8)
        head.append(self.seq)
        head.append(self.command)
        return bytes(head) + self.payload

    def default_response(self, status):
        """The Default Response to this frame (ZCL 2.5.12), in the opposite direction."""
        return ZCLFrame(
            DEFAULT_RESPONSE,
            bytes((self.command, status)),
            frame_type=TYPE_GLOBAL,
            server_to_client=not self.direction,
            disable_default_response=True,
            seq=self.seq,
            manufacturer=self.manufacturer,
        )

    def wants_default_response(self):
        return not self.disable_default_response and not (
            self.frame_type == TYPE_GLOBAL and self.command == DEFAULT_RESPONSE
        )

    def __repr__(self):
        return "<ZCL %s cmd %02x %s seq %d %d bytes>" % (
            "cluster" if self.frame_type else "global",
            self.command,
            "s->c" if self.direction else "c->s",
            self.seq,
            len(self.payload),
        )
