"""CS02b / CS02g, trust anchor replacement, for any GBCS device (rules: credentials)."""

from smets.gbcs import asn1, cert
from smets.gbcs.asn1 import SEQUENCE, read_as
from smets.gbcs.credentials import (
    BAD_CERTIFICATE,
    NEVER,
    NO_TRUST_ANCHOR,
    NOT_AUTHORISED,
    ROLE_NAMES,
    SEQ_NUM_FAILURE,
    SUCCESS,
    TRUST_ANCHOR_NOT_FOUND,
    ZERO8,
    _anchor,
    _cell,
    _cell_id,
    _cell_id_bytes,
    _role_code,
    _whole,
    modes,
)
from smets.gbcs.pipeline import Reject, _hex


def execute(dev, uc, msg, ctx):
    """(response content, trust anchor changes to commit or None) of a CS02b / CS02g command
    (the GBCS checks have passed)."""
    return update(dev, ctx, memoryview(msg.content), msg.message_code)


# -- CS02b / CS02g ---------------------------------------------------------------------------


def _control(dev, code, party, content):
    """The command's parts: (control fields, replacements, path, execution time or None)."""
    body = _whole(content)
    ctl, body = read_as(body, SEQUENCE)
    replacements, body = read_as(body, SEQUENCE)
    path, body = read_as(body, SEQUENCE)
    when = None
    if len(body):
        when, body = asn1.read_time(body)
    if len(body):
        raise asn1.ASN1Error("unexpected element after the execution date-time")
    f = {}
    f["mode"], ctl = asn1.read_int(ctl)
    _, ctl = asn1.optional(ctl, asn1.CONTEXT)  # [0] plaintext symmetric key (contingency)
    cpv, ctl = asn1.optional(ctl, asn1.CONTEXT | 1)
    f["cpv"] = cpv is not None and asn1.to_int(cpv) == 0
    auth, ctl = asn1.optional(ctl, asn1.CONTEXT_CONSTRUCTED | 2)
    if auth is not None:
        f["auth"], _ = _cell_id(asn1.encode(SEQUENCE, auth))
    f["seq"], ctl = asn1.read_int(ctl, asn1.CONTEXT | 3)
    floor, ctl = asn1.optional(ctl, asn1.CONTEXT | 4)
    f["floor"] = None if floor is None else asn1.to_int(floor)
    f["special"], ctl = asn1.optional(ctl, asn1.CONTEXT_CONSTRUCTED | 5)
    f["others"], ctl = asn1.optional(ctl, asn1.CONTEXT_CONSTRUCTED | 6)
    mode, auth_role, _targets = modes(dev)[code]
    if f["mode"] != mode:
        raise Reject("bad_payload", "replacement mode %d in a %04X command" % (f["mode"], code))
    if _role_code(party) != auth_role or "auth" in f and f["auth"][0] != auth_role:
        raise Reject("not_authorised", "%s may not authorise replacement mode %d"
                     % (party.role, mode))
    return f, replacements, path, when


def update(dev, ctx, content, code):
    """CS02b / CS02g: (SEQUENCE {NULL [, execution outcome]}, the trust anchor changes to
    commit now or None). A future-dated update is checked when it arrives and its changes are
    committed at its execution time (`dev.schedule_credentials`; `commit` then), with the
    outcome found now."""
    msg = ctx.msg
    f, _, _, when = _control(dev, code, ctx.party, content)
    if when is not None and (when == NEVER or when > ctx.now):
        # One pending update per use case family; the "never" date cancels the pending one.
        name = "cs02g" if code >= 0x0125 else "cs02b"
        if when == NEVER:
            dev.store.remove(name)
            dev.schedule_credentials(name, None, code, msg)
        else:
            outcome, ok, plan = evaluate(dev, code, ctx.party, content, when)
            dev.store.dump(name, {"plan": plan, "outcome": _hex(outcome), "ok": ok,
                                  "counter": msg.counter})
            dev.schedule_credentials(name, when, code, msg)
        return asn1.sequence(asn1.null()), None
    outcome, _ok, plan = evaluate(dev, code, ctx.party, content, ctx.now)
    return asn1.sequence(asn1.null(), outcome), plan


def evaluate(dev, code, party, content, now):
    """Check the trust anchor replacements of a CS02b / CS02g command against the device's
    anchors: (ExecutionOutcome DER, True if every replacement succeeds, the changes for
    `commit` or None when the sequence number check fails)."""
    f, replacements, path, _ = _control(dev, code, party, content)
    mode, auth_role, targets = modes(dev)[code]
    trust = dev.trust
    auth_name = ROLE_NAMES[auth_role]
    seq_ok = f["seq"] > (trust.get(auth_name) or {}).get("seq", 0)
    root = _anchor(trust, 0, "ca")
    issuers = []
    while len(path):
        der, path = asn1.element(path)
        try:
            c = cert.parse(der)
        except asn1.ASN1Error:
            continue
        if root is None or cert.verify(c, root[1]):
            if not f["cpv"] or c.not_before <= now <= c.not_after:
                issuers.append(c)
    outcomes = []
    anchors = []
    ok = True
    for _tag, rep in asn1.elements(replacements):
        der, rest = asn1.element(rep)
        (role, usage, cell_usage), _ = _cell_id(rest)
        cell = _cell(dev, role, usage, cell_usage)
        existing = _anchor(trust, role, cell[3]) if cell else None
        status = SUCCESS
        c = None
        if not seq_ok:
            status = SEQ_NUM_FAILURE
        elif cell is None:
            status = TRUST_ANCHOR_NOT_FOUND
        elif role not in targets:
            status = NOT_AUTHORISED
        else:
            status, c = _check_replacement(der, cell, issuers, f["cpv"], now)
        old_id, old_ski = (existing[0], cert.key_identifier(existing[1])) if existing \
            else (ZERO8, ZERO8)
        new_id, new_ski = old_id, old_ski
        if status == SUCCESS:
            new_id = c.entity or ZERO8
            new_ski = c.ski or cert.key_identifier(c.public_key)
            anchors.append([ROLE_NAMES[role], cell[3], _hex(new_id), _hex(c.public_key)])
        else:
            ok = False
        outcomes.append(asn1.sequence(
            _cell_id_bytes(role, usage, cell_usage), asn1.enumerated(status),
            asn1.octets(old_id), asn1.octets(old_ski), asn1.octets(new_id),
            asn1.octets(new_ski)))
    issuers = None
    changes = []
    # Sequence numbers: [role name, value, whether it is a floor for the party's counters].
    seqs = [[auth_name, f["seq"], False]]
    if f["floor"] is not None:
        changes.append(asn1.sequence(asn1.integer(auth_role), asn1.integer(f["floor"]),
                                     asn1.encode(SEQUENCE, f["special"])
                                     if f["special"] is not None else b""))
        seqs.append([auth_name, f["floor"], True])
    if f["others"] is not None:
        for _tag, ch in asn1.elements(f["others"]):
            changes.append(asn1.encode(SEQUENCE, ch))
            role, ch = asn1.read_int(ch)
            floor, _ = asn1.read_int(ch)
            if role in ROLE_NAMES:
                seqs.append([ROLE_NAMES[role], floor, True])
    outcome = asn1.sequence(asn1.integer(f["seq"]), asn1.integer(mode),
                            asn1.sequence(*changes), asn1.sequence(*outcomes))
    return outcome, ok, ({"anchors": anchors, "seq": seqs, "mode": mode} if seq_ok else None)


def _check_replacement(der, cell, issuers, cpv, now):
    """(status, Certificate) of a replacement certificate for a cell."""
    try:
        c = cert.parse(der)
    except asn1.ASN1Error:
        return BAD_CERTIFICATE, None
    role = cell[0]
    if c.key_usage != cell[1] or not (c.role == role or role == 8 and c.role in (2, 8)
                                      or role == 0 and c.role in (0, None)):
        return BAD_CERTIFICATE, None
    if cpv and not c.not_before <= now <= c.not_after:
        return BAD_CERTIFICATE, None
    for issuer in issuers:
        if (c.aki is None or issuer.ski == c.aki) and cert.verify(c, issuer.public_key):
            return SUCCESS, c
    return NO_TRUST_ANCHOR, None


