"""A device's Device Log: the HAN devices it is joined to (GBCS 13.7, use cases CS03/CS04/CS07).

A meter (ESME, GSME/GPF) keeps one entry per device it may talk to on the HAN: its entity
identifier (EUI-64), its device type, how it was joined, and for Method A and C joins the
other device's key agreement public key (the shared secret of the device-to-device key
agreement comes from it). A PPMID or HCALCS keeps the same log of the meters it is joined to.
Other parts of a device ask it one question, `joined(eui)`: the device type of a joined device,
or None (e.g. the ESME answers a Type 2 device's ZigBee reads only once CS03B has joined it).

Stable API (other roles build on it): DeviceLog(store, name, size); joined(eui) -> type or None;
entry(eui) -> (type, method, flags, ka) or None; entries() -> [(eui, type)]; add(eui, type,
method, ka=None) -> JOIN_* response code; remove(eui) -> bool; set_key(eui, ka); len(). What
only provisioning and the bench ask of a log (checking and filling it from an init, describing
it) is in smets.devices.joins, loaded for the call: a board keeps this module resident.

Record: entity id (8) | device type (1) | join method (1) | flags (1) | KA public key X||Y (64,
zeros when none). The log is one preallocated bytearray, saved whole after every change
(atomic write: a power cut never loses an acknowledged join). File: count (1) | records.
"""

try:
    from micropython import const
except ImportError:  # CPython

    def const(x):  # type: ignore[misc]  # CPython has no micropython.const
        return x


# Device types (GBCS ASN.1 DeviceType; gbcs-parser asn1.ts names the same numbers).
GSME = const(0)
ESME = const(1)
CHF = const(2)
GPF = const(3)
HCALCS = const(4)
PPMID = const(5)
TYPE2 = const(6)

# Join methods (GBCS JoinMethodAndRole).
METHOD_A_INITIATOR = const(0)
METHOD_A_RESPONDER = const(1)
METHOD_B = const(2)
METHOD_C = const(3)

# Join response codes (GBCS JoinResponseCode).
JOIN_SUCCESS = const(0)
JOIN_WRONG_MESSAGE_CODE = const(1)  # invalid message code for join method and role
JOIN_INVALID_METHOD = const(2)  # invalid join method and role
JOIN_INCOMPATIBLE = const(3)  # incompatible with existing entry
JOIN_LOG_FULL = const(4)
JOIN_WRITE_FAILURE = const(5)
JOIN_BAD_CERTIFICATE = const(11)  # invalid or missing certificate

FLAG_KEY = const(1)  # a device-to-device key is agreed with this device

DEFAULT_SIZE = const(8)
_REC = const(75)
_NO_KEY = bytes(64)


class DeviceLog:
    def __init__(self, store, name="devlog", size=DEFAULT_SIZE):
        self.store = store
        self.name = name
        self.size = size
        self.buf = bytearray(1 + size * _REC)
        data = store.load_bytes(name)
        if data is not None and len(data) == len(self.buf) and data[0] <= size:
            self.buf[:] = data
        elif data is not None:
            store.errors += 1
            store.last_error = "device log %s has %d bytes, expected %d; started empty" % (
                name, len(data), len(self.buf))

    def __len__(self):
        return self.buf[0]

    def _find(self, eui):
        b = self.buf
        eui = bytes(eui)
        for i in range(b[0]):
            p = 1 + i * _REC
            if b[p:p + 8] == eui:
                return p
        return -1

    def joined(self, eui):
        """The device type of a device in the log, or None."""
        p = self._find(eui)
        return None if p < 0 else self.buf[p + 8]

    def entry(self, eui):
        """(device type, join method, flags, KA public key or None) of a device, or None."""
        p = self._find(eui)
        if p < 0:
            return None
        b = self.buf
        ka = bytes(b[p + 11:p + 75])
        return b[p + 8], b[p + 9], b[p + 10], (None if ka == _NO_KEY else ka)

    def entries(self):
        """[(eui, device type)], in the order the devices joined."""
        b = self.buf
        return [(bytes(b[1 + i * _REC:9 + i * _REC]), b[9 + i * _REC]) for i in range(b[0])]

    def add(self, eui, device_type, method, ka=None):
        """Join a device: JOIN_SUCCESS, or the GBCS response code saying why not. A device
        already in the log joins again (its key refreshed) if the type and method agree."""
        eui = bytes(eui)
        if len(eui) != 8 or not 0 <= device_type <= TYPE2 or (ka is not None and len(ka) != 64):
            raise ValueError("bad device log entry")
        b = self.buf
        p = self._find(eui)
        if p >= 0:
            if b[p + 8] != device_type or (b[p + 9] == METHOD_B) != (method == METHOD_B):
                return JOIN_INCOMPATIBLE
        elif b[0] >= self.size:
            return JOIN_LOG_FULL
        else:
            p = 1 + b[0] * _REC
            b[0] += 1
        b[p:p + 8] = eui
        b[p + 8] = device_type
        b[p + 9] = method
        b[p + 10] = FLAG_KEY if ka is not None else 0
        b[p + 11:p + 75] = ka if ka is not None else _NO_KEY
        self.save()
        return JOIN_SUCCESS

    def set_key(self, eui, ka):
        """Record the key agreement public key learnt for a joined device (Method A)."""
        p = self._find(eui)
        if p < 0 or len(ka) != 64:
            return False
        self.buf[p + 10] |= FLAG_KEY
        self.buf[p + 11:p + 75] = ka
        self.save()
        return True

    def remove(self, eui):
        """Unjoin a device; False if it was not in the log."""
        p = self._find(eui)
        if p < 0:
            return False
        b = self.buf
        end = 1 + b[0] * _REC
        b[p:end - _REC] = b[p + _REC:end]
        b[end - _REC:end] = bytes(_REC)
        b[0] -= 1
        self.save()
        return True

    def save(self):
        self.store.save_bytes(self.name, self.buf)
