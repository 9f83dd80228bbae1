"""A Type 1 HAN device that is not a meter (GBCS 4.2: PPMID, HCALCS): GBCS commands from the
Access Control Broker, a device log of the meters it is joined to, and a firmware version.

Its GBCS use cases are few and all ASN.1 (no COSEM model): the joins it takes part in as the
Method A responder or by Method C (CS03A2, CS03C, CS04AC: smets.devices.joins) and the read of
its firmware version (CS08). The joins are critical: signed by the supplier (the critical join
service) or by the ACB sending on a supplier's behalf (other-information names the supplier;
DCC RTDS 8.7.2 / 8.8.2), and the device signs its responses; CS08 is MACed both ways. The
device's alerts go to the ACB. A role subclasses Type1Device with its ROWS (use cases), JOINS
and HAN behaviour (smets.devices.ppmid, .hcalcs). Sans-IO.
"""

from smets import devlog, lazy
from smets.devices.gbcsdev import GBCSDevice, Reject
from smets.gbcs import usecases
from smets.gbcs.pipeline import ROLE_ACB, ROLE_SUPPLIER

CS08 = 0x0129  # Read PPMID/HCALCS firmware version
CS09 = 0x012B  # PPMID firmware activation alert
_JOIN_CODES = (0x000D, 0x000E, 0x000F, 0x0010, 0x0013, 0x00AB, 0x00AF)
_CRITICAL = usecases.FLAG_CRITICAL
# The joins come from the supplier itself (the critical join service, signed by the supplier,
# as RTDS 8.7.1 / 8.8.1 show for meters) or from the ACB on its behalf (the non-critical one,
# signed by the ACB, RTDS 8.7.2 / 8.8.2); the firmware read from either.
_SA = ROLE_SUPPLIER | ROLE_ACB
ALERT_READ_FIRMWARE = 0x8F8B  # GBCS Table 16.2 "Read Firmware version alert" (CS09)
FIRMWARE_ID = "01000000"


class Type1Device(GBCSDevice):
    ALERT_RECIPIENT = "acb"
    RECORDS = GBCSDevice.RECORDS + ("type1", "devlog")
    # (message code, name, roles, flags): the GBCS use cases the device answers.
    ROWS: tuple = (
        (0x00AB, "CS03A2", _SA, _CRITICAL),
        (0x000F, "CS04AC", _SA, _CRITICAL),
        (CS08, "CS08", _SA, 0),
    )
    JOINS: dict = {}
    PEER_TYPES: tuple = (devlog.ESME,)  # meters the device talks to once joined

    @classmethod
    def validate(cls, identity, init=None):
        GBCSDevice.validate(identity, init)
        init = init or {}
        if "device_log" in init:
            lazy.call("smets.devices.joins", "check_init", (init["device_log"],),
                      ("smets.gbcs.asn1",))
        fw = init.get("firmware")
        if fw is not None and not (isinstance(fw, str) and len(fw) == 8):
            raise ValueError("init firmware must be 8 hex digits (a 4-byte version)")
        if fw is not None:
            bytes.fromhex(fw)

    def __init__(self, identity, store, now, log=None, fresh=False, init=None):
        GBCSDevice.__init__(self, identity, store, now, log, fresh, init)
        self.USE_CASES = usecases.Table(b"".join(usecases.asn1_row(*r) for r in self.ROWS))
        self.device_log = devlog.DeviceLog(store)
        init = init or {}
        state = None if fresh else store.load("type1")
        if state is None:
            state = {"firmware": init.get("firmware") or FIRMWARE_ID}
            if init.get("device_log"):
                lazy.call("smets.devices.joins", "fill", (self.device_log, init["device_log"]),
                          ("smets.gbcs.asn1",))
            store.save("type1", state)
        self.state = state
        self.dlms_faults = 0
        self.han_out = []  # HAN frames made outside a frame handler (button, CONTROL)
        self.alerts_out = []  # GBCS alerts made outside a command (CS09)

    def han_joined(self, eui):
        return self.device_log.joined(eui)

    def peer(self):
        """The meter the device is joined to (first in its log), or None."""
        for eui, t in self.device_log.entries():
            if t in self.PEER_TYPES:
                return eui
        return None

    # -- GBCS -----------------------------------------------------------------------------------
    def execute(self, uc, msg, ctx):
        code = msg.message_code
        if code in _JOIN_CODES:
            return lazy.call("smets.devices.joins", "execute", (self, uc, msg, ctx),
                             ("smets.gbcs.cert", "smets.gbcs.asn1"))
        if code == CS08:
            if bytes(msg.content) != b"\x05\x00":
                raise Reject("bad_payload", "CS08 command is not NULL")
            fw = bytes.fromhex(self.state["firmware"])
            ok = 0
            if self.take_execution_fault():
                fw, ok = bytes(4), 1  # read failure (GBCS: firmware version not returned)
            # SEQUENCE { OCTET STRING firmware version, INTEGER response code }
            return b"\x30\x09\x04\x04" + fw + b"\x02\x01" + bytes((ok,))
        raise Reject("unknown_code", uc.name)

    def alert_content(self, counter, alert_code, now, fields):
        return fields  # ASN.1 alerts are built whole (CS09)

    def date_time(self, now):
        from smets import cosem

        return cosem.date_time(now)

    def activate_firmware(self, version, now, ok=True):
        """A new firmware image runs (or failed to): the CS09 alert (GBCS 11.9) to the ACB,
        SEQUENCE { alert code 8F8B, execution date-time, firmware version, 0 | 1 }."""
        from smets.gbcs import asn1

        if ok:
            self.state["firmware"] = version
            self.store.save("type1", self.state)
        body = asn1.sequence(asn1.integer(ALERT_READ_FIRMWARE), asn1.generalized_time(now),
                             asn1.octets(bytes.fromhex(self.state["firmware"])),
                             asn1.integer(0 if ok else 1))
        lazy.unload("smets.gbcs.asn1")
        self.alerts_out.append(self.alert(CS09, ALERT_READ_FIRMWARE, now, body))

    # -- time and HAN ---------------------------------------------------------------------------
    def device_tick(self, now):
        out = self.alerts_out
        self.alerts_out = []
        return out

    def tick(self, now):
        out = GBCSDevice.tick(self, now)
        if self.han_out:
            out.extend(self.han_out)
            self.han_out = []
        return out

    def next_due(self, now):
        due = GBCSDevice.next_due(self, now)
        if self.han_out or self.alerts_out:
            return now
        return due

    # -- bench ----------------------------------------------------------------------------------
    def status(self, now):
        st = GBCSDevice.status(self, now)
        st["firmware"] = self.state["firmware"]
        st["joined"] = len(self.device_log)
        return st

    def control(self, op, req, now):
        if op == "device_log":
            return lazy.call("smets.devices.joins", "describe", (self.device_log,),
                             ("smets.gbcs.asn1",))
        if op == "firmware":
            # A firmware image distributed to the device (CS05c) becomes active.
            version = str(req.get("version", ""))
            if len(version) != 8:
                raise ValueError("version must be 8 hex digits")
            bytes.fromhex(version)
            self.activate_firmware(version, now, bool(req.get("ok", True)))
            return {"firmware": self.state["firmware"]}
        if op == "alert":
            # The alert of an event the bench plays: 8F8B (CS09), the firmware now running
            # (`version`, default the current one) after an image activation.
            code = int(str(req["code"]), 16)
            asked = req.get("message_code")
            if code != ALERT_READ_FIRMWARE or asked is not None and int(str(asked), 16) != CS09:
                raise ValueError("the %s raises only 8F8B (message code %04X)" % (
                    self.ROLE, CS09))
            version = str(req.get("version", self.state["firmware"]))
            bytes.fromhex(version)
            if len(version) != 8:
                raise ValueError("version must be 8 hex digits")
            self.activate_firmware(version, now)
            return {"alerts": 1}
        if op == "fault_dlms":
            self.dlms_faults = int(req.get("count", 1))
            return {"dlms_faults": self.dlms_faults, "after": int(req.get("after", 0))}
        return GBCSDevice.control(self, op, req, now)
