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
        0x00: "GetProfile", 0x01: "RequestMirrorResponse", 0x02: "MirrorRemoved",
        0x06: "GetSnapshot", 0x07: "StartSampling",
        0x08: "GetSampledData", 0x0B: "ChangeSupply", 0x0C: "LocalChangeSupply",
        0x0D: "SetSupplyStatus", 0x0E: "SetUncontrolledFlowThreshold",
    }, {
        0x00: "GetProfileResponse", 0x01: "RequestMirror", 0x02: "RemoveMirror",
        0x06: "PublishSnapshot", 0x07: "GetSampledDataResponse", 0x08: "ConfigureMirror",
        0x0B: "GetNotifiedMessage", 0x0C: "SupplyStatusResponse",
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


# Field names of the cluster-specific commands, in the order of smets.zcl.se's layouts
# ("<cluster><direction: 1 server to client><command>"); names after "|" are those of the
# group a payload repeats. ZSE 1.4 annex D names them so (D.3.2.3-D.11.2.4).
FIELDS = {
    # Price (D.4.2.3 / D.4.2.4)
    "0700000": "CommandOptions",
    "0700003": "StartTime NumberOfEvents TariffType",
    "0700004": "EarliestStartTime MinIssuerEventID NumberOfCommands",
    "0700005": "EarliestStartTime MinIssuerEventID NumberOfCommands",
    "0700006": "EarliestStartTime MinIssuerEventID NumberOfCommands TariffType",
    "0700007": "IssuerTariffID",
    "0700008": "IssuerTariffID",
    "070000b": "EarliestStartTime MinIssuerEventID NumberOfCommands TariffType",
    "0700100": "ProviderID RateLabel IssuerEventID CurrentTime UnitOfMeasure Currency "
               "PriceTrailingDigitAndTier NumberOfTiersAndRegisterTier StartTime "
               "DurationInMinutes Price Optional",
    "0700101": "ProviderID IssuerEventID BlockPeriodStartTime BlockPeriodDuration "
               "BlockPeriodControl BlockPeriodDurationType TariffType TariffResolutionPeriod",
    "0700102": "IssuerEventID StartTime ConversionFactor ConversionFactorTrailingDigit",
    "0700103": "IssuerEventID StartTime CalorificValue CalorificValueUnit "
               "CalorificValueTrailingDigit",
    "0700104": "ProviderID IssuerEventID IssuerTariffID StartTime TariffTypeChargingScheme "
               "TariffLabel NumberOfPriceTiersInUse NumberOfBlockThresholdsInUse UnitOfMeasure "
               "Currency PriceTrailingDigit StandingCharge TierBlockMode "
               "BlockThresholdMultiplier BlockThresholdDivisor",
    "0700105": "ProviderID IssuerEventID StartTime IssuerTariffID CommandIndex "
               "TotalNumberOfCommands SubPayloadControl | TierBlockID Price",
    "0700106": "ProviderID IssuerEventID StartTime IssuerTariffID CommandIndex "
               "TotalNumberOfCommands SubPayloadControl Thresholds",
    "0700109": "ProviderID IssuerEventID BillingPeriodStartTime BillingPeriodDuration "
               "BillingPeriodDurationType TariffType",
    # Metering (D.3.2.3 / D.3.2.4)
    "0702001": "EndPointID",
    "0702006": "EarliestStartTime LatestEndTime SnapshotOffset SnapshotCause",
    "0702007": "IssuerEventID StartSamplingTime SampleType SampleRequestInterval "
               "MaxNumberOfSamples",
    "0702008": "SampleID EarliestSampleTime SampleType NumberOfSamples",
    "070200b": "ProviderID IssuerEventID RequestDateTime ImplementationDateTime "
               "ProposedSupplyStatus SupplyControlBits",
    "070200c": "ProposedSupplyStatus",
    "070200d": "IssuerEventID SupplyTamperState SupplyDepletionState "
               "SupplyUncontrolledFlowState LoadLimitSupplyState",
    "070200e": "ProviderID IssuerEventID UncontrolledFlowThreshold UnitOfMeasure Multiplier "
               "Divisor StabilisationPeriod MeasurementPeriod",
    "0702101": "",
    "0702106": "SnapshotID SnapshotTime TotalSnapshotsFound CommandIndex "
               "TotalNumberOfCommands SnapshotCause SnapshotPayloadType SnapshotPayload",
    "0702107": "SampleID SampleStartTime SampleType SampleRequestInterval NumberOfSamples "
               "| Sample",
    "0702108": "IssuerEventID ReportingInterval MirrorNotificationReporting NotificationScheme",
    "070210c": "ProviderID IssuerEventID ImplementationDateTime SupplyStatus",
    "070210d": "SampleID",
    # Messaging (D.5.2.3 / D.5.2.4)
    "0703001": "MessageID ConfirmationTime Optional",
    "0703100": "MessageID MessageControl StartTime DurationInMinutes Message Optional",
    "0703101": "MessageID MessageControl",
    # Prepayment (D.7.2.3 / D.7.2.4)
    "0705000": "CommandIssueDateTime OriginatingDevice",
    "0705002": "IssuerEventID DebtLabel DebtAmount DebtRecoveryMethod DebtAmountType "
               "DebtRecoveryStartTime DebtRecoveryCollectionTime DebtRecoveryFrequency "
               "DebtRecoveryAmount DebtRecoveryBalancePercentage",
    "0705003": "IssuerEventID StartTime EmergencyCreditLimit EmergencyCreditThreshold",
    "0705004": "OriginatingDevice TopUpCode",
    "0705005": "IssuerEventID StartTime CreditAdjustmentType CreditAdjustmentValue",
    "0705006": "ProviderID IssuerEventID ImplementationDateTime "
               "ProposedPaymentControlConfiguration CutOffValue",
    "0705007": "EarliestStartTime LatestEndTime SnapshotOffset SnapshotCause",
    "0705008": "LatestEndTime NumberOfRecords",
    "0705009": "LowCreditWarningLevel",
    "070500a": "LatestEndTime NumberOfDebts DebtType",
    "070500b": "ProviderID IssuerEventID ImplementationDateTime MaximumCreditLevel "
               "MaximumCreditPerTopUp",
    "070500c": "ProviderID IssuerEventID ImplementationDateTime OverallDebtCap",
    "0705101": "SnapshotID SnapshotTime TotalSnapshotsFound CommandIndex "
               "TotalNumberOfCommands SnapshotCause SnapshotPayloadType SnapshotPayload",
    "0705102": "FriendlyCredit FriendlyCreditCalendarID EmergencyCreditLimit "
               "EmergencyCreditThreshold",
    "0705103": "ResultType TopUpValue SourceOfTopUp CreditRemaining",
    "0705105": "CommandIndex TotalNumberOfCommands | TopUpCode TopUpAmount TopUpTime",
    "0705106": "CommandIndex TotalNumberOfCommands | CollectionTime AmountCollected DebtType "
               "OutstandingDebt",
    # Calendar (D.9.2.3 / D.9.2.4)
    "0707000": "Payload",
    "0707001": "ProviderID IssuerCalendarID StartDayID NumberOfDays",
    "0707002": "ProviderID IssuerCalendarID StartWeekID NumberOfWeeks",
    "0707003": "ProviderID IssuerCalendarID",
    "0707004": "StartTime NumberOfEvents CalendarType ProviderID IssuerCalendarID",
    "0707100": "ProviderID IssuerEventID IssuerCalendarID StartTime CalendarType "
               "CalendarTimeReference CalendarName NumberOfSeasons NumberOfWeekProfiles "
               "NumberOfDayProfiles",
    "0707101": "ProviderID IssuerEventID IssuerCalendarID DayID TotalNumberOfScheduleEntries "
               "CommandIndex TotalNumberOfCommands CalendarType | StartTime PriceTier",
    "0707102": "ProviderID IssuerEventID IssuerCalendarID WeekID DayIDRefMonday "
               "DayIDRefTuesday DayIDRefWednesday DayIDRefThursday DayIDRefFriday "
               "DayIDRefSaturday DayIDRefSunday",
    "0707103": "ProviderID IssuerEventID IssuerCalendarID CommandIndex TotalNumberOfCommands "
               "| SeasonStartDate WeekIDRef",
    "0707104": "ProviderID IssuerEventID IssuerCalendarID StartTime CalendarType "
               "TotalNumberOfSpecialDays CommandIndex TotalNumberOfCommands "
               "| SpecialDayDate DayIDRef",
    # Device Management (D.10.2.3 / D.10.2.4)
    "0708004": "CommandIndex TotalCommands | EventID EventConfiguration",
    "0708100": "ProviderID IssuerEventID TariffType ImplementationDateTime "
               "ProposedTenancyChangeControl",
    "0708101": "CurrentProviderID IssuerEventID TariffType ProposedProviderID "
               "ProviderChangeImplementationTime ProviderChangeControl ProposedProviderName "
               "ProposedProviderContactDetails",
    "0708102": "IssuerEventID ImplementationDateTime DurationInMinutes PasswordType Password",
    "0708103": "IssuerEventID SiteIDTime ProviderID SiteID",
    "0708104": "IssuerEventID StartDateTime EventConfiguration ConfigurationControl "
               "EventConfigurationPayload",
    "0708105": "EventID",
    "0708106": "IssuerEventID ImplementationTime ProviderID CustomerIDNumber",
    # Events (D.11.2.3 / D.11.2.4)
    "0709000": "EventControlLogID EventID StartTime EndTime NumberOfEvents EventOffset",
    "0709001": "LogID",
    "0709101": "TotalNumberOfEvents CommandIndex TotalCommands LogPayloadControl "
               "| LogID EventID EventTime EventData",
    "0709102": "ClearedEventsLogs",
}


def fields(cluster_id, server_to_client, command_id):
    """(field names, names of the repeated group) of a cluster command, or None."""
    text = FIELDS.get("%04x%d%02x" % (cluster_id, 1 if server_to_client else 0, command_id))
    if text is None:
        return None
    head, _, group = text.partition("|")
    return head.split(), group.split()


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
