"""A GBCS device on the HAN: the GBCS pipeline behind a tunnel client, and its CONTROL ops.

A device model (ESME, GSME) subclasses GBCSDevice, lists its use cases in USE_CASES and
implements `execute(uc, msg, ctx)`, `alert_content` and `date_time` (see
smets.gbcs.pipeline). SLEEPY devices poll the hub with tunnel GETs (smets.tunnel_client).
Sans-IO: HAN frames and GBCS bytes in, HAN frames out, time passed in.
"""

from smets import lazy
from smets.devices.handev import HANDevice
from smets.gbcs.pipeline import (  # noqa: F401 - the names device models use
    FAILURE_ALERTS,
    FAILURES,
    MSG_GENERIC_CRITICAL_ALERT,
    MSG_GENERIC_NON_CRITICAL_ALERT,
    ROLE_BITS,
    Context,
    GBCSPipeline,
    Party,
    Reject,
    UseCase,
    _hex,
)
from smets.tunnel_client import POLL_S, TunnelClient
from smets.zcl import tunnel
from smets.zcl.frame import TYPE_CLUSTER, UNSUP_COMMAND, UNSUPPORTED_CLUSTER

# CONTROL ops of every GBCS device, loaded for the request only (smets.gbcs.pipeline_ops).
_GBCS_OPS = ("use_cases", "security_log", "gbcs")
TYPE_2_DEVICE = 6  # GBCS DeviceType (JoinDevice, CCS01) of a Type 2 Device: an IHD, a CAD


class GBCSDevice(HANDevice, GBCSPipeline):
    SLEEPY = False  # polls the hub with GET (GSME) instead of taking pushed PUTs (ESME)
    POLL_S = POLL_S
    RECORDS: tuple = GBCSPipeline.RECORDS

    @classmethod
    def validate(cls, identity, init=None):
        HANDevice.validate(identity, init)
        lazy.call("smets.gbcs.pipeline_ops", "validate_keys", (identity,))

    def __init__(self, identity, store, now, log=None, fresh=False, init=None):
        HANDevice.__init__(self, identity, store, now, log, fresh, init)
        self.init_gbcs(identity)
        self.tunnel = TunnelClient(self.eui, self.hub_eui, self.handle_gbcs, log, self.stats,
                                   sleepy=self.SLEEPY, poll_s=self.POLL_S,
                                   next_seq=self.next_zcl_seq)

    @property
    def tunnel_id(self):
        return self.tunnel.tunnel_id

    @property
    def outbox(self):
        return self.tunnel.outbox

    # -- HAN ----------------------------------------------------------------------------------
    def on_han(self, aps, now):
        self.last_code = None  # set by handle_gbcs when the frame carries a command
        return HANDevice.on_han(self, aps, now)

    def on_zcl(self, aps, zcl, now):
        if aps.cluster == tunnel.CLUSTER and zcl.frame_type == TYPE_CLUSTER \
                and zcl.server_to_client:
            return self.tunnel.on_frame(aps, zcl, now)
        return self.on_cluster(aps, zcl, now)

    def on_cluster(self, aps, zcl, now):
        """Other clusters (Basic, Metering, ...): device models override. None = unsupported."""
        return None

    def han_nwk_only(self, eui):
        """Whether this device shares no link key with `eui`, so that their Smart Energy frames
        carry NWK security only. It shares one with its hub (the trust center link key: the
        tunnel) and with the devices its device log joined by Method A or C (GBCS CS03A/CS03C:
        key agreement); none with a Type 2 device joined by Method B (CS03B: type 6) nor with
        a device its log does not hold, whose frames the device model then drops (GBCS: a
        meter answers only the devices in its device log, smets.devices.esme_se). A device
        model that keeps no device log yet (the ESME: it answers every HAN device) shares no
        key with any partner but its hub."""
        if bytes(eui) == self.hub_eui:
            return False
        joined = getattr(self, "han_joined", None)
        return joined is None or joined(eui) in (None, TYPE_2_DEVICE)

    _link_keys = None  # eui -> (partner KA public key, link key): derived once per key

    def han_link_key(self, eui):
        """The link key of a partner its device log joined by Method A or C (GBCS 13.7: the
        join agrees a key; smets.devices.keyest.link_key derives it from the two devices'
        key agreement keys), under which their Smart Energy frames are APS-secured; None for
        a partner whose key is not agreed yet, one joined by Method B, or none of the log."""
        log = getattr(self, "device_log", None)
        e = None if log is None else log.entry(eui)
        if e is None or e[3] is None:
            return None
        keys = self._link_keys
        if keys is None:
            keys = self._link_keys = {}
        k = keys.get(eui)
        if k is None or k[0] != e[3]:
            if len(keys) >= 8:
                keys.clear()  # unjoined partners' keys go with the rest
            k = keys[eui] = (e[3], lazy.call("smets.devices.keyest", "link_key", (self, e[3])))
        return k[1]

    def unhandled_status(self, aps, zcl):
        return UNSUP_COMMAND if aps.cluster == tunnel.CLUSTER else UNSUPPORTED_CLUSTER

    def cpu_key(self):
        # Device CPU per GBCS command: keyed by message code and outcome ("0001:accepted").
        if self.last_code is None:
            return None
        return "%04X:%s" % (self.last_code, self.last_outcome)

    def tick(self, now):
        out = self.tunnel.tick(now)
        for message in self.device_tick(now):
            out.extend(self.tunnel.send(message))
        return out

    def device_tick(self, now):
        """Device-model time events: GBCS alerts to send. Override."""
        return []

    def shutdown(self, now):
        """An orderly stop (reset, Ctrl-C): write what is only in RAM. Override."""
        self._save_security()

    def next_due(self, now):
        return self.tunnel.next_due(now)

    # -- control / status --------------------------------------------------------------------
    def status(self, now):
        st = HANDevice.status(self, now)
        st["tunnel"] = self.tunnel.tunnel_id
        st["security_log"] = len(self.security_log)
        st["last_outcome"] = self.last_outcome
        st["outbox"] = len(self.tunnel.outbox)
        return st

    def control(self, op, req, now):
        if op in _GBCS_OPS:
            return lazy.call("smets.gbcs.pipeline_ops", "control", (self, op, req, now))
        return HANDevice.control(self, op, req, now)
