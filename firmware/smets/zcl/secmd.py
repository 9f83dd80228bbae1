"""ZigBee Smart Energy cluster-specific command payloads, as one table (ZSE 1.4 annex D); the
cluster and attribute ids, and the few commands a consumer device builds by hand, are
smets.zcl.se's.

Every command GBCS carries in a GBZ payload or a GSME sends on the HAN has a row: cluster,
direction, command id and the ZCL data types of its fields in order (ZCL little-endian
encoding, smets.zcl.types). Two pseudo types end a layout:

  REPEAT  the types after it form a group repeated until the payload ends (a price matrix, the
          samples of GetSampledDataResponse, the entries of PublishEventLog)
  REST    the rest of the payload as bytes (a snapshot sub-payload, whose layout depends on
          its payload type field; an optional trailing field)

    decode(cluster, server_to_client, command, payload) -> [field, ...] (a REPEAT group is one
                                                          list of tuples, REST one bytes)
    encode(cluster, server_to_client, command, fields)  -> bytes

Field layouts are the ZSE 1.4 ones as GBCS uses them (GBCS 7.2 / 10; cross-checked against
SmartDCCInnovation/gbcs-parser `src/zigbee.ts` and the DCC RTDS 4.5.0 GBZ payloads). Issuer
event ids are uint32 (GBCS fills them with a UTC time). ZCLError is the only error.
"""

try:
    from micropython import const
except ImportError:  # CPython

    def const(x):  # type: ignore[misc]  # CPython has no micropython.const
        return x


from smets.zcl import types
from smets.zcl.frame import ZCLError, hexs

REPEAT = const(0xFD)
REST = const(0xFE)


# The table: one row per command, "CCCCdNN:fields" (cluster, direction 1 = server to client,
# command id, hex) and a letter per field: b u8, w u16, t u24, l u32, x u48, i int32, e enum8,
# m map8, n map16, k map32, u UTC time, d date, o octet string, c character string, f boolean,
# R a repeated group follows, * the rest as bytes. A str constant: it stays in flash on a board
# whose code is frozen, and a lookup is one find(). Names are the host's (payloads.zcl_names).
_TABLE = (
    # Price (ZSE D.4): PublishPrice, BlockPeriod, ConversionFactor, CalorificValue,
    # TariffInformation, PriceMatrix, BlockThresholds, BillingPeriod; GetCurrentPrice,
    # GetBlockPeriods, GetConversionFactor, GetCalorificValue, GetTariffInformation,
    # GetPriceMatrix, GetBlockThresholds, GetBillingPeriod
    " 0700100:loluewmmuwl* 0700101:llutmmme 0700102:lulm 0700103:lulem"
    " 0700104:lllumobbewmlbtt 0700105:llulbbmRbl 0700106:llulbbm* 0700109:llutmm"
    " 0700000:m 0700003:ubm 0700004:ulb 0700005:ulb 0700006:ulbm 0700007:l 0700008:l"
    " 070000b:ulbm"
    # Metering (ZSE D.3): RequestMirrorResponse, GetSnapshot, StartSampling, GetSampledData,
    # ChangeSupply, LocalChangeSupply, SetSupplyStatus, SetUncontrolledFlowThreshold;
    # RequestMirror, PublishSnapshot, GetSampledDataResponse, ConfigureMirror,
    # SupplyStatusResponse, StartSamplingResponse
    " 0702001:w 0702006:uubk 0702007:lueww 0702008:wuew 070200b:lluuem 070200c:e"
    " 070200d:leeee 070200e:llwewwbw 0702101: 0702106:lubbbke* 0702107:wuewwRt"
    " 0702108:ltfb 070210c:llue 070210d:w"
    # Messaging (ZSE D.5): MessageConfirmation; DisplayMessage, CancelMessage
    " 0703001:lu* 0703100:lmuwc* 0703101:lm"
    # Prepayment (ZSE D.7): SelectAvailableEmergencyCredit, ChangeDebt, EmergencyCreditSetup,
    # ConsumerTopUp, CreditAdjustment, ChangePaymentMode, GetPrepaySnapshot, GetTopUpLog,
    # SetLowCreditWarningLevel, GetDebtRepaymentLog, SetMaximumCreditLimit, SetOverallDebtCap;
    # PublishPrepaySnapshot, ChangePaymentModeResponse, ConsumerTopUpResponse,
    # PublishTopUpLog, PublishDebtLog
    " 0705000:ue 0705002:loieeuweiw 0705003:lull 0705004:eo 0705005:luei 0705006:lluni"
    " 0705007:uubk 0705008:ub 0705009:l 070500a:ube 070500b:llull 070500c:llui"
    " 0705101:lubbbke* 0705102:mlll 0705103:eiei 0705105:bbRoiu 0705106:bbRulel"
    # Calendar (ZSE D.9): GetCalendar (GBCS reads none of its fields), GetDayProfiles,
    # GetWeekProfiles, GetSeasons, GetSpecialDays; PublishCalendar, DayProfile, WeekProfile,
    # Seasons, SpecialDays
    " 0707000:* 0707001:llbb 0707002:llbb 0707003:ll 0707004:ubell 0707100:llluemobbb"
    " 0707101:lllbbbbeRwb 0707102:lllbbbbbbbb 0707103:lllbbRdb 0707104:llluebbbRdb"
    # Device Management (ZSE D.10): ReportEventConfiguration; PublishChangeOfTenancy,
    # ChangeOfSupplier, RequestNewPasswordResponse, UpdateSiteID, SetEventConfiguration,
    # GetEventConfiguration, UpdateCIN
    " 0708004:bbRwm 0708100:llmuk 0708101:llmlukoo 0708102:luweo 0708103:lulo"
    " 0708104:lume* 0708105:w 0708106:lulo"
    # Events (ZSE D.11): GetEventLog, ClearEventLogRequest; PublishEventLog,
    # ClearEventLogResponse
    " 0709000:mwuubw 0709001:m 0709101:wbbmRmwuo 0709102:m "
)
_LETTERS = "bwtlxiemnkudocf"
_CODES = b"\x20\x21\x22\x23\x25\x2b\x30\x18\x19\x1b\xe2\xe1\x41\x42\x10"


def layout(cluster, server_to_client, command):
    """The field types of a command (bytes of ZCL type ids, REPEAT and REST), or None when
    the table has no row for it."""
    key = " %04x%d%02x:" % (cluster, 1 if server_to_client else 0, command)
    i = _TABLE.find(key)
    if i < 0:
        return None
    i += len(key)
    j = _TABLE.find(" ", i)
    out = bytearray()
    for ch in _TABLE[i:j]:
        if ch == "R":
            out.append(REPEAT)
        elif ch == "*":
            out.append(REST)
        else:
            out.append(_CODES[_LETTERS.index(ch)])
    return bytes(out)


def known(cluster, server_to_client, command):
    return layout(cluster, server_to_client, command) is not None


def _layout(cluster, server_to_client, command):
    lay = layout(cluster, server_to_client, command)
    if lay is None:
        raise ZCLError("no SE layout for cluster %04x %s command %02x" % (
            cluster, "s->c" if server_to_client else "c->s", command))
    return lay


def decode(cluster, server_to_client, command, payload):
    """The fields of a cluster-specific command's payload (see the module docstring)."""
    lay = _layout(cluster, server_to_client, command)
    data = bytes(payload)
    out = []
    pos = 0
    for i in range(len(lay)):
        t = lay[i]
        if t == REST:
            out.append(data[pos:])
            return out
        if t == REPEAT:
            group = lay[i + 1:]
            items = []
            while pos < len(data):
                item = []
                for g in group:
                    v, pos = types.decode_at(g, data, pos)
                    item.append(v)
                items.append(tuple(item))
            out.append(items)
            return out
        v, pos = types.decode_at(t, data, pos)
        out.append(v)
    if pos != len(data):
        raise ZCLError("%d bytes after the fields of cluster %04x command %02x: %s" % (
            len(data) - pos, cluster, command, hexs(data)))
    return out


def encode(cluster, server_to_client, command, fields):
    """The payload of a cluster-specific command from its fields (as `decode` gives them)."""
    lay = _layout(cluster, server_to_client, command)
    out = bytearray()
    for i in range(len(lay)):
        t = lay[i]
        if t == REST:
            if i < len(fields):
                out += bytes(fields[i])
            break
        if t == REPEAT:
            group = lay[i + 1:]
            for item in fields[i]:
                if len(item) != len(group):
                    raise ZCLError("repeated group of %d fields, expected %d" % (
                        len(item), len(group)))
                for k in range(len(group)):
                    out += types.encode(group[k], item[k])
            break
        out += types.encode(t, fields[i])
    return bytes(out)
