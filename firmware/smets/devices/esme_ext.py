"""The ESME's rarely used code, imported for one call and dropped again on a board.

Boot (loading the model), profiles and logs, future-dated activation, prepayment methods and
the bench's CONTROL operations run seldom; keeping their code out of the resident `esme`
module leaves that much more heap for the meter's own work. Functions take the ESME.
"""

import hashlib

from smets import cosem, lazy
from smets.codec import civil_from_days
from smets.cosem import OTHER_REASON, AttrStore, dlen
from smets.devices import esme as E
from smets.gbcs import crypto, usecases


def load_model(dev, fresh):
    """The shared model tables and this device's attribute values."""
    st = dev.store
    defaults = None
    if E._MODEL is None:
        # The model (esme_image, generated from esme_model) is a few bytes constants, shared
        # by every ESME of the process; the module itself is dropped again. The default
        # values go to the store, for later fresh provisionings.
        from smets.devices import esme_image as im

        if im.VERSION != E.MODEL_VERSION:
            raise ValueError("esme_image %d, firmware expects %d" % (im.VERSION,
                                                                     E.MODEL_VERSION))
        sig = hashlib.sha256(im.KEYS).digest()[:8]
        E._MODEL = (im.KEYS, im.HOOKS, usecases.Table(im.USE_CASES), im.ACTIVATIONS, sig,
                    im.VARIANTS)
        defaults = AttrStore.from_bytes(im.KEYS, im.DEFAULTS)
        del im
        lazy.unload("smets.devices.esme_image")
        st.save_parts("defaults", defaults.parts(sig))
    dev.keys, dev.hooks, dev.USE_CASES, dev.acts, dev.sig, _variants = E._MODEL
    # The attribute values: this model's (fingerprint = hash of its keys); another firmware's,
    # kept where both models have the attribute; else the defaults.
    attrs = None if fresh else AttrStore.load(st, "attrs", dev.keys, dev.sig)
    if attrs is None:
        attrs = defaults or AttrStore.load(st, "defaults", dev.keys, dev.sig)
        if attrs is None:
            E._MODEL = None  # no usable saved defaults: take them from the image again
            return load_model(dev, fresh)
        defaults = None
        old = None if fresh else st.load_bytes("attrkeys")
        if old and old != dev.keys:
            blob = st.load_bytes("attrs")
            prev = AttrStore.from_bytes(old, blob, blob[:8]) if blob else None
            if prev is not None:
                for i in range(len(prev)):
                    k = attrs.slot(prev.key(i))
                    if k >= 0:
                        attrs.put(k, prev.get(i))
        dev.attrs = attrs
        dev._save_attrs()
        if old != dev.keys:
            st.save_bytes("attrkeys", dev.keys)
    dev.attrs = attrs
    return None


VARIANTS = ("single", "twin", "polyphase")
_VARIANT_LETTER = {"twin": 0x54, "polyphase": 0x50}  # esme_model '@T' / '@P' values


def validate(init):
    """ValueError unless a provisioning `init` is one an ESME takes."""
    for key in ("power_w", "reactive_var", "import_wh", "reactive_varh", "power2_w",
                "import2_wh"):
        v = init.get(key, 0)
        if not isinstance(v, int) or isinstance(v, bool) or not 0 <= v < 1 << 31:
            raise ValueError("init %s must be a non-negative integer, got %r" % (key, v))
    for key in ("mpan_import", "mpan_export"):
        v = init.get(key)
        if v and not (isinstance(v, str) and len(v) in (13, 26) and v.isdigit()):
            raise ValueError("init %s must be 13 digits (26 for a twin element), got %r"
                             % (key, v))
    if "device_log" in init:
        lazy.call("smets.devices.joins", "check_init", (init["device_log"],),
                  ("smets.gbcs.asn1",))
    img = init.get("firmware_image")
    if img is not None and not (isinstance(img, dict) and len(str(img.get("version"))) == 8
                                and len(str(img.get("hash"))) == 64):
        raise ValueError("init firmware_image must be {version: 8 hex, hash: 64 hex}")
    if init.get("variant", "single") not in VARIANTS:
        raise ValueError("init variant must be one of %s" % ", ".join(VARIANTS))


def create(dev, init):
    """A new meter's state (registers, switch, variant) from its provisioning `init`, and its
    first attribute values (identity, firmware, MPANs, the variant's defaults)."""
    state = {"import_ws": 0, "reactive_vars": 0, "power_w": 500, "reactive_var": 50,
             "control_state": E.CONNECTED}
    for key in ("power_w", "reactive_var"):
        if key in init:
            state[key] = init[key]
    state["import_ws"] = int(init.get("import_wh", 0)) * 3600
    state["reactive_vars"] = int(init.get("reactive_varh", 0)) * 3600
    # The meter variant (chosen at provisioning): single-element, twin-element (a second
    # measuring element with its own MPAN, tariff and registers) or polyphase.
    state["variant"] = init.get("variant", "single")
    if state["variant"] == "twin":
        state["power2_w"] = int(init.get("power2_w", 0))
        state["import2_ws"] = int(init.get("import2_wh", 0)) * 3600
    if state["variant"] != "single":
        apply_variant(dev, _VARIANT_LETTER[state["variant"]])
    if init.get("firmware_image"):
        # An image already distributed to the meter (CS05b), ready for CS06.
        dev.store.save("fwimage", init["firmware_image"])
    a = dev.attrs
    a.put(a.slot(E._KEY_DEVICE_ID), cosem.octets(dev.eui))
    a.put(a.slot(E._KEY_FIRMWARE), cosem.octets(E.FIRMWARE_ID))
    for key, name in ((E._KEY_MPAN_IMPORT, "mpan_import"), (E._KEY_MPAN_EXPORT, "mpan_export")):
        if init.get(name):
            a.put(a.slot(key), cosem.octets(init[name].encode()))
    dev._save_attrs()
    return state


def unsupported(dev, msg, ctx):
    """GBCS 7.2.9.1 (ECS100): no response; an alert 8F85 to the command's originator naming the
    command (message code, originator counter), with the supplementary remote party fields of a
    command sent on another party's behalf."""
    body = msg.message_code.to_bytes(2, "big") + msg.counter.to_bytes(8, "big")
    info = E.MSG_COMMAND_NOT_SUPPORTED.to_bytes(2, "big") + bytes(msg.other_info[2:18])
    ctx.alerts.append(dev.alert(E.MSG_COMMAND_NOT_SUPPORTED, E.ALERT_COMMAND_NOT_SUPPORTED,
                                ctx.now, (cosem.octets(body),), recipient=ctx.party,
                                other_info=info))
    dev.log("W", "%04X is not a use case of a %s meter" % (msg.message_code,
                                                           dev.state["variant"]))
    return None


def apply_variant(dev, letter):
    """A new meter of a variant (T twin-element, P polyphase) takes the variant's own default
    values (esme_model '@' lines: e.g. the twin's logs carry the second element)."""
    v = E._MODEL[5]
    p = 0
    while p < len(v):
        slot = (v[p + 1] << 8) | v[p + 2]
        n = (v[p + 3] << 8) | v[p + 4]
        if v[p] == letter:
            dev.attrs.put(slot, v[p + 5:p + 5 + n])
        p += 5 + n


# -- profiles and logs ---------------------------------------------------------------------------


def profile(dev, slot, buf, p):
    """A profile buffer / log as a compact-array, entries within the selected range."""
    d = dev.attrs.get(slot)
    end = cosem.skip_type(d, 1)
    td = d[1:end]
    ops = d[end:]
    ring = (None, dev.events, dev.security_log, dev.hh, dev.daily, dev.bills)[d[0]]
    lo = 0
    hi = 0xFFFFFFFFFF
    if buf is not None and buf[p] != cosem.NULL:
        lo, hi = _range(buf, p)
    size = 0
    for i in range(0, len(ops), 2):
        size += (ops[i] >> 4) * ops[i + 1]
    picked = []
    if ring is not None:
        for i in range(len(ring)):
            if lo <= ring.entry(i)[0] <= hi:
                picked.append(i)
    if size:
        picked = picked[max(0, len(picked) - E.MAX_PROFILE_BYTES // size):]
    out = bytearray()
    for i in picked:
        e = ring.entry(i)
        for k in range(0, len(ops), 2):
            w = ops[k] >> 4
            f = ops[k] & 15
            if f == 15:
                out += bytes(w * ops[k + 1])
                continue
            v = e[f] - cosem.EPOCH_2000 if f == 0 else e[f]
            out += ((v & ((1 << (8 * w)) - 1)).to_bytes(w, "big")) * ops[k + 1]
    return b"\x13" + td + cosem.elen(len(out)) + out


def _range(b, p):
    """(from, to) unix times of a range selection: structure{restricting object, from, to,
    selected values} (selective access by range) or structure{from, to} (GBCS protected
    reads); an unspecified bound is open."""
    if b[p] != cosem.STRUCTURE:
        raise E.DataAccessError(OTHER_REASON)
    n, q = dlen(b, p + 1)
    if n == 4:
        q = cosem.skip(b, q)
    elif n != 2:
        raise E.DataAccessError(OTHER_REASON)
    lo = cosem.bound_time(b, q)
    hi = cosem.bound_time(b, cosem.skip(b, q))
    return (0 if lo is None else lo), (0xFFFFFFFFFF if hi is None else hi)


TEMPORARY_FAILURE = 2  # Green Book Data-Access-Result / Action-Result temporary-failure

# -- future-dated activation ---------------------------------------------------------------------


def activation(dev, slot, dt, ctx):
    """An activation date-time was set (GBCS notes 6.1): NOW applies the passive values at
    once, NEVER cancels a pending change, a future time schedules it."""
    pending = dev.state["pending"]
    same = [e for e in pending if e[1] == slot]
    t = None if dt == cosem.NEVER_DT else cosem.unix_time(dt)
    if t is not None and t > ctx.now and len(pending) - len(same) >= E.MAX_PENDING:
        # No room for another future-dated change: the command fails (and the SET with it:
        # the caller has not stored the date-time yet); the changes already acknowledged
        # stay scheduled, none is dropped to make room. temporary-failure (Green Book
        # Data-Access-Result 2): the meter takes it again once a pending one has run.
        dev.log("W", "future-dated change refused: %d pending" % len(pending))
        raise E.DataAccessError(TEMPORARY_FAILURE)
    for e in same:
        pending.remove(e)
    if dt == cosem.NEVER_DT:
        return
    if t is None or t <= ctx.now:
        activate(dev, slot)
        return
    msg = ctx.msg
    pending.append([t, slot, msg.message_code, msg.counter,
                    "".join("%02x" % b for b in msg.originator)])


def activate(dev, slot):
    """Copy the passive values an activation attribute governs to their active attributes."""
    acts = dev.acts
    a = dev.attrs
    p = 0
    while p < len(acts):
        n = acts[p + 2]
        if (acts[p] << 8) | acts[p + 1] == slot:
            for k in range(p + 3, p + 3 + 4 * n, 4):
                a.put((acts[k + 2] << 8) | acts[k + 3], a.get((acts[k] << 8) | acts[k + 1]))
            dev._dirty = True
            return
        p += 3 + 4 * n


def due(dev, now):
    """Changes whose activation time has come: applied, each with its 8F66 alert (GBCS:
    one per activation attribute, to the command's originator, signed by the device).
    The attributes are written before the state that no longer lists their entries: a power
    cut between the two finds the entries again, and activating them again copies the same
    passive values (no command ran in between); the alerts leave only after both writes.
    (A credentials update removes its record after its commit: a cut there loses its
    alert, not its effect.)"""
    pending = dev.state["pending"]
    out = []
    dev._dirty = False
    changed = False  # entries done since the state was last saved
    # Attribute activations first, then firmware activations and credentials updates: these
    # save the state (their commit) themselves, and after the last commit of a run nothing
    # more is written, so a power cut can never fall between a commit and its alert leaving.
    for e in sorted(pending, key=lambda e: (e[1] < 0, e[0])):
        if e[0] > now:
            continue
        pending.remove(e)
        t, slot, code, counter, orig = e[:5]
        if slot < 0:
            if dev._dirty:
                # The changes activated before it go to flash first: a firmware activation
                # or a credentials update saves the state (these entries gone) itself.
                dev._save_attrs()
                dev._dirty = False
            if slot == -3:  # a firmware activation (CS06, esme_fw)
                alert = lazy.call("smets.devices.esme_fw", "due", (dev, e),
                                  ("smets.gbcs.asn1",))
            else:
                alert = credentials_due(dev, e)
            if alert:
                out.append(alert)
            changed = False
            continue
        changed = True
        activate(dev, slot)
        party = dev.parties.get(bytes.fromhex(orig))
        body = code.to_bytes(2, "big") + counter.to_bytes(8, "big") + dev.attrs.key(slot)
        out.append(dev.alert(E.MSG_FUTURE_DATED_ALERT, E.ALERT_FUTURE_DATED_EXECUTED, t,
                             (cosem.octets(body),), recipient=party))
    if changed:
        dev._save_attrs()
        dev._save()
    return out


# -- security credentials: a future-dated CS02b / CS02g (smets.gbcs.credentials*) ------------


def credentials_due(dev, e):
    """A future-dated CS02b / CS02g at its time: its changes committed and its outcome (found
    when it arrived) in an 8F66 (every replacement done) or 8F67 alert, message code 0x00CB /
    0x0124, to the command's originator, signed: SEQUENCE {alert code, execution date-time,
    outcome}."""
    t, slot, _code, counter, orig = e
    name = "cs02g" if slot == -2 else "cs02b"
    rec = dev.store.load(name)
    party = dev.parties.get(bytes.fromhex(orig))
    if not rec or rec.get("counter") != counter or party is None:
        # No record, or the record of a later command whose own entry a power cut lost
        # (the record is written first): neither can run.
        dev.log("W", "pending %s of %s (counter %d) dropped" % (name, orig, counter))
        dev._save()
        dev.store.remove(name)
        return None
    if rec["plan"]:
        # Committing twice (a power cut below) changes nothing more.
        lazy.call("smets.gbcs.pipeline_ops", "commit_trust", (dev, rec["plan"]))
    code = 0x8F66 if rec["ok"] else 0x8F67
    y, m, d = civil_from_days(t // 86400)
    s = t % 86400
    when = ("%04d%02d%02d%02d%02d%02dZ" % (y, m, d, s // 3600, s // 60 % 60, s % 60)).encode()
    body = b"\x02\x03\x00" + code.to_bytes(2, "big") + b"\x18\x0f" + when \
        + bytes.fromhex(rec["outcome"])
    alert = dev.alert(0x0124 if slot == -2 else 0x00CB, code, t,
                      b"\x30" + cosem.elen(len(body)) + body, recipient=party)
    # Done: the pending entry leaves the saved state, then the record goes.
    dev._save()
    dev.store.remove(name)
    return alert


def billing_alert(dev, t):
    """ECS68: the billing data log entry of billing time `t`, encrypted for the supplier with
    the alert's own counter (GBCS notes 2.3), in a signed 8F0A alert."""
    party = dev._party_by_role("supplier")
    if party is None or party.ka is None:
        return None
    at = cosem.integer(cosem.DOUBLE_LONG_UNSIGNED, t - cosem.EPOCH_2000)
    log = profile(dev, dev.attrs.slot(E._KEY_BILLING_LOG), b"\x02\x02" + at + at, 0)

    def fields(counter):
        # protection parameters: authenticated and encrypted, transaction id 04 || counter,
        # device -> supplier, agreed key C(0e, 2s); then the ciphered entry.
        prot = b"".join((b"\x01\x01\x02\x02\x16\x02\x02\x05\x09\x09\x04",
                         counter.to_bytes(8, "big"), b"\x09\x08", dev.eui, b"\x09\x08",
                         party.eui, b"\x09\x00\x02\x02\x16\x02\x02\x02\x09\x01\x02\x09\x00"))
        ct = crypto.protect_payload(dev.zcache.z(party.ka), dev.eui, counter, party.eui,
                                    cosem.structure((log,)))
        return (prot, cosem.octets(ct))

    return dev.alert(E.MSG_BILLING_DATA_LOG_ALERT, E.ALERT_BILLING_DATA_LOG, t, fields,
                     recipient=party)


# The ESME's alerts of events no command provokes (GBCS 16), as CONTROL `alert` raises them:
# alert code -> message code. ECS80 supply outage restored (outage >= 3 minutes; per phase on a
# polyphase meter) goes to the network operator.
_OUTAGE = {0x8F36: "single", 0x8F38: "polyphase", 0x8F3A: "polyphase", 0x8F3C: "polyphase"}
MSG_OUTAGE_RESTORED = 0x0067  # ECS80
MSG_INTEGRITY_WARNING = 0x00F0
ALERT_INTEGRITY_WARNING = 0x81A0
_APC = (0x8F86, 0x8F87, 0x8F88)  # ECS101 / ECS102 / ECS200: no APC in this firmware


def raise_alert(dev, req, now):
    """CONTROL `alert`: the meter raises the alert of an event the bench plays (`code` hex;
    `message_code` hex, checked against the one the meter uses). 8F0A: a billing data log
    entry now (ECS68, encrypted for the supplier); 8F36 (8F38/8F3A/8F3C by phase): the supply
    restored after an outage from `start` to `end` (epochs; default the last ten minutes);
    81A0: the meter integrity warning (`data` the issue, default 5); 8F72 / 8F1C: an image
    distributed to the meter (`version`, default 01000000) verified or not, as CONTROL
    `firmware_image` does; 8F85: a command of another variant
    (`data` hex: its message code and originator counter); other codes: the generic alerts
    (0x1000 critical, 0x1001 non-critical). For 8F85 and the generic alerts, `recipient` (EUI
    hex of a trusted party) and `other_info` (hex: the message code and the supplementary
    remote party fields) address the alert as the command that provoked it was sent."""
    code = int(str(req["code"]), 16)
    if not 0x8000 <= code <= 0xFFFF:
        raise ValueError("alert code %04X is not a GBCS alert code" % code)
    if code in _APC:
        raise ValueError("alert %04X is an APC alert (ECS101/102/200): no APC here" % code)
    variant = dev.state["variant"]
    if code == E.ALERT_BILLING_DATA_LOG:
        mc = E.MSG_BILLING_DATA_LOG_ALERT
    elif code in _OUTAGE:
        if _OUTAGE[code] == "polyphase" and variant != "polyphase":
            raise ValueError("alert %04X is a polyphase meter's" % code)
        mc = MSG_OUTAGE_RESTORED
    elif code == ALERT_INTEGRITY_WARNING:
        mc = MSG_INTEGRITY_WARNING
    elif code in (0x8F72, 0x8F1C):
        mc = 0x00CE
    elif code == E.ALERT_COMMAND_NOT_SUPPORTED:
        mc = E.MSG_COMMAND_NOT_SUPPORTED
    else:
        critical = bool(req.get("critical", (code >> 8) == 0x8F))
        mc = 0x1000 if critical else 0x1001
    asked = req.get("message_code")
    if asked is not None and int(str(asked), 16) != mc:
        raise ValueError("the ESME raises %04X as message code %04X, not %s" % (code, mc, asked))
    party = info = None
    if req.get("recipient") is not None:
        party = dev.parties.get(bytes.fromhex(str(req["recipient"])))
        if party is None:
            raise ValueError("alert recipient %s is not a trusted party" % req["recipient"])
    if req.get("other_info") is not None:
        info = bytes.fromhex(str(req["other_info"]))
        if len(info) not in (2, 18) or int.from_bytes(info[:2], "big") != mc:
            raise ValueError("other_info: the message code %04X [, remote party (8), "
                             "counter (8)]" % mc)
    dev.advance(now)
    if mc == E.MSG_BILLING_DATA_LOG_ALERT:
        # The billing calendar's work, now: the entry, its alert at the next tick.
        s = dev.state
        wh2 = (s["import2_ws"] // 3600 & 0xFFFFFFFF,) if dev.twin else ()
        dev.bills.append(now, s["import_ws"] // 3600 & 0xFFFFFFFF, dev.balance(), *wh2)
        dev.bills.save()
        dev.to_push.append(now)
        return {"alerts": 1}
    if mc == MSG_OUTAGE_RESTORED:
        end = int(req.get("end", now))
        start = int(req.get("start", end - 600))
        if not 0 < start <= end <= now:
            raise ValueError("outage from %d to %d: want start <= end <= now" % (start, end))
        span = (cosem.octets(cosem.date_time(start)), cosem.octets(cosem.date_time(end)))
        alert = dev.alert(mc, code, now, span, recipient=dev._party_by_role("network_operator"))
    elif mc == MSG_INTEGRITY_WARNING:
        issue = int(req.get("data", 5)).to_bytes(2, "big")
        alert = dev.alert(mc, code, now, (cosem.octets(issue),), critical=False)
    elif mc == 0x00CE:
        version = str(req.get("version", "01000000"))
        return {"alerts": 1, "image": _receipt(dev, version, now, code == 0x8F72)}
    elif mc == E.MSG_COMMAND_NOT_SUPPORTED:
        body = bytes.fromhex(str(req.get("data") or "0012" + "00" * 8))
        if len(body) != 10:
            raise ValueError("8F85 data: message code (2 bytes) and counter (8 bytes)")
        alert = dev.alert(mc, code, now, (cosem.octets(body),), recipient=party,
                          other_info=info)
    else:
        alert = dev.alert(mc, code, now, critical=mc == 0x1000, recipient=party,
                          other_info=info)
    dev.alerts_out.append(alert)
    return {"alerts": 1}


def _receipt(dev, version, now, ok):
    image = bytes.fromhex(version) + bytes(28)
    dev.alerts_out.append(lazy.call("smets.devices.esme_fw", "receive_image",
                                    (dev, image, now, ok), ("smets.gbcs.asn1",)))
    return dev.store.load("fwimage")


# -- methods with a behaviour beyond "accepted" ------------------------------------------------

# GBCS Table 16.2 clock events: 8145 clock adjusted (within tolerance), 81C6 clock not
# adjusted (outside tolerance).
EVENT_CLOCK_ADJUSTED = 0x8145
EVENT_CLOCK_OUTSIDE_TOLERANCE = 0x81C6


def method(dev, h, slot, c, p, ctx):
    s = dev.state
    a = dev.attrs
    if h == E.H_ADJ:
        # Account (IC 112) m1: adjust the credit by a signed amount (ECS04a).
        if c[p] != cosem.DOUBLE_LONG:
            raise E.DataAccessError(cosem.TYPE_UNMATCHED)
        s["credit"] += cosem.value_int(c, p)
        dev._event(ctx.now, E.EVENT_CREDIT_ADDED)
    elif h == E.H_TOPUP:
        # Token gateway (IC 115) m1: a UTRN (CS01a), checked as every top-up is; a refused
        # one fails the action (other-reason), its event logged.
        if c[p] != cosem.OCTET_STRING:
            raise E.DataAccessError(cosem.TYPE_UNMATCHED)
        n, q = dlen(c, p + 1)
        if top_up(dev, c[q:q + n], ctx.now, False)[0]:
            raise E.DataAccessError(OTHER_REASON)
    elif h == E.H_EC:
        # Emergency credit (ECS09): the emergency credit limit becomes available.
        s["ec_credit"] = cosem.value_int(a.get(a.slot(E._KEY_EC_LIMIT)))
    elif h == E.H_ZERO:
        # reset: register, demand register, credit (ECS04b, ECS28b, ECS29e, ECS57).
        t = dev._sibling(slot, 2)
        if t >= 0:
            if dev.hooks[t] == E.H_BAL:
                s["credit"] = s["debit_ws"] = 0
            elif dev.hooks[t] == 0:
                v = a.get(t)
                if v[0] < 0x1C and cosem.SIZES[v[0]]:
                    a.put(t, v[:1] + bytes(len(v) - 1))
                    dev._dirty = True
        elif a.key(slot)[1] == 112:
            s["ec_credit"] = 0
    elif h == E.H_CLR:
        # Profile generic m1 reset: clear the log (ECS15a/c).
        if a.get(dev._sibling(slot, 2))[0] == 1:
            dev.events.clear()
            # GBCS Table 16.2: 8F52 "Event Log Cleared" goes to the security log, which no
            # remote command clears.
            dev.log_security(ctx.now, "event_log_cleared", ctx.msg)
    elif h == E.H_CLKSET:
        # Clock (IC 8) m5 preset_adjusting_time {preset time, validity interval start, end}:
        # GBCS ECS70 (9.1; DUIS 6.11 Synchronise Clock gives a date-time and a tolerance
        # period). The clock is set only while the meter's time is inside the validity
        # interval; the emulated meter keeps the Communications Hub's time (the HAN time
        # source, and the board's clock), so an accepted setting is logged, not applied.
        if c[p:p + 2] != b"\x02\x03":
            raise E.DataAccessError(cosem.TYPE_UNMATCHED)
        times = []
        q = p + 2
        for _ in range(3):
            if c[q:q + 2] != b"\x09\x0c":
                raise E.DataAccessError(cosem.TYPE_UNMATCHED)
            times.append(cosem.unix_time(c[q + 2:q + 14]))
            q += 14
        preset, start, end = times
        now = ctx.now
        if preset is None or (start is not None and now < start) \
                or (end is not None and now > end):
            dev._event(now, EVENT_CLOCK_OUTSIDE_TOLERANCE)
            raise E.DataAccessError(OTHER_REASON)
        dev._event(now, EVENT_CLOCK_ADJUSTED)
    elif h == E.H_PAS:
        # Charge (IC 113) m2: activate the passive unit charge (ECS07).
        src = dev._sibling(slot, 6)
        dst = dev._sibling(slot, 5)
        if src >= 0 and dst >= 0:
            a.put(dst, a.get(src))
            dev._dirty = True


# -- top-up (GBCS 14): a remote CS01a, a PPMID's PECS01, the meter's keypad ------------------

# The prepayment thresholds of esme_model (GBCS class 9000 objects, attribute 2, in the
# account's 1e-5 currency units): 0-0:94.44.2.10 the most one top-up may add (GBCS event 8F5B
# "UTRN exceeds Maximum Credit Threshold"), 0-0:94.44.2.20 the most the meter balance may
# reach (8F47 "Credit would cause Meter Balance to exceed Maximum Meter Balance Threshold").
_KEY_MAX_CREDIT = b"\x23\x28\x00\x00\x5e\x2c\x02\x0a\x02"
_KEY_MAX_BALANCE = b"\x23\x28\x00\x00\x5e\x2c\x02\x14\x02"
_CREDIT_PER_PENNY = 1000  # credit counts 1e-5 GBP
_MAX_CREDIT_REACHED = 0x04  # ZSE ResultType "Rejected - Max Credit Reached"
_EVENT_MAX_BALANCE = 0x8F47


def _threshold(dev, key):
    slot = dev.attrs.slot(key)
    return cosem.value_int(dev.attrs.get(slot)) if slot >= 0 else 0


def top_up(dev, code, now, local):
    """Apply a UTRN (bytes) if smets.gbcs.utrn.accept takes it for this meter and the credit
    fits the thresholds: (ZSE ConsumerTopUpResponse ResultType, credit added). Every check
    runs before anything changes; the UTRN Counter Cache is saved with the credit (one
    record). A refusal logs its GBCS event; a `local` top-up (keypad, PPMID) that is
    accepted raises 810E "Credit Added Locally" to the supplier (GBCS alert codes)."""
    try:
        return _top_up(dev, code, now, local)
    finally:
        lazy.unload("smets.gbcs.utrn")  # loaded for the top-up only


def _top_up(dev, code, now, local):
    from smets.gbcs import utrn

    s = dev.state
    supplier = dev._party_by_role("supplier")
    pp = (getattr(dev, "trust", None) or {}).get("supplier") or {}
    pp = pp.get("pp")
    try:
        if supplier is None or not pp:
            # A UTRN is authentic only by its MAC under the supplier's prepayment key
            # agreement key (GBCS 14): a meter without that key can check none, so takes none.
            raise utrn.UTRNError("no prepayment key of the supplier to check it with")
        z = dev.zcache.z(bytes.fromhex(pp))
        title = supplier.eui
        counter, pence, cache = utrn.accept(
            code, z, title, dev.eui, s.get("utrn") or [],
            _threshold(dev, _KEY_MAX_CREDIT) // _CREDIT_PER_PENNY)
        credit = pence * _CREDIT_PER_PENNY
        limit = _threshold(dev, _KEY_MAX_BALANCE)
        if limit and dev.balance() + credit > limit:
            raise utrn.UTRNError("balance would exceed %d" % limit, _MAX_CREDIT_REACHED,
                                 _EVENT_MAX_BALANCE)
    except ValueError as exc:  # UTRNError; P256Error: a prepayment key that is no point
        dev.log("W", "top-up refused: %s" % exc)
        dev._event(now, getattr(exc, "event", utrn.EVENT_NOT_AUTHENTIC))
        return getattr(exc, "result", utrn.INVALID), 0
    s["utrn"] = cache
    s["credit"] += credit
    dev._event(now, E.EVENT_CREDIT_ADDED)
    dev._save()
    dev.log("I", "top-up of %d pence (counter %016x)" % (pence, counter))
    if local:
        dev.alerts_out.append(dev.alert(0x1001, E.EVENT_CREDIT_ADDED, now, critical=False))
    return 0, credit


# -- bench CONTROL operations ---------------------------------------------------------------------


def control(dev, op, req, now):
    s = dev.state
    if op == "set_load":
        dev.advance(now)
        for key in ("power_w", "reactive_var"):
            if key in req:
                v = req[key]
                if not isinstance(v, int) or v < 0:
                    raise ValueError("%s must be a non-negative integer" % key)
                s[key] = v
        dev._save()
        return {"power_w": s["power_w"], "reactive_var": s["reactive_var"]}
    if op == "button":
        return {"closed": dev.press_button(now)}
    if op == "top_up":
        # A UTRN typed on the meter's keypad (GBCS 14), checked as a remote one.
        dev.advance(now)
        before = len(dev.alerts_out)
        result, credit = top_up(dev, str(req["utrn"]).encode(), now, True)
        return {"result": result, "value": credit, "credit": dev.balance(),
                "alerts": len(dev.alerts_out) - before}
    if op == "fault_dlms":
        # For ASN.1 use cases whose response code says what failed (CS06): that code.
        dev.dlms_fault_code = int(req.get("code", 0))
        reply = cosem.inject_faults(dev, req)
        reply["code"] = dev.dlms_fault_code
        return reply
    if op == "firmware_image":
        # The end of a firmware distribution (CS05b): the image reaches the meter, which
        # checks it and says so in a 0x00CE alert. {"image": hex} or {"version": 8 hex}.
        image = bytes.fromhex(req.get("image") or (req.get("version", "") + "00" * 28))
        alert = lazy.call("smets.devices.esme_fw", "receive_image",
                          (dev, image, now, bool(req.get("ok", True))), ("smets.gbcs.asn1",))
        dev.alerts_out.append(alert)
        return dev.store.load("fwimage")
    if op == "events":
        n = min(int(req.get("n", 10)), 50)
        return {"count": len(dev.events),
                "entries": [{"t": t, "code": c}
                            for t, c in dev.events.entries(max(0, len(dev.events) - n))]}
    if op == "alert":
        return raise_alert(dev, req, now)
    if op == "device_log":
        # The devices joined to the meter (GBCS 13.7; CS03 / CS04 change it).
        return lazy.call("smets.devices.joins", "describe", (dev.device_log,),
                         ("smets.gbcs.asn1",))
    if op == "attribute":
        # One attribute's A-XDR value: {"class": 3, "obis": "1.0.2.8.0.255", "attr": 2}.
        dev.advance(now)
        v = dev.attribute(int(req["class"]), bytes(int(x) for x in req["obis"].split(".")),
                          int(req["attr"]))
        return None if v is None else "".join("%02x" % b for b in v)
    raise ValueError("unknown CONTROL op %r" % (op,))
