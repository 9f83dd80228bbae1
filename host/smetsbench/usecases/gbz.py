"""GBCS use cases with GBZ payloads (GBCS 7.2.2 / 10): the gas meter's (GSME) and the Gas Proxy
Function's (GPF), one row each, like the DLMS rows of `library`.

A row builds the GBZ command (its ZCL components: foundation Read Attributes or a ZSE
cluster command with its fields) and checks the response: no component reports a failure,
then the use case's own expectations on `GBZValues` (the attributes read, the cluster
commands answered, the Default Responses), decrypted where GBCS encrypts them (GBCS 7.3.5).

The attribute ids and command layouts restate GBCS and ZSE 1.4 (annex D) rather than reading
the firmware's model (smets.devices.gsme_model), so the bench notices a wrong emulator:
- GCS13a reads Metering Divisor, Multiplier, UnitOfMeasure, CurrentSummationDelivered
  (D.3.2.2.1, D.3.2.2.4); GCS14 Price currency and trailing digit, Prepayment debt and credit
  registers (D.7.2.2); GCS33 the battery life and SupplyStatus; GCS38 the firmware version
  (CurrentMeterID, as GBCS 10.3 maps it); GCS46 the MPRN (SiteID).
- GCS32 / GCS39 are Metering ChangeSupply (D.3.2.3.1.11) with the proposed supply status off
  (0) / armed (1): a gas valve is never opened remotely, the consumer opens an armed valve
  with the meter's button (GBCS 10.3, Table 10.3.2 notes).
- CS01b is Prepayment ConsumerTopUp (D.7.2.3.4) with a UTRN the supplier makes (GBCS 14,
  smetsbench.oracle.utrn).
- GCS16a / GCS16b ask the daily read logs with GetSnapshot / GetPrepaySnapshot per day
  (snapshot cause general, D.3.2.3.1.6); GCS61 the GPF's daily consumption log with
  GetSampledData (D.3.2.3.1.8).
"""

import time

from smets.zcl import foundation, gbz, secmd
from smets.zcl import types as ztypes
from smets.zcl.frame import DEFAULT_RESPONSE, SUCCESS

from smetsbench.oracle import utrn as outrn
from smetsbench.payloads import zcl_names

BASIC = 0x0000
PRICE = 0x0700
METERING = 0x0702
MESSAGING = 0x0703
PREPAYMENT = 0x0705
DEVICE_MANAGEMENT = 0x0708

FC_GLOBAL = 0x00  # client to server, foundation command
FC_CLUSTER = 0x01  # client to server, cluster command
FC_SERVER_CLUSTER = 0x09  # server to client cluster command (GBCS commands published by the
# supplier, e.g. DisplayMessage, UpdateSiteID, go from the ZSE server side: GBCS 7.2.2)
NOT_FOUND = 0x8B
SUPPLY_STATES = {0: "off", 1: "armed", 2: "on"}  # ZSE D.3.2.2.2.4 SupplyStatus


def zcl_time(unix=None):
    """ZCL UTCTime (seconds since 2000) of a Unix time (now by default)."""
    return int((time.time() if unix is None else unix) - ztypes.UTC_EPOCH_OFFSET) & 0xFFFFFFFF


class GBZValues:
    """What a GBZ response says: `attrs` {(cluster, attribute): (status, type, value)} of its
    Read Attributes Responses, `commands` [(cluster, command, fields)] of its cluster
    commands (fields as smets.zcl.se decodes them) and `defaults` [(cluster, command, status)]
    of its Default Responses."""

    def __init__(self, payload, plaintexts=None):
        self.attrs = {}
        self.commands = []
        self.defaults = []
        self.errors = []
        for i, c in enumerate(payload.components):
            data = c.payload if not c.encrypted else (plaintexts or {}).get(i)
            if data is None:
                self.errors.append("component %d not decrypted" % i)
                continue
            try:
                if c.frame_control & 0x03:
                    self.commands.append((c.cluster, c.command, secmd.decode(
                        c.cluster, bool(c.frame_control & 0x08), c.command, data)))
                elif c.command == DEFAULT_RESPONSE:
                    cmd, status = foundation.decode(c.command, data)
                    self.defaults.append((c.cluster, cmd, status))
                elif c.command == foundation.READ_ATTRIBUTES_RESPONSE:
                    for r in foundation.decode(c.command, data):
                        self.attrs[(c.cluster, r.id)] = (r.status, r.type, r.value)
            except ValueError as exc:
                self.errors.append("component %d: %s" % (i, exc))

    def failures(self):
        """Texts of what reports an execution failure (NOT_FOUND, "no such entry", is not)."""
        out = list(self.errors)
        for cluster, cmd, status in self.defaults:
            if status not in (SUCCESS, NOT_FOUND):
                out.append("%s command %02x: %s" % (zcl_names.cluster(cluster), cmd,
                                                    zcl_names.status(status)))
        for (cluster, attr), (status, _t, _v) in self.attrs.items():
            if status != SUCCESS:
                out.append("%s %s: %s" % (zcl_names.cluster(cluster),
                                          zcl_names.attribute(cluster, attr) or "%04x" % attr,
                                          zcl_names.status(status)))
        return out

    def value(self, cluster, attr):
        return self.attrs[(cluster, attr)][2]

    def command(self, cluster, command):
        """Fields of the first cluster command `command` of `cluster` in the response."""
        for c, cmd, fields in self.commands:
            if c == cluster and cmd == command:
                return fields
        return None


class GBZUseCase:
    """A GBCS use case with a GBZ payload (same interface as library.UseCase)."""

    payload = "GBZ"
    encrypted = False

    def __init__(self, name, code, title, build, expect=None, critical=False,
                 originator="supplier", devices=("GSME",), show=()):
        self.name = name
        self.show = show  # (cluster, attribute) a summary of the answer shows first
        self.code = code
        self.title = title
        self._build = build
        self._expect = expect
        self.critical = critical
        self.originator = originator
        self.devices = devices
        self.device = devices[0]

    def build(self, counter, party, device_eui, **params):
        """The GBZ payload of the command: its components numbered by ZCL sequence."""
        comps = [gbz.GBZComponent(cluster, fc, seq & 0xFF, cmd, payload)
                 for seq, (cluster, fc, cmd, payload) in
                 enumerate(self._build(party, device_eui, **params))]
        return gbz.GBZPayload(comps).to_bytes()

    def expect(self, checks, response, values, params):
        bad = values.failures()
        checks.add("no ZCL failure", not bad, "; ".join(bad))
        if self._expect and checks.ok:
            self._expect(checks, response, values, params)

    def __repr__(self):
        return "<GBZUseCase %s %04X>" % (self.name, self.code)


# -- builders: each returns [(cluster, frame control, command, ZCL payload)] --------------------


def _read(*reads):
    """Read Attributes of the given (cluster, [attribute ids]) (ZCL 2.5.1)."""
    def build(party, device_eui, **_):
        return [(cluster, FC_GLOBAL, foundation.READ_ATTRIBUTES,
                 foundation.encode(foundation.READ_ATTRIBUTES, list(ids)))
                for cluster, ids in reads]
    return build


def _change_supply(state):
    def build(party, device_eui, **_):
        # ProviderID, IssuerEventID (GBCS: a UTC time), request and implementation date-time
        # 0 (now), proposed status, control bit 0: acknowledge with SupplyStatusResponse.
        return [(METERING, FC_CLUSTER, 0x0B,
                 secmd.encode(METERING, False, 0x0B, [0, zcl_time(), 0, 0, state, 1]))]
    return build


def _top_up(party, device_eui, device_ka=None, value=1000, pounds=False, utrn=None, **_):
    if utrn is None:
        utrn, _ = outrn.make(party, device_eui, device_ka, value, pounds)
    # OriginatingDevice 0: the energy service interface (a remote top-up, GBCS CS01b).
    return [(PREPAYMENT, FC_CLUSTER, 0x04,
             secmd.encode(PREPAYMENT, False, 0x04, [0, utrn.encode()]))]


def _snapshots(cluster, command):
    def build(party, device_eui, days=1, **_):
        now = zcl_time()
        start = (now - days * 86400) & 0xFFFFFFFF
        # One GetSnapshot per daily entry asked for, newest first (offset 0), general cause.
        return [(cluster, FC_CLUSTER, command,
                 secmd.encode(cluster, False, command, [start, now, i, 1])) for i in range(days)]
    return build


def _consumption_log(party, device_eui, days=7, **_):
    start = (zcl_time() - days * 86400) & 0xFFFFFFFF
    # SampleID 1, sample type 0 (consumption delivered), as many days as asked for.
    return [(METERING, FC_CLUSTER, 0x08, secmd.encode(METERING, False, 0x08, [1, start, 0, days]))]


def _display_message(party, device_eui, text="smetsbench", **_):
    # MessageID (a UTC time), control 0 (normal transmission), start now, until changed.
    return [(MESSAGING, FC_SERVER_CLUSTER, 0x00,
             secmd.encode(MESSAGING, True, 0x00, [zcl_time(), 0, 0, 0xFFFF, text.encode(), b""]))]


def _set_mprn(party, device_eui, mprn="1234567890", **_):
    return [(DEVICE_MANAGEMENT, FC_SERVER_CLUSTER, 0x03,
             secmd.encode(DEVICE_MANAGEMENT, True, 0x03, [zcl_time(), 0, 0, mprn.encode()]))]


def _emergency_credit(party, device_eui, **_):
    return [(PREPAYMENT, FC_CLUSTER, 0x00, secmd.encode(PREPAYMENT, False, 0x00, [0, 0]))]


def _credit_adjustment(party, device_eui, amount=100000, **_):
    # Type 0: credit incremental (D.7.2.3.5), in the meter's credit units.
    return [(PREPAYMENT, FC_CLUSTER, 0x05,
             secmd.encode(PREPAYMENT, False, 0x05, [zcl_time(), 0, 0, amount]))]


# -- expectations -------------------------------------------------------------------------------


def _typed(checks, values, cluster, attr, ztype):
    status, t, v = values.attrs.get((cluster, attr), (None, None, None))
    name = zcl_names.attribute(cluster, attr) or "%04x" % attr
    checks.add("%s read" % name, status == SUCCESS, zcl_names.status(status)
               if status is not None else "missing")
    checks.add("%s is %s" % (name, ztypes.name(ztype)), t == ztype,
               ztypes.name(t) if t is not None else "")
    return v


def _expect_read(*typed, check=None):
    """Checks of a Read Attributes answer: each (cluster, attribute, ZCL type) is read with
    that type; `check` (parameter, cluster, attribute, want(param), show(value)) compares a
    value with the one the caller expects."""
    def expect(checks, response, values, params):
        got = {(cl, at): _typed(checks, values, cl, at, t) for cl, at, t in typed}
        if check is None or check[0] not in params:
            return
        param, cluster, attr, want, show = check
        v = got.get((cluster, attr))
        if v is not None:
            w = want(params[param])
            checks.add("%s value" % (zcl_names.attribute(cluster, attr) or "%04x" % attr),
                       _plain(v) == w, "%s, expected %s" % (show(_plain(v)), show(w)))
    return expect


def _plain(v):
    return bytes(v) if isinstance(v, (bytes, bytearray, memoryview)) else v


def _same(v):
    return v


def _supply_name(v):
    return SUPPLY_STATES.get(v, v)


_expect_consumption = _expect_read(
    (METERING, 0x0000, ztypes.UINT48), (METERING, 0x0300, ztypes.ENUM8),
    (METERING, 0x0302, ztypes.UINT24), check=("volume", METERING, 0x0000, _same, _same))
_expect_prepayment = _expect_read(
    (PREPAYMENT, 0x0001, ztypes.INT32), (PREPAYMENT, 0x0002, ztypes.INT32),
    (PRICE, 0x0616, ztypes.UINT16), check=("credit", PREPAYMENT, 0x0001, _same, _same))
_expect_firmware = _expect_read((METERING, 0x0206, ztypes.OCTET_STRING))
_expect_mprn = _expect_read((METERING, 0x0307, ztypes.OCTET_STRING),
                            check=("mprn", METERING, 0x0307, str.encode, repr))
_expect_valve = _expect_read((METERING, 0x0014, ztypes.ENUM8),
                             check=("state", METERING, 0x0014, _same, _supply_name))


def _expect_supply(state):
    def expect(checks, response, values, params):
        f = values.command(METERING, 0x0C)
        if checks.add("SupplyStatusResponse", f is not None):
            checks.add("supply status %s" % SUPPLY_STATES[state], f[3] == state,
                       SUPPLY_STATES.get(f[3], f[3]))
    return expect


def _expect_top_up(checks, response, values, params):
    f = values.command(PREPAYMENT, 0x03)
    if not checks.add("ConsumerTopUpResponse", f is not None):
        return
    result, value, _source, remaining = f
    checks.add("top-up accepted", result == 0, "result type %d" % result)
    if "credit" in params:
        checks.add("CreditRemaining after top-up", remaining == params["credit"],
                   "%d, expected %d" % (remaining, params["credit"]))


def _expect_commands(cluster, command, name):
    def expect(checks, response, values, params):
        got = [f for c, cmd, f in values.commands if c == cluster and cmd == command]
        found = [d for d in values.defaults if d[2] == NOT_FOUND]
        checks.add("%s or NOT_FOUND" % name, bool(got) or bool(found),
                   "%d %s, %d NOT_FOUND" % (len(got), name, len(found)))
    return expect


def _expect_done(checks, response, values, params):
    checks.add("Default Response SUCCESS", any(d[2] == SUCCESS for d in values.defaults)
               or not values.defaults, repr(values.defaults))


BOTH = ("GSME", "GPF")

USE_CASES = {}
for _uc in (
    GBZUseCase("GCS13a", 0x0074, "Read GSME/GPF consumption register",
               _read((METERING, (0x0302, 0x0301, 0x0300, 0x0000))), _expect_consumption,
               devices=BOTH, show=((METERING, 0x0000),)),
    GBZUseCase("GCS14", 0x0075, "Read GSME/GPF prepayment registers",
               _read((PRICE, (0x0617, 0x0616)),
                     (PREPAYMENT, (0x0005, 0x0002, 0x0001, 0x0231, 0x0211, 0x0221))),
               _expect_prepayment, devices=BOTH,
               show=((PREPAYMENT, 0x0001), (PREPAYMENT, 0x0002))),
    GBZUseCase("GCS38", 0x0084, "Read GSME firmware version", _read((METERING, (0x0206,))),
               _expect_firmware),
    GBZUseCase("GCS46", 0x0089, "Read MPRN", _read((METERING, (0x0307,))), _expect_mprn),
    GBZUseCase("GCS41", 0x0087, "Set MPRN", _set_mprn, _expect_done),
    GBZUseCase("GCS33", 0x0082, "Read GSME valve status", _read((METERING, (0x0205, 0x0014))),
               _expect_valve, show=((METERING, 0x0014),)),
    GBZUseCase("GCS32", 0x0081, "Remotely close the GSME valve", _change_supply(0),
               _expect_supply(0), critical=True),
    GBZUseCase("GCS39", 0x0085, "Arm the GSME valve", _change_supply(1), _expect_supply(1),
               critical=True),
    GBZUseCase("CS01b", 0x0097, "Apply prepayment top-up to the GSME", _top_up,
               _expect_top_up),
    GBZUseCase("GCS06", 0x0070, "Activate emergency credit remotely on the GSME",
               _emergency_credit, _expect_done, critical=True),
    GBZUseCase("GCS40a", 0x0086, "Adjust the GSME's prepayment balance", _credit_adjustment,
               _expect_done, critical=True),
    GBZUseCase("GCS07", 0x0071, "Send a message to the GSME", _display_message, _expect_done),
    GBZUseCase("GCS16a", 0x0077, "Read the GSME daily read log", _snapshots(METERING, 0x06),
               _expect_commands(METERING, 0x06, "PublishSnapshot")),
    GBZUseCase("GCS16b", 0x0096, "Read the prepayment daily read log",
               _snapshots(PREPAYMENT, 0x07),
               _expect_commands(PREPAYMENT, 0x01, "PublishPrepaySnapshot"), devices=BOTH),
    GBZUseCase("GCS61", 0x00A0, "Read the gas daily consumption log (GPF)", _consumption_log,
               _expect_commands(METERING, 0x07, "GetSampledDataResponse"), devices=("GPF",)),
):
    USE_CASES[_uc.name] = _uc
