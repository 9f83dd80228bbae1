"""A HAN device: the base of every device role (GBCS or not).

It holds the identity every HAN device has (its EUI-64 and the Communications Hub it is paired
with), parses the ZCL frame of each APS frame it is given and answers what no handler takes
with a ZCL Default Response (ZCL r7 2.5.12: only when the sender asked for one). A role adds
cluster handlers in `on_zcl`; a GBCS device (smets.devices.gbcsdev) adds the GBCS pipeline and
the tunnel client. Sans-IO: APS frames in, APS frames out, time passed in.
"""

import binascii

from smets.zcl.frame import UNSUPPORTED_CLUSTER, ZCLError, ZCLFrame

_NO_HUB = "0000000000000000"


def _hex(b):
    return binascii.hexlify(b).decode()


class HANDevice:
    ROLE: str | None = None
    # Store records of this device's own state: removed for a fresh start; set aside, and put
    # back, by a provisioning that fails.
    RECORDS: tuple = ()

    @classmethod
    def validate(cls, identity, init=None):
        """Raise ValueError unless a device can start from `identity` and `init`: called before
        a provisioning replaces anything, so that a bad request leaves the old state alone."""
        try:
            if len(bytes.fromhex(identity["eui"])) != 8:
                raise ValueError("eui must be 8 bytes")
            if len(bytes.fromhex(identity.get("hub_eui") or _NO_HUB)) != 8:
                raise ValueError("hub_eui must be 8 bytes")
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError("bad identity: %s %s" % (type(exc).__name__, exc))
        if init is not None and not isinstance(init, dict):
            raise ValueError("init must be an object")

    def __init__(self, identity, store, now, log=None, fresh=False, init=None):
        self.store = store
        self._log = log
        self.eui = bytes.fromhex(identity["eui"])
        self.hub_eui = bytes.fromhex(identity.get("hub_eui") or _NO_HUB)
        if fresh:
            # A new identity starts from nothing the last one left (RECORDS of the device
            # class: a subclass's own records too).
            for name in self.RECORDS:
                store.remove(name)
        stats = getattr(self, "stats", None)
        if stats is None:
            stats = self.stats = {}
        stats["zcl_errors"] = 0
        self._zcl_seq = 0

    def log(self, level, text):
        if self._log:
            self._log(level, text)

    def next_zcl_seq(self):
        self._zcl_seq = (self._zcl_seq + 1) & 0xFF
        return self._zcl_seq

    # -- HAN ----------------------------------------------------------------------------------
    def on_han(self, aps, now):
        """APS frame in; list of APS frames out."""
        try:
            zcl = ZCLFrame.from_bytes(aps.payload)
        except ZCLError as exc:
            self.stats["zcl_errors"] += 1
            self.log("W", "bad ZCL frame from %s: %s" % (_hex(aps.src_eui), exc))
            return []
        # The ZCL frame holds its own copy: a large GBCS message should not stay in RAM once
        # per layer while the device works on it (CS02b commands approach 4 KB).
        aps.payload = b""
        handled = self.on_zcl(aps, zcl, now)
        if handled is not None:
            return handled
        if zcl.wants_default_response():
            return [aps.reply(aps.cluster,
                              zcl.default_response(self.unhandled_status(aps, zcl)).to_bytes())]
        return []

    def on_zcl(self, aps, zcl, now):
        """The role's cluster handlers: a list of frames out, or None when unsupported."""
        return None

    def han_nwk_only(self, eui):
        """Whether Smart Energy frames with the HAN partner `eui` carry NWK security only
        (GBCS Method B partners: HanStack.aps_required). A device that knows no such partner
        keeps APS security on them (ZSE 1.4 5.4.6)."""
        return False

    def han_link_key(self, eui):
        """The 16-byte link key this device agreed with the HAN partner `eui` (GBCS Method A
        key agreement), under which their Smart Energy frames are APS-secured; None: none
        (the hub's trust center link key is the stack's own)."""
        return None

    def unhandled_status(self, aps, zcl):
        """The Default Response status for a frame no handler took."""
        return UNSUPPORTED_CLUSTER

    def cpu_key(self):
        """What the last frame handled was, for the CPU samples of CONTROL "cpu" (None: do
        not sample it). A role reports whatever identifies its work."""
        return None

    # -- time ---------------------------------------------------------------------------------
    def tick(self, now):
        return []

    def next_due(self, now):
        return None

    def shutdown(self, now):
        """An orderly stop (reset, Ctrl-C): write what is only in RAM. Override."""

    def button(self, now):
        """The consumer pressed the board's button: what happened, as log text."""
        return "nothing to do for role %s" % (self.ROLE,)

    # -- control / status --------------------------------------------------------------------
    def status(self, now):
        return {"role": self.ROLE, "eui": _hex(self.eui), "stats": self.stats}

    def control(self, op, req, now):
        raise ValueError("unknown CONTROL op %r for %s" % (op, self.ROLE))
