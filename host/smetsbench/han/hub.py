"""The Communications Hub (CHF): HAN coordinator and Tunneling server for the bench.

`CommsHub` owns the board links, answers the devices' RequestTunnel (ZSE Tunneling cluster, GBCS
tunnel protocol GB-HRGP), forwards GBCS commands to devices in TransferData PUT and collects
what comes back: responses (matched to their command by originator counter) and alerts. Every
HAN frame in either direction goes to the taps (pcap capture, trace).
"""

import collections
import logging
import threading
import time

from smets.gbcs import envelope
from smets.han import ApsFrame, HANError
from smets.zcl import tunnel
from smets.zcl.frame import DEFAULT_RESPONSE, TYPE_CLUSTER, ZCLError, ZCLFrame

log = logging.getLogger("smetsbench.han.hub")

CHF_EUI = bytes.fromhex("00db1234567890a2")  # the RTDS Communications Hub
_MAX_INCOMING = 1500
MAX_UNCLAIMED = 1000


class HubError(RuntimeError):
    pass


class NoResponse(HubError):
    """A device sent nothing back for a command within the timeout."""


class DeviceLink:
    """What the hub knows of one HAN device."""

    def __init__(self, eui, link, role=None):
        self.eui = bytes(eui)
        self.link = link
        self.role = role
        self.tunnel_id = None
        self.tunnel_event = threading.Event()
        self.rx = 0
        self.tx = 0


class Received:
    __slots__ = ("t", "device", "raw", "msg", "error")

    def __init__(self, device, raw):
        self.t = time.time()
        self.device = device
        self.raw = bytes(raw)
        self.msg = None
        self.error = None
        try:
            self.msg = envelope.decode(raw)
        except envelope.GBCSFormatError as exc:
            self.error = str(exc)


class CommsHub:
    def __init__(self, eui=CHF_EUI):
        self.eui = bytes(eui)
        self.devices = {}
        self._tunnels = {}
        self._next_tunnel = 1
        self._cond = threading.Condition()
        # (device eui, counter) -> Received, oldest first; a response nobody takes (it came
        # after its command timed out) is dropped once MAX_UNCLAIMED newer ones are stored.
        self._responses = collections.OrderedDict()
        self.alerts = collections.deque(maxlen=1000)
        self.unmatched = collections.deque(maxlen=100)
        self.taps = []  # callables(direction, ApsFrame, device eui) ; direction "up"/"down"
        self._zcl_seq = 0
        self._aps_counter = 0
        self._seq_lock = threading.Lock()
        self.errors = collections.Counter()

    # -- devices ------------------------------------------------------------------------------
    def attach(self, link, eui, role=None):
        """Route HAN frames of a board link through this hub; returns the DeviceLink."""
        dev = DeviceLink(eui, link, role)
        self.devices[dev.eui] = dev
        link.on_han = self._on_han
        return dev

    def detach(self, eui):
        dev = self.devices.pop(bytes(eui), None)
        if dev and dev.tunnel_id is not None:
            self._tunnels.pop(dev.tunnel_id, None)

    def wait_tunnel(self, eui, timeout=10.0):
        dev = self._device(eui)
        if not dev.tunnel_event.wait(timeout):
            raise HubError("device %s did not open a GBCS tunnel within %.0f s\n%s" % (
                dev.eui.hex(), timeout, dev.link.tail()))
        return dev.tunnel_id

    def _device(self, eui):
        try:
            return self.devices[bytes(eui)]
        except KeyError:
            raise HubError("no device %s on this hub" % bytes(eui).hex()) from None

    # -- sending ------------------------------------------------------------------------------
    def _send_zcl(self, dev, cluster, zcl):
        with self._seq_lock:
            self._aps_counter = (self._aps_counter + 1) & 0xFF
            counter = self._aps_counter
        aps = ApsFrame(self.eui, dev.eui, cluster, zcl.to_bytes(), counter=counter)
        self._tap("down", aps, dev.eui)
        dev.tx += 1
        dev.link.send_han(aps.to_bytes())

    def _zcl(self, command, payload):
        with self._seq_lock:
            self._zcl_seq = (self._zcl_seq + 1) & 0xFF
            seq = self._zcl_seq
        return ZCLFrame(command, payload, frame_type=TYPE_CLUSTER, server_to_client=True,
                        disable_default_response=True, seq=seq)

    def put(self, eui, message, tunnel_timeout=10.0):
        """Send one GBCS message to a device through its tunnel (GBCS PUT)."""
        dev = self._device(eui)
        if dev.tunnel_id is None:
            self.wait_tunnel(eui, tunnel_timeout)
        data = tunnel.gbcs_put(message)
        self._send_zcl(dev, tunnel.CLUSTER, self._zcl(
            tunnel.TRANSFER_DATA_S2C, tunnel.transfer_data(dev.tunnel_id, data)))

    def command(self, eui, message, timeout=5.0):
        """Send a GBCS command and wait for the device's response with the same counter.

        Returns a Received; raises NoResponse when nothing comes back in time (which is the
        right outcome for a command the device must discard)."""
        counter = envelope.decode(message).counter
        self.forget_response(eui, counter)
        self.put(eui, message)
        rec = self.take_response(eui, counter, timeout)
        if rec is None:
            raise NoResponse("no response from %s to counter %d within %.1f s" % (
                bytes(eui).hex(), counter, timeout))
        return rec

    def forget_response(self, eui, counter):
        """Drop a stored response to (device, counter), e.g. before sending that command."""
        with self._cond:
            self._responses.pop((bytes(eui), counter), None)

    def take_response(self, eui, counter, timeout=0.0):
        """The response of `eui` to the command with originator counter `counter` (a Received),
        waiting up to `timeout` seconds for it; None if there is none."""
        key = (bytes(eui), counter)
        deadline = time.monotonic() + timeout
        with self._cond:
            while key not in self._responses:
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self._cond.wait(left)
            return self._responses.pop(key)

    def wait_alert(self, eui=None, alert_filter=None, timeout=5.0, since=0.0):
        """The first alert (Received) from `eui` after `since` matching `alert_filter`."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for a in self.alerts:
                    if a.t < since or (eui is not None and a.device != bytes(eui)):
                        continue
                    if alert_filter is None or alert_filter(a):
                        return a
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self._cond.wait(left)

    # -- receiving ------------------------------------------------------------------------------
    def _tap(self, direction, aps, eui):
        for tap in self.taps:
            try:
                tap(direction, aps, eui)
            except Exception:
                log.exception("HAN tap failed")

    def _on_han(self, link, payload):
        try:
            aps = ApsFrame.from_bytes(payload)
        except HANError as exc:
            self.errors["bad_han"] += 1
            log.warning("%s: bad HAN frame: %s", link.name, exc)
            return
        self._tap("up", aps, aps.src_eui)
        dev = self.devices.get(aps.src_eui)
        if dev is None or dev.link is not link:
            self.errors["unknown_device"] += 1
            log.warning("%s: HAN frame from unknown device %s", link.name, aps.src_eui.hex())
            return
        dev.rx += 1
        if aps.cluster != tunnel.CLUSTER:
            self.errors["other_cluster"] += 1
            return
        try:
            zcl = ZCLFrame.from_bytes(aps.payload)
        except ZCLError as exc:
            self.errors["bad_zcl"] += 1
            log.warning("%s: bad ZCL: %s", dev.eui.hex(), exc)
            return
        if zcl.frame_type != TYPE_CLUSTER:
            if zcl.command != DEFAULT_RESPONSE:
                self.errors["unexpected_zcl"] += 1
            return
        if zcl.server_to_client:
            self.errors["wrong_direction"] += 1
            return
        try:
            if zcl.command == tunnel.REQUEST_TUNNEL:
                self._request_tunnel(dev, zcl)
            elif zcl.command == tunnel.TRANSFER_DATA_C2S:
                self._transfer_data(dev, zcl)
            elif zcl.command == tunnel.TRANSFER_DATA_ERROR_C2S:
                tid, status = tunnel.parse_transfer_data_error(zcl.payload)
                self.errors["transfer_data_error"] += 1
                log.warning("%s: TransferDataError tunnel %d status %d", dev.eui.hex(), tid,
                            status)
            else:
                self.errors["unsupported_tunnel_command"] += 1
        except ZCLError as exc:
            self.errors["bad_tunnel"] += 1
            log.warning("%s: bad tunnel command: %s", dev.eui.hex(), exc)

    def _request_tunnel(self, dev, zcl):
        req = tunnel.parse_request_tunnel(zcl.payload)
        if req["protocol"] != tunnel.PROTOCOL_GB_HRGP:
            status, tid = tunnel.TUNNEL_PROTOCOL_NOT_SUPPORTED, 0xFFFF
        else:
            status = tunnel.TUNNEL_SUCCESS
            if dev.tunnel_id is None:
                dev.tunnel_id = self._next_tunnel
                self._tunnels[dev.tunnel_id] = dev.eui
                self._next_tunnel += 1
            tid = dev.tunnel_id
        self._send_zcl(dev, tunnel.CLUSTER, self._zcl(
            tunnel.REQUEST_TUNNEL_RESPONSE,
            tunnel.request_tunnel_response(tid, status, _MAX_INCOMING)))
        if status == tunnel.TUNNEL_SUCCESS:
            dev.tunnel_event.set()

    def _transfer_data(self, dev, zcl):
        tid, data = tunnel.parse_transfer_data(zcl.payload)
        if self._tunnels.get(tid) != dev.eui:
            self._send_zcl(dev, tunnel.CLUSTER, self._zcl(
                tunnel.TRANSFER_DATA_ERROR_S2C,
                tunnel.transfer_data_error(tid, tunnel.NO_SUCH_TUNNEL)))
            self.errors["no_such_tunnel"] += 1
            return
        command, message, _ = tunnel.parse_gbcs_tunnel(data)
        if message is None:
            # GET from a sleepy device: nothing is queued here for it (GSME support later).
            self._send_zcl(dev, tunnel.CLUSTER, self._zcl(
                tunnel.TRANSFER_DATA_S2C, tunnel.transfer_data(tid, tunnel.gbcs_get_response())))
            return
        rec = Received(dev.eui, message)
        with self._cond:
            if rec.msg is not None and rec.msg.cra == envelope.CRA_RESPONSE:
                self._responses[(dev.eui, rec.msg.counter)] = rec
                while len(self._responses) > MAX_UNCLAIMED:
                    self._responses.popitem(last=False)
                    self.errors["unclaimed_responses_dropped"] += 1
            elif rec.msg is not None and rec.msg.cra == envelope.CRA_ALERT:
                self.alerts.append(rec)
            else:
                self.unmatched.append(rec)
                self.errors["unexpected_gbcs"] += 1
            self._cond.notify_all()
