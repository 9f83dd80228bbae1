"""The CAD's MQTT publisher: micropython-lib's umqtt.simple over the board's network.

The device model (smets.devices.cad) makes the messages; this sends them. The client is the
kept one from micropython-lib (`umqtt.simple`, bundled into the board image by the host's
build from its PyPI release); umqtt.robust is not used because its reconnect loop sleeps and
retries forever inside publish(), which would stop the board answering the HAN. Here a broker
that is down, refuses, stalls or goes away is retried with a doubling back-off (1 s to 60 s;
1 s again once a connection has lasted 60 s), every failure is counted and logged, and the
publications wait (only the newest per topic) until it is back: the CAD never stops and never
crashes for its broker.

umqtt.simple 1.3.4 sets no socket timeout: a broker that accepts the connection and then
stalls (no CONNACK, half a packet, a full receive window) would hold connect(), publish() or
check_msg() forever, and with them the board's HAN duties. The library is bundled as its
release (pinned SHA-256, smetsbench.boards.vendor), so it is not edited: its module's `socket`
is given sockets whose every blocking operation (connect, read, write) gives up after
`timeout` seconds (the broker's "timeout", default IO_TIMEOUT_S) with an OSError, which the
loop below counts as a failure and retries with back-off. umqtt's check_msg() switches its
socket to blocking after the first byte (setblocking(True)): here that is the timeout again.
Name resolution (getaddrinfo) is the network stack's own and bounded by its resolver.

On an ESP32 the network is Wi-Fi: {"ssid", "password"} from the CAD's provisioning ("wifi") or
the board definition; a virtual board uses the unix port's sockets as they are. What happens is
written into the device's `mqtt_status` (CONTROL status shows it).
"""

_BACKOFF_MIN_MS = 1000
_BACKOFF_MAX_MS = 60000
IO_TIMEOUT_S = 2  # longest a broker may keep the board waiting, per socket operation


class _TimedSocket:
    """A socket whose blocking mode is "block at most `timeout` s" (what umqtt calls)."""

    def __init__(self, sock, timeout):
        self._sock = sock
        self._timeout = timeout
        sock.settimeout(timeout)

    def connect(self, addr):
        self._sock.connect(addr)

    def read(self, *args):
        return self._sock.read(*args)

    def write(self, *args):
        return self._sock.write(*args)

    def setblocking(self, flag):
        if flag:
            self._sock.settimeout(self._timeout)
        else:
            self._sock.setblocking(False)

    def settimeout(self, value):
        self._sock.settimeout(self._timeout if value is None else value)

    def close(self):
        self._sock.close()


class _TimedSockets:
    """What umqtt.simple uses of the socket module, making _TimedSockets."""

    def __init__(self, timeout):
        import socket

        self._socket = socket
        self.timeout = timeout
        self.getaddrinfo = socket.getaddrinfo

    def socket(self, *args):
        return _TimedSocket(self._socket.socket(*args), self.timeout)


class Publisher:
    def __init__(self, device, log, board=None):
        self.device = device
        self.log = log
        self.board = board
        self.wlan = None
        self._configure()

    def _configure(self):
        device = self.device
        self.generation = device.mqtt_generation
        self.cfg = device.mqtt_config()
        self.wifi = self.cfg.get("wifi") or (self.board or {}).get("wifi")
        self.client = None
        self.next_try = 0
        self.backoff = _BACKOFF_MIN_MS
        self.last_io = 0
        self.connected_at = 0
        self.keepalive = int(self.cfg.get("keepalive", 60))
        st = device.mqtt_status
        st.clear()
        st.update({"state": "starting", "broker": "%s:%s" % (self.cfg["host"],
                                                             self.cfg["port"]),
                   "connects": 0, "failures": 0, "published": 0, "last_error": None})
        self.status = st

    # -- connection ---------------------------------------------------------------------------
    def _network_up(self):
        """True when the board's network can carry a connection (Wi-Fi joined)."""
        if not self.wifi or not self.wifi.get("ssid"):
            return True  # the unix port, or a board on a wired/USB network
        try:
            import network
        except ImportError:
            return True
        if self.wlan is None:
            self.wlan = network.WLAN(network.STA_IF)
            self.wlan.active(True)
            self.wlan.connect(self.wifi["ssid"], self.wifi.get("password", ""))
            self.status["state"] = "wifi"
        return self.wlan.isconnected()

    def _connect(self, now_ms):
        try:
            from umqtt import simple
        except ImportError as exc:
            self.status["state"] = "unavailable"
            self.status["last_error"] = "umqtt.simple not installed: %s" % exc
            self.next_try = now_ms + 3600000
            self.log("E", "mqtt: %s" % self.status["last_error"])
            return
        c = self.cfg
        timeout = c.get("timeout") or IO_TIMEOUT_S
        if getattr(simple.socket, "timeout", None) != timeout:
            simple.socket = _TimedSockets(timeout)
        user = c.get("user")
        client = simple.MQTTClient(c["client_id"].encode(), c["host"], int(c["port"]),
                            user=user.encode() if user else None,
                            password=(c.get("password") or "").encode() if user else None,
                            keepalive=self.keepalive)
        try:
            client.connect()
        except (OSError, IndexError, AssertionError, ValueError, TypeError,
                simple.MQTTException) as exc:
            # OSError: refused, unreachable, timed out; the others: a peer that is not an MQTT
            # broker (umqtt asserts on the CONNACK), that closed the connection mid-handshake
            # (TypeError: a read that gave nothing), or that refused us (CONNACK's code).
            self._failed(exc, now_ms, "connect")
            self.client = client
            self._drop()
            return
        self.client = client
        self.last_io = now_ms
        self.connected_at = now_ms
        self.status["connects"] += 1
        self.status["state"] = "connected"
        self.status["retry_in_ms"] = 0
        self.log("I", "mqtt: connected to %s as %s" % (self.status["broker"],
                                                       c["client_id"]))

    def _failed(self, exc, now_ms, what):
        if what != "connect" and now_ms - self.connected_at >= _BACKOFF_MAX_MS:
            # A connection that lasted: the broker was fine, start the back-off again. One
            # that fails at once (a broker that connects, then stalls) keeps doubling it, so
            # the board spends at most a timeout per back-off waiting for that broker.
            self.backoff = _BACKOFF_MIN_MS
        self.status["failures"] += 1
        self.status["state"] = "down"
        self.status["last_error"] = "%s: %s %s" % (what, type(exc).__name__, exc)
        self.status["retry_in_ms"] = self.backoff
        self.next_try = now_ms + self.backoff
        self.log("W", "mqtt: %s to %s failed (%s: %s); retry in %d s" % (
            what, self.status["broker"], type(exc).__name__, exc, self.backoff // 1000))
        self.backoff = min(self.backoff * 2, _BACKOFF_MAX_MS)

    def _drop(self):
        if self.client is not None:
            try:
                self.client.sock.close()
            except Exception:  # noqa: BLE001 - it is gone either way
                pass
        self.client = None

    # -- the loop -----------------------------------------------------------------------------
    def poll(self, now_ms):
        """Connect when due, send what the device made; ms until it wants to run again."""
        if self.generation != self.device.mqtt_generation:
            self.close()  # another broker (CONTROL "mqtt"): start over with it
            self._configure()
        if self.client is None:
            if now_ms < self.next_try:
                return self.next_try - now_ms
            if not self._network_up():
                self.next_try = now_ms + 500
                return 500
            self._connect(now_ms)
            if self.client is None:
                return self.next_try - now_ms
        pubs = self.device.take_publications()
        for i in range(len(pubs)):
            topic, payload = pubs[i]
            try:
                self.client.publish(topic.encode(), payload)
            except (OSError, AssertionError) as exc:
                for t, p in pubs[i:]:  # sent when the broker is back (newer ones win)
                    self.device.publications.setdefault(t, p)
                self._drop()
                self._failed(exc, now_ms, "publish")
                return self.next_try - now_ms
            self.status["published"] += 1
            self.last_io = now_ms
        try:
            if now_ms - self.last_io >= self.keepalive * 500:
                self.client.ping()  # MQTT 3.1.1 3.1.2.10: within the keep-alive
                self.last_io = now_ms
            # Drain what the broker sent (PINGRESP); b"" from the socket means it hung up.
            self.client.check_msg()
        except (OSError, IndexError, AssertionError, TypeError) as exc:
            self._drop()
            self._failed(exc, now_ms, "connection")
            return self.next_try - now_ms
        return min(1000, self.keepalive * 500)

    def close(self):
        if self.client is not None:
            try:
                self.client.disconnect()
            except Exception:  # noqa: BLE001 - closing anyway
                pass
        self._drop()
        self.status["state"] = "closed"
