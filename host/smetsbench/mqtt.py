"""MQTT on the host: a broker for the CAD to publish to, and a watcher of what it published.

- `EmbeddedBroker`: amqtt's broker (a kept Python library) in a thread of this process, on a
  loopback port: `smetsbench demo` needs no set-up.
- `Mosquitto`: Debian's mosquitto started on a loopback port (CI runs the CAD against it).
- `Watcher`: an amqtt client subscribed to a topic filter, keeping what arrives with the time
  it arrived (time.monotonic()), so tests and the demo check the CAD's messages.

URLs are mqtt://host:port. Everything binds to 127.0.0.1 only.
"""

import asyncio
import json
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit


class MQTTError(RuntimeError):
    pass


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def parse_url(url):
    """(host, port) of mqtt://host[:port]."""
    parts = urlsplit(url if "://" in url else "mqtt://" + url)
    if parts.scheme not in ("mqtt", "tcp"):
        raise MQTTError("only mqtt://host:port brokers (no TLS on a CAD here), got %r" % url)
    return parts.hostname or "127.0.0.1", parts.port or 1883


def wait_port(host, port, timeout=10.0):
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection((host, port), timeout=0.5).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise MQTTError("nothing listens on %s:%d after %.0f s" % (host, port, timeout))
            time.sleep(0.05)


class _Loop:
    """An asyncio loop in a daemon thread; `run(coro)` waits for a coroutine's result."""

    def __init__(self, name):
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name=name, daemon=True)
        self.thread.start()

    def run(self, coro, timeout=15.0):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self):
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        if not self.thread.is_alive():
            self.loop.close()


class EmbeddedBroker:
    """amqtt's MQTT 3.1.1 broker on 127.0.0.1 (anonymous, no persistence)."""

    def __init__(self, port=None):
        self.port = port or free_port()
        self.url = "mqtt://127.0.0.1:%d" % self.port
        self._loop = None
        self._broker = None

    def start(self):
        from amqtt.broker import Broker

        self._loop = _Loop("mqtt-broker")
        config = {
            "listeners": {"default": {"type": "tcp", "bind": "127.0.0.1:%d" % self.port}},
            "plugins": {"amqtt.plugins.authentication.AnonymousAuthPlugin":
                        {"allow_anonymous": True}},
        }

        async def start():
            self._broker = Broker(config)
            await self._broker.start()

        self._loop.run(start())  # listening once start() returns
        return self.url

    def stop(self):
        if self._loop is None:
            return
        try:
            self._loop.run(self._broker.shutdown())
        except Exception:  # noqa: BLE001 - stopping anyway
            pass
        self._loop.stop()
        self._loop = None

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()


class Mosquitto:
    """Debian's mosquitto broker on 127.0.0.1:port (apt-get install mosquitto)."""

    def __init__(self, port=None, exe=None):
        self.port = port or free_port()
        self.url = "mqtt://127.0.0.1:%d" % self.port
        self.exe = exe or shutil.which("mosquitto") or (
            "/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None)
        self.process = None
        self._dir = None

    @property
    def available(self):
        return self.exe is not None

    def start(self):
        if not self.exe:
            raise MQTTError("mosquitto is not installed (apt-get install mosquitto)")
        self._dir = tempfile.mkdtemp(prefix="smetsbench-mosquitto-")
        conf = Path(self._dir) / "mosquitto.conf"
        conf.write_text("listener %d 127.0.0.1\nallow_anonymous true\npersistence false\n"
                        "log_dest stderr\n" % self.port)
        self.process = subprocess.Popen([self.exe, "-c", str(conf)], stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)
        try:
            wait_port("127.0.0.1", self.port)
        except MQTTError:
            self.stop()
            raise
        return self.url

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
        if self._dir:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()


class Message:
    __slots__ = ("t", "topic", "payload")

    def __init__(self, t, topic, payload):
        self.t = t
        self.topic = topic
        self.payload = payload

    def json(self):
        return json.loads(self.payload)

    def __repr__(self):
        return "<MQTT %s %d bytes>" % (self.topic, len(self.payload))


class Watcher:
    """Subscribes to `topic_filter` on the broker at `url`; `messages` grows as they come."""

    def __init__(self, url, topic_filter="#"):
        self.url = url
        self.filter = topic_filter
        self.messages = []
        self._cond = threading.Condition()
        self._loop = None
        self._client = None
        self._task = None

    def start(self):
        from amqtt.client import MQTTClient

        host, port = parse_url(self.url)
        self._loop = _Loop("mqtt-watcher")

        async def connect():
            self._client = MQTTClient(client_id="smetsbench-watcher-%d" % free_port())
            await self._client.connect("mqtt://%s:%d" % (host, port))
            await self._client.subscribe([(self.filter, 0)])
            self._task = asyncio.ensure_future(self._receive())

        self._loop.run(connect())
        return self

    async def _receive(self):
        while True:
            try:
                msg = await self._client.deliver_message()
            except asyncio.CancelledError:
                return
            except Exception:  # noqa: BLE001 - the broker went away: stop watching
                return
            if msg is None:
                continue
            with self._cond:
                self.messages.append(Message(time.monotonic(), msg.topic, bytes(msg.data)))
                self._cond.notify_all()

    def wait_for(self, predicate, timeout=10.0, since=0.0):
        """The first message after `since` (monotonic) for which predicate(message) is true,
        waiting up to `timeout` seconds; None if none came."""

        def first():
            for m in self.messages:
                if m.t >= since and predicate(m):
                    return m
            return None

        with self._cond:
            return self._cond.wait_for(first, timeout)

    def topics(self):
        return sorted({m.topic for m in self.messages})

    def stop(self):
        if self._loop is None:
            return

        async def close():
            if self._task is not None:
                self._task.cancel()
            try:
                await self._client.disconnect()
            except Exception:  # noqa: BLE001 - the broker may be gone
                pass

        try:
            self._loop.run(close(), timeout=5)
        except Exception:  # noqa: BLE001
            pass
        self._loop.stop()
        self._loop = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
