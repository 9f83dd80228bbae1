"""HANTEST: a HAN device that does no GBCS, for testing the bench and the role seams.

It answers ZCL Read Attributes on the Basic cluster (ZCL r7 3.2: ZCLVersion, ManufacturerName,
ModelIdentifier, PowerSource) and sends a Default Response for the rest. It loads no GBCS
code: no P-256, no tunnel client, so its heap shows what the HAN part of a role costs.
"""

try:
    from micropython import const
except ImportError:  # CPython

    def const(x):  # type: ignore[misc]  # CPython has no micropython.const
        return x


from smets.devices.handev import HANDevice
from smets.zcl.frame import (
    MALFORMED_COMMAND,
    READ_ATTRIBUTES,
    READ_ATTRIBUTES_RESPONSE,
    TYPE_GLOBAL,
    UNSUP_COMMAND,
    UNSUPPORTED_ATTRIBUTE,
    ZCLFrame,
)

CLUSTER_BASIC = const(0x0000)
_UINT8 = const(0x20)
_ENUM8 = const(0x30)
_CHAR_STRING = const(0x42)


def _string(text):
    b = text.encode()
    return bytes((_CHAR_STRING, len(b))) + b


# Basic cluster attributes (ZCL r7 3.2.2.2): id -> ZCL type and value, as on the air.
BASIC = {
    0x0000: bytes((_UINT8, 8)),  # ZCLVersion: ZCL revision 8
    0x0004: _string("smetsbench"),  # ManufacturerName
    0x0005: _string("HANTEST"),  # ModelIdentifier
    0x0007: bytes((_ENUM8, 0x01)),  # PowerSource: mains, single phase
}


class HANTest(HANDevice):
    ROLE = "HANTEST"

    def __init__(self, identity, store, now, log=None, fresh=False, init=None):
        HANDevice.__init__(self, identity, store, now, log, fresh, init)
        self.reads = 0
        self._last = None

    def on_han(self, aps, now):
        self._last = None
        return HANDevice.on_han(self, aps, now)

    def on_zcl(self, aps, zcl, now):
        if aps.cluster != CLUSTER_BASIC:
            return None
        if zcl.frame_type != TYPE_GLOBAL or zcl.command != READ_ATTRIBUTES \
                or zcl.server_to_client:
            status = UNSUP_COMMAND
        elif len(zcl.payload) % 2:
            status = MALFORMED_COMMAND  # attribute ids are 16 bits (ZCL 2.5.1)
        else:
            self.reads += 1
            self._last = "%04X:%02X" % (aps.cluster, zcl.command)
            return [aps.reply(aps.cluster, self.read_response(zcl).to_bytes())]
        if zcl.wants_default_response():
            return [aps.reply(aps.cluster, zcl.default_response(status).to_bytes())]
        return []

    def read_response(self, zcl):
        """Read Attributes Response (ZCL 2.5.2): per attribute id, SUCCESS and its type and
        value, or UNSUPPORTED_ATTRIBUTE."""
        out = bytearray()
        p = zcl.payload
        for i in range(0, len(p), 2):
            attr = p[i] | (p[i + 1] << 8)
            out.append(p[i])
            out.append(p[i + 1])
            value = BASIC.get(attr)
            if value is None:
                out.append(UNSUPPORTED_ATTRIBUTE)
            else:
                out.append(0)
                out.extend(value)
        return ZCLFrame(READ_ATTRIBUTES_RESPONSE, bytes(out), frame_type=TYPE_GLOBAL,
                        server_to_client=True, disable_default_response=True, seq=zcl.seq)

    def cpu_key(self):
        return self._last

    def status(self, now):
        st = HANDevice.status(self, now)
        st["reads"] = self.reads
        return st
