"""GBCS use-case rows: the one reader of the compact row format devices keep their use cases in.

A row (written by a device model's builder, e.g. smets.devices.esme_model.build):

  code(2) roles(1) flags(1) n(1) name(n) [script(2) if FLAG_SCRIPT] [sig_roles(1) if FLAG_ASN1]
  alternatives(1) { k(1) words(2k) } * alternatives

`roles` and `sig_roles` are remote party role bits (smets.gbcs.pipeline.ROLE_BITS); the words
of an alternative are the device's own template (the ESME: DLMS request kind << 13 | slot).
The firmware walks rows in place (no object per row until one is asked for); the host's use-case
library reads the same rows through `rows()`.
"""

try:
    from micropython import const
except ImportError:  # CPython

    def const(x):  # type: ignore[misc]  # CPython has no micropython.const
        return x


FLAG_CRITICAL = const(1)  # critical command: signed by the originator, signed response
FLAG_TIME = const(2)  # the response header carries the device date-time (gbcs-notes 7.3)
FLAG_OPTIONAL = const(4)  # the request's specs are an ordered subset of the template
FLAG_SCRIPT = const(8)  # the row names the script id an action must carry
FLAG_ASN1 = const(16)  # an ASN.1 payload (CS02x): sig_roles byte, no templates
FLAG_SIGNED = const(32)  # the response is signed even when the command is not critical
FLAG_DEVICE = const(64)  # the device model's own meaning (GSME: responses set the ZCL DDR bit)
FLAG_TWIN = const(64)  # ESME's FLAG_DEVICE: only a twin-element meter has this use case
FLAG_POLYPHASE = const(128)  # only a polyphase meter has this use case (phases 2 and 3)


class UseCase:
    """One row of a device's use-case table.

    `sig_roles`: roles that may send the command signed but without the ACB's MAC (GBCS lets
    some security-credential commands, e.g. CS02b from the Recovery party, reach the device
    without the ACB); `signed`: the response is signed by the device even when the command is
    not critical (CS02b responses); `template`: where the row starts in its table (or any
    device-specific template)."""

    __slots__ = ("code", "name", "roles", "critical", "response_time", "template", "sig_roles",
                 "signed")

    def __init__(self, code, name, roles, critical=False, response_time=False, template=None,
                 sig_roles=0, signed=False):
        self.code = code
        self.name = name
        self.roles = roles
        self.critical = critical
        self.response_time = response_time
        self.template = template
        self.sig_roles = sig_roles
        self.signed = signed


def asn1_row(code, name, roles, flags=0, sig_roles=0):
    """One row of an ASN.1 use case (no ACCESS templates): for devices whose few use cases
    are written as a tuple of rows rather than compiled from a model (PPMID, HCALCS)."""
    n = name.encode()
    return bytes((code >> 8, code & 0xFF, roles, flags | FLAG_ASN1, len(n))) + n + bytes(
        (sig_roles, 0))


def past_name(rows, p):
    """Where the row at p goes on after its name and script id (its sig_roles byte, or its
    alternatives count)."""
    q = p + 5 + rows[p + 4]
    return q + 2 if rows[p + 3] & FLAG_SCRIPT else q


def script(rows, p):
    """The script id an action of the row at p must carry, or None."""
    if not rows[p + 3] & FLAG_SCRIPT:
        return None
    q = p + 5 + rows[p + 4]
    return (rows[q] << 8) | rows[q + 1]


def alternatives(rows, p):
    """Where the alternatives count of the row at p is."""
    q = past_name(rows, p)
    return q + 1 if rows[p + 3] & FLAG_ASN1 else q


def next_row(rows, p):
    """Where the row after the one at p starts."""
    q = alternatives(rows, p)
    n = rows[q]
    q += 1
    for _ in range(n):
        q += 1 + 2 * rows[q]
    return q


def code(rows, p):
    return (rows[p] << 8) | rows[p + 1]


def name(rows, p):
    return bytes(rows[p + 5:p + 5 + rows[p + 4]]).decode()


def use_case(rows, p):
    """The UseCase of the row at p (its `template` is p)."""
    flags = rows[p + 3]
    return UseCase(code(rows, p), name(rows, p), rows[p + 2], bool(flags & FLAG_CRITICAL),
                   bool(flags & FLAG_TIME), p,
                   rows[past_name(rows, p)] if flags & FLAG_ASN1 else 0,
                   bool(flags & FLAG_SIGNED))


def rows(table):
    """Where every row of `table` starts."""
    p = 0
    while p < len(table):
        yield p
        p = next_row(table, p)


class Table:
    """A device's use-case rows behind the dict-like view the pipeline reads (USE_CASES)."""

    def __init__(self, table):
        self.rows = table

    def get(self, message_code):
        """The UseCase of a message code, or None (only that row becomes an object)."""
        r = self.rows
        hi = message_code >> 8
        lo = message_code & 0xFF
        for p in rows(r):
            if r[p] == hi and r[p + 1] == lo:
                return use_case(r, p)
        return None

    def names(self):
        """(code, name) of every row, without building UseCase objects."""
        r = self.rows
        for p in rows(r):
            yield code(r, p), name(r, p)

    def values(self):
        return [use_case(self.rows, p) for p in rows(self.rows)]


def template_error(rows, uc, words, specs, content, action_kind):
    """Why the ACCESS-Request specs of a command do not fit its use case's row, or None.

    `words` holds the request's template words (kind << 13 | slot, two bytes each); `specs` the
    parsed (kind, key, selector position, data position); an action of a row with a script id
    must carry it (`content[dpos:dpos + 3]`, long-unsigned). Alternatives are tried in turn;
    with FLAG_OPTIONAL the request's words may be an ordered, non-empty subset of one."""
    p = uc.template
    sid = script(rows, p)
    if sid is not None:
        # The script the use case must run (ECS42 close 51, ECS43 open 52, ECS44 arm 54).
        want = b"\x12" + sid.to_bytes(2, "big")
        for kind, _key, _sel, dpos in specs:
            if kind == action_kind and content[dpos:dpos + 3] != want:
                return "%s must run script %d" % (uc.name, sid)
    optional = rows[p + 3] & FLAG_OPTIONAL
    q = alternatives(rows, p)
    n = len(words)
    for _ in range(rows[q]):
        k = rows[q + 1]
        tpl = rows[q + 2:q + 2 + 2 * k]
        q += 1 + 2 * k  # the next alternative's count byte is at q + 1
        if optional:
            j = 0
            for i in range(0, len(tpl), 2):
                if j < n and tpl[i:i + 2] == words[j:j + 2]:
                    j += 2
            if n and j == n:
                return None
        elif tpl == words:
            return None
    return "%s request does not match its template" % uc.name
