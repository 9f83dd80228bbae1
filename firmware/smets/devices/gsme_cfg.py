"""The GSME's configuration commands, imported for one command and dropped again on a board.

Tariffs and calendars (ZSE Price D.4 and Calendar D.9 Publish commands: GCS01a/b, GCS05's
friendly credit calendar, GCS23, GCS25), debt and credit settings (Prepayment D.7: GCS04,
GCS05, GCS40a-d), supply settings (Metering D.3: GCS24) and the supplier, tenancy and site
details (Device Management D.10: GCS09, GCS11, GCS36, GCS41, GCS44, Messaging GCS07). They
come seldom, so their code is not kept on the heap. Each takes the GSME, the GBZ component,
its decoded fields (smets.zcl.se) and the command context; it returns None (a SUCCESS Default
Response) or raises gsme.Failure with the ZCL status.
"""

from smets.codec import decode_text
from smets.devices import gsme as G
from smets.zcl import secmd
from smets.zcl.frame import FAILURE, INVALID_FIELD


def handle(dev, name, c, f, ctx):
    put = _FIELDS.get(name)
    if put is None:
        return globals()["_" + name](dev, c, f, ctx)
    dev.put_all([(put[0], attr, f[i]) for attr, i in put[1:]])
    return None


# Commands that only set attributes from their fields: (cluster, (attribute, field index), ...)
# (ZSE D.7.2.3.12 SetMaximumCreditLimit, D.7.2.3.13 SetOverallDebtCap, D.4.2.4.9
# PublishBillingPeriod, D.4.2.4.2 PublishBlockPeriod, D.4.2.4.3 PublishConversionFactor,
# D.4.2.4.4 PublishCalorificValue).
_FIELDS = {
    "max_credit": (G.PREPAYMENT, (0x0021, 3), (0x0022, 4)),
    "debt_cap": (G.PREPAYMENT, (0x0006, 3)),
    "billing_period": (G.PRICE, (0x0600, 2), (0x0601, 3), (0x0604, 4)),
    "block_period": (G.PRICE, (0x0200, 2), (0x0201, 3), (0x0204, 5)),
    "conversion": (G.PRICE, (0x0302, 2), (0x0303, 3)),
    "calorific": (G.PRICE, (0x0304, 2), (0x0305, 3), (0x0306, 4)),
}


def _change_debt(dev, c, f, ctx):
    """ChangeDebt: DebtAmountType 0/1 time debt 1, 2/3 time debt 2, 4/5 payment debt
    (even: absolute, odd: incremental); its recovery method and rate."""
    kind = f[4]
    if kind > 5:
        raise G.Failure(INVALID_FIELD)
    base = 0x0210 + 0x10 * (kind >> 1)
    amount = f[2] if not kind & 1 else dev.get(G.PREPAYMENT, base + 1) + f[2]
    if amount < 0:
        raise G.Failure(INVALID_FIELD)
    p = G.PREPAYMENT
    dev.put_all(((p, base + 1, amount), (p, base, f[1]), (p, base + 2, f[3]),
                 (p, base + 3, f[5]), (p, base + 4, f[6]), (p, base + 6, f[7]),
                 (p, base + 7, max(0, f[8])), (p, base + 9, f[9])))


def _ec_setup(dev, c, f, ctx):
    dev.put_all(((G.PREPAYMENT, 0x0010, f[2]), (G.PREPAYMENT, 0x0011, f[3])))


def _credit_adjust(dev, c, f, ctx):
    """CreditAdjustment: type 0 adds to the prepayment meter balance (GCS40a), 1 sets it
    (GCS40b reset); 3 adds to the credit mode meter balance, 2 sets it (GCS40c / d)."""
    kind, value = f[2], f[3]
    if kind > 3:
        raise G.Failure(INVALID_FIELD)
    cluster, attr = (G.PREPAYMENT, 0x0001) if kind < 2 else (G.METERING, 0x0A00)
    if kind in (0, 3):
        value += dev.get(cluster, attr)
    dev.put(cluster, attr, max(0, value) if cluster == G.METERING else value)


def _low_credit(dev, c, f, ctx):
    dev.put(G.PREPAYMENT, 0x0031, f[0])


def _flow_threshold(dev, c, f, ctx):
    dev.put_all([(G.METERING, 0x0B10 + k, f[2 + k]) for k in range(6)])


def _supply_state(dev, c, f, ctx):
    """SetSupplyStatus: tamper, depletion and uncontrolled flow states (0xFF: as is)."""
    dev.put_all([(G.METERING, attr, v) for attr, v in ((0x0607, f[1]), (0x0608, f[2]),
                                                        (0x0609, f[3])) if v != 0xFF])


def _local_supply(dev, c, f, ctx):
    if f[0] == G.SUPPLY_ON and dev.get(G.METERING, 0x0014) != G.SUPPLY_ARMED:
        raise G.Failure(FAILURE)
    dev.set_supply(f[0], ctx.now, local=True)


def _tariff(dev, c, f, ctx):
    """PublishTariffInformation: tariff label, tiers and blocks in use, unit, currency,
    trailing digit, standing charge, block threshold multiplier and divisor; a snapshot
    for the billing data log (cause change of tariff)."""
    p = G.PRICE
    dev.put_all([(p, attr, v) for attr, v in (
        (0x0610, f[5]), (0x0611, f[6]), (0x0612, f[7]), (0x0615, f[8]), (0x0616, f[9]),
        (0x0617, f[10]), (0x0301, f[11]), (0x0613, f[12]), (0x0202, f[13]), (0x0203, f[14]))])
    _keep(dev, "tariff", c)
    dev.snapshot(dev.state["t"], G.CAUSE_TARIFF)


def _price_matrix(dev, c, f, ctx):
    """PublishPriceMatrix: sub-payload control bit 0 = TOU (entry id = tier), else block
    prices (id = tier << 4 | block): TierNBlockMPrice attributes 0x04NM."""
    tou = f[6] & 0x01
    prices = []
    for ident, price in f[7]:
        attr = 0x0400 + (ident << 4 if tou else ident)
        if dev.attrs.find(G.PRICE, attr) >= 0:
            prices.append((G.PRICE, attr, price))
    dev.put_all(prices)
    _keep(dev, "matrix", c)


def _thresholds(dev, c, f, ctx):
    """PublishBlockThresholds: per tier, a count (low nibble) and that many uint48
    thresholds; the meter keeps the no-tier ones (Block1-3Threshold)."""
    sub = f[7]
    p = 0
    found = []
    while p < len(sub):
        tier, n = sub[p] >> 4, sub[p] & 0x0F
        p += 1
        for k in range(n):
            if p + 6 > len(sub):
                raise G.Failure(INVALID_FIELD)
            if tier == 0 and k < 3:
                found.append((G.PRICE, 0x0100 + k, int.from_bytes(sub[p:p + 6], "little")))
            p += 6
    dev.put_all(found)
    _keep(dev, "thresholds", c)


def _calendar(dev, c, f, ctx):
    """Publish Calendar / Day Profile / Week Profile / Seasons / Special Days: kept as
    published (GCS21f reads them back); a new TOU calendar is a change of tariff."""
    _keep(dev, "c%02x" % c.command, c, f[2] if c.command else None)


def _message(dev, c, f, ctx):
    """DisplayMessage (GCS07): shown on the meter's display (kept for the status)."""
    dev.state["message"] = decode_text(f[4])[:64]
    dev._dirty = True


def _tenancy(dev, c, f, ctx):
    dev.put_all(((G.DEVICE_MANAGEMENT, 0x0200, f[3]), (G.DEVICE_MANAGEMENT, 0x0201, f[4])))
    dev.snapshot(dev.state["t"], G.CAUSE_TENANCY)


def _supplier(dev, c, f, ctx):
    """PublishChangeOfSupplier (GCS44): the new supplier's id, name and contact."""
    dm = G.DEVICE_MANAGEMENT
    dev.put_all(((dm, 0x0100, f[3]), (dm, 0x0101, f[6]), (dm, 0x0102, f[7])))
    dev.snapshot(dev.state["t"], G.CAUSE_SUPPLIER)


def _password(dev, c, f, ctx):
    # RequestNewPasswordResponse (GCS11): password type 1 with no password = PIN off.
    dev.put(G.DEVICE_MANAGEMENT, 0x0501, 1 if f[3] and not f[4] else 0)


def _site_id(dev, c, f, ctx):
    """UpdateSiteID (GCS41): the MPRN, Metering SiteID."""
    dev.put(G.METERING, 0x0307, f[3])
    dev._event(ctx.now, G.EVENT_SITE_ID_SET)


def _cin(dev, c, f, ctx):
    dev.put(G.DEVICE_MANAGEMENT, 0x0500, f[3])


def _keep(dev, name, c, ident=None):
    """Keep a published command's payload (the tariff a Get* command reads back); saved
    once the command is done (GSME._finish)."""
    if dev._kept is None:
        dev._kept = {}
    key = name if ident is None else "%s.%d" % (name, ident & 0xFFFF)
    dev._kept[key] = "".join("%02x" % b for b in c.payload)


def _change_supply(dev, c, f, ctx):
    """ChangeSupply (ZSE D.3.2.3.1.12): GBCS GCS32 closes the valve (0, off), GCS39 arms it
    (1: the consumer may then open it); SupplyStatusResponse when asked for (bit 0). Never
    opens it (GSME.check refused that before: only the consumer opens the valve)."""
    proposed = f[4]
    now = ctx.now if ctx is not None else dev.state["t"]
    before = dev.get(G.METERING, 0x0014)
    if proposed == G.SUPPLY_OFF:
        after = G.SUPPLY_OFF
    elif proposed == G.SUPPLY_ARMED:
        after = G.SUPPLY_ARMED if before != G.SUPPLY_ON else G.SUPPLY_ON
    else:
        raise G.Failure(INVALID_FIELD)
    set_supply(dev, after, now)
    if f[5] & 0x01:
        return 0x0C, secmd.encode(G.METERING, True, 0x0C, [f[0], f[1], f[3], after])
    return None


def _select_ec(dev, c, f, ctx):
    """SelectAvailableEmergencyCredit: emergency credit becomes available once the meter
    balance is at or below the threshold (SMETS2: only then may it be activated)."""
    now = ctx.now if ctx is not None else dev.state["t"]
    if dev.get(G.PREPAYMENT, 0x0001) <= dev.get(G.PREPAYMENT, 0x0011) * 1 \
            and dev.get(G.PREPAYMENT, 0x0002) <= 0:
        dev.put(G.PREPAYMENT, 0x0002, min(dev.get(G.PREPAYMENT, 0x0010), 0x7FFFFFFF))
        dev._event(now, G.EVENT_EC_ACTIVATED)
        if dev.get(G.METERING, 0x0014) == G.SUPPLY_OFF:
            set_supply(dev, G.SUPPLY_ARMED, now)


def _payment_mode(dev, c, f, ctx):
    """ChangePaymentMode (GCS02 credit / GCS03 prepayment): the payment control
    configuration and cut-off value; a snapshot for the billing data log (cause change of
    meter mode, ZSE bit 14)."""
    changed = dev.get(G.PREPAYMENT, 0x0000) != f[3]
    dev.put_all(((G.PREPAYMENT, 0x0000, f[3]), (G.PREPAYMENT, 0x0040, f[4])))
    if changed:
        dev.snapshot(dev.state["t"], G.CAUSE_MODE)
    return payment_mode_reply(dev)


def set_supply(dev, after, now, local=False):
    before = dev.get(G.METERING, 0x0014)
    if after == before:
        return
    dev.put(G.METERING, 0x0014, after)
    dev._event(now, G.EVENT_SUPPLY_ARMED if after == G.SUPPLY_ARMED else
                (G.EVENT_SUPPLY_ENABLED_LOCALLY if local else G.EVENT_SUPPLY_ENABLED)
                if after == G.SUPPLY_ON else G.EVENT_SUPPLY_DISABLED)


def _payment_mode_reply(dev, c, f, ctx):
    return payment_mode_reply(dev)


def payment_mode_reply(dev):
    # ChangePaymentModeResponse: friendly credit, its calendar, emergency credit settings.
    return 0x02, secmd.encode(G.PREPAYMENT, True, 0x02, [
        dev.state.get("friendly", 0), dev.state.get("friendly_cal", 0),
        dev.get(G.PREPAYMENT, 0x0010), dev.get(G.PREPAYMENT, 0x0011)])
