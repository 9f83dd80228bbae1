"""ZigBee SE Demand Response and Load Control cluster (0x0701) payloads: how an ESME switches
a HAN-connected auxiliary load control switch (HCALCS).

GBCS makes the ESME the DRLC server of its HCALCSs (the ESME holds the auxiliary load control
switch configuration, ECS46c, and state, ECS47) and the HCALCS a client: the ESME sends a Load
Control Event when it switches HCALCS [n], the HCALCS answers Report Event Status and asks for
what is scheduled with Get Scheduled Events when it starts (GBCS use case HECS01, which only
names the event the ESME logs). Layouts are ZSE 1.x D.2 (little-endian, UTC times in seconds
since 2000-01-01):

  LoadControlEvent   issuer event id u32, device class u16, enrollment group u8, start time
                     u32 (0 = now), duration u16 (minutes), criticality u8, cooling / heating
                     temperature offsets u8 u8, cooling / heating set points i16 i16, average
                     load adjustment i8, duty cycle u8, event control u8  (23 bytes)
  CancelLoadControlEvent  issuer event id u32, device class u16, enrollment group u8,
                     cancel control u8, effective time u32  (12 bytes)
  ReportEventStatus  issuer event id u32, event status u8, status time u32, criticality
                     applied u8, cooling / heating set points applied u16 u16, load adjustment
                     applied i8, duty cycle applied u8, event control u8, signature type u8,
                     signature 42 bytes  (60 bytes)
  GetScheduledEvents start time u32, number of events u8, [issuer event id u32]

The switch state rides on the duty cycle: 100 closes the switch (load on), 0 opens it. The
codec raises ZCLError (the caller answers MALFORMED_COMMAND) and nothing else.
"""

import struct

from smets.zcl.frame import ZCLError, hexs

CLUSTER = 0x0701
# Server -> client (ESME -> HCALCS).
LOAD_CONTROL_EVENT = 0x00
CANCEL_LOAD_CONTROL_EVENT = 0x01
CANCEL_ALL_LOAD_CONTROL_EVENTS = 0x02
# Client -> server (HCALCS -> ESME).
REPORT_EVENT_STATUS = 0x00
GET_SCHEDULED_EVENTS = 0x01

# Event status (ZSE Table D-5).
STATUS_RECEIVED = 0x01
STATUS_STARTED = 0x02
STATUS_COMPLETED = 0x03
STATUS_CANCELLED = 0x06
STATUS_REJECTED = 0xFE  # "rejected, invalid cancel command (undefined event)" family

DUTY_ON = 100
DUTY_OFF = 0
DURATION_UNTIL_CHANGED = 0xFFFF  # the emulator's reading: no end (the ESME cancels it)
DEVICE_CLASS_ALCS = 0x0008  # ZSE device class bit 3: "Smart Appliances" (switched loads)

_LCE = "<IHBIHBBBhhbBB"
_CANCEL = "<IHBBI"
_REPORT = "<IBIBHHbBBB"
_NO_SIGNATURE = bytes(42)


class LoadControlEvent:
    __slots__ = ("event_id", "device_class", "group", "start", "duration", "criticality",
                 "duty_cycle", "event_control")

    def __init__(self, event_id, duty_cycle, start=0, duration=DURATION_UNTIL_CHANGED,
                 device_class=DEVICE_CLASS_ALCS, group=0, criticality=1, event_control=0):
        self.event_id = event_id
        self.device_class = device_class
        self.group = group
        self.start = start
        self.duration = duration
        self.criticality = criticality
        self.duty_cycle = duty_cycle
        self.event_control = event_control

    @classmethod
    def from_bytes(cls, data):
        if len(data) != struct.calcsize(_LCE):
            raise ZCLError("Load Control Event of %d bytes, not 23: %s" % (len(data),
                                                                           hexs(data)))
        f = struct.unpack(_LCE, bytes(data))
        if f[11] > 100 and f[11] != 0xFF:
            raise ZCLError("duty cycle %d out of range: %s" % (f[11], hexs(data)))
        return cls(f[0], f[11], start=f[3], duration=f[4], device_class=f[1], group=f[2],
                   criticality=f[5], event_control=f[12])

    def to_bytes(self):
        return struct.pack(_LCE, self.event_id, self.device_class, self.group, self.start,
                           self.duration, self.criticality, 0xFF, 0xFF, -32768, -32768, -128,
                           self.duty_cycle, self.event_control)

    def __eq__(self, other):
        return isinstance(other, LoadControlEvent) and self.to_bytes() == other.to_bytes()


class CancelEvent:
    __slots__ = ("event_id", "device_class", "group", "cancel_control", "effective")

    def __init__(self, event_id, device_class=DEVICE_CLASS_ALCS, group=0, cancel_control=0,
                 effective=0):
        self.event_id = event_id
        self.device_class = device_class
        self.group = group
        self.cancel_control = cancel_control
        self.effective = effective

    @classmethod
    def from_bytes(cls, data):
        if len(data) != struct.calcsize(_CANCEL):
            raise ZCLError("Cancel Load Control Event of %d bytes, not 12: %s" % (
                len(data), hexs(data)))
        f = struct.unpack(_CANCEL, bytes(data))
        return cls(f[0], f[1], f[2], f[3], f[4])

    def to_bytes(self):
        return struct.pack(_CANCEL, self.event_id, self.device_class, self.group,
                           self.cancel_control, self.effective)

    def __eq__(self, other):
        return isinstance(other, CancelEvent) and self.to_bytes() == other.to_bytes()


class EventStatus:
    __slots__ = ("event_id", "status", "time", "criticality", "duty_cycle", "event_control")

    def __init__(self, event_id, status, time, criticality=1, duty_cycle=0xFF,
                 event_control=0):
        self.event_id = event_id
        self.status = status
        self.time = time
        self.criticality = criticality
        self.duty_cycle = duty_cycle
        self.event_control = event_control

    @classmethod
    def from_bytes(cls, data):
        n = struct.calcsize(_REPORT)
        if len(data) != n + 42:
            raise ZCLError("Report Event Status of %d bytes, not 60: %s" % (len(data),
                                                                            hexs(data)))
        f = struct.unpack(_REPORT, bytes(data[:n]))
        return cls(f[0], f[1], f[2], f[3], f[7], f[8])

    def to_bytes(self):
        return struct.pack(_REPORT, self.event_id, self.status, self.time, self.criticality,
                           0x8000, 0x8000, -128, self.duty_cycle, self.event_control,
                           0) + _NO_SIGNATURE

    def __eq__(self, other):
        return isinstance(other, EventStatus) and self.to_bytes() == other.to_bytes()


def get_scheduled_events(start=0, count=0):
    return struct.pack("<IB", start, count)


def parse_get_scheduled_events(data):
    """(start time, number of events) of a Get Scheduled Events payload (the optional issuer
    event id of later ZSE versions is accepted and ignored)."""
    if len(data) not in (5, 9):
        raise ZCLError("Get Scheduled Events of %d bytes: %s" % (len(data), hexs(data)))
    return struct.unpack("<IB", bytes(data[:5]))
