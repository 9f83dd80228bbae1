"""The GPF's rarely used code, imported for one call: its start values, the GSME snapshots it
mirrors, its device log (GCS59 restore, GCS62 backup alert), trust anchor updates (CS02b) and
the bench's CONTROL operations. Functions take the GPF."""

from smets.devices import gpf as P
from smets.devices.gbzdev import EPOCH_2000
from smets.zcl import secmd

CAUSE_GENERAL = 0x0001
MSG_GCS62 = 0x00B2  # Backup GPF device log (alert)
ALERT_DEVICE_LOG_CHANGED = 0x8071  # GPF Device Log Changed
_ZERO_PREPAY = (0, 0, 0, 0, 0, 0)


def world(dev, now, init):
    """A fresh GPF: the mirror's values and the history the bench gives (a conformance
    replay's "RTDS world"): the GSME data its mirror had, its copies of the GSME's snapshots,
    its daily consumption log and its device log."""
    dev.attrs.apply(init.get("attrs", {}), "the mirror")
    h = init.get("history", {})
    sid = 0
    for t, cause in h.get("snapshots", ()):
        log = dev.snaps if int(cause) == CAUSE_GENERAL else dev.bills
        log.append(int(t), int(cause), sid, *_registers(dev))
        sid += 1
    c = h.get("consumption")
    if c:
        t0, n, litres = c
        for i in range(int(n)):
            dev.daily.append(int(t0) + i * P._DAY, int(litres))
    dev.state["devlog"] = [[str(e), int(k)] for e, k in h.get("devlog", ())]
    dev.state["mirror_t"] = now
    dev._save()


def _registers(dev):
    a = dev.attrs
    m = [a.value(P.METERING, x) & 0xFFFFFFFF for x in (0x0000, 0x0100, 0x0102, 0x0104, 0x0106,
                                                       0x0700, 0x0701, 0x0702, 0x0703)]
    p = [a.value(P.PREPAYMENT, x) for x in (0x0005, 0x0211, 0x0221, 0x0231, 0x0002, 0x0001)]
    return m + p


def mirror_snapshot(dev, cluster, command, payload):
    """Keep a snapshot the GSME published: a PublishSnapshot (Metering, payload type 6: the
    volume, tier and block registers) and a PublishPrepaySnapshot (Prepayment, type 0) of the
    same snapshot id make one record; a daily one (cause General) adds the day's consumption
    to the daily consumption log (the difference of two midnight volumes)."""
    f = secmd.decode(cluster, True, command, payload)
    snap_id, t2000, cause, sub = f[0], f[1], f[5], f[7]
    t = t2000 + EPOCH_2000
    log = dev.snaps if cause == CAUSE_GENERAL else dev.bills
    regs = None
    prepay = None
    if cluster == P.METERING:
        regs = _snapshot_registers(f[6], sub)
    else:
        prepay = _prepay_registers(f[6], sub)
    # The record of this snapshot, if the other half came first.
    for i in range(len(log) - 1, -1, -1):
        e = log.entry(i)
        if e[2] == snap_id and e[0] == t:
            rec = list(e)
            if regs is not None:
                rec[3:12] = regs
            if prepay is not None:
                rec[12:18] = prepay
            log.update(i, *rec)
            return
    log.append(t & 0xFFFFFFFF, cause, snap_id, *((regs or [0] * 9) + list(prepay or
                                                                           _ZERO_PREPAY)))
    if cause == CAUSE_GENERAL and regs is not None:
        last = dev.state.get("last_volume")
        if last is not None and regs[0] >= last:
            dev.daily.append((t - P._DAY) & 0xFFFFFFFF, regs[0] - last)
        dev.state["last_volume"] = regs[0]
        dev._save()


def _snapshot_registers(kind, sub):
    """Volume, 4 tiers, 4 blocks of a Metering snapshot sub-payload (ZSE payload types 0
    and 6, the ones a GSME sends)."""
    def u48(p):
        return int.from_bytes(sub[p:p + 6], "little") & 0xFFFFFFFF

    out = [u48(0)]
    n = sub[6] if len(sub) > 6 else 0
    out += [u48(7 + 6 * i) if i < n else 0 for i in range(4)]
    p = 7 + 6 * n
    if kind == 6 and len(sub) > p:
        m = sub[p] & 0x0F
        out += [u48(p + 1 + 6 * i) if i < m else 0 for i in range(4)]
    else:
        out += [0, 0, 0, 0]
    return out


def _prepay_registers(kind, sub):
    import struct

    if kind != 0 or len(sub) < 24:
        return list(_ZERO_PREPAY)
    return list(struct.unpack("<i3Iii", bytes(sub[:24])))


# -- ASN.1 use cases: GCS59 (CS02b: update_credentials) ---------------------------------------


def asn1_use_case(dev, uc, msg, ctx):
    if dev.gbz_fault is not None:
        dev.gbz_fault = None
        from smets.gbcs import asn1

        return asn1.integer(1)
    return _restore_device_log(dev, memoryview(msg.content), ctx)


def _restore_device_log(dev, content, ctx):
    """GCS59 Restore GPF Device Log: SEQUENCE OF SEQUENCE {entity id (8), device type}: the
    GPF's device log becomes that list; the response gives each entry with its outcome
    (0 restored), and the change is backed up to the ACB (GCS62 alert 8071)."""
    from smets.gbcs import asn1

    body, rest = asn1.read_as(content, asn1.SEQUENCE)
    if len(rest):
        raise asn1.ASN1Error("bytes after the device log")
    entries, _ = asn1.read_as(body, asn1.SEQUENCE)
    log = []
    out = []
    rest = entries
    while len(rest):
        item, rest = asn1.element(rest)
        inner, _ = asn1.read_as(item, asn1.SEQUENCE)
        eui, inner = asn1.read_as(inner, asn1.OCTET_STRING)
        kind, inner = asn1.read_int(inner)
        if len(eui) != 8:
            raise asn1.ASN1Error("entity id of %d bytes" % len(eui))
        log.append([bytes(eui).hex(), kind])
        out.append(asn1.sequence(bytes(item), asn1.integer(0)))
    dev.state["devlog"] = log
    dev._save()
    ctx.alerts.append(backup_alert(dev, ctx.now))
    return asn1.sequence(asn1.sequence(b"".join(out)))


def backup_alert(dev, now):
    """GCS62 Backup GPF Device Log: SEQUENCE {alert code 8071, the time, the device log},
    MACed to the ACB (a non-critical alert)."""
    from smets.gbcs import asn1

    entries = b"".join(asn1.sequence(asn1.octets(bytes.fromhex(e[0])), asn1.integer(e[1]))
                       for e in dev.state.get("devlog", ()))
    body = asn1.sequence(asn1.integer(ALERT_DEVICE_LOG_CHANGED), asn1.generalized_time(now),
                         asn1.sequence(entries))
    return dev.alert(MSG_GCS62, ALERT_DEVICE_LOG_CHANGED, now, critical=False, content=body)


def update_credentials(dev, uc, msg, ctx):
    """CS02b on the GPF: the pipeline's trust anchor rules (GBCS 12, smets.gbcs.credentials).
    The ACB may send it for the role whose replacement mode it is (the handover of a DCC
    controlled device, RTDS 6.21): the update is then checked as that role's."""
    from smets.gbcs.credentials import ROLE_NAMES, modes
    from smets.gbcs.pipeline import Party

    mode = modes(dev).get(msg.message_code)
    if ctx.party.role == "acb" and mode is not None:
        p = ctx.party
        ctx.party = Party(ROLE_NAMES[mode[1]], p.eui, p.ka, p.ds)
    return dev.execute_credentials(uc, msg, ctx)


def control(dev, op, req, now):
    if op == "device_log":
        return {"entries": dev.state.get("devlog", [])}
    if op == "alert":
        # The GPF raises one alert of its own: GCS62 (8071), its device log backed up to the
        # ACB after a change (bench: the change made elsewhere, e.g. by the CHF).
        code = int(str(req["code"]), 16)
        if code != ALERT_DEVICE_LOG_CHANGED:
            raise ValueError("the GPF raises no alert %04X of its own" % code)
        dev.to_alert.append(backup_alert(dev, now))
        return {"alerts": 1}
    raise ValueError("unknown CONTROL op %r for GPF" % op)

