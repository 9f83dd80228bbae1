"""The client side of the GBCS tunnel (ZCL Tunneling 0x0704, GB-HRGP), for any GBCS device.

Two behaviours, as GBCS needs them (GBCS 7.2; the CHF is the tunnel server):
- always-on (ESME): the device opens a tunnel with RequestTunnel, retried every
  TUNNEL_RETRY_S until the CHF grants it; the CHF then pushes each message in a PUT.
- sleepy (GSME): the CHF cannot push, so the device polls: every `poll_s` it sends a GET, and
  the CHF answers with a GET-RESPONSE holding one queued message and how many are still queued
  after it (0 and no message: nothing queued). While that count is not zero the device asks
  again at once, so a queue empties in one wake-up.
Either way the device's own messages (responses, alerts) go up as PUTs, queued in `outbox`
until a tunnel is open. Sans-IO: frames and GBCS messages in, APS frames out, time passed in.
`on_message(message, now)` is the device's GBCS pipeline: a list of GBCS messages to send back.
"""

try:
    from micropython import const
except ImportError:  # CPython

    def const(x):  # type: ignore[misc]  # CPython has no micropython.const
        return x


import binascii

from smets.han import ApsFrame
from smets.zcl import tunnel
from smets.zcl.frame import SUCCESS, TYPE_CLUSTER, UNSUP_COMMAND, ZCLError, ZCLFrame

TUNNEL_RETRY_S = const(10)  # RequestTunnel again after this long without an answer
POLL_S = const(30)  # a sleepy device's GET period unless the device says otherwise
MAX_OUTBOX = const(16)


def _hex(b):
    return binascii.hexlify(b).decode()


class TunnelClient:
    def __init__(self, eui, hub_eui, on_message, log=None, stats=None, sleepy=False,
                 poll_s=POLL_S, next_seq=None):
        self.eui = eui
        self.hub_eui = hub_eui
        self.on_message = on_message
        self._log = log
        self.stats = stats if stats is not None else {"zcl_errors": 0}
        self.sleepy = sleepy
        self.poll_s = poll_s
        # The device's ZCL sequence numbers, shared by all its clusters when it gives them.
        self._next_seq = next_seq or self._own_seq
        self._seq = 0
        self.tunnel_id = None
        self._asked = None  # when RequestTunnel was last sent
        self._polled = None  # when the last GET was sent (sleepy)
        self._prefix = True  # the CHF uses GBCS tunnel commands (else bare messages)
        self._aps_counter = 0
        self.outbox = []  # GBCS messages waiting for a tunnel
        self.gets = 0  # GETs sent (sleepy)

    def log(self, level, text):
        if self._log:
            self._log(level, text)

    def _own_seq(self):
        self._seq = (self._seq + 1) & 0xFF
        return self._seq

    def _frame(self, command, payload):
        self._aps_counter = (self._aps_counter + 1) & 0xFF
        zcl = ZCLFrame(command, payload, frame_type=TYPE_CLUSTER, seq=self._next_seq(),
                       disable_default_response=True)
        return ApsFrame(self.eui, self.hub_eui, tunnel.CLUSTER, zcl.to_bytes(),
                        counter=self._aps_counter)

    @property
    def paired(self):
        return any(self.hub_eui)

    # -- out ----------------------------------------------------------------------------------
    def send(self, message):
        """HAN frames carrying one GBCS message to the CHF (queued until the tunnel is up)."""
        if self.tunnel_id is None:
            if len(self.outbox) >= MAX_OUTBOX:
                self.outbox.pop(0)
                self.log("W", "outbox full: oldest GBCS message dropped")
            self.outbox.append(message)
            return []
        data = tunnel.gbcs_put(message) if self._prefix else bytes(message)
        return [self._frame(tunnel.TRANSFER_DATA_C2S, tunnel.transfer_data(self.tunnel_id, data))]

    def _get(self, now):
        self._polled = now
        self.gets += 1
        return self._frame(tunnel.TRANSFER_DATA_C2S,
                           tunnel.transfer_data(self.tunnel_id, tunnel.gbcs_get()))

    def tick(self, now):
        """RequestTunnel while there is no tunnel (retried), a GET when a poll is due."""
        if not self.paired:
            return []
        if self.tunnel_id is None:
            if self._asked is None or now - self._asked >= TUNNEL_RETRY_S or now < self._asked:
                self._asked = now
                return [self._frame(tunnel.REQUEST_TUNNEL, tunnel.request_tunnel())]
            return []
        if self.sleepy and (self._polled is None or now - self._polled >= self.poll_s
                            or now < self._polled):
            return [self._get(now)]
        return []

    def next_due(self, now):
        if not self.paired:
            return None
        if self.tunnel_id is None:
            return (self._asked or now) + TUNNEL_RETRY_S
        if self.sleepy:
            return (self._polled if self._polled is not None else now) + self.poll_s
        return None

    def _lost(self, why):
        """The tunnel is gone: ask for a new one on the next tick."""
        self.log("W", "tunnel %s lost: %s" % (self.tunnel_id, why))
        self.tunnel_id = None
        self._asked = None

    # -- in -----------------------------------------------------------------------------------
    def on_frame(self, aps, zcl, now):
        """A server-to-client Tunneling cluster command from the hub."""
        if self.paired and aps.src_eui != self.hub_eui:
            # Only the CHF this device is paired with serves its tunnel.
            self.stats["zcl_errors"] += 1
            self.log("W", "tunnel frame from %s, not the hub: dropped" % _hex(aps.src_eui))
            return []
        try:
            return self._command(aps, zcl, now)
        except ZCLError as exc:
            self.stats["zcl_errors"] += 1
            self.log("W", "bad tunnel frame from %s: %s" % (_hex(aps.src_eui), exc))
            return []

    def _command(self, aps, zcl, now):
        out = []
        if zcl.command == tunnel.REQUEST_TUNNEL_RESPONSE:
            resp = tunnel.parse_request_tunnel_response(zcl.payload)
            if resp["status"] == tunnel.TUNNEL_SUCCESS:
                self.tunnel_id = resp["tunnel_id"]
                self.log("I", "tunnel %d open with %s" % (self.tunnel_id, _hex(aps.src_eui)))
                pending, self.outbox = self.outbox, []
                for message in pending:
                    out.extend(self.send(message))
                if self.sleepy:
                    out.append(self._get(now))  # what was queued while the tunnel was down
            else:
                self.log("W", "tunnel refused, status %d" % resp["status"])
            return out
        if zcl.command == tunnel.TRANSFER_DATA_S2C:
            return self._transfer(aps, zcl, now)
        if zcl.command == tunnel.TRANSFER_DATA_ERROR_S2C:
            tunnel_id, status = tunnel.parse_transfer_data_error(zcl.payload)
            if tunnel_id == self.tunnel_id and status == tunnel.NO_SUCH_TUNNEL:
                self._lost("the CHF knows no such tunnel")
            return out
        if zcl.command == tunnel.TUNNEL_CLOSURE_NOTIFICATION:
            closed = tunnel.parse_tunnel_closure(zcl.payload)
            if closed == self.tunnel_id:
                self._lost("closed by the CHF")
            else:
                self.log("W", "closure of tunnel %d, not ours (%s): ignored"
                         % (closed, self.tunnel_id))
            return out
        if zcl.wants_default_response():
            out.append(aps.reply(aps.cluster, zcl.default_response(UNSUP_COMMAND).to_bytes()))
        return out

    def _transfer(self, aps, zcl, now):
        out = []
        tunnel_id, data = tunnel.parse_transfer_data(zcl.payload)
        zcl.payload = b""
        if self.tunnel_id is not None and tunnel_id != self.tunnel_id:
            return [self._frame(tunnel.TRANSFER_DATA_ERROR_C2S,
                                tunnel.transfer_data_error(tunnel_id, tunnel.NO_SUCH_TUNNEL))]
        if self.tunnel_id is None:
            # The CHF knows a tunnel we lost (reboot): adopt it, as the id is the CHF's.
            self.tunnel_id = tunnel_id
        try:
            command, message, remaining = tunnel.parse_gbcs_tunnel(data)
        except ZCLError as exc:
            self.stats["zcl_errors"] += 1
            self.log("W", "bad GBCS tunnel data: %s" % exc)
            return out
        data = None
        if message is not None:
            self._prefix = command is not None
            if zcl.wants_default_response():
                out.append(aps.reply(aps.cluster, zcl.default_response(SUCCESS).to_bytes()))
            for reply in self.on_message(message, now):
                out.extend(self.send(reply))
        if command == tunnel.GBCS_GET_RESPONSE and remaining and self.sleepy:
            # GBCS 7.2: `remaining` more messages are queued for this device: ask for the next.
            out.append(self._get(now))
        return out
