"""The Gas Proxy Function (GPF): the Communications Hub's copy of the gas meter (sans-IO).

The GSME sleeps; the GPF, inside the hub, is always on. It keeps a mirror of the GSME's
data - the GSME's own cluster model (smets.devices.gsme_model), filled by what the GSME reports
each time it wakes (ZSE D.3 mirroring: the GSME asks for a mirror with RequestMirror, then
sends Report Attributes and its daily PublishSnapshot / PublishPrepaySnapshot to the mirror's
endpoint; GBCS 10.4.2.1) - and answers from it the use cases GBCS gives the GPF (GCS13a/b/c
registers, GCS14 prepayment registers, GCS16b prepayment daily read log, GCS61 the daily
consumption log it builds itself, GCS09 change of tenancy, GCS59 restore of its device log,
CS02b trust anchor updates). It serves the mirror to HAN devices too: an IHD or CAD reads gas
data from the GPF with ZCL Read Attributes (smets.zcl.endpoint TableClusters over the mirror).

Its own identity and keys, its own security log and counters: a GBCS device like any other.
The bench runs it on the host, attached to the hub (smetsbench.han.hub); the same class runs
on a board. Sans-IO: HAN frames and GBCS messages in, frames out, time passed in.
"""

try:
    from micropython import const
except ImportError:  # CPython

    def const(x):  # type: ignore[misc]  # CPython has no micropython.const
        return x


from smets import lazy
from smets.devices.gbzdev import (
    SNAPSHOT_FORMAT,
    Failure,
    GBZDevice,
    utc,
)
from smets.devices.gsme import _model
from smets.logbook import Logbook
from smets.zcl import secmd, types
from smets.zcl.attrs import AttrTable
from smets.zcl.endpoint import Endpoint, TableCluster
from smets.zcl.frame import (
    NOT_AUTHORIZED,
    NOT_FOUND,
    REPORT_ATTRIBUTES,
    TYPE_CLUSTER,
    TYPE_GLOBAL,
    ZCLError,
    ZCLFrame,
)
from smets.zcl.se import BASIC, DEVICE_MANAGEMENT, METERING, PREPAYMENT, PRICE  # noqa: F401

# The mirror's endpoint on the hub (ZSE D.3.4.2.3.2: the ESI answers RequestMirror with it).
MIRROR_EP = const(2)
# The clusters mirrored (GBCS 10.4: the GPF's copy of the GSME's data).
MIRRORED = (BASIC, PRICE, METERING, PREPAYMENT)
SNAPSHOT_LOG_SIZE = const(31)
BILLING_LOG_SIZE = const(12)
# GBCS: the GPF's Daily Consumption Log holds 731 days (two years); GCS61 reads it.
CONSUMPTION_LOG_SIZE = const(731)
DAILY_INTERVAL = const(0xFFFF)  # GetSampledDataResponse interval of daily samples (RTDS GCS61)
_DAY = const(86400)

_HANDLERS = (
    " 0702c06:snapshot 0705c07:prepay_snapshot 0702c08:consumption 0708s00:tenancy "
)


class GPF(GBZDevice):
    ROLE = "GPF"
    SLEEPY = False
    IN_HUB = True  # its frames cross the hub's link as APS frames (smets.hubport.HubPort)
    ALERT_RECIPIENT = "acb"  # GCS62: the device log backup goes to the ACB (RTDS NA_GCS62)
    HANDLERS = _HANDLERS
    EXT_MODULE = "smets.devices.gpf_ext"
    STATE_RECORD = "gpf"
    RECORDS = GBZDevice.RECORDS + ("gpf", "zattrs", "snaps", "bills", "daily")

    @classmethod
    def validate(cls, identity, init=None):
        GBZDevice.validate(identity, init)
        init = init or {}
        for key in ("attrs", "history"):
            if not isinstance(init.get(key, {}), dict):
                raise ValueError("init %s must be an object" % key)

    def __init__(self, identity, store, now, log=None, fresh=False, init=None):
        GBZDevice.__init__(self, identity, store, now, log, fresh, init)
        index, defaults, _, self.CLUSTERS = _model()
        self.USE_CASES = _gpf_use_cases()
        self.attrs = AttrTable(index, defaults)
        state = self._load_saved(fresh)
        if state is None:
            # "owner": the GSME the mirror is for, the first to request it (hex EUI-64).
            state = {"pending": [], "devlog": [], "mirror_t": None, "last_volume": None,
                     "owner": None}
            fresh = True
        self.state = state
        self.snaps = Logbook(store, "snaps", SNAPSHOT_FORMAT, SNAPSHOT_LOG_SIZE)
        self.bills = Logbook(store, "bills", SNAPSHOT_FORMAT, BILLING_LOG_SIZE)
        self.daily = Logbook(store, "daily", ">II", CONSUMPTION_LOG_SIZE)
        self.endpoint = None
        self.mirror_frames = 0  # reports and snapshots the mirror has taken since the start
        self.stats["mirror_refused"] = 0  # mirror frames from a device not the mirror's GSME
        if fresh:
            lazy.call(self.EXT_MODULE, "world", (self, now, init or {}))

    # -- the mirror as a ZCL server (IHD / CAD reads) -------------------------------------------
    def mirror_endpoint(self):
        """The mirror as a ZCL endpoint: the mirrored clusters' server sides over the
        mirror's attribute table (Read Attributes, Configure Reporting, ZCL 2.5)."""
        if self.endpoint is None:
            self.endpoint = Endpoint(MIRROR_EP, [TableCluster(c, self.attrs) for c in MIRRORED])
        return self.endpoint

    def on_cluster(self, aps, zcl, now):
        c = aps.cluster
        if c == METERING and zcl.frame_type == TYPE_CLUSTER and zcl.server_to_client \
                and zcl.command == 0x01:
            # RequestMirror from a meter (ZSE D.3.2.4.2): the mirror's endpoint. The mirror is
            # the first requester's (the GSME this GPF proxies); another gets 0xFFFF, no mirror.
            ep = MIRROR_EP
            src = bytes(aps.src_eui).hex()
            if self.state.get("owner") is None:
                self.state["owner"] = src
                self._save()
            elif self.state["owner"] != src:
                ep = 0xFFFF
                self._refuse(src, "RequestMirror")
            answer = ZCLFrame(0x01, secmd.encode(METERING, False, 0x01, [ep]),
                              disable_default_response=True, seq=zcl.seq)
            return [aps.reply(c, answer.to_bytes())]
        report = c in MIRRORED and zcl.frame_type == TYPE_GLOBAL \
            and zcl.command == REPORT_ATTRIBUTES
        snapshot = c in (METERING, PREPAYMENT) and zcl.frame_type == TYPE_CLUSTER \
            and zcl.server_to_client and zcl.command in (0x06, 0x01)
        owner = self.state.get("owner")
        if (report or snapshot) and bytes(aps.src_eui).hex() != owner:
            # Only the mirror's GSME writes to it: anyone else's frame is dropped before it
            # costs a flash write (or changes what an IHD reads as the gas meter's). ZCL
            # 2.5.12: an error is answered even when the sender disabled Default Responses:
            # NOT_FOUND when no mirror was asked for (the GPF started afresh: the meter asks
            # again), NOT_AUTHORIZED when the mirror is another meter's.
            self._refuse(bytes(aps.src_eui).hex(), "report")
            status = NOT_FOUND if owner is None else NOT_AUTHORIZED
            return [aps.reply(c, zcl.default_response(status).to_bytes())]
        if report:
            self.mirror_frames += 1
            self._mirror_report(c, zcl.payload, now)
            return []
        if snapshot:
            self.mirror_frames += 1
            try:
                self._mirror_snapshot(c, zcl.command, zcl.payload)
            except (ZCLError, ValueError, IndexError):
                self.stats["zcl_errors"] += 1
            return []
        if c in MIRRORED and zcl.frame_type == TYPE_GLOBAL:
            # Another HAN device reads the mirror (an IHD, a CAD).
            resp = self.mirror_endpoint().handle(c, zcl, now)
            return [] if resp is None else [aps.reply(c, resp.to_bytes())]
        return None

    def _refuse(self, src, what):
        self.stats["mirror_refused"] += 1
        self.log("W", "mirror %s from %s, not its GSME %s" % (what, src, self.state.get("owner")))

    def _mirror_report(self, cluster, data, now):
        """Report Attributes from the GSME: the mirror takes every attribute it knows whose
        type is the model's (ZCL 2.5.11); the GSME's ReadingSnapShotTime says when."""
        t = self.attrs
        pos = 0
        try:
            while pos < len(data):
                attr = data[pos] | (data[pos + 1] << 8)
                ztype = data[pos + 2]
                value, pos = types.decode_at(ztype, data, pos + 3)
                row = t.find(cluster, attr)
                if row >= 0 and t.type(row) == ztype:
                    t.put(row, value)
        except (ZCLError, IndexError):
            self.stats["zcl_errors"] += 1
        self.state["mirror_t"] = now
        self._save()

    def _mirror_snapshot(self, cluster, command, payload):
        """PublishSnapshot / PublishPrepaySnapshot from the GSME: the GPF's copy of its daily
        read log and billing data log (GBCS 10.4.2.1), and the day's consumption for the
        daily consumption log."""
        lazy.call(self.EXT_MODULE, "mirror_snapshot", (self, cluster, command, payload))

    # -- GBZ use cases ----------------------------------------------------------------------------
    def _h_consumption(self, c, f, ctx):
        """GetSampledData of the daily consumption log (GCS61; GBCS: the GPF builds it from the
        GSME's midnight reads): the days from EarliestSampleTime, at most NumberOfSamples;
        NOT_FOUND when the log has none of them."""
        sid, earliest, stype, n = f
        samples = []
        first = None
        for i in range(len(self.daily)):
            t, litres = self.daily.entry(i)
            if utc(t) >= earliest and len(samples) < n:
                if first is None:
                    first = t
                samples.append((min(litres, 0xFFFFFF),))
        if first is None:
            raise Failure(NOT_FOUND)
        return 0x07, secmd.encode(METERING, True, 0x07, [sid, utc(first), stype, DAILY_INTERVAL,
                                                      len(samples), samples])

    def _h_tenancy(self, c, f, ctx):
        """PublishChangeOfTenancy (GCS09): the tenancy change the GPF and its mirror keep."""
        self.put_all(((DEVICE_MANAGEMENT, 0x0200, f[3]), (DEVICE_MANAGEMENT, 0x0201, f[4])))

    # -- bench --------------------------------------------------------------------------------
    def status(self, now):
        st = GBZDevice.status(self, now)
        st["mirror_time"] = self.state.get("mirror_t")
        st["mirror_frames"] = self.mirror_frames  # since the start (a bench waits on it)
        st["volume"] = self.attrs.value(METERING, 0x0000)
        st["credit"] = self.attrs.value(PREPAYMENT, 0x0001)
        st["daily_log"] = len(self.daily)
        st["device_log"] = len(self.state.get("devlog", ()))
        return st

    def update_credentials(self, uc, msg, ctx):
        return lazy.call(self.EXT_MODULE, "update_credentials", (self, uc, msg, ctx))

    def control(self, op, req, now):
        if op in ("device_log", "alert"):
            return lazy.call(self.EXT_MODULE, "control", (self, op, req, now))
        return GBZDevice.control(self, op, req, now)


_GPF_USE_CASES = None


def _gpf_use_cases():
    global _GPF_USE_CASES
    if _GPF_USE_CASES is None:
        from smets.devices import gsme_image as im
        from smets.gbcs import usecases

        _GPF_USE_CASES = usecases.Table(im.GPF_USE_CASES)
        del im
        lazy.unload("smets.devices.gsme_image")
    return _GPF_USE_CASES

