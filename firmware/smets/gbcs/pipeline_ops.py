"""Rarely run parts of the GBCS pipeline, loaded for one call through smets.lazy: checking the
keys of an identity before a provisioning replaces anything, and the CONTROL ops every GBCS
device answers (its use-case table, its security log, a GBCS message straight in), and
what runs once per start (the pipeline state from the identity, the trusted parties)."""

from smets.gbcs import crypto, p256
from smets.gbcs.pipeline import (
    _ALERT_KEY,
    _FIRST_ALERT_COUNTER,
    _SECLOG_FORMAT,
    EVENT_BASE,
    FAILURES,
    FLOOD_BURST,
    ROLE_BITS,
    SECURITY_LOG_SIZE,
    Party,
    _hex,
)
from smets.logbook import Logbook
from smets.store import CounterLog


def validate_keys(identity):
    """Raise ValueError unless `identity` holds the device's P-256 private keys (ka_key,
    ds_key) and well formed remote parties (eui, and ka / ds public keys where given)."""
    try:
        for name in ("ka_key", "ds_key"):
            k = int(identity[name], 16)
            if not 0 < k < p256.N:
                raise ValueError("%s is not a P-256 private key" % name)
        parties = identity.get("parties", {})
        for role in parties:
            p = parties[role]
            if len(bytes.fromhex(p["eui"])) != 8:
                raise ValueError("party %s: eui must be 8 bytes" % role)
            for key in ("ka", "ds"):
                if p.get(key):
                    try:
                        p256.decode_point(bytes.fromhex(p[key]))
                    except p256.P256Error as exc:
                        raise ValueError("party %s: %s key: %s" % (role, key, exc))
    except (KeyError, TypeError, AttributeError) as exc:
        raise ValueError("bad identity: %s %s" % (type(exc).__name__, exc))


def init_gbcs(dev, identity):
    """The pipeline's state from `identity` and the store (`dev.store`, `dev.eui` and
    `dev._log` set): a device that starts its HAN side first calls this after it."""
    store = dev.store
    # The security credential use cases (CS02x) replace the device's own key pairs
    # ("keys") and the remote parties' trust anchors ("trust"); the identity the board was
    # provisioned with holds the originals.
    keys = store.load("keys") or {}
    dev.ka_key = int(keys.get("ka") or identity["ka_key"], 16)
    dev.ds_key = int(keys.get("ds") or identity["ds_key"], 16)
    trust = store.load("trust")
    load_parties(dev, identity.get("parties", {}) if trust is None else trust)
    dev.zcache = crypto.ZCache(dev.ka_key)
    for k, z in (store.load("zcache") or {}).items():
        dev.zcache.put(bytes.fromhex(k), bytes.fromhex(z))
    dev._zcache_saved = len(dev.zcache)
    log = dev.counter_log = CounterLog(store, "security")
    counters = {}  # originator title hex -> last accepted counter
    alert = _FIRST_ALERT_COUNTER
    if log.legacy is not None:  # the JSON record of an older firmware
        counters = dict(log.legacy.get("counters", {}))
        alert = log.legacy.get("alert_counter", alert)
    for key, value in log.values.items():
        if key == _ALERT_KEY:
            alert = value
        elif key[0] == 1:
            counters[_hex(key[1:])] = value
    dev.counters = counters
    dev.alert_counter = alert
    if log.legacy is not None:
        dev._save_security()
    dev.security_log = Logbook(store, "seclog", _SECLOG_FORMAT, SECURITY_LOG_SIZE)
    dev.last_detail = ""
    stats = getattr(dev, "stats", None)
    if stats is None:
        stats = dev.stats = {}
    for name in ("commands", "accepted", "rejected", "alerts", "suppressed"):
        stats[name] = 0
    dev._flood = [FLOOD_BURST, 0, 0, False]  # rejection token bucket (GBCSPipeline)
    dev.last_outcome = None
    dev.last_code = None


def load_parties(dev, entries):
    """Trust the remote parties of {role: {"eui", "ka", "ds"}} (hex; other fields and roles
    without keys, e.g. the root, are for the CS02 use cases). A party that holds two roles
    (a supplier in the load controller's cells) keeps the keys of the first role in
    ROLE_BITS order and is authorised for both."""
    dev.trust = entries  # kept (not copied) for the CS02 use cases
    dev.parties = {}
    for role in sorted(entries, key=lambda r: ROLE_BITS.get(r, 0x100)):
        p = entries[role]
        if not (p.get("ka") or p.get("ds")):
            continue
        eui = bytes.fromhex(p["eui"])
        party = dev.parties.get(eui)
        if party is not None:
            party.bit |= ROLE_BITS.get(role, 0)
            continue
        dev.parties[eui] = Party(role, eui, bytes.fromhex(p["ka"]) if p.get("ka") else None,
                                  bytes.fromhex(p["ds"]) if p.get("ds") else None)
    dev.acb = dev._party_by_role("acb")


# Security events of accepted commands (GBCS Table 16.2; logged, no alert): (event, event
# code, text), numbered EVENT_BASE + row index in the security log (only append).
SECURITY_EVENTS = (
    ("device_joined", 0x8F49, "device joining succeeded"),
    ("join_failed", 0x8F48, "device joining failed"),
    ("device_unjoined", 0x8F4B, "device unjoining succeeded"),
    ("unjoin_failed", 0x8F4A, "device unjoining failed"),
    ("event_log_cleared", 0x8F52, "event log cleared"),
)


def security_event(event):
    """(security log number, event code) of a SECURITY_EVENTS name; KeyError otherwise."""
    for i in range(len(SECURITY_EVENTS)):
        if SECURITY_EVENTS[i][0] == event:
            return EVENT_BASE + i, SECURITY_EVENTS[i][1]
    raise KeyError(event)


def security_entries(dev, start=0, count=None):
    out = []
    for t, failure, alert, originator, counter, code in dev.security_log.entries(start,
                                                                                  count):
        name = (FAILURES[failure][0] if failure < EVENT_BASE
                else SECURITY_EVENTS[failure - EVENT_BASE][0])
        out.append({"t": t, "event": name, "alert": alert or None,
                    "originator": _hex(originator), "counter": counter, "code": code})
    return out


def control(dev, op, req, now):
    if op == "use_cases":
        # {code hex: name}; with "start" (and "n"), one page of the table:
        # {"use_cases": {...}, "total": rows}, for a heap too small for the whole reply.
        table = dev.USE_CASES
        if hasattr(table, "names"):
            rows = table.names()
        else:
            rows = ((uc.code, uc.name) for uc in table.values())
        start = req.get("start")
        first = 0 if start is None else int(start)
        last = first + int(req.get("n", 40)) if start is not None else 1 << 30
        out = {}
        total = 0
        for code, name in rows:
            if first <= total < last:
                out["%04X" % code] = name
            total += 1
        return out if start is None else {"use_cases": out, "total": total}
    if op == "security_log":
        # Paged: a board has no room for a 100-entry JSON reply in one go.
        n = min(int(req.get("n", 5)), 20)
        total = len(dev.security_log)
        start = int(req.get("start", max(0, total - n)))
        return {"count": total, "entries": dev.security_entries(start, n),
                "last_detail": dev.last_detail}
    if op == "gbcs":
        # Bench shortcut: a GBCS message straight in, without the HAN tunnel.
        out = dev.handle_gbcs(bytes.fromhex(req["hex"]), now)
        return [_hex(m) for m in out]
    raise ValueError("unknown CONTROL op %r for %s" % (op, dev.ROLE))


def commit_trust(dev, changes):
    """Write the trust anchor changes of an update (credentials_anchors.evaluate): anchors
    [[role, field, entity id, key]], then sequence numbers [[role, value, floor?]]. Sequence
    numbers and originator counters only ever go up, except that a floor for a role whose
    anchor this update gave to another entity starts that new party's counters at the floor.
    One record, written and renamed at once, then the device's parties are rebuilt from it and
    the counters saved."""
    trust = dict(dev.trust)
    replaced = []

    def entry(name):
        e = dict(trust.get(name) or {})
        trust[name] = e
        return e

    for name, field, eui, key in changes["anchors"]:
        e = entry(name)
        if e.get("eui") != eui:
            replaced.append(name)
        e["eui"] = eui
        e[field] = key
    for name, value, floor in changes["seq"]:
        e = entry(name)
        new_party = floor and name in replaced
        e["seq"] = value if new_party else max(e.get("seq", 0), value)
        if floor and e.get("eui"):
            last = dev.counters.get(e["eui"], -1)
            dev.counters[e["eui"]] = value if new_party else max(last, value)
    dev.store.dump("trust", trust)
    dev.load_parties(trust)
    dev._save_security()
    dev.log("I", "trust anchors updated (mode %d)" % changes["mode"])
