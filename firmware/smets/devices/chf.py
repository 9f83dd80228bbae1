"""The Communications Hub Function (CHF): the hub's GBCS device, keeper of the CHF device log.

The CHF answers the GBCS use cases the DCC sends to the Communications Hub (DLMS COSEM, like an
ESME: the objects and use cases are data in smets.devices.chf_model): the device log (CCS01 add
a device with its install code, CCS02 remove it, CCS03 restore a log, CCS05 / CCS04 / CCS06
read it with each device's HAN communication figures, CCS07 back the logs up), its identity
(ECS26i, ECS26n), its event and security logs (ECS35c, ECS35d), the sub-GHz configuration of a
dual band hub (DBCH01, DBCH03, DBCH04, DBCH05) and its security credentials (CS02a, CS02b:
the pipeline's smets.gbcs.credentials, with the CHF's trust anchor cells). It raises the CHF
alerts: CS14 (8F12, the device log changed, carrying the log's backup), DBCH06-DBCH11 (sub-GHz
events), all to the Access Control Broker.

The device log decides who may join the HAN: the hub's trust center (smets.zigbee.coordinator)
asks it (CONTROL "han_devices", or `han_devices()` in process) and tells it what happened on
the HAN (CONTROL "han_event": joined, left, refused, heard, and the sub-GHz conditions), which
the CHF keeps in its logs and device figures. The CHF runs in the hub on the host; as every
role, it also runs on a board (its GBCS commands then come through CONTROL "gbcs", the hub's
WAN side).

Sans-IO: GBCS bytes in, GBCS messages out, time passed in.
"""

try:
    from micropython import const
except ImportError:  # CPython

    def const(x):  # type: ignore[misc]  # CPython has no micropython.const
        return x


from smets import cosem, lazy
from smets.cosem import (
    ACTION,
    GET,
    GET_WITH_SELECTION,
    OTHER_REASON,
    SET,
    COSEMError,
    DataAccessError,
    skip,
)
from smets.devices.handev import HANDevice
from smets.gbcs.pipeline import GBCSPipeline, Reject
from smets.gbcs.usecases import FLAG_ASN1, template_error

# Hooks (indices into chf_model.HOOKS).
H_ID = const(1)
H_DEVLOG = const(2)
H_LOG = const(3)
H_ANY = const(4)
H_CFG = const(5)
H_SCAN = const(6)
MODEL_VERSION = const(1)

LOG_SIZE = const(100)
DEVICE_LOG_SIZE = const(32)  # devices per device log

# Alert message codes and alert codes of the CHF (GBCS Table 13.3.5 / 16.2; gbcs-notes 2.3).
MSG_CS14 = const(0x0018)
MSG_DBCH06 = const(0x0110)
MSG_DBCH07 = const(0x0111)
MSG_DBCH08 = const(0x0112)
MSG_DBCH09 = const(0x0113)
MSG_DBCH10 = const(0x0114)
MSG_DBCH11 = const(0x0115)
ALERT_DEVICE_LOG_CHANGED = const(0x8F12)
ALERT_LIMITED_DUTY_CYCLE = const(0x8F20)
ALERT_CHANNEL_CHANGED = const(0x8F26)
ALERT_SCAN_OUTCOME = const(0x8F28)
ALERT_CONFIGURATION_CHANGED = const(0x8F2A)
ALERT_MESSAGE_DISCARDED = const(0x8F2C)
ALERT_NO_CAPACITY = const(0x8F2D)
# Event and security log codes (GBCS Table 16.2 names).
EVENT_DEVICE_JOINED = const(0x8183)  # Device joined SMHAN
EVENT_UNAUTHORISED_ACCESS = const(0x8F3E)  # Unauthorised Communication Access attempted
EVENT_JOIN_FAILED = const(0x8F48)  # Device joining failed
EVENT_UNJOINED = const(0x8F4B)  # Device Unjoining succeeded

_MODEL = None  # (keys, hooks, use cases, fingerprint) from chf_image, shared by every CHF


def _devlog_call(name, *args):
    return lazy.call("smets.devices.chf_ext", name, args)


class CHF(HANDevice, GBCSPipeline):
    ROLE = "CHF"
    HAN = False  # the hub runs the HAN (smets.zigbee.coordinator); it joins none
    ALERT_RECIPIENT = "acb"
    RECORDS: tuple = GBCSPipeline.RECORDS + ("attrs", "attrkeys", "chflog", "chfevents", "chfsec",
                                      "chf", "cs02b", "cs02g")
    @classmethod
    def validate(cls, identity, init=None):
        HANDevice.validate(identity, init)
        GBCSPipeline.validate(identity, init)
        if init and init.get("device_log") is not None:
            _devlog_call("check_devices", init["device_log"])

    def __init__(self, identity, store, now, log=None, fresh=False, init=None):
        HANDevice.__init__(self, identity, store, now, log, fresh, init)
        self.init_gbcs(identity)
        _devlog_call("load", self, fresh, init or {}, now)
        self.dlms_faults = 0
        self.dlms_fault_after = 0
        self._dirty = False

    # -- GBCS use cases ----------------------------------------------------------------------
    def execute(self, uc, msg, ctx):
        if self.USE_CASES.rows[uc.template + 3] & FLAG_ASN1:
            # Security credentials: the pipeline's, with the CHF's cells and modes
            # (smets.gbcs.credentials).
            return self.execute_credentials(uc, msg, ctx)
        c = bytes(msg.content)
        try:
            invoke, specs, slots, words = cosem.request_slots(self.attrs, c)
        except (COSEMError, IndexError) as exc:
            raise Reject("bad_payload", "%s: %s" % (uc.name, exc))
        why = template_error(self.USE_CASES.rows, uc, words, specs, c, ACTION)
        if why is not None:
            raise Reject("bad_payload", why)
        self._dirty = False
        data, results = cosem.execute_items(self, specs, slots, c, ctx)
        if self._dirty:
            self.save_attrs()
        return cosem.response(invoke, data, results)

    def do_item(self, kind, slot, c, sel, dpos, ctx):
        h = self.hooks[slot]
        if kind == GET:
            return self.get(slot, None, 0, ctx)
        if kind == GET_WITH_SELECTION:
            if c[sel] != 1:
                raise DataAccessError(OTHER_REASON)  # GBCS reads logs by range only
            return self.get(slot, c, sel + 1, ctx)
        if kind == SET:
            v = c[dpos:skip(c, dpos)]
            if h != H_ANY:
                r = cosem.shape(self.attrs.get(slot), 0, v, 0)
                if r is None or r[1] != len(v):
                    raise DataAccessError(cosem.TYPE_UNMATCHED)
            self.attrs.put(slot, v)
            self._dirty = True
            if h == H_CFG or h == H_SCAN:
                _devlog_call("subghz_set", self, h == H_SCAN, v, ctx)
            return None
        if kind == ACTION and h == H_DEVLOG:
            return _devlog_call("method", self, slot, c, dpos, ctx)
        if kind == ACTION:
            return None
        raise DataAccessError(cosem.OBJECT_UNAVAILABLE)

    def get(self, slot, buf, p, ctx):
        h = self.hooks[slot]
        if h == H_ID:
            return cosem.octets(self.eui)
        if h == H_DEVLOG or h == H_LOG:
            return _devlog_call("read", self, slot, buf, p, ctx.now if ctx else 0)
        return self.attrs.get(slot)

    def save_attrs(self):
        self.store.save_parts("attrs", self.attrs.parts(self.sig))

    # -- alerts and logs ---------------------------------------------------------------------
    def alert_content(self, counter, alert_code, now, fields):
        return cosem.alert_notification(counter, alert_code, now, fields)

    def date_time(self, now):
        return cosem.date_time(now)

    def _security_event(self, now, failure, msg, detail):
        code = GBCSPipeline._security_event(self, now, failure, msg, detail)
        if code:
            self.seclog.append(now & 0xFFFFFFFF, code)  # the CHF security log (ECS35d)
        return code

    def event(self, now, code, data=b""):
        """An entry in the CHF event log (ECS35c): time, event code, up to 8 bytes of data."""
        self.events.append(now & 0xFFFFFFFF, code, len(data), bytes(data[:8]))

    def shutdown(self, now):
        self._save_security()

    # -- the HAN ------------------------------------------------------------------------------
    def han_devices(self, now):
        """The device logs as the trust center needs them (smets.zigbee.coordinator)."""
        return _devlog_call("han_devices", self, now)

    def han_event(self, req, now):
        """What happened on the HAN; the alerts it raises (GBCS messages)."""
        return _devlog_call("han_event", self, req, now)

    # -- control / status --------------------------------------------------------------------
    def status(self, now):
        st = HANDevice.status(self, now)
        st["devices"] = [len(x) for x in self.devlogs]
        st["security_log"] = len(self.security_log)
        st["last_outcome"] = self.last_outcome
        return st

    def control(self, op, req, now):
        if op in ("use_cases", "security_log", "gbcs"):
            return lazy.call("smets.gbcs.pipeline_ops", "control", (self, op, req, now))
        return _devlog_call("control", self, op, req, now)

    def cpu_key(self):
        if self.last_code is None:
            return None
        return "%04X:%s" % (self.last_code, self.last_outcome)
