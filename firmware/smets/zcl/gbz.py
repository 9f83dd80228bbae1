"""GBZ, the GBCS ZigBee payload format (GBCS 7.2.2): ZCL commands inside a GBCS message.

GBZ header fields are big-endian; the ZCL payload inside a component keeps ZCL's own
little-endian encoding.

    profile id (2) = 01 09
    components count (1)
    alert only: alert code (2), timestamp (4, UTCTime: seconds since 2000-01-01)
    components, each:
      extended header control (1)   bit 0 last component, bit 1 encrypted, bit 4 from date-time
      extended header cluster id (2)
      extended header GBZ command length (2): the bytes that follow, up to the next component
      [from date-time (4)]                                   when bit 4
      [additional header control (1), frame counter (1)]     when bit 1
      ZCL header: frame control (1), transaction sequence (1), command id (1)
      plaintext: the ZCL payload
      encrypted (bit 1): ciphered length (2), then that many bytes: security control (1),
        invocation counter (4), ciphertext, AE MAC (12) (GBCS 7.3.5; the KDF mode 04 key,
        AAD 31: the caller decrypts, see the host's payload registry)

An alert carries the data of its alert code after the timestamp (GBCS 7.2.9): components for
the alert codes in COMPONENT_ALERTS, otherwise alert-specific bytes kept as `alert_data` (for
example the future-dated execution outcome 8F66/8F67: 0E, message code (2), originator counter
(8), cluster (2), frame control (1), command id (1); read it with `future_dated`). The layout
was checked against Wireshark's packet-gbcs.c and SmartDCCInnovation/gbcs-parser.
"""

try:
    from micropython import const
except ImportError:  # CPython

    def const(x):  # type: ignore[misc]  # CPython has no micropython.const
        return x


from smets.zcl.frame import ZCLFrame, hexs

PROFILE = const(0x0109)
CONTROL_LAST = const(0x01)
CONTROL_ENCRYPTED = const(0x02)
CONTROL_FROM_DATE_TIME = const(0x10)
MAC_LEN = const(12)

# Alert codes whose alert data are GBZ components (Wireshark packet-gbcs.c: Billing Data Log
# Updated carries the billing data as an encrypted Metering component, GCS53).
COMPONENT_ALERTS = (0x8F0A,)
FUTURE_DATED_ALERTS = (0x8F66, 0x8F67)
_FUTURE_DATED_TAG = const(0x0E)


class GBZError(ValueError):
    """Bytes that are not a GBZ payload."""


def _need(data, pos, n, what):
    if pos + n > len(data):
        raise GBZError("%s needs %d bytes at offset %d: %s" % (what, n, pos, hexs(data)))


def _be(data, pos, n):
    v = 0
    for i in range(n):
        v = (v << 8) | data[pos + i]
    return v


def _be_bytes(v, n):
    out = bytearray(n)
    for i in range(n - 1, -1, -1):
        out[i] = v & 0xFF
        v >>= 8
    return bytes(out)


class GBZComponent:
    """One GBZ component: a ZCL command for one cluster, plaintext or encrypted.

    `payload` is the ZCL payload (None for an encrypted component until the caller decrypts
    it); `ciphered` holds the bytes after the ciphered length of an encrypted component."""

    __slots__ = ("additional_header", "ciphered", "cluster", "command", "control",
                 "frame_control", "from_date_time", "payload", "seq")

    def __init__(self, cluster, frame_control, seq, command, payload=b"", control=None,
                 from_date_time=None, additional_header=None, ciphered=None):
        if control is None:
            control = 0
            if from_date_time is not None:
                control |= CONTROL_FROM_DATE_TIME
            if ciphered is not None:
                control |= CONTROL_ENCRYPTED
        self.control = control
        self.cluster = cluster
        self.from_date_time = from_date_time
        self.additional_header = additional_header
        self.frame_control = frame_control
        self.seq = seq
        self.command = command
        self.ciphered = None if ciphered is None else bytes(ciphered)
        self.payload = None if payload is None else bytes(payload)
        if self.encrypted and self.additional_header is None:
            self.additional_header = b"\x00\x00"

    @property
    def encrypted(self):
        return bool(self.control & CONTROL_ENCRYPTED)

    @property
    def last(self):
        return bool(self.control & CONTROL_LAST)

    @property
    def security_control(self):
        return self.ciphered[0] if self.ciphered else None

    @property
    def invocation_counter(self):
        return _be(self.ciphered, 1, 4) if self.ciphered and len(self.ciphered) >= 5 else None

    @property
    def ciphertext_and_tag(self):
        """What AES-GCM decrypts: the ciphertext and its 12-byte tag (no security header)."""
        return self.ciphered[5:] if self.ciphered else b""

    def zcl(self):
        """The component's ZCL frame (its payload: the plaintext, empty when encrypted and not
        decrypted)."""
        return ZCLFrame.from_bytes(bytes((self.frame_control, self.seq, self.command)) +
                                   (self.payload or b""))

    @classmethod
    def decode_at(cls, data, pos):
        """(component, position after it)."""
        _need(data, pos, 5, "GBZ component header")
        control = data[pos]
        cluster = _be(data, pos + 1, 2)
        length = _be(data, pos + 3, 2)
        pos += 5
        _need(data, pos, length, "GBZ component of cluster %04x" % cluster)
        end = pos + length
        from_date_time = None
        additional = None
        if control & CONTROL_FROM_DATE_TIME:
            _need(data[:end], pos, 4, "GBZ from date-time")
            from_date_time = _be(data, pos, 4)
            pos += 4
        if control & CONTROL_ENCRYPTED:
            _need(data[:end], pos, 2, "GBZ additional header")
            additional = bytes(data[pos:pos + 2])
            pos += 2
        _need(data[:end], pos, 3, "ZCL header")
        fc, seq, cmd = data[pos], data[pos + 1], data[pos + 2]
        pos += 3
        ciphered = None
        payload = bytes(data[pos:end])
        if control & CONTROL_ENCRYPTED:
            _need(data[:end], pos, 2, "GBZ ciphered length")
            clen = _be(data, pos, 2)
            if pos + 2 + clen != end or clen < 5 + MAC_LEN:
                raise GBZError("GBZ ciphered length %d does not fill the %d-byte component: %s"
                               % (clen, length, hexs(data)))
            ciphered = bytes(data[pos + 2:end])
            payload = None
        return cls(cluster, fc, seq, cmd, payload, control, from_date_time, additional,
                   ciphered), end

    def to_bytes(self):
        body = bytearray()
        if self.control & CONTROL_FROM_DATE_TIME:
            body += _be_bytes(self.from_date_time or 0, 4)
        if self.control & CONTROL_ENCRYPTED:
            body += self.additional_header
        body += bytes((self.frame_control, self.seq, self.command))
        if self.control & CONTROL_ENCRYPTED:
            body += _be_bytes(len(self.ciphered), 2) + self.ciphered
        else:
            body += self.payload or b""
        if len(body) > 0xFFFF:
            raise GBZError("GBZ component of %d bytes is too long" % len(body))
        return bytes((self.control,)) + _be_bytes(self.cluster, 2) + \
            _be_bytes(len(body), 2) + bytes(body)

    def __eq__(self, other):
        return isinstance(other, GBZComponent) and self.to_bytes() == other.to_bytes() and \
            self.payload == other.payload

    def __repr__(self):
        return "<GBZ component %02x cluster %04x fc %02x cmd %02x %s>" % (
            self.control, self.cluster, self.frame_control, self.command,
            "encrypted" if self.encrypted else "%d bytes" % len(self.payload or b""))


class GBZPayload:
    """A GBZ payload: components, and for an alert its code, timestamp and data."""

    __slots__ = ("alert_code", "alert_data", "components", "count", "timestamp")

    def __init__(self, components=(), alert_code=None, timestamp=0, alert_data=b"",
                 count=None, mark_last=True):
        self.components = list(components)
        if mark_last and self.components and alert_code is None:
            # GBCS 7.2.2: the last component's extended header control says so.
            for c in self.components:
                c.control &= ~CONTROL_LAST
            self.components[-1].control |= CONTROL_LAST
        self.alert_code = alert_code
        self.timestamp = timestamp
        self.alert_data = bytes(alert_data)
        if count is None:
            count = len(self.components) or (1 if self.alert_data else 0)
        self.count = count

    @property
    def alert(self):
        return self.alert_code is not None

    @classmethod
    def from_bytes(cls, data, alert=False):
        """Decode a GBZ payload (`alert`: the message is a GBCS alert, CRA 3)."""
        _need(data, 0, 3, "GBZ header")
        if data[0] != 0x01 or data[1] != 0x09:
            raise GBZError("GBZ profile %02x%02x, expected 0109: %s" % (
                data[0], data[1], hexs(data)))
        count = data[2]
        pos = 3
        code = None
        ts = 0
        alert_data = b""
        comps = []
        if alert:
            _need(data, pos, 6, "GBZ alert header")
            code = _be(data, pos, 2)
            ts = _be(data, pos + 2, 4)
            pos += 6
            if code not in COMPONENT_ALERTS:
                alert_data = bytes(data[pos:])
                pos = len(data)
        if code is None or code in COMPONENT_ALERTS:
            for _ in range(count):
                comp, pos = GBZComponent.decode_at(data, pos)
                comps.append(comp)
        if pos != len(data):
            raise GBZError("%d bytes after %d GBZ components: %s" % (
                len(data) - pos, count, hexs(data)))
        return cls(comps, code, ts, alert_data, count, mark_last=False)

    def to_bytes(self):
        out = bytearray(b"\x01\x09")
        out.append(self.count & 0xFF)
        if self.alert_code is not None:
            out += _be_bytes(self.alert_code, 2) + _be_bytes(self.timestamp, 4)
            out += self.alert_data
        for c in self.components:
            out += c.to_bytes()
        return bytes(out)

    def __eq__(self, other):
        return isinstance(other, GBZPayload) and self.to_bytes() == other.to_bytes()

    def __repr__(self):
        if self.alert_code is not None:
            return "<GBZ alert %04X %d components>" % (self.alert_code, len(self.components))
        return "<GBZ %d components>" % len(self.components)


def future_dated(alert_data):
    """(message code, originator counter, cluster, frame control, command id) of an 8F66 /
    8F67 alert's data, or None when the data is not in that form."""
    if len(alert_data) != 15 or alert_data[0] != _FUTURE_DATED_TAG:
        return None
    d = alert_data
    return _be(d, 1, 2), _be(d, 3, 8), _be(d, 11, 2), d[13], d[14]


def is_gbz(content):
    return len(content) >= 3 and content[0] == 0x01 and content[1] == 0x09
