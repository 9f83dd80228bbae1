"""Consumer Access Device (CAD): reads the meters like an IHD and publishes to its user over MQTT.

The messages are those of the Hildebrand Glow CAD, so that the Home Assistant and Node-RED
integrations written for it work unchanged (topics and fields as the Glow local-MQTT firmware
sends them and `ha_hildebrand_glow_ihd_mqtt` reads them):

    <prefix>/<id>/STATE                    {"software", "timestamp", "hardware", "wifimac",
                                            "smetsversion", "eui", "zigbee", "han": {"rssi",
                                            "status", "lqi"}}
    <prefix>/<id>/SENSOR/electricitymeter  {"electricitymeter": {"timestamp", "energy":
                                            {"export": {"cumulative", "units"}, "import":
                                            {"cumulative", "day", "week", "month", "units",
                                            "mpan", "supplier", "price": {"unitrate",
                                            "standingcharge"}}}, "power": {"value", "units"}}}
    <prefix>/<id>/SENSOR/gasmeter          the same under "gasmeter", with "mprn" and
                                            "cumulativevol", "cumulativevolunits", "dayvol",
                                            "weekvol", "monthvol" in "import"

Energy in kWh with 3 decimals, power in kW, unit rate in GBP/kWh and standing charge in GBP/day
with 5 decimals (integer arithmetic: an ESP32's floats are 32-bit). The default prefix is
"glow" and the id the CAD's 12 hex digits (Glow uses its MAC; here the EUI-64 without its
middle 16 bits unless provisioning gives one). The CAD publishes every `interval` seconds and,
at most once a second, when the power, price, supply status or credit changes. Sans-IO:
`take_publications()` gives (topic, payload) pairs; the runtime (smets.runtime.mqtt) sends
them with micropython-lib's umqtt over the board's network, and writes what happens into
`mqtt_status`.
"""

try:
    from micropython import const
except ImportError:  # CPython

    def const(x):  # type: ignore[misc]  # CPython has no micropython.const
        return x


from smets.codec import civil_from_days, decode_text
from smets.devices.consumer import ConsumerDevice

SOFTWARE = "smetsbench-0.1.0"
INTERVAL_S = const(10)
MIN_GAP_S = const(1)


def timestamp(t):
    y, mo, d = civil_from_days(t // 86400)
    s = t % 86400
    return "%04d-%02d-%02dT%02d:%02d:%02dZ" % (y, mo, d, s // 3600, s % 3600 // 60, s % 60)


def fixed(v, decimals):
    """An integer in units of 10^-decimals as a JSON number ("null" for None)."""
    if v is None:
        return "null"
    sign = "-" if v < 0 else ""
    v = abs(v)
    div = 10 ** decimals
    return "%s%d.%0*d" % (sign, v // div, decimals, v % div)


def _string(v, empty):
    if isinstance(v, (bytes, bytearray)):
        v = decode_text(v)
    if not v:
        v = empty
    out = []
    for ch in v:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ord(ch) < 0x20:
            out.append("\\u%04x" % ord(ch))
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


class CAD(ConsumerDevice):
    ROLE = "CAD"

    @classmethod
    def validate(cls, identity, init=None):
        ConsumerDevice.validate(identity, init)
        mqtt = (init or {}).get("mqtt") or {}
        if not isinstance(mqtt, dict):
            raise ValueError("init mqtt must be an object")
        port = mqtt.get("port", 1883)
        if not isinstance(port, int) or not 0 < port < 65536:
            raise ValueError("init mqtt port must be 1..65535, got %r" % (port,))
        interval = mqtt.get("interval", INTERVAL_S)
        if not isinstance(interval, int) or not 1 <= interval <= 3600:
            raise ValueError("init mqtt interval must be 1..3600 s, got %r" % (interval,))
        timeout = mqtt.get("timeout", 2)
        if not isinstance(timeout, int) or not 1 <= timeout <= 30:
            # Each socket operation may hold the board (and its HAN) this long.
            raise ValueError("init mqtt timeout must be 1..30 s, got %r" % (timeout,))
        cid = mqtt.get("id")
        if cid is not None and (not isinstance(cid, str) or not cid or "/" in cid
                                or "+" in cid or "#" in cid):
            raise ValueError("init mqtt id must be a topic level, got %r" % (cid,))

    def __init__(self, identity, store, now, log=None, fresh=False, init=None):
        ConsumerDevice.__init__(self, identity, store, now, log, fresh, init)
        m = self.cfg["mqtt"]
        self.prefix = m.get("prefix") or "glow"
        e = self.eui.hex().upper()
        self.id = m.get("id") or e[:6] + e[10:]
        self.interval = m.get("interval", INTERVAL_S)
        self.publications = {}  # topic -> payload, the newest only
        self.last = {}  # topic -> the last payload made (bench)
        self.mqtt_status = {}  # written by the runtime's publisher
        self.mqtt_generation = 0  # a new broker configuration: the publisher reconnects
        self._next_pub = now
        self._last_pub = None
        self._pub_version = -1
        self._pub_key = None
        self.stats["made"] = 0

    def config_from(self, init):
        cfg = ConsumerDevice.config_from(self, init)
        cfg["mqtt"] = dict(init.get("mqtt") or {})
        if init.get("wifi"):
            cfg["wifi"] = init["wifi"]
        return cfg

    def mqtt_config(self):
        """Where and as whom to publish: {"host", "port", "user", "password", "keepalive",
        "timeout", "client_id", "wifi"} (the runtime's publisher reads it)."""
        m = dict(self.cfg["mqtt"])
        m.setdefault("host", "127.0.0.1")
        m.setdefault("port", 1883)
        m.setdefault("client_id", "smetsbench-cad-" + self.id)
        if self.cfg.get("wifi"):
            m["wifi"] = self.cfg["wifi"]
        return m

    def topic(self, *levels):
        return "/".join((self.prefix, self.id) + levels)

    # -- publishing ---------------------------------------------------------------------------
    def _news(self):
        """Whether something a user acts on changed since the last messages (power, price,
        supply, credit, meters answering): those go out within MIN_GAP_S; the registers'
        steady climb waits for the interval, as the Glow CAD's does."""
        if self.version == self._pub_version:
            return False
        self._pub_version = self.version
        key = []
        for kind in ("elec", "gas"):
            m = self.meter(kind)
            if m is not None:
                key.append((m.responding, m.get(0x0702, 0x0400), m.get(0x0702, 0x0014),
                            m.get(0x0705, 0x0001), m.price and m.price["price"]))
        key = tuple(key)
        if key != self._pub_key:
            self._pub_key = key
            return True
        return False

    def tick(self, now):
        out = ConsumerDevice.tick(self, now)
        due = now >= self._next_pub
        if not due and self._last_pub is not None and now - self._last_pub >= MIN_GAP_S:
            due = self._news()
        if due:
            self.make(now)
        return out

    def next_due(self, now):
        due = min(ConsumerDevice.next_due(self, now), self._next_pub)
        if self.version != self._pub_version and self._last_pub is not None:
            due = min(due, self._last_pub + MIN_GAP_S)
        return due

    def make(self, now):
        """The messages of now, queued for the publisher (a topic's older payload is
        replaced: only the newest reading matters)."""
        self._next_pub = now + self.interval
        self._last_pub = now
        self._news()
        msgs = [(self.topic("STATE"), self.state_json(now))]
        for kind, name in (("elec", "electricitymeter"), ("gas", "gasmeter")):
            d = self.fuel(kind, now)
            if d is not None and d["total"] is not None:
                msgs.append((self.topic("SENSOR", name), self.meter_json(name, d, now)))
        for topic, payload in msgs:
            self.publications[topic] = payload
            self.last[topic] = payload
        self.stats["made"] += len(msgs)

    def take_publications(self):
        out = list(self.publications.items())
        self.publications = {}
        return out

    def state_json(self, now):
        if not self.meters:
            han = "searching"
        elif any(m.responding for m in self.meters.values()):
            han = "joined"
        else:
            han = "not responding"
        eui = self.eui.hex()
        return ('{"software":"%s","timestamp":"%s","hardware":"smetsbench-CAD","wifimac":"%s",'
                '"smetsversion":"SMETS2","eui":"%s","zigbee":"SE 1.4","han":{"rssi":null,'
                '"status":"%s","lqi":null}}' % (
                    SOFTWARE, timestamp(now), self.id,
                    ":".join(eui[i:i + 2] for i in range(0, 16, 2)), han)).encode()

    def meter_json(self, name, d, now):
        gas = name == "gasmeter"
        site = '"%s":%s' % ("mprn" if gas else "mpan", _string(d["site"], "EMPTY"))
        extra = ""
        if gas:
            extra = ',"cumulativevol":%s,"cumulativevolunits":"m3","dayvol":%s,' \
                    '"weekvol":%s,"monthvol":%s' % (
                        fixed(d["total_l"], 3), fixed(d["day_l"], 3), fixed(d["week_l"], 3),
                        fixed(d["month_l"], 3))
        return ('{"%s":{"timestamp":"%s","energy":{"export":{"cumulative":%s,"units":"kWh"},'
                '"import":{"cumulative":%s,"day":%s,"week":%s,"month":%s,"units":"kWh",%s,'
                '"supplier":%s,"price":{"unitrate":%s,"standingcharge":%s}%s}},'
                '"power":{"value":%s,"units":"kW"}}}' % (
                    name, timestamp(d["heard"] or now), fixed(d["export"], 3),
                    fixed(d["total"], 3), fixed(d["day"], 3), fixed(d["week"], 3),
                    fixed(d["month"], 3), site, _string(d["supplier"], "---"),
                    fixed(d["rate"], 5), fixed(d["standing"], 5), extra,
                    fixed(d["power"], 3))).encode()

    # -- bench --------------------------------------------------------------------------------
    def status(self, now):
        st = ConsumerDevice.status(self, now)
        st["mqtt"] = dict(self.mqtt_status)
        st["topics"] = self.topic("#")
        return st

    def control(self, op, req, now):
        if op == "publications":
            return {t: p.decode() for t, p in self.last.items()}
        if op == "mqtt":
            # Change the broker or the interval at run time (kept with the device).
            m = self.cfg["mqtt"]
            for key in ("host", "port", "user", "password", "interval", "keepalive", "timeout"):
                if key in req:
                    m[key] = req[key]
            self.interval = m.get("interval", INTERVAL_S)
            self._next_pub = now
            self.store.save("consumer", self.cfg)
            self.mqtt_generation += 1
            return self.mqtt_config()
        return ConsumerDevice.control(self, op, req, now)
