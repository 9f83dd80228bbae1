"""Electricity Smart Metering Equipment (ESME): a DLMS/COSEM meter behind the GBCS pipeline.

Use cases are rows of USE_CASES (message code, allowed remote-party roles, criticality, whether
the response carries the device date-time, and the request template the ACCESS-Request must
match). The object model answers ACCESS requests generically, so a new use case on existing
objects is a new row. Consumption runs on the device clock: the import registers advance with
`power_w` while the load switch is connected.
"""

try:
    from micropython import const
except ImportError:  # CPython

    def const(x):
        return x


from smets.devices.gbcsdev import (
    ROLE_ACB,
    ROLE_NETWORK_OPERATOR,
    ROLE_SUPPLIER,
    GBCSDevice,
    Reject,
    UseCase,
)
from smets.dlms import access, axdr
from smets.dlms.access import (
    ACTION,
    GET,
    SET,
    AccessRequest,
    AccessResponse,
    DataNotification,
    GetProtectedAttributes,
    ProtectedAttributes,
    ProtectionParameters,
    RequestSpec,
    ResponseSpec,
)
from smets.dlms.axdr import Data
from smets.gbcs import crypto
from smets.logbook import Logbook

FIRMWARE_ID = b"\x00\x01\x00\x00"  # ECS52: four-byte firmware version identifier (0.1.0)


def _obis(text):
    return bytes(int(x) for x in text.split("-"))


OBIS_FIRMWARE = _obis("0-0-0-2-1-255")
OBIS_MPAN_IMPORT = _obis("0-0-94-44-34-11")
OBIS_MPAN_EXPORT = _obis("1-0-0-0-2-255")
OBIS_IMPORT_REGISTERS = _obis("0-0-94-44-34-10")
OBIS_DATA_PROTECTION_IMPORT = _obis("0-0-43-2-8-255")
OBIS_DISCONNECT_CONTROL = _obis("0-0-96-3-10-255")
OBIS_DISCONNECT_SCRIPTS = _obis("0-0-10-0-106-255")

# Disconnect control (IC 70) control_state.
DISCONNECTED = const(0)
CONNECTED = const(1)
READY_FOR_RECONNECTION = const(2)

# Scripts of the disconnect script table 0-0-10-0-106-255 (GBCS ECS42/43/44).
SCRIPT_CLOSE = const(51)
SCRIPT_OPEN = const(52)
SCRIPT_ARM = const(54)

EVENT_LOG_SIZE = const(100)
# Event log codes: GBCS codes where GBCS has one (8F32 Supply Armed), else codes from the
# emulator's own range F0xx (documented here; GBCS Table 16.2 has no plain "supply enabled").
EVENT_SUPPLY_ARMED = const(0x8F32)
EVENT_SUPPLY_ENABLED = const(0xF001)
EVENT_SUPPLY_DISABLED = const(0xF002)
EVENT_SUPPLY_ENABLED_LOCALLY = const(0xF003)
EVENT_MPAN_SET = const(0xF010)
EVENT_EXPORT_MPAN_SET = const(0xF011)
_UNITS_WH = const(30)
_UNITS_VARH = const(32)

_RW = ROLE_SUPPLIER | ROLE_NETWORK_OPERATOR


def _t(kind, class_id, obis, index):
    return (kind, class_id, obis, index)


USE_CASES = {}
for _uc in (
    UseCase(0x0027, "ECS17b", _RW, response_time=True,
            template=[_t(ACTION, 30, OBIS_DATA_PROTECTION_IMPORT, 1)]),
    UseCase(0x0059, "ECS52", _RW, template=[_t(GET, 1, OBIS_FIRMWARE, 2)]),
    UseCase(0x004E, "ECS40", _RW,
            template=[_t(GET, 1, OBIS_MPAN_IMPORT, 2), _t(GET, 1, OBIS_MPAN_EXPORT, 2)]),
    UseCase(0x004C, "ECS39a", ROLE_SUPPLIER, template=[_t(SET, 1, OBIS_MPAN_IMPORT, 2)]),
    UseCase(0x004D, "ECS39b", ROLE_ACB, template=[_t(SET, 1, OBIS_MPAN_EXPORT, 2)]),
    UseCase(0x0052, "ECS45", _RW, template=[_t(GET, 70, OBIS_DISCONNECT_CONTROL, 3)]),
    UseCase(0x004F, "ECS42", ROLE_SUPPLIER, critical=True,
            template=[_t(ACTION, 9, OBIS_DISCONNECT_SCRIPTS, 1)]),
    UseCase(0x0050, "ECS43", ROLE_SUPPLIER, critical=True,
            template=[_t(ACTION, 9, OBIS_DISCONNECT_SCRIPTS, 1)]),
    UseCase(0x0051, "ECS44", ROLE_SUPPLIER, critical=True,
            template=[_t(ACTION, 9, OBIS_DISCONNECT_SCRIPTS, 1)]),
):
    USE_CASES[_uc.code] = _uc

# The script each load-switch use case must execute (any other id is a malformed command).
_SCRIPT_OF = {0x004F: SCRIPT_CLOSE, 0x0050: SCRIPT_OPEN, 0x0051: SCRIPT_ARM}
# Objects whose attributes Get-Protected-Attributes may return, per data protection object.
_PROTECTED = {OBIS_DATA_PROTECTION_IMPORT: ((1, OBIS_IMPORT_REGISTERS, 2),)}


class DataAccessError(Exception):
    def __init__(self, result):
        super().__init__(result)
        self.result = result


def _mpan(value):
    # MPANs are 13 ASCII digits, or 26 for a twin-element meter (primary || secondary).
    if value.tag != axdr.OCTET_STRING:
        raise DataAccessError(access.TYPE_UNMATCHED)
    v = bytes(value.value)
    if len(v) not in (13, 26) or not all(0x30 <= c <= 0x39 for c in v):
        raise DataAccessError(access.OTHER_REASON)
    return v.decode()


class ESME(GBCSDevice):
    ROLE = "ESME"
    USE_CASES = USE_CASES

    def __init__(self, identity, store, now, log=None, fresh=False, init=None):
        GBCSDevice.__init__(self, identity, store, now, log, fresh, init)
        state = None if fresh else store.load("esme")
        if state is None:
            state = {
                "import_ws": 0,
                "reactive_vars": 0,
                "power_w": 500,
                "reactive_var": 50,
                "mpan_import": "",
                "mpan_export": "",
                "control_state": CONNECTED,
            }
            if init:
                for key in ("power_w", "reactive_var", "mpan_import", "mpan_export"):
                    if key in init:
                        state[key] = init[key]
                if "import_wh" in init:
                    state["import_ws"] = int(init["import_wh"]) * 3600
                if "reactive_varh" in init:
                    state["reactive_vars"] = int(init["reactive_varh"]) * 3600
            store.save("esme", state)
        state.pop("events", None)  # kept in their own record since 0.1
        self.state = state
        if fresh:
            store.remove("events")
        self.events = Logbook(store, "events", ">IH", EVENT_LOG_SIZE)
        # Consumption restarts from the stored registers at boot: a meter measures nothing
        # while it has no power.
        self._t = now
        self.dlms_faults = 0

    # -- consumption -------------------------------------------------------------------------
    def advance(self, now):
        dt = now - self._t
        if dt <= 0:
            self._t = max(self._t, now) if dt == 0 else now
            return
        self._t = now
        if self.state["control_state"] == CONNECTED:
            self.state["import_ws"] += self.state["power_w"] * dt
            self.state["reactive_vars"] += self.state["reactive_var"] * dt

    def _save(self):
        self.store.save("esme", self.state)

    def _event(self, now, code):
        self.events.append(now & 0xFFFFFFFF, code)
        self.log("I", "event %04X" % code)

    # -- GBCS use cases ----------------------------------------------------------------------
    def execute(self, uc, msg, ctx):
        try:
            req = AccessRequest.from_bytes(msg.content)
        except ValueError as exc:
            raise Reject("bad_payload", str(exc))
        got = [(s.kind, s.class_id, bytes(s.obis), s.index) for s in req.specs]
        if got != uc.template:
            raise Reject("bad_payload", "%s request does not match its template" % uc.name)
        want_script = _SCRIPT_OF.get(uc.code)
        if want_script is not None:
            d = req.data[0]
            if d.tag != axdr.LONG_UNSIGNED or d.value != want_script:
                raise Reject("bad_payload", "%s must execute script %d" % (uc.name, want_script))
        self.advance(ctx.now)
        data, results = self._access(req, ctx)
        self._save()
        return AccessResponse(req.invoke_id, data, results).to_bytes()

    def _access(self, req, ctx):
        data = []
        results = []
        failed = False
        for spec, value in zip(req.specs, req.data):
            kind = access.response_kind(spec.kind)
            if failed:
                # Break on error (invoke-id bit 29): the rest is not executed (RTDS ERRORs).
                data.append(Data.null())
                results.append(ResponseSpec(kind, access.OTHER_REASON))
                continue
            try:
                if self.dlms_faults > 0:
                    self.dlms_faults -= 1
                    raise DataAccessError(access.HARDWARE_FAULT)
                out = self._do(spec, value, ctx)
                data.append(out if out is not None else Data.null())
                results.append(ResponseSpec(kind, access.SUCCESS))
            except DataAccessError as exc:
                failed = True
                data.append(Data.null())
                results.append(ResponseSpec(kind, exc.result))
        return data, results

    def _do(self, spec, value, ctx):
        key = (spec.class_id, bytes(spec.obis))
        if spec.kind == GET:
            return self.get_attribute(key, spec.index, ctx)
        if spec.kind == SET:
            self.set_attribute(key, spec.index, value, ctx)
            return None
        if spec.kind == ACTION:
            return self.invoke(key, spec.index, value, ctx)
        raise DataAccessError(access.OBJECT_UNAVAILABLE)

    # -- COSEM object model ------------------------------------------------------------------
    def get_attribute(self, key, attr, ctx):
        s = self.state
        if key == (1, OBIS_FIRMWARE) and attr == 2:
            return Data.octet(FIRMWARE_ID)
        if key == (1, OBIS_MPAN_IMPORT) and attr == 2:
            return Data.octet(s["mpan_import"].encode())
        if key == (1, OBIS_MPAN_EXPORT) and attr == 2:
            return Data.octet(s["mpan_export"].encode())
        if key == (70, OBIS_DISCONNECT_CONTROL):
            if attr == 2:
                return Data.boolean(s["control_state"] == CONNECTED)
            if attr == 3:
                return Data.enum(s["control_state"])
        if key == (1, OBIS_IMPORT_REGISTERS) and attr == 2:
            return Data.structure([
                Data.uint32(s["import_ws"] // 3600 & 0xFFFFFFFF),
                Data.structure([Data.int8(0), Data.enum(_UNITS_WH)]),
                Data.uint32(s["reactive_vars"] // 3600 & 0xFFFFFFFF),
                Data.structure([Data.int8(0), Data.enum(_UNITS_VARH)]),
            ])
        raise DataAccessError(access.OBJECT_UNDEFINED)

    def set_attribute(self, key, attr, value, ctx):
        if key == (1, OBIS_MPAN_IMPORT) and attr == 2:
            self.state["mpan_import"] = _mpan(value)
            self._event(ctx.now, EVENT_MPAN_SET)
            return
        if key == (1, OBIS_MPAN_EXPORT) and attr == 2:
            self.state["mpan_export"] = _mpan(value)
            self._event(ctx.now, EVENT_EXPORT_MPAN_SET)
            return
        raise DataAccessError(access.READ_WRITE_DENIED)

    def invoke(self, key, method, params, ctx):
        if key == (9, OBIS_DISCONNECT_SCRIPTS) and method == 1:
            self._load_switch(params.value, ctx.now)
            return None
        if key[0] == 30 and method == 1 and key[1] in _PROTECTED:
            return self._get_protected(key[1], params, ctx)
        raise DataAccessError(access.OBJECT_UNAVAILABLE)

    def _load_switch(self, script, now):
        s = self.state
        before = s["control_state"]
        if script == SCRIPT_CLOSE:
            s["control_state"] = CONNECTED
        elif script == SCRIPT_OPEN:
            s["control_state"] = DISCONNECTED
        elif script == SCRIPT_ARM:
            # Arming only matters when the supply is off: the consumer then closes it locally.
            if before == DISCONNECTED:
                s["control_state"] = READY_FOR_RECONNECTION
        else:
            raise DataAccessError(access.OTHER_REASON)
        after = s["control_state"]
        if after != before:
            self._event(now, EVENT_SUPPLY_ARMED if after == READY_FOR_RECONNECTION else
                        EVENT_SUPPLY_DISABLED if after == DISCONNECTED else EVENT_SUPPLY_ENABLED)

    def press_button(self, now):
        """The consumer presses the supply button: an armed load switch closes."""
        self.advance(now)
        if self.state["control_state"] == READY_FOR_RECONNECTION:
            self.state["control_state"] = CONNECTED
            self._event(now, EVENT_SUPPLY_ENABLED_LOCALLY)
            self._save()
            return True
        return False

    def _get_protected(self, obis, params, ctx):
        """Data protection get_protected_attributes (IC 30 m1), GBCS payload encryption."""
        try:
            gpa = GetProtectedAttributes.from_data(params)
        except ValueError as exc:
            raise Reject("bad_payload", str(exc))
        allowed = _PROTECTED[obis]
        values = []
        for g in gpa.requests:
            if (g.class_id, bytes(g.obis), g.attribute) not in allowed:
                raise DataAccessError(access.OBJECT_UNAVAILABLE)
            values.append(self.get_attribute((g.class_id, bytes(g.obis)), g.attribute, ctx))
        if len(gpa.protection) != 1:
            raise DataAccessError(access.OTHER_REASON)
        req_p = gpa.protection[0]
        msg = ctx.msg
        # The requested protection must name this command (GBCS 7.2.x: transaction id = 04 ||
        # originator counter) and this device; anything else is a malformed command.
        if bytes(req_p.transaction_id) != b"\x04" + msg.counter.to_bytes(8, "big") or \
                bytes(req_p.recipient) != self.eui:
            raise Reject("bad_payload", "protection parameters do not match the command")
        # The protection the device applies: the requested one, titles from this device.
        resp_p = ProtectionParameters(
            req_p.transaction_id, self.eui, msg.originator, req_p.protection_type,
            req_p.other_information, req_p.key_info_type, req_p.key_parameters,
            req_p.key_ciphered_data,
        )
        plaintext = axdr.encode(Data.structure(values))
        originator, counter, recipient = self.eui, msg.counter, msg.originator
        if len(msg.other_info) >= 10:
            recipient = bytes(msg.other_info[2:10])
        protected = crypto.protect_payload(ctx.z(), originator, counter, recipient, plaintext)
        return ProtectedAttributes([resp_p], protected).to_data()

    # -- alerts / time -----------------------------------------------------------------------
    def alert_content(self, counter, alert_code, now, fields):
        invoke = access.BREAK_ON_ERROR | (counter & access.INVOKE_ID_MASK)
        return DataNotification.alert(invoke, alert_code, self.date_time(now), fields).to_bytes()

    def date_time(self, now):
        return axdr.date_time_bytes(now)

    def device_tick(self, now):
        self.advance(now)
        return []

    # -- bench -------------------------------------------------------------------------------
    def status(self, now):
        self.advance(now)
        st = GBCSDevice.status(self, now)
        s = self.state
        st["import_wh"] = s["import_ws"] // 3600
        st["reactive_varh"] = s["reactive_vars"] // 3600
        st["power_w"] = s["power_w"]
        st["control_state"] = s["control_state"]
        st["mpan_import"] = s["mpan_import"]
        return st

    def control(self, op, req, now):
        if op == "set_load":
            self.advance(now)
            for key in ("power_w", "reactive_var"):
                if key in req:
                    v = req[key]
                    if not isinstance(v, int) or v < 0:
                        raise ValueError("%s must be a non-negative integer" % key)
                    self.state[key] = v
            self._save()
            return {"power_w": self.state["power_w"], "reactive_var": self.state["reactive_var"]}
        if op == "button":
            return {"closed": self.press_button(now)}
        if op == "fault_dlms":
            self.dlms_faults = int(req.get("count", 1))
            return {"dlms_faults": self.dlms_faults}
        if op == "events":
            n = min(int(req.get("n", 10)), 50)
            return {"count": len(self.events),
                    "entries": [{"t": t, "code": c}
                                for t, c in self.events.entries(max(0, len(self.events) - n))]}
        return GBCSDevice.control(self, op, req, now)
