"""The CHF's device logs, logs, sub-GHz events and CONTROL operations: its rarely run code,
imported for one call (smets.lazy) and dropped again on a board. Functions take the CHF.

Device log entry (store record "chflog", one list per device log object): device id, device
type (GBCS JoinDevice enumeration: 0 GSME, 1 ESME, 2 CHF, 3 GPF, 4 HCALCS, 5 PPMID, 6 Type 2),
install code (as CCS01 carries it, 16 bytes), band (the fourth CCS01 field), when it was
added (its join period runs from there), and what the HAN said of it: joined, last heard,
frames received / refused. GBCS and the DLMS Blue Book IC 104 give the shapes; where they do
not say, these are the emulator's choices (*):
- register_device of a device already in the log replaces its entry (a new install code, a
  new join period); unregister_device of a device not in the log succeeds* (the log is as
  asked); a full log (DEVICE_LOG_SIZE) answers other-reason.
- A device may join while its log's enable_disable_joining is true and its join period
  (join_timeout seconds from CCS01) lasts; once joined it may rejoin any time while in the log.
- active_device_element: status bits* (first bit) in the log, joined, HAN secured; RSSI and LQI
  are not measured (no radio): fixed*; last communication, frames refused and received as the
  hub saw them; hops 1; application and stack versions*.
- Every change of a log raises CS14 (8F12 "CHF Device Log Changed", message code 0x0018) with
  the log's backup (as backup_PAN), and a security log entry.
"""

import hashlib

from smets import cosem, lazy
from smets.cosem import OTHER_REASON, TYPE_UNMATCHED, AttrStore, DataAccessError, dlen, skip
from smets.devices import chf as C
from smets.gbcs import usecases

_RSSI = -45  # dBm: the bench has no radio, so no measured signal
_LQI = 255
_TYPES = 7  # device types 0..6


# -- start-up ---------------------------------------------------------------------------------
def load(dev, fresh, init, now):
    st = dev.store
    if C._MODEL is None:
        from smets.devices import chf_image as im

        if im.VERSION != C.MODEL_VERSION:
            raise ValueError("chf_image %d, firmware expects %d" % (im.VERSION,
                                                                    C.MODEL_VERSION))
        sig = hashlib.sha256(im.KEYS).digest()[:8]
        C._MODEL = (im.KEYS, im.HOOKS, usecases.Table(im.USE_CASES), sig, im.DEFAULTS)
        del im
        lazy.unload("smets.devices.chf_image")
    dev.keys, dev.hooks, dev.USE_CASES, dev.sig, defaults = C._MODEL
    attrs = None if fresh else AttrStore.load(st, "attrs", dev.keys, dev.sig)
    if attrs is None:
        attrs = AttrStore.from_bytes(dev.keys, defaults)
    dev.attrs = attrs
    rec = None if fresh else st.load("chflog")
    if rec is None:
        rec = {"logs": [[], []]}
        for e in init.get("device_log") or ():
            rec["logs"][e.get("log", 0)].append(_entry(
                e["eui"], e.get("type", 1), e["install_code"], e.get("band", 0), now,
                e.get("joined", False)))
        st.save("chflog", rec)
        dev.save_attrs()
    dev.devlogs = rec["logs"]
    from smets.logbook import Logbook

    dev.events = Logbook(st, "chfevents", ">IHB8s", C.LOG_SIZE)
    dev.seclog = Logbook(st, "chfsec", ">IH", C.LOG_SIZE)


def check_devices(entries):
    """ValueError unless `entries` is a list of device log entries (provisioning init)."""
    if not isinstance(entries, list):
        raise ValueError("device_log must be a list")
    for e in entries:
        try:
            if len(bytes.fromhex(e["eui"])) != 8:
                raise ValueError("device_log eui must be 8 bytes")
            _code(bytes.fromhex(e["install_code"]))
            if e.get("log", 0) not in (0, 1) or not 0 <= e.get("type", 1) < _TYPES:
                raise ValueError("device_log entry %r" % (e,))
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError("device_log entry: %s %s" % (type(exc).__name__, exc))


def _code(raw):
    from smets.zigbee.stack import split_install_code

    split_install_code(raw)  # ValueError for an install code of the wrong size or CRC
    return raw


def _entry(eui, dtype, code, band, now, joined=False):
    return {"eui": eui, "type": dtype, "code": code, "band": band, "added": now,
            "joined": joined, "heard": 0, "ok": 0, "fail": 0}


def _save(dev):
    dev.store.save("chflog", {"logs": dev.devlogs})


def _which(dev, slot):
    """Which device log (0: 30.3.0, 1: 30.3.1) the object of `slot` is."""
    return dev.attrs.key(slot)[6]


def _attr(dev, log, attr):
    return dev.attrs.get(dev.attrs.slot(b"\x00\x68\x00\x00\x1e\x03" + bytes((log, 0xFF, attr))))


# -- IC 104 methods ---------------------------------------------------------------------------
def method(dev, slot, c, p, ctx):
    """register_device (1), unregister_device (2), unregister_all_devices (3), backup_PAN (4),
    restore_PAN (5) of a device log."""
    m = dev.attrs.key(slot)[8] & 0x7F
    log = _which(dev, slot)
    entries = dev.devlogs[log]
    now = ctx.now
    if m == 4:
        return backup(dev, log, now)
    if m == 1:
        eui, dtype, code, band = _register_args(c, p)
        old = [e for e in entries if e["eui"] == eui]
        if not old and len(entries) >= C.DEVICE_LOG_SIZE:
            raise DataAccessError(OTHER_REASON)
        for e in old:
            entries.remove(e)
        entries.append(_entry(eui, dtype, code, band, now))
    elif m == 2:
        if c[p] != cosem.OCTET_STRING or c[p + 1] != 8:
            raise DataAccessError(TYPE_UNMATCHED)
        eui = bytes(c[p + 2:p + 10]).hex()
        for e in [e for e in entries if e["eui"] == eui]:
            entries.remove(e)
    elif m == 3:
        del entries[:]
    elif m == 5:
        restored = _restore_args(c, p, now)
        del entries[:]
        entries.extend(restored)
    else:
        raise DataAccessError(cosem.OBJECT_UNAVAILABLE)
    _save(dev)
    _changed(dev, log, ctx)
    return None


def _register_args(c, p):
    """(eui hex, device type, install code hex, band) of register_device's structure{device
    id, device type, install code, band}."""
    try:
        if c[p] != cosem.STRUCTURE:
            raise DataAccessError(TYPE_UNMATCHED)
        n, q = dlen(c, p + 1)
        if n < 3 or c[q] != cosem.OCTET_STRING or c[q + 1] != 8 or c[q + 10] != cosem.ENUM \
                or c[q + 12] != cosem.OCTET_STRING:
            raise DataAccessError(TYPE_UNMATCHED)
        eui = bytes(c[q + 2:q + 10]).hex()
        dtype = c[q + 11]
        k, r = dlen(c, q + 13)
        code = bytes(c[r:r + k])
        r += k
        band = 0
        if n >= 4:
            if c[r] != cosem.ENUM:
                raise DataAccessError(TYPE_UNMATCHED)
            band = c[r + 1]
        if dtype >= _TYPES:
            raise DataAccessError(OTHER_REASON)
        _code(code)
    except (IndexError, ValueError):
        raise DataAccessError(OTHER_REASON)
    return eui, dtype, code.hex(), band


def _restore_args(c, p, now):
    """The entries of a backup_PAN structure{date-time, extended PAN id, array of
    structure{device id, install code}}."""
    try:
        if c[p] != cosem.STRUCTURE or c[p + 1] != 3:
            raise DataAccessError(TYPE_UNMATCHED)
        q = skip(c, skip(c, p + 2))
        if c[q] != cosem.ARRAY:
            raise DataAccessError(TYPE_UNMATCHED)
        n, q = dlen(c, q + 1)
        if n > C.DEVICE_LOG_SIZE:
            raise DataAccessError(OTHER_REASON)
        out = []
        for _ in range(n):
            if c[q] != cosem.STRUCTURE or c[q + 2] != cosem.OCTET_STRING or c[q + 3] != 8 \
                    or c[q + 12] != cosem.OCTET_STRING:
                raise DataAccessError(TYPE_UNMATCHED)
            eui = bytes(c[q + 4:q + 12]).hex()
            k, r = dlen(c, q + 13)
            code = _code(bytes(c[r:r + k]))
            out.append(_entry(eui, 1, code.hex(), 0, now))
            q = skip(c, q)
        return out
    except (IndexError, ValueError):
        raise DataAccessError(OTHER_REASON)


def backup(dev, log, now):
    """backup_PAN: structure{date-time, extended PAN id (the hub's EUI-64: GBCS), array of
    structure{device id, install code}}."""
    items = [cosem.structure((cosem.octets(bytes.fromhex(e["eui"])),
                              cosem.octets(bytes.fromhex(e["code"]))))
             for e in dev.devlogs[log]]
    return cosem.structure((cosem.octets(cosem.date_time(now)), cosem.octets(dev.eui),
                            b"\x01" + cosem.elen(len(items)) + b"".join(items)))


def _changed(dev, log, ctx):
    """A device log changed: a security log entry and the CS14 alert with its backup."""
    dev.seclog.append(ctx.now & 0xFFFFFFFF, C.ALERT_DEVICE_LOG_CHANGED)
    ctx.alerts.append(dev.alert(C.MSG_CS14, C.ALERT_DEVICE_LOG_CHANGED, ctx.now,
                                (backup(dev, log, ctx.now),), critical=False))


# -- reads ------------------------------------------------------------------------------------
def read(dev, slot, buf, p, now):
    key = dev.attrs.key(slot)
    if key[:2] == b"\x00\x68":
        return active_devices(dev, _which(dev, slot), now)
    lo, hi = 0, 0xFFFFFFFFFF
    if buf is not None and buf[p] != cosem.NULL:
        lo, hi = _range(buf, p)
    if dev.attrs.get(slot)[:1] == b"\x00":
        ring, td, text = dev.events, b"\x02\x03\x06\x12\x09", True
    else:
        ring, td, text = dev.seclog, b"\x02\x02\x06\x12", False
    out = bytearray()
    for i in range(len(ring)):
        e = ring.entry(i)
        if not lo <= e[0] <= hi:
            continue
        out += (e[0] - cosem.EPOCH_2000).to_bytes(4, "big") + e[1].to_bytes(2, "big")
        if text:
            out += bytes((e[2],)) + e[3][:e[2]]
    return b"\x13" + td + cosem.elen(len(out)) + bytes(out)


def _range(b, p):
    """(from, to) of a range selection (selector 1: structure{restricting object, from, to,
    selected values}); an open bound is unlimited."""
    if b[p] != cosem.STRUCTURE:
        raise DataAccessError(OTHER_REASON)
    n, q = dlen(b, p + 1)
    if n != 4:
        raise DataAccessError(OTHER_REASON)
    q = skip(b, q)
    lo = cosem.bound_time(b, q)
    hi = cosem.bound_time(b, skip(b, q))
    return (0 if lo is None else lo), (0xFFFFFFFFFF if hi is None else hi)


def active_devices(dev, log, now):
    """active_devices (IC 104 attribute 4): an active_device_element per device in the log."""
    u8 = cosem.UNSIGNED
    items = []
    for e in dev.devlogs[log]:
        status = 0x80 | (0x60 if e["joined"] else 0)
        heard = cosem.octets(cosem.date_time(e["heard"]) if e["heard"] else cosem.NEVER_DT)
        items.append(cosem.structure((
            cosem.octets(bytes.fromhex(e["eui"])), b"\x04\x08" + bytes((status,)),
            cosem.integer(cosem.INTEGER, _RSSI), cosem.integer(cosem.INTEGER, _RSSI),
            cosem.integer(cosem.INTEGER, _RSSI), cosem.integer(u8, _LQI),
            cosem.integer(u8, _LQI), cosem.integer(u8, _LQI), heard, cosem.integer(u8, 1),
            cosem.integer(u8, min(e["fail"], 255)), cosem.integer(u8, min(e["ok"], 255)),
            cosem.integer(u8, 1), cosem.integer(u8, 2))))
    return b"\x01" + cosem.elen(len(items)) + b"".join(items)


# -- sub-GHz ----------------------------------------------------------------------------------
def subghz_set(dev, scan, v, ctx):
    """DBCH04 changed the configuration: DBCH09 (8F2A) with it. DBCH05 asked for a channel
    scan: the bench has no sub-GHz radio, so the scan finds the current channel still the best
    (DBCH08, 8F28: outcome 00 "no change", no new channel*)."""
    if scan:
        ctx.alerts.append(dev.alert(C.MSG_DBCH08, C.ALERT_SCAN_OUTCOME, ctx.now,
                                    (cosem.structure((b"\x09\x01\x00", b"\x09\x01\x00")),),
                                    critical=False))
    else:
        ctx.alerts.append(dev.alert(C.MSG_DBCH09, C.ALERT_CONFIGURATION_CHANGED, ctx.now,
                                    (bytes(v),), critical=False))


# -- the HAN ----------------------------------------------------------------------------------
def _join_left(dev, log, e, now):
    """Seconds the device may still join for the first time (0: not now)."""
    if e["joined"] or _attr(dev, log, 2) != b"\x03\xff":
        return 0
    v = _attr(dev, log, 3)
    return max(0, e["added"] + ((v[1] << 8) | v[2]) - now)


def han_devices(dev, now):
    """{"devices": [{"eui", "install_code", "type", "log", "joined", "join_left"}]}."""
    out = []
    for log in (0, 1):
        for e in dev.devlogs[log]:
            out.append({"eui": e["eui"], "install_code": e["code"], "type": e["type"],
                        "log": log, "joined": e["joined"],
                        "join_left": _join_left(dev, log, e, now)})
    return {"devices": out}


def _find(dev, eui):
    for log in (0, 1):
        for e in dev.devlogs[log]:
            if e["eui"] == eui:
                return e
    return None


# han_event kind -> (alert message code, alert code, what the alert carries)
_SUBGHZ = {"duty_cycle": (C.MSG_DBCH06, C.ALERT_LIMITED_DUTY_CYCLE, "eui"),
           "channel_changed": (C.MSG_DBCH07, C.ALERT_CHANNEL_CHANGED, "channel"),
           "message_discarded": (C.MSG_DBCH10, C.ALERT_MESSAGE_DISCARDED, "header"),
           "no_capacity": (C.MSG_DBCH11, C.ALERT_NO_CAPACITY, "eui")}


def han_event(dev, req, now):
    """What the HAN did ({"kind", "eui", ...}): the device's figures and the CHF logs
    updated; the alerts it raises, as GBCS messages."""
    kind = req.get("kind")
    eui = req.get("eui") or ""
    e = _find(dev, eui)
    changed = False
    if kind in ("joined", "rejoined", "heard", "announce"):
        if e is not None:
            changed = not e["joined"]
            e["joined"] = True
            e["heard"] = now
            e["ok"] += int(req.get("frames", 1))
            if kind == "joined":
                dev.event(now, C.EVENT_DEVICE_JOINED, bytes.fromhex(eui))
    elif kind in ("left", "removed"):
        if e is not None:
            changed = e["joined"]
            e["joined"] = False
        dev.event(now, C.EVENT_UNJOINED, bytes.fromhex(eui) if eui else b"")
    elif kind in ("refused", "dropped"):
        if e is not None:
            e["fail"] += 1
            changed = True
        dev.seclog.append(now & 0xFFFFFFFF, C.EVENT_UNAUTHORISED_ACCESS)
    elif kind == "join_failed":
        if e is not None:
            e["fail"] += 1
            changed = True
        dev.seclog.append(now & 0xFFFFFFFF, C.EVENT_JOIN_FAILED)
    elif kind in _SUBGHZ:
        msg, code, what = _SUBGHZ[kind]
        if what == "eui":
            field = cosem.octets(bytes.fromhex(eui))
        elif what == "header":
            field = cosem.octets(bytes.fromhex(req["header"]))
        else:
            slot = dev.attrs.slot(b"\x00\x01\x00\x00\x5e\x2c\x0a\x02\x02")
            if req.get("channel"):
                ch = bytes.fromhex(req["channel"])
                if len(ch) != 4:
                    raise ValueError("channel: 4 bytes (page and mask)")
                dev.attrs.put(slot, b"\x04\x20" + ch)
                dev.save_attrs()
            field = cosem.structure((dev.attrs.get(slot), b"\x09\x01\x00"))
        return [dev.alert(msg, code, now, (field,), critical=False)]
    else:
        raise ValueError("unknown HAN event %r" % (kind,))
    if changed:
        _save(dev)
    return []


# -- CONTROL ----------------------------------------------------------------------------------
def control(dev, op, req, now):
    if op == "han_devices":
        return han_devices(dev, now)
    if op == "han_event":
        return [m.hex() for m in han_event(dev, req, now)]
    if op == "fault_dlms":
        return cosem.inject_faults(dev, req)
    if op == "events":
        n = min(int(req.get("n", 10)), 50)
        out = []
        for i in range(max(0, len(dev.events) - n), len(dev.events)):
            t, code, k, data = dev.events.entry(i)
            out.append({"t": t, "code": code, "data": data[:k].hex()})
        return {"count": len(dev.events), "entries": out}
    raise ValueError("unknown CONTROL op %r for CHF" % (op,))
