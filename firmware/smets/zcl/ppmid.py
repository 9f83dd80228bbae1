"""The ZigBee SE commands a PPMID sends its meter (GBCS PECS01-03 on an ESME, PCS01-02 on a
GSME) and their responses. GBCS names these use cases only to give the meter's event log a
message code (PECS01 0x0116 top-up, PECS02 0x0117 emergency credit, PECS03 0x0118 enable
supply); the commands themselves are ZSE's (little-endian, times in UTC seconds since 2000):

  Prepayment 0x0705, client -> server
    0x00 SelectAvailableEmergencyCredit  command issue time u32, originating device u8
    0x04 ConsumerTopUp                   originating device u8, top up code (octet string)
  Prepayment 0x0705, server -> client
    0x03 ConsumerTopUpResponse           result u8, top up value i32, source u8, credit
                                         remaining i32
  Metering 0x0702, client -> server
    0x0C LocalChangeSupply               proposed supply status u8 (GBCS: only 0x02 "ON"
                                         can succeed)
  Metering 0x0702, server -> client
    0x0B SupplyStatusResponse            provider id u32, issuer event id u32,
                                         implementation time u32, supply status u8

The DCC RTDS PCS01 / PCS02 files carry exactly these payloads (PPMID -> GSME). Decoders raise
ZCLError only.
"""

import struct

from smets.zcl.frame import ZCLError, hexs

PREPAYMENT = 0x0705
METERING = 0x0702
SELECT_EMERGENCY_CREDIT = 0x00
CONSUMER_TOP_UP = 0x04
CONSUMER_TOP_UP_RESPONSE = 0x03
LOCAL_CHANGE_SUPPLY = 0x0C
SUPPLY_STATUS_RESPONSE = 0x0B

ORIGIN_PPMID = 0x02  # ZSE originating device: "In-Home Display Device" (the PPMID's class)
SUPPLY_OFF = 0x00
SUPPLY_ARMED = 0x01
SUPPLY_ON = 0x02

# ConsumerTopUpResponse result (ZSE D.7.2.4.3 ResultType).
TOP_UP_ACCEPTED = 0x00
TOP_UP_REJECTED_INVALID = 0x01
TOP_UP_REJECTED_DUPLICATE = 0x02
TOP_UP_REJECTED_ERROR = 0x03
TOP_UP_REJECTED_MAX_CREDIT = 0x04
TOP_UP_REJECTED_KEYPAD_LOCK = 0x05
TOP_UP_REJECTED_TOO_LARGE = 0x06
# What a PPMID shows for a result (the meter's refusals: smets.gbcs.utrn.accept).
TOP_UP_RESULTS = {TOP_UP_ACCEPTED: "accepted", TOP_UP_REJECTED_INVALID: "invalid",
                  TOP_UP_REJECTED_DUPLICATE: "duplicate", TOP_UP_REJECTED_ERROR: "error",
                  TOP_UP_REJECTED_MAX_CREDIT: "max credit reached",
                  TOP_UP_REJECTED_KEYPAD_LOCK: "keypad locked",
                  TOP_UP_REJECTED_TOO_LARGE: "value too large"}


def select_emergency_credit(issue_time, origin=ORIGIN_PPMID):
    return struct.pack("<IB", issue_time & 0xFFFFFFFF, origin)


def parse_select_emergency_credit(data):
    """(issue time, originating device)."""
    if len(data) != 5:
        raise ZCLError("SelectAvailableEmergencyCredit of %d bytes: %s" % (len(data),
                                                                           hexs(data)))
    return struct.unpack("<IB", bytes(data))


def consumer_top_up(code, origin=ORIGIN_PPMID):
    code = bytes(code)
    if len(code) > 254:
        raise ZCLError("top up code of %d bytes" % len(code))
    return bytes((origin, len(code))) + code


def parse_consumer_top_up(data):
    """(originating device, top up code bytes)."""
    if len(data) < 2 or data[1] == 0xFF or len(data) != 2 + data[1]:
        raise ZCLError("ConsumerTopUp malformed: %s" % hexs(data))
    return data[0], bytes(data[2:])


def top_up_response(result, value, source, credit):
    return struct.pack("<BiBi", result, value, source, credit)


def parse_top_up_response(data):
    """(result, top up value, source, credit remaining)."""
    if len(data) != 10:
        raise ZCLError("ConsumerTopUpResponse of %d bytes: %s" % (len(data), hexs(data)))
    return struct.unpack("<BiBi", bytes(data))


def local_change_supply(status):
    return bytes((status,))


def parse_local_change_supply(data):
    if len(data) != 1 or data[0] > SUPPLY_ON:
        raise ZCLError("LocalChangeSupply malformed: %s" % hexs(data))
    return data[0]


def supply_status_response(provider, event_id, when, status):
    return struct.pack("<IIIB", provider, event_id, when & 0xFFFFFFFF, status)


def parse_supply_status_response(data):
    """(provider id, issuer event id, implementation time, supply status)."""
    if len(data) != 13:
        raise ZCLError("SupplyStatusResponse of %d bytes: %s" % (len(data), hexs(data)))
    return struct.unpack("<IIIB", bytes(data))
