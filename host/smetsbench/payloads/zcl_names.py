"""Names of the ZCL clusters, attributes, commands and statuses GBCS uses (host only: for
readable JSON, never loaded on a board).

Sources: ZCL r6 (general clusters, table 2-12 statuses), ZigBee Smart Energy 1.4 (D.4 Price,
D.3 Metering, D.5 Messaging, D.6 Tunneling, D.7 Prepayment, D.9 Calendar, D.10 Device
Management, D.11 Events) as GBCS 7.2 and 10 name them. A cluster row: name, attributes
{id: name}, client-to-server commands, server-to-client commands.
"""

from smets.zcl import foundation

STATUS = {
    0x00: "SUCCESS", 0x01: "FAILURE", 0x7E: "NOT_AUTHORIZED", 0x80: "MALFORMED_COMMAND",
    0x81: "UNSUP_CLUSTER_COMMAND", 0x82: "UNSUP_GENERAL_COMMAND",
    0x83: "UNSUP_MANUF_CLUSTER_COMMAND", 0x84: "UNSUP_MANUF_GENERAL_COMMAND",
    0x85: "INVALID_FIELD", 0x86: "UNSUPPORTED_ATTRIBUTE", 0x87: "INVALID_VALUE",
    0x88: "READ_ONLY", 0x89: "INSUFFICIENT_SPACE", 0x8A: "DUPLICATE_EXISTS", 0x8B: "NOT_FOUND",
    0x8C: "UNREPORTABLE_ATTRIBUTE", 0x8D: "INVALID_DATA_TYPE", 0x8E: "INVALID_SELECTOR",
    0x8F: "WRITE_ONLY", 0x94: "TIMEOUT", 0xC0: "HARDWARE_FAILURE", 0xC1: "SOFTWARE_FAILURE",
    0xC2: "CALIBRATION_ERROR", 0xC3: "UNSUPPORTED_CLUSTER",
}

CLUSTERS = {
    0x0000: ("Basic", {
        0x0000: "ZCLVersion", 0x0001: "ApplicationVersion", 0x0002: "StackVersion",
        0x0003: "HWVersion", 0x0004: "ManufacturerName", 0x0005: "ModelIdentifier",
        0x0006: "DateCode", 0x0007: "PowerSource",
    }, {}, {}),
    0x000A: ("Time", {
        0x0000: "Time", 0x0001: "TimeStatus", 0x0002: "TimeZone", 0x0007: "LocalTime",
    }, {}, {}),
    0x0700: ("Price", {
        0x0100: "Block1Threshold", 0x0101: "Block2Threshold", 0x0102: "Block3Threshold",
        0x0202: "ThresholdMultiplier", 0x0203: "ThresholdDivisor", 0x0301: "StandingCharge",
        0x0302: "ConversionFactor", 0x0303: "ConversionFactorTrailingDigit",
        0x0304: "CalorificValue", 0x0305: "CalorificValueUnit",
        0x0306: "CalorificValueTrailingDigit", 0x0400: "NoTierBlock1Price",
        0x0401: "NoTierBlock2Price", 0x0402: "NoTierBlock3Price", 0x0403: "NoTierBlock4Price",
        0x0410: "Tier1Block1Price", 0x0420: "Tier2Block1Price", 0x0430: "Tier3Block1Price",
        0x0440: "Tier4Block1Price", 0x0615: "UnitOfMeasure", 0x0616: "Currency",
        0x0617: "PriceTrailingDigit",
    }, {
        0x00: "GetCurrentPrice", 0x01: "GetScheduledPrices", 0x02: "PriceAcknowledgement",
        0x03: "GetBlockPeriods", 0x04: "GetConversionFactor", 0x05: "GetCalorificValue",
        0x06: "GetTariffInformation", 0x07: "GetPriceMatrix", 0x08: "GetBlockThresholds",
        0x0B: "GetBillingPeriod",
    }, {
        0x00: "PublishPrice", 0x01: "PublishBlockPeriod", 0x02: "PublishConversionFactor",
        0x03: "PublishCalorificValue", 0x04: "PublishTariffInformation",
        0x05: "PublishPriceMatrix", 0x06: "PublishBlockThresholds", 0x09: "PublishBillingPeriod",
    }),
    0x0702: ("Metering", {
        0x0000: "CurrentSummationDelivered", 0x0014: "SupplyStatus",
        0x0100: "CurrentTier1SummationDelivered", 0x0102: "CurrentTier2SummationDelivered",
        0x0104: "CurrentTier3SummationDelivered", 0x0106: "CurrentTier4SummationDelivered",
        0x0205: "RemainingBatteryLifeInDays", 0x0206: "CurrentMeterID",
        0x0300: "UnitOfMeasure", 0x0301: "Multiplier", 0x0302: "Divisor",
        0x0306: "MeteringDeviceType", 0x0307: "SiteID", 0x0308: "MeterSerialNumber",
        0x0400: "InstantaneousDemand", 0x0607: "SupplyTamperState",
        0x0608: "SupplyDepletionState", 0x0700: "CurrentNoTierBlock1SummationDelivered",
        0x0701: "CurrentNoTierBlock2SummationDelivered",
        0x0702: "CurrentNoTierBlock3SummationDelivered",
        0x0703: "CurrentNoTierBlock4SummationDelivered", 0x0A00: "BillToDateDelivered",
        0x0B10: "UncontrolledFlowThreshold", 0x0B11: "UncontrolledFlowThresholdUnitOfMeasure",
        0x0B12: "UncontrolledFlowMultiplier", 0x0B13: "UncontrolledFlowDivisor",
        0x0B14: "FlowStabilisationPeriod", 0x0B15: "FlowMeasurementPeriod",
    }, {
        0x00: "GetProfile", 0x06: "GetSnapshot", 0x07: "StartSampling",
        0x08: "GetSampledData", 0x0B: "ChangeSupply", 0x0C: "LocalChangeSupply",
        0x0D: "SetSupplyStatus", 0x0E: "SetUncontrolledFlowThreshold",
    }, {
        0x00: "GetProfileResponse", 0x06: "PublishSnapshot", 0x07: "GetSampledDataResponse",
        0x0B: "SupplyStatusResponse", 0x0C: "SupplyStatusResponse",
        0x0D: "StartSamplingResponse",
    }),
    0x0703: ("Messaging", {}, {
        0x00: "GetLastMessage", 0x01: "MessageConfirmation",
    }, {
        0x00: "DisplayMessage", 0x01: "CancelMessage",
    }),
    0x0704: ("Tunneling", {}, {
        0x00: "RequestTunnel", 0x01: "CloseTunnel", 0x02: "TransferData",
        0x03: "TransferDataError",
    }, {
        0x00: "RequestTunnelResponse", 0x01: "TransferData", 0x02: "TransferDataError",
        0x06: "TunnelClosureNotification",
    }),
    0x0705: ("Prepayment", {
        0x0000: "PaymentControlConfiguration", 0x0001: "CreditRemaining",
        0x0002: "EmergencyCreditRemaining", 0x0005: "AccumulatedDebt",
        0x0006: "OverallDebtCap", 0x0010: "EmergencyCreditLimit",
        0x0011: "EmergencyCreditThreshold", 0x0021: "MaxCreditLimit",
        0x0022: "MaxCreditPerTopUp", 0x0031: "LowCreditWarningLevel", 0x0040: "CutOffValue",
        0x0211: "DebtAmount1", 0x0216: "DebtRecoveryFrequency1", 0x0217: "DebtRecoveryAmount1",
        0x0221: "DebtAmount2", 0x0226: "DebtRecoveryFrequency2", 0x0227: "DebtRecoveryAmount2",
        0x0231: "DebtAmount3", 0x0239: "DebtRecoveryTopUpPercentage3",
    }, {
        0x00: "SelectAvailableEmergencyCredit", 0x02: "ChangeDebt",
        0x03: "EmergencyCreditSetup", 0x04: "ConsumerTopUp", 0x05: "CreditAdjustment",
        0x06: "ChangePaymentMode", 0x07: "GetPrepaySnapshot", 0x08: "GetTopUpLog",
        0x09: "SetLowCreditWarningLevel", 0x0A: "GetDebtRepaymentLog",
        0x0B: "SetMaximumCreditLimit", 0x0C: "SetOverallDebtCap",
    }, {
        0x01: "PublishPrepaySnapshot", 0x02: "ChangePaymentModeResponse",
        0x03: "ConsumerTopUpResponse", 0x05: "PublishTopUpLog", 0x06: "PublishDebtLog",
    }),
    0x0707: ("Calendar", {}, {
        0x00: "GetCalendar", 0x01: "GetDayProfiles", 0x02: "GetWeekProfiles",
        0x03: "GetSeasons", 0x04: "GetSpecialDays",
    }, {
        0x00: "PublishCalendar", 0x01: "PublishDayProfile", 0x02: "PublishWeekProfile",
        0x03: "PublishSeasons", 0x04: "PublishSpecialDays",
    }),
    0x0708: ("Device Management", {}, {
        0x04: "ReportEventConfiguration",
    }, {
        0x00: "PublishChangeOfTenancy", 0x01: "PublishChangeOfSupplier",
        0x02: "RequestNewPasswordResponse", 0x03: "UpdateSiteID", 0x04: "SetEventConfiguration",
        0x05: "GetEventConfiguration", 0x06: "UpdateCIN",
    }),
    0x0709: ("Events", {}, {
        0x00: "GetEventLog", 0x01: "ClearEventLogRequest",
    }, {
        0x01: "PublishEventLog", 0x02: "ClearEventLogResponse",
    }),
}


def cluster(cluster_id):
    row = CLUSTERS.get(cluster_id)
    return row[0] if row else None


def attribute(cluster_id, attr_id):
    row = CLUSTERS.get(cluster_id)
    return row[1].get(attr_id) if row else None


def command(cluster_id, frame_control, command_id):
    """Name of a ZCL command: foundation (frame type 0) or the cluster's own, by direction."""
    if frame_control & 0x03 == 0:
        return foundation.NAMES.get(command_id)
    row = CLUSTERS.get(cluster_id)
    if row is None:
        return None
    return (row[3] if frame_control & 0x08 else row[2]).get(command_id)


def status(code):
    return STATUS.get(code, "%02x" % code)
