"""The GSME's rarely used code, imported for one call and dropped again on a board.

Start (the model image, the state, the "world" a bench gives at provisioning), the ASN.1 use
cases (GCS28 clock, CS03/CS04 joins, CS07 device log), the reads of logs and tariff data, the
top-up, payload encryption for an unknown remote party, the billing data log alert (GCS53) and
the bench's CONTROL operations. Functions take the GSME.
"""

from smets import lazy
from smets.devices import gsme as G
from smets.gbcs import crypto
from smets.zcl import gbz, secmd
from smets.zcl.frame import (
    INVALID_FIELD,
    NOT_FOUND,
    ZCLError,
)

# Init keys a bench may give (validate_init checks them).
_INIT_INTS = ("flow_lph", "wake_s", "credit", "volume")


def validate_init(init):
    for key in _INIT_INTS:
        v = init.get(key, 0)
        if not isinstance(v, int) or isinstance(v, bool) or v < -(1 << 31) or v >= 1 << 47:
            raise ValueError("init %s must be an integer, got %r" % (key, v))
    if init.get("wake_s", G.WAKE_S) < 1:
        raise ValueError("init wake_s must be at least 1 s")
    mode = init.get("payment_mode", "credit")
    if mode not in ("credit", "prepayment"):
        raise ValueError("init payment_mode must be 'credit' or 'prepayment', got %r" % mode)
    mprn = init.get("mprn", "")
    if not isinstance(mprn, str) or len(mprn) > 15:
        raise ValueError("init mprn must be a string of up to 15 characters")
    for key in ("attrs", "history"):
        if not isinstance(init.get(key, {}), dict):
            raise ValueError("init %s must be an object" % key)
    for k in init.get("attrs", {}):
        cluster, _, attr = str(k).partition("/")
        int(cluster, 16)
        int(attr, 16)
    if "device_log" in init:
        lazy.call("smets.devices.joins", "check_init", (init["device_log"],),
                  ("smets.gbcs.asn1", "smets.devlog"))


def world(dev, now, init):
    """A fresh meter's start values (see _world)."""
    _world(dev, now, init)


def _world(dev, now, init):
    """A fresh meter's registers and history: firmware id, the bench's values, the logs a
    replayed meter had (each snapshot taken of the registers as given)."""
    a = dev.attrs
    s = dev.state
    a.set(G.METERING, 0x0206, G.FIRMWARE_ID)
    a.set(G.METERING, 0x0308, bytes(dev.eui).hex().encode()[:24])
    a.set(G.PRICE, 0x0600, G.utc(now // 86400 * 86400))
    s["flow"] = int(init.get("flow_lph", 0))
    if init.get("mprn"):
        a.set(G.METERING, 0x0307, init["mprn"].encode())
    if init.get("payment_mode") == "prepayment":
        a.set(G.PREPAYMENT, 0x0000, 0x0C97)
    if "credit" in init:
        a.set(G.PREPAYMENT, 0x0001, int(init["credit"]))
    if "volume" in init:
        a.set(G.METERING, 0x0000, int(init["volume"]))
        a.set(G.METERING, 0x0100, int(init["volume"]))
    a.apply(init.get("attrs", {}), "the GSME")
    if init.get("device_log"):
        # The HAN devices the meter starts joined to: [eui hex, device type, join method].
        lazy.call("smets.devices.joins", "fill", (dev.device_log, init["device_log"]),
                  ("smets.gbcs.asn1",))
    h = init.get("history", {})
    for t, cause in h.get("snapshots", ()):
        dev.snapshot(int(t), int(cause))
    for t, pence, code in h.get("topups", ()):
        dev.topups.append(int(t), int(pence) * G.CREDIT_PER_PENNY, code.encode()[:20])
    for t, code in h.get("events", ()):
        dev.events.append(int(t), int(code), G.LOG_GENERAL)
    p = h.get("profile")
    if p:
        t0, n, litres = p
        for i in range(int(n)):
            dev.hh.append(int(t0) + i * G.HH_S, int(litres))
        dev.hh.save()
    sess = h.get("session")
    if sess:
        sid, t0, interval, n = sess
        s["session"] = [int(sid), int(t0), int(interval), int(n)]
        for i in range(int(n)):
            dev.samples.append(int(t0) + i * int(interval), 0)
    dev._save()


# -- cluster commands run from here ---------------------------------------------------------------


def handle(dev, name, c, f, ctx):
    return globals()["_" + name](dev, c, f, ctx)


def _tariff_get(dev, c, f, ctx):
    """GetTariffInformation / GetPriceMatrix / GetBlockThresholds: the tariff as published
    (PublishTariffInformation 0x04, PublishPriceMatrix 0x05, PublishBlockThresholds 0x06)."""
    name, cmd = {0x06: ("tariff", 0x04), 0x07: ("matrix", 0x05), 0x08: ("thresholds", 0x06)}[
        c.command]
    rec = dev.store.load("tariff") or {}
    if name not in rec:
        raise G.Failure(NOT_FOUND)
    return cmd, bytes.fromhex(rec[name])


def _billing_get(dev, c, f, ctx):
    """GetBillingPeriod (GCS21d / GCS21k): the billing period in force (PublishBillingPeriod:
    provider, issuer event id, start, duration and its type, tariff type)."""
    a = dev.attrs
    return 0x09, secmd.encode(G.PRICE, True, 0x09, [
        a.value(G.DEVICE_MANAGEMENT, 0x0100), a.value(G.PRICE, 0x0600),
        a.value(G.PRICE, 0x0600), a.value(G.PRICE, 0x0601), a.value(G.PRICE, 0x0604), f[3]])


def _calendar_get(dev, c, f, ctx):
    """GetCalendar / DayProfiles / WeekProfiles / Seasons / SpecialDays: the last calendar
    published with that command (Publish* has the same command id server to client)."""
    rec = dev.store.load("tariff") or {}
    prefix = "c%02x" % c.command
    keys = sorted(k for k in rec if k == prefix or k.startswith(prefix + "."))
    if not keys:
        raise G.Failure(NOT_FOUND)
    return c.command, bytes.fromhex(rec[keys[-1]])


def _event_log(dev, c, f, ctx):
    """GetEventLog (CS10a general event log, CS10b security log): the events of the log asked
    for (low nibble of the first field: 0 all, 3 general, 4 security) in the time window,
    from EventOffset, at most NumberOfEvents (0: all that fit); PublishEventLog."""
    log_id = f[0] & 0x0F
    event_id, start, end, n, offset = f[1], f[2], f[3], f[4], f[5]
    found = []
    if log_id in (0, G.LOG_GENERAL):
        for i in range(len(dev.events)):
            t, code, lid = dev.events.entry(i)
            if start <= G.utc(t) <= end and (not event_id or event_id == code):
                found.append((lid, code, G.utc(t), b""))
    if log_id in (0, G.LOG_SECURITY):
        for e in dev.security_log.entries():
            t, alert = e[0], e[2] or 0x8F53
            if start <= G.utc(t) <= end and (not event_id or event_id == alert):
                found.append((G.LOG_SECURITY, alert, G.utc(t), b""))
    found.sort(key=lambda e: e[2])
    total = len(found)
    found = found[offset:]
    found = found[:n or 48]
    if not found:
        raise G.Failure(NOT_FOUND)
    return 0x01, secmd.encode(G.EVENTS, True, 0x01, [total, 0, 1, 0, found])


def _clear_log(dev, c, f, ctx):
    """ClearEventLogRequest (CS11): the general event log can be cleared, the security log
    not (GBCS: it keeps its entries); ClearEventLogResponse says which logs were."""
    log_id = f[0]
    cleared = 0
    if log_id in (0, G.LOG_GENERAL):
        dev.events.clear()
        dev._event(ctx.now, G.EVENT_EVENT_LOG_CLEARED)
        cleared |= 1 << G.LOG_GENERAL
    return 0x02, secmd.encode(G.EVENTS, True, 0x02, [cleared])


def _top_up_log(dev, c, f, ctx):
    """GetTopUpLog (GCS15e): the top-ups from the component's from-date-time (GBCS 7.2.10) to
    LatestEndTime, newest first, at most NumberOfRecords; PublishTopUpLog."""
    lo = c.from_date_time or 0
    hi = f[0]
    out = []
    for i in range(len(dev.topups) - 1, -1, -1):
        t, amount, code = dev.topups.entry(i)
        if lo <= G.utc(t) <= hi:
            out.append((code.rstrip(b"\x00"), amount, G.utc(t)))
    out = out[:f[1] or G.TOPUP_LOG_SIZE]
    if not out:
        raise G.Failure(NOT_FOUND)
    return 0x05, secmd.encode(G.PREPAYMENT, True, 0x05, [0, 1, out])


def _debt_log(dev, c, f, ctx):
    """GetDebtRepaymentLog (GCS15d): debt collections up to LatestEndTime of the debt type
    asked (0: all), newest first; PublishDebtLog."""
    hi, n, kind = f
    lo = c.from_date_time or 0
    out = []
    for i in range(len(dev.debts) - 1, -1, -1):
        t, amount, dtype, left = dev.debts.entry(i)
        if lo <= G.utc(t) <= hi and (not kind or kind == dtype):
            out.append((G.utc(t), amount, dtype, left))
    out = out[:n or G.DEBT_LOG_SIZE]
    if not out:
        raise G.Failure(NOT_FOUND)
    return 0x06, secmd.encode(G.PREPAYMENT, True, 0x06, [0, 1, out])


def _start_sampling(dev, c, f, ctx):
    """StartSampling (GCS31 "network data log"): a sampling session of the sample type every
    SampleRequestInterval seconds, up to MaxNumberOfSamples; StartSamplingResponse with its
    id (0 and 1 are the profile logs' own ids), 0xFFFF when it cannot start."""
    _event_id, start, stype, interval, n = f
    if not interval or not n or n > G.SAMPLE_LOG_SIZE:
        return 0x0D, secmd.encode(G.METERING, True, 0x0D, [0xFFFF])
    s = dev.state
    sid = (s.get("session") or [1])[0] + 1
    t0 = max(ctx.now, start + G.EPOCH_2000 if start else 0)
    s["session"] = [sid, t0, interval, n]
    s["sampled"] = dev.get(G.METERING, 0x0000)
    dev.samples.clear()
    dev._dirty = True
    return 0x0D, secmd.encode(G.METERING, True, 0x0D, [sid])


def _event_config(dev, c, f, ctx):
    """SetEventConfiguration (GCS20): the configuration byte of the events listed (control
    0: by list) or of every event (control 1... 3: as a group / log / match, all here)."""
    rec = dev.store.load("evcfg") or {}
    cfg, control, sub = f[2], f[3], f[4]
    if control == 0:
        if not sub:
            raise G.Failure(INVALID_FIELD)
        n = sub[0]
        if len(sub) != 1 + 2 * n:
            raise G.Failure(INVALID_FIELD)
        for i in range(n):
            rec["%04x" % (sub[1 + 2 * i] | (sub[2 + 2 * i] << 8))] = cfg
    else:
        for code, _default in _event_table():
            rec["%04x" % code] = cfg
    dev.store.save("evcfg", rec)


def _event_config_get(dev, c, f, ctx):
    """GetEventConfiguration (GCS20r): the configuration of an event, or of a group (low byte
    FF: every 0xNNxx event; FFFF every event); ReportEventConfiguration."""
    want = f[0]
    rec = dev.store.load("evcfg") or {}
    out = []
    for code, default in _event_table():
        if want == 0xFFFF or want == code or want & 0xFF == 0xFF and want >> 8 == code >> 8:
            out.append((code, rec.get("%04x" % code, default)))
    if not out:
        raise G.Failure(NOT_FOUND)
    return 0x04, secmd.encode(G.DEVICE_MANAGEMENT, False, 0x04, [0, 1, out])


# The GSME's events and their default configuration (ZSE D.10 EventConfiguration: bit 0 log
# it, 1 push to WAN, 2 push to HAN, 3 raise an alarm, 4 log to the security log): the
# non-critical GBCS GSME events (gbcs-parser util.ts names; the set the RTDS GCS20r lists).
_EVENTS = (
    "810d18810e088119188145038154038155038161038162038168108183" "0b81840b81a10b81a40b81a50b"
    "81a60b81a70b81a80b81a90b81aa0b81ab0b81ac0b81ad0b81ae0b81af0b81b00b81b10b81b20b81b30b"
    "81b40b81b50b81b60b81b90b81ba0b81bc0b81bd0b81be0b81bf0b81c00b81c20b81c30b81c40b81c50b"
    "81a00b81c603"
)


def _event_table():
    for i in range(0, len(_EVENTS), 6):
        yield int(_EVENTS[i:i + 4], 16), int(_EVENTS[i + 4:i + 6], 16)


# -- top-up (GBCS 14) ---------------------------------------------------------------------------


def top_up(dev, f, ctx):
    """ConsumerTopUp: (result, value, source, credit remaining) payload. The UTRN is taken
    by smets.gbcs.utrn.accept (GBCS 14: check digit, counter from the UTRN Counter Cache, MAC
    with the supplier's prepayment key, replay, the maximum top-up); a refusal answers its ZSE
    ResultType and logs its GBCS event."""
    from smets.gbcs import utrn

    source, code = f
    s = dev.state
    now = ctx.now
    code = bytes(code)[:20]
    supplier = dev._party_by_role("supplier")
    pp = (dev.trust.get("supplier") or {}).get("pp")
    last = s.get("topup_counter", -1)  # the cache of one of an earlier firmware's state
    try:
        if supplier is None or not pp:
            # A UTRN is authentic only by its MAC under the supplier's prepayment key
            # agreement key: a meter without that key can check none, so takes none.
            raise utrn.UTRNError("no prepayment key of the supplier to check it with")
        # Z with the prepayment key from the device's ECDH cache (saved with the others):
        # one ECDH for the key's life, not one per top-up.
        z = dev.zcache.z(bytes.fromhex(pp))
        dev._save_zcache()
        counter, pence, cache = utrn.accept(
            code, z, supplier.eui, dev.eui, s.get("utrn") or ([last] if last >= 0 else []),
            dev.get(G.PREPAYMENT, 0x0022) // G.CREDIT_PER_PENNY)
    except ValueError as exc:  # UTRNError; P256Error: a prepayment key that is no point
        result = getattr(exc, "result", utrn.INVALID)
        dev.log("W", "top-up refused: %s" % exc)
        dev._event(now, getattr(exc, "event", utrn.EVENT_NOT_AUTHENTIC))
        if result == utrn.INVALID:
            return secmd.encode(G.PREPAYMENT, True, 0x03, [result, -1, source, -1])
        return secmd.encode(G.PREPAYMENT, True, 0x03, [result, 0, source,
                                                     dev.get(G.PREPAYMENT, 0x0001)])
    credit = pence * G.CREDIT_PER_PENNY
    s["utrn"] = cache
    s.pop("topup_counter", None)
    # Payment-based debt takes its share of the top-up first (DebtRecoveryTopUpPercentage3).
    debt = dev.get(G.PREPAYMENT, 0x0231)
    pct = dev.get(G.PREPAYMENT, 0x0239)
    take = min(debt, credit * pct // 10000) if debt and pct else 0
    if take:
        dev.attrs.set(G.PREPAYMENT, 0x0231, debt - take)
        dev.debts.append(now & 0xFFFFFFFF, take, 5, debt - take)
    balance = dev.add(G.PREPAYMENT, 0x0001, credit - take, hi=0x7FFFFFFF)
    dev.add(G.PREPAYMENT, 0x0020, credit, hi=0xFFFFFFFFFFFF)
    dev.topups.append(now & 0xFFFFFFFF, credit, code)
    if source:
        dev._event(now, G.EVENT_CREDIT_ADDED_LOCALLY)
        # A top-up entered on the meter or a PPMID: the generic non-critical alert 810E.
        ctx.alerts.append(dev.alert(0x1001, G.EVENT_CREDIT_ADDED_LOCALLY, now, critical=False))
    dev._dirty = True
    return secmd.encode(G.PREPAYMENT, True, 0x03, [0x00, credit, source, balance])


# -- GCS53: the billing data log pushed at the end of a billing period ---------------------------


def billing_alert(dev, snap_id):
    """GCS53 (message code 0x008B, alert 8F0A): the billing snapshot, a Metering
    PublishSnapshot component encrypted for the supplier with the alert's own counter."""
    party = dev._party_by_role("supplier")
    if party is None or party.ka is None:
        return None
    e = None
    for i in range(len(dev.bills)):
        if dev.bills.entry(i)[2] == snap_id:
            e = dev.bills.entry(i)
    if e is None:
        return None
    t = G.utc(e[0])
    _, payload = dev._h_snapshot(None, [t, t, 0, G.CAUSE_BILLING], None)

    def fields(counter):
        z = dev.zcache.z(party.ka)
        ct = crypto.protect_payload(z, dev.eui, counter, party.eui, payload)
        comp = gbz.GBZComponent(G.METERING, 0x19, 0, 0x06, None, ciphered=ct)
        comp.control |= gbz.CONTROL_LAST
        return comp.to_bytes()

    return dev.alert(G.MSG_BILLING_ALERT, G.ALERT_BILLING_DATA_LOG, e[0], fields, recipient=party)


# -- ASN.1 use cases ------------------------------------------------------------------------------


_JOINS = (0x000E, 0x00AF, 0x000F, 0x0010, 0x0013)  # CS03B, CS03C, CS04AC, CS04B, CS07


def asn1_use_case(dev, uc, msg, ctx):
    if msg.message_code in _JOINS:
        # The HAN device log (GBCS 13.7), as every device keeps it (smets.devices.joins, with
        # the GBCS join response codes; an injected failure is the use case's own).
        return lazy.call("smets.devices.joins", "execute", (dev, uc, msg, ctx),
                         ("smets.devlog",))
    from smets.gbcs import asn1

    if dev.gbz_fault is not None:
        # An injected execution failure (CONTROL fault_gbz / fault_dlms): GCS28's failure
        # result (GBCS 12: SEQUENCE {time, 1}).
        dev.gbz_fault = None
        return asn1.sequence(asn1.generalized_time(ctx.now), asn1.integer(1))
    return _set_clock(dev, memoryview(msg.content), ctx)


def _set_clock(dev, content, ctx):
    """GCS28 Set Clock: SEQUENCE {validity start, validity end} (GeneralizedTime). The GSME
    takes the hub's time (its clock here) only when the command's window holds it: response
    SEQUENCE {the device time, 0 done | 2 outside the window} (RTDS GCS28 ERROR)."""
    from smets.gbcs import asn1

    body, rest = asn1.read_as(content, asn1.SEQUENCE)
    if len(rest):
        raise asn1.ASN1Error("bytes after the clock command")
    lo, body = asn1.read_time(body)
    hi, body = asn1.read_time(body)
    now = ctx.now
    ok = lo <= now <= hi
    if ok:
        dev._event(now, 0x8145)  # GBCS: clock adjusted (within tolerance)
    return asn1.sequence(asn1.generalized_time(now), asn1.integer(0 if ok else 2))


# -- time-driven and wake-up work (from gsme.GSME) ----------------------------------------


def due(dev, now):
    """Future-dated commands whose time has come: run, each reported with an 8F66 alert
    (8F67 when it fails), message code 0x00CD, to the command's originator, signed."""
    pending = dev.state["pending"]
    out = []
    for e in sorted(pending, key=lambda e: e[0]):
        if e[0] > now:
            break
        pending.remove(e)
        t, code, counter, orig, cluster, fc, cmd, payload, fdt = e
        comp = gbz.GBZComponent(cluster, fc, 0, cmd, bytes.fromhex(payload),
                                from_date_time=fdt or None)
        alert = G.ALERT_FUTURE_DATED_EXECUTED
        try:
            fields = secmd.decode(cluster, bool(fc & 0x08), cmd, comp.payload)
            key = " %04x%s%02x:" % (cluster, "s" if fc & 0x08 else "c", cmd)
            i = G._HANDLERS.find(key) + len(key)
            name = G._HANDLERS[i:G._HANDLERS.find(" ", i)].partition("/")[0]
            dev._handle(name, comp, fields, None)
        except (G.Failure, ZCLError, ValueError, IndexError, TypeError):
            alert = G.ALERT_FUTURE_DATED_NOT_EXECUTED
        party = dev.parties.get(bytes.fromhex(orig))
        body = b"\x0e" + code.to_bytes(2, "big") + counter.to_bytes(8, "big") + \
            cluster.to_bytes(2, "big") + bytes((fc, cmd))
        out.append(dev.alert(G.MSG_FUTURE_DATED_ALERT, alert, t, body, recipient=party))
    dev._save()
    return out


# -- bench CONTROL -------------------------------------------------------------------------


def control(dev, op, req, now):
    if op == "set_flow":
        dev.advance(now)
        dev.state["flow"] = int(req["flow_lph"])
        dev._save()
        return {"flow_lph": dev.state["flow"]}
    if op in ("button", "wake"):
        text = dev.button(now) if op == "button" else (dev.tunnel.wake() or "awake")
        return {"done": text}
    if op == "top_up":
        # A UTRN typed on the meter's keypad (OriginatingDevice 1, the meter: ZSE D.7.2.3.4):
        # checked as a remote one; the accepted top-up raises 810E on the next wake-up.
        from smets.gbcs.pipeline import Context

        dev.advance(now)
        ctx = Context(dev, None, None, now, None)
        dev._dirty = False
        payload = top_up(dev, (1, str(req["utrn"]).encode()), ctx)
        # The credit and the UTRN cache as a remote top-up's are (one record, saved when the
        # top-up changed them): a keypad top-up acknowledged on the display survives a power
        # cut as well.
        if dev._dirty:
            dev._save()
        dev.to_alert.extend(ctx.alerts)
        result, value, _source, credit = secmd.decode(G.PREPAYMENT, True, 0x03, payload)
        return {"result": result, "value": value, "credit": credit, "alerts": len(ctx.alerts)}
    if op == "events":
        n = min(int(req.get("n", 10)), 40)
        return [{"t": t, "code": "%04X" % code, "log": lid}
                for t, code, lid in dev.events.entries(max(0, len(dev.events) - n))]
    if op == "alert":
        # Raise a device alert as the meter would on the event (bench: alerts a command does
        # not provoke): code, and for 81A0 the integrity code.
        code = int(str(req["code"]), 16)
        if code == G.ALERT_BILLING_DATA_LOG:
            # The end of a billing period (GCS53): the billing snapshot and its alert.
            dev.advance(now)
            dev.snapshot(now, G.CAUSE_BILLING)
            dev._save()  # the snapshot id taken (state), so no later snapshot reuses it
            out = [billing_alert(dev, dev.state["snap_id"] - 1)]
        elif code == 0x81A0:
            out = [dev.alert(0x00F2, code, now, int(req.get("data", 5)).to_bytes(2, "big"),
                             critical=False)]
        else:
            critical = bool(req.get("critical", (code >> 8) == 0x8F))
            mc = 0x1000 if critical else 0x1001  # the generic alerts (GBCS 16.2)
            asked = req.get("message_code")
            if asked is not None and int(str(asked), 16) != mc:
                raise ValueError("the GSME raises %04X as message code %04X, not %s" % (
                    code, mc, asked))
            out = [dev.alert(mc, code, now, critical=critical)]
        dev.to_alert.extend(out)  # sent by the next tick, which wakes the meter
        return {"alerts": len(out)}
    raise ValueError("unknown CONTROL op %r for GSME" % op)

