"""ZigBee Smart Energy: the cluster and attribute ids the HAN devices use, and the SE commands
that carry prices and messages to a consumer device (ZigBee SE 1.4, as GBCS 10 profiles it).

Attribute ids (SE 1.4 annex D; Wireshark packet-zbee-zcl-se.c names them the same):

    Metering 0x0702 (D.3.2.2)          Price 0x0700 (D.4.2.2)
      0000 CurrentSummationDelivered     0100.. Block1Threshold.. (uint48)
      0001 CurrentSummationReceived      0301 StandingCharge (uint32)
      0014 SupplyStatus                  0410.. Tier1Block1Price.. (uint32, +0x10 per tier)
      0100.. CurrentTier1Summation..     0615 UnitOfMeasure, 0616 Currency (ISO 4217)
      0200 Status                        0617 PriceTrailingDigit (high nibble)
      0300 UnitofMeasure, 0301 Multiplier, 0302 Divisor, 0303 SummationFormatting
      0304 DemandFormatting, 0305 HistoricalConsumptionFormatting, 0306 MeteringDeviceType
      0307 SiteID (MPAN / MPRN), 0308 MeterSerialNumber
      0400 InstantaneousDemand (int24), 0401 CurrentDayConsumptionDelivered (uint24)
      0403 PreviousDayConsumptionDelivered, 0430 CurrentWeekConsumptionDelivered
      0432 PreviousWeek.., 0440 CurrentMonthConsumptionDelivered, 0442 PreviousMonth..
    Prepayment 0x0705 (D.7.2.2)        Device Management 0x0708 (D.10.2.2)
      0000 PaymentControlConfiguration   0101 ProviderName, 0102 ProviderContactDetails
      0001 CreditRemaining (int32)
      0002 EmergencyCreditRemaining      Messaging 0x0703 (D.5): commands only
      0003 CreditStatus (map8)
      0005 AccumulatedDebt (int32)
      0010 EmergencyCreditLimitAllowance, 0011 EmergencyCreditThreshold

Commands: Price Get Current Price (00, client to server) is answered with Publish Price (00,
server to client, D.4.2.4.1), which the server also sends unasked when the price changes;
Messaging Get Last Message (00) is answered with Display Message (00, D.5.2.3.1), sent unasked
when the supplier sends a message, and the client confirms with Message Confirmation (01).
Every number is little-endian (ZCL 2.6.1); UTCTime counts seconds from 2000-01-01.
"""

try:
    from micropython import const
except ImportError:  # CPython

    def const(x):  # type: ignore[misc]  # CPython has no micropython.const
        return x


import struct

from smets.zcl.frame import ZCLError, hexs

BASIC = const(0x0000)
TIME = const(0x000A)
PRICE = const(0x0700)
METERING = const(0x0702)
MESSAGING = const(0x0703)
PREPAYMENT = const(0x0705)
CALENDAR = const(0x0707)
DEVICE_MANAGEMENT = const(0x0708)
EVENTS = const(0x0709)
# The server clusters a meter serves its consumer devices on endpoint 1 (GBCS 10: the ESME,
# and the GPF for gas from its mirror); the hub's discovery cache answers Match Descriptor
# requests with them.
CONSUMER_SERVERS = (BASIC, PRICE, METERING, MESSAGING, PREPAYMENT, DEVICE_MANAGEMENT)

# Metering
M_SUMMATION_DELIVERED = const(0x0000)
M_SUMMATION_RECEIVED = const(0x0001)
M_SUPPLY_STATUS = const(0x0014)
M_TIER1_SUMMATION = const(0x0100)
M_STATUS = const(0x0200)
M_UNIT = const(0x0300)
M_MULTIPLIER = const(0x0301)
M_DIVISOR = const(0x0302)
M_SUMMATION_FORMATTING = const(0x0303)
M_DEMAND_FORMATTING = const(0x0304)
M_HISTORICAL_FORMATTING = const(0x0305)
M_DEVICE_TYPE = const(0x0306)
M_SITE_ID = const(0x0307)
M_SERIAL = const(0x0308)
M_DEMAND = const(0x0400)
M_DAY = const(0x0401)
M_PREVIOUS_DAY = const(0x0403)
M_WEEK = const(0x0430)
M_PREVIOUS_WEEK = const(0x0432)
M_MONTH = const(0x0440)
M_PREVIOUS_MONTH = const(0x0442)
# MeteringDeviceType (D.3.2.2.4.7): 0 electric, 1 gas; 128 and up the same, mirrored.
DEVICE_ELECTRIC = const(0)
DEVICE_GAS = const(1)
# SupplyStatus (D.3.2.2.1): what the load switch or valve does.
SUPPLY_OFF = const(0)
SUPPLY_ARMED = const(1)
SUPPLY_ON = const(2)
# UnitofMeasure (D.3.2.2.4.1): kWh, m3 (binary forms).
UNIT_KWH = const(0x00)
UNIT_M3 = const(0x01)

# Price
P_BLOCK1_THRESHOLD = const(0x0100)
P_STANDING_CHARGE = const(0x0301)
P_TIER1_BLOCK1_PRICE = const(0x0410)
P_UNIT = const(0x0615)
P_CURRENCY = const(0x0616)
P_TRAILING_DIGIT = const(0x0617)
CURRENCY_GBP = const(826)

# Prepayment
PP_CONTROL = const(0x0000)
PP_CREDIT = const(0x0001)
PP_EMERGENCY_CREDIT = const(0x0002)
PP_CREDIT_STATUS = const(0x0003)
PP_DEBT = const(0x0005)
PP_EC_LIMIT = const(0x0010)
PP_EC_THRESHOLD = const(0x0011)
# PaymentControlConfiguration bits (D.7.2.2.1.1) and CreditStatus bits (D.7.2.2.1.4).
PAY_DISCONNECTION_ENABLED = const(0x0001)
PAY_PREPAYMENT_ENABLED = const(0x0002)
CREDIT_OK = const(0x01)
CREDIT_LOW = const(0x02)
CREDIT_EC_ENABLED = const(0x04)
CREDIT_EC_AVAILABLE = const(0x08)
CREDIT_EC_SELECTED = const(0x10)
CREDIT_EC_EXHAUSTED = const(0x20)

# Device Management
DM_PROVIDER_NAME = const(0x0101)
DM_PROVIDER_CONTACT = const(0x0102)

# Commands
GET_CURRENT_PRICE = const(0x00)
PUBLISH_PRICE = const(0x00)
GET_LAST_MESSAGE = const(0x00)
MESSAGE_CONFIRMATION = const(0x01)
DISPLAY_MESSAGE = const(0x00)
CANCEL_MESSAGE = const(0x01)
# MessageControl (D.5.2.3.1.1.1): bit 7 the consumer must confirm the message.
MESSAGE_CONFIRM_REQUIRED = const(0x80)
UNTIL_CHANGED = const(0xFFFF)

# Publish Price after the rate label: issuer event id, current time, unit of measure,
# currency, trailing digit | tier, tiers | register tier, start time, duration, price,
# price ratio, generation price, generation price ratio, alternate cost delivered, its unit,
# its trailing digit, number of block thresholds, price control (SE 1.4 D.4.2.4.1).
_PRICE_FMT = "<IIBHBBIHIBIBIBBBB"
_PRICE_MIN = const(23)  # issuer event id .. price: what SE 1.0 devices already send
_DISPLAY_FMT = "<IBIH"


def publish_price(provider, label, event_id, now_utc, unit, currency, trailing, tier, price,
                  tiers=1, thresholds=0):
    """A Publish Price payload: `price` in units of 10^-`trailing` of `currency` per `unit`,
    valid from now until changed."""
    b = bytes(label)[:12]
    return (struct.pack("<IB", provider, len(b)) + b + struct.pack(
        _PRICE_FMT, event_id, now_utc, unit, currency, (trailing << 4) | (tier & 0x0F),
        (tiers << 4) | (tier & 0x0F), 0, UNTIL_CHANGED, price, 0xFF, 0xFFFFFFFF, 0xFF,
        0xFFFFFFFF, 0xFF, 0, thresholds, 0))


def parse_publish_price(data):
    """{"provider", "label", "event", "time", "unit", "currency", "trailing", "tier", "price"}
    from a Publish Price payload; ZCLError when it is too short."""
    if len(data) < 5 or len(data) < 5 + data[4] + _PRICE_MIN:
        raise ZCLError("Publish Price too short: %s" % hexs(data))
    n = data[4]
    p = 5 + n
    event, t, unit, currency, digit_tier = struct.unpack_from("<IIBHB", data, p)
    price = struct.unpack_from("<I", data, p + 19)[0]
    return {"provider": struct.unpack_from("<I", data, 0)[0], "label": bytes(data[5:p]),
            "event": event, "time": t, "unit": unit, "currency": currency,
            "trailing": digit_tier >> 4, "tier": digit_tier & 0x0F, "price": price}


def display_message(message_id, text, now_utc, control=0, duration=UNTIL_CHANGED):
    b = text.encode() if isinstance(text, str) else bytes(text)
    b = b[:254]
    return struct.pack(_DISPLAY_FMT, message_id, control, now_utc, duration) + bytes(
        (len(b),)) + b + b"\x00"  # extended message control: none (SE 1.2)


def parse_display_message(data):
    """(message id, control, start time, duration, text bytes); ZCLError when malformed."""
    if len(data) < 12 or len(data) < 12 + data[11] or data[11] == 0xFF:
        raise ZCLError("Display Message malformed: %s" % hexs(data))
    mid, control, start, duration = struct.unpack_from(_DISPLAY_FMT, data, 0)
    return mid, control, start, duration, bytes(data[12:12 + data[11]])


def message_confirmation(message_id, now_utc):
    return struct.pack("<II", message_id, now_utc)


def parse_message_confirmation(data):
    if len(data) < 8:
        raise ZCLError("Message Confirmation too short: %s" % hexs(data))
    return struct.unpack_from("<II", data, 0)
