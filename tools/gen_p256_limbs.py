"""Generate the viper P-256 field modules firmware/smets/gbcs/p256_w26.py and p256_w13.py.

    python tools/gen_p256_limbs.py          # write them
    python tools/gen_p256_limbs.py --check  # exit 1 if they are not what this script writes

MicroPython's viper emitter computes in machine words: 64-bit on the unix port (x64), 32-bit
on an ESP32 (xtensawin, rv32imc). A field element is N limbs of W bits in one `array("i")`
(viper has 8-, 16- and 32-bit loads only), in Montgomery form with R = 2^(W*N) = 2^260 for
both limb sizes, so a value in Montgomery form is the same number on every board.

The multiply is product scanning (Comba) with the Montgomery reduction folded into the same
column sums. p = 2^256 - 2^224 + 2^192 + 2^96 - 1 is -1 mod 2^W for any W <= 96, so the
reduction digit of column k is m_k = (column k) mod 2^W, and adding m_k * p * 2^(kW) costs no
multiplication: -m_k cancels the column's low W bits, and +m_k * 2^96, +m_k * 2^192,
-m_k * 2^224, +m_k * 2^256 land as shifted digits in columns k + e // W (shift e % W).
Unrolled per limb size, because viper loops cost ~10x the arithmetic they control.

Limb sizes and the largest column value (checked by `column_bound` and the tests):
  W = 26, N = 10 (64-bit words): 10 products < 2^52 plus 4 shifted digits: < 2^56
  W = 13, N = 20 (32-bit words): 20 products < 2^26 plus 4 shifted digits: < 2^30.4
so the 13-bit module is exact on a 32-bit ESP32 and, being exact there, gives the same limbs
on the 64-bit unix port, where the core tests run both modules against Python ints.
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "firmware" / "smets" / "gbcs"

P = 0xFFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFF
# p = -1 + 2^96 + 2^192 - 2^224 + 2^256: (exponent, sign) of the terms after the -1.
REDUCTION = ((96, 1), (192, 1), (224, -1), (256, 1))

# (W, N, machine word bits it is for, unrolled). Unrolled code is ~3x faster and ~5x larger:
# on the unix port native code lives outside the heap; an ESP32 keeps it in IRAM (xtensawin)
# or internal RAM, where the 13-bit module's 20 x 20 unrolled products would take ~60 KB.
VARIANTS = ((26, 10, 64, True), (13, 20, 32, False))

# Slots (N limbs each) of the workspace. Shared by both modules, so the Python glue in
# p256.py names them once.
SLOTS = (
    "X", "Y", "Z",            # Jacobian accumulator (Montgomery form)
    "X2", "Y2",               # affine addend (Montgomery form)
    "T0", "T1", "T2", "T3", "T4", "T5", "T6", "T7",
    "ONE",                    # R mod p (1 in Montgomery form)
    "R2", "R3",               # R^2, R^3 mod p (into Montgomery form; after an inversion)
    "P",                      # p, plain
    "ZERO",
    "PLAIN1",                 # 1, plain (out of Montgomery form)
    "NORD",                   # n, the group order, plain
    "MOD",                    # modulus of `inv` (p or n)
    "IU", "IV", "IX1", "IX2",  # `inv` scratch
    "TMP", "TMPU",            # scratch of `run`
)
S = {name: i for i, name in enumerate(SLOTS)}

OPS = ("MUL", "ADD", "SUB", "LOAD", "STORE", "COPY", "JZ", "JNZ")
OP = {name: i + 1 for i, name in enumerate(OPS)}


def column_bound(w, n):
    """Largest |column value| the unrolled multiply can hold, for limbs < 2^w."""
    limb = (1 << w) - 1
    worst = 0
    carry = 0
    for k in range(2 * n):
        products = min(k, n - 1) - max(0, k - n + 1) + 1
        digits = sum(limb << (e % w) for e, _ in REDUCTION if 0 <= k - e // w < n)
        worst = max(worst, products * limb * limb + digits + carry)
        carry = worst >> w
    return worst


# --- point programs: (op, d, a, b) with slot names; LOAD/STORE take an entry number as a -----


def _t(i):
    return "T%d" % i


# dbl-2001-b, a = -3: delta = Z^2, gamma = Y^2, beta = X*gamma, alpha = 3(X - delta)(X + delta),
# X3 = alpha^2 - 8 beta, Z3 = 2 Y Z, Y3 = alpha (4 beta - X3) - 8 gamma^2.
DBL = (
    ("MUL", "T0", "Z", "Z"),      # delta
    ("MUL", "T1", "Y", "Y"),      # gamma
    ("MUL", "T2", "X", "T1"),     # beta
    ("SUB", "T3", "X", "T0"),
    ("ADD", "T4", "X", "T0"),
    ("MUL", "T3", "T3", "T4"),
    ("ADD", "T4", "T3", "T3"),
    ("ADD", "T3", "T4", "T3"),    # alpha
    ("MUL", "Z", "Y", "Z"),
    ("ADD", "Z", "Z", "Z"),       # Z3 = 2YZ
    ("ADD", "T2", "T2", "T2"),
    ("ADD", "T2", "T2", "T2"),    # 4 beta
    ("MUL", "X", "T3", "T3"),
    ("SUB", "X", "X", "T2"),
    ("SUB", "X", "X", "T2"),      # X3
    ("SUB", "T2", "T2", "X"),
    ("MUL", "T2", "T3", "T2"),
    ("MUL", "T1", "T1", "T1"),
    ("ADD", "T1", "T1", "T1"),
    ("ADD", "T1", "T1", "T1"),
    ("ADD", "T1", "T1", "T1"),    # 8 gamma^2
    ("SUB", "Y", "T2", "T1"),
)

# Mixed addition (X, Y, Z) + (X2, Y2): stops at JZ when h = 0 (equal or opposite points),
# with r in T2 for the caller to tell them apart.
_MADD_BODY = (
    ("MUL", "T0", "Z", "Z"),      # z1z1
    ("MUL", "T1", "X2", "T0"),
    ("SUB", "T1", "T1", "X"),     # h
    ("MUL", "T2", "Z", "T0"),
    ("MUL", "T2", "Y2", "T2"),
    ("SUB", "T2", "T2", "Y"),     # r
    ("JZ", "T1", "T1", "T1"),
    ("MUL", "T3", "T1", "T1"),    # hh
    ("MUL", "T4", "T1", "T3"),    # hhh
    ("MUL", "T5", "X", "T3"),     # v
    ("MUL", "X", "T2", "T2"),
    ("SUB", "X", "X", "T4"),
    ("SUB", "X", "X", "T5"),
    ("SUB", "X", "X", "T5"),      # X3 = r^2 - hhh - 2v
    ("SUB", "T5", "T5", "X"),
    ("MUL", "T5", "T2", "T5"),
    ("MUL", "Y", "Y", "T4"),
    ("SUB", "Y", "T5", "Y"),      # Y3 = r (v - X3) - Y hhh
    ("MUL", "Z", "Z", "T1"),      # Z3 = Z h
)
_LOAD = (("LOAD", "X2", 0, 0), ("LOAD", "Y2", 1, 0))
_LOAD_NEG = (("LOAD", "X2", 0, 0), ("LOAD", "T7", 1, 0), ("SUB", "Y2", "ZERO", "T7"))
PROGRAMS = {
    "DBL": DBL,
    # Table entry (x, y) at the given offset added to the accumulator; SET starts it.
    "MADD": _LOAD + _MADD_BODY,
    "MADD_NEG": _LOAD_NEG + _MADD_BODY,
    "SET": (("LOAD", "X", 0, 0), ("LOAD", "Y", 1, 0), ("COPY", "Z", "ONE", 0)),
    "SET_NEG": (("LOAD", "X", 0, 0), ("LOAD", "T7", 1, 0), ("SUB", "Y", "ZERO", "T7"),
                ("COPY", "Z", "ONE", 0)),
    # Affine of the accumulator, T0 = Z^-1 (Montgomery) set by the caller: X2, Y2 = X/Z^2,
    # Y/Z^3 in Montgomery form, stored as entry 0 (x) and 1 (y) at the given offset.
    "AFFINE_STORE": (("MUL", "T1", "T0", "T0"), ("MUL", "X2", "X", "T1"),
                     ("MUL", "T1", "T1", "T0"), ("MUL", "Y2", "Y", "T1"),
                     ("STORE", "X2", 0, 0), ("STORE", "Y2", 1, 0)),
    # The same, out of Montgomery form (canonical x, y for the caller).
    "AFFINE_PLAIN": (("MUL", "T1", "T0", "T0"), ("MUL", "X2", "X", "T1"),
                     ("MUL", "T1", "T1", "T0"), ("MUL", "Y2", "Y", "T1"),
                     ("MUL", "X2", "X2", "PLAIN1"), ("MUL", "Y2", "Y2", "PLAIN1"),
                     ("STORE", "X2", 0, 0), ("STORE", "Y2", 1, 0)),
    # Entry 0 (plain) into Montgomery form and back out, entry 0 <-> entry 0.
    "TO_MONT": (("LOAD", "T0", 0, 0), ("MUL", "T0", "T0", "R2"), ("STORE", "T0", 0, 0)),
    "FROM_MONT": (("LOAD", "T0", 0, 0), ("MUL", "T0", "T0", "PLAIN1"), ("STORE", "T0", 0, 0)),
    # ECDSA: does x (plain, entry 0) equal X / Z^2? Stops at JZ (pc < count) when it does.
    "X_MATCH": (("LOAD", "T0", 0, 0), ("MUL", "T0", "T0", "R2"), ("MUL", "T1", "Z", "Z"),
                ("MUL", "T0", "T0", "T1"), ("SUB", "T0", "T0", "X"), ("JZ", "T0", "T0", "T0")),
}


def _escapes(text):
    """The characters of a bytes repr body, an escape sequence being one."""
    i = 0
    while i < len(text):
        n = 4 if text.startswith("\\x", i) else 2 if text[i] == "\\" else 1
        yield text[i : i + n]
        i += n


def program_bytes(ops):
    out = bytearray([len(ops)])
    for op, d, a, b in ops:
        out.append(OP[op])
        out.append(S[d])
        out.append(a if isinstance(a, int) else S[a])
        out.append(b if isinstance(b, int) else S[b])
    return bytes(out)


# --- code -----------------------------------------------------------------------------------


def _columns(w, n, square):
    """Lines of the product-scanning Montgomery multiply (locals a_i, b_i loaded) leaving
    the N result limbs in locals r0..r(N-1)."""
    lines = []
    for k in range(2 * n):
        lo, hi = max(0, k - n + 1), min(k, n - 1)
        if square:
            pairs = ["a%d * a%d" % (i, k - i) for i in range(lo, hi + 1) if i < k - i]
            expr = " + ".join(pairs)
            if pairs:
                expr = "((%s) << 1)" % expr if len(pairs) > 1 else "(%s << 1)" % expr
            if k % 2 == 0 and lo <= k // 2 <= hi:
                expr = (expr + " + " if expr else "") + "a%d * a%d" % (k // 2, k // 2)
        else:
            expr = " + ".join("a%d * b%d" % (i, k - i) for i in range(lo, hi + 1))
        digits = ""
        for e, sign in REDUCTION:
            j = k - e // w
            if 0 <= j < n:
                sh = e % w
                term = "(m%d << %d)" % (j, sh) if sh else "m%d" % j
                digits += (" + " if sign > 0 else " - ") + term
        if k == 0:
            lines.append("c = " + expr)
        elif expr:
            lines.append("c += " + expr + digits)
        else:
            lines.append("c += " + digits[3:] if digits.startswith(" + ") else "c = c" + digits)
        if k < n:
            lines.append("m%d = c & _MASK" % k)
        else:
            lines.append("r%d = c & _MASK" % (k - n))
        lines.append("c >>= _W")
    return lines


def _load(n, names="ab"):
    lines = []
    for name in names:
        for i in range(n):
            lines.append("%s%d = ws[%s + %d]" % (name, i, name, i) if i else
                         "%s0 = ws[%s]" % (name, name))
    return lines


def _store(n, src="r", dst="d"):
    return ["ws[%s + %d] = %s%d" % (dst, i, src, i) if i else "ws[%s] = %s0" % (dst, src)
            for i in range(n)]


def _canon(w, n, p_limbs):
    """r (< 2p) to slot d, less p unless it is below p."""
    lines = ["c = 0"]
    for i in range(n):
        lines.append("c += r%d - %d" % (i, p_limbs[i]) if p_limbs[i] else "c += r%d" % i)
        lines.append("s%d = c & _MASK" % i)
        lines.append("c >>= _W")
    lines.append("if c < 0:")
    lines += ["    " + x for x in _store(n, "r")]
    lines.append("else:")
    lines += ["    " + x for x in _store(n, "s")]
    return lines


def _mul_body(w, n, p_limbs, square):
    lines = _load(n, "a" if square else "ab") + _columns(w, n, square)
    # The result is below 2p; below p unless its top limb reaches p's (p's top limb is all
    # ones: rare), so the full comparison is skipped in nearly every product.
    lines.append("if r%d < %d:" % (n - 1, p_limbs[n - 1]))
    lines += ["    " + x for x in _store(n)]
    lines.append("else:")
    lines += ["    " + x for x in _canon(w, n, p_limbs)]
    return lines


def _add_body(w, n, p_limbs):
    lines = _load(n) + ["c = 0"]
    for i in range(n):
        lines += ["c += a%d + b%d" % (i, i), "r%d = c & _MASK" % i, "c >>= _W"]
    return lines + _canon(w, n, p_limbs)


def _sub_body(w, n, p_limbs):
    lines = _load(n) + ["c = 0"]
    for i in range(n):
        lines += ["c += a%d - b%d" % (i, i), "r%d = c & _MASK" % i, "c >>= _W"]
    lines.append("if c < 0:  # a < b: add p back (the carry out cancels the borrow)")
    add = ["c = 0"]
    for i in range(n):
        add += ["c += r%d + %d" % (i, p_limbs[i]) if p_limbs[i] else "c += r%d" % i,
                "r%d = c & _MASK" % i, "c >>= _W"]
    lines += ["    " + x for x in add]
    return lines + _store(n)


def _shr1(n, v):
    return ["ws[%s%s] = (ws[%s%s] >> 1) | ((ws[%s + %d] & 1) << %s)" % (
        v, " + %d" % i if i else "", v, " + %d" % i if i else "", v, i + 1, "(_W - 1)")
        for i in range(n - 1)] + ["ws[%s + %d] >>= 1" % (v, n - 1)]


def _inv_parts(w, n):
    init = ["c = 0"]
    for i in range(n):
        o = " + %d" % i if i else ""
        init += ["ws[_IU%s] = ws[a%s]" % (o, o), "ws[_IV%s] = ws[_MOD%s]" % (o, o),
                 "ws[_IX1%s] = 0" % o, "ws[_IX2%s] = 0" % o, "c |= ws[a%s]" % o]
    halve = ["c = ws[u]"] + ["c |= ws[u + %d]" % i for i in range(1, n)]
    halve += ["if c == 0:", "    return 0  # gcd > 1"]
    halve += _shr1(n, "u")
    halve.append("if ws[x] & 1:")
    add = ["c = 0"]
    for i in range(n):
        o = " + %d" % i if i else ""
        add += ["c += ws[x%s] + ws[_MOD%s]" % (o, o), "ws[x%s] = c & _MASK" % o, "c >>= _W"]
    halve += ["    " + x for x in add]
    halve += _shr1(n, "x")
    done = []
    for u, x in (("_IU", "_IX1"), ("_IV", "_IX2")):
        done.append("c = ws[%s] ^ 1" % u)
        done += ["c |= ws[%s + %d]" % (u, i) for i in range(1, n)]
        done.append("if c == 0:")
        done += ["    ws[d%s] = ws[%s%s]" % (" + %d" % i if i else "", x,
                                               " + %d" % i if i else "") for i in range(n)]
        done.append("    return 1")
    step = ["c = 0"]
    for i in range(n):
        o = " + %d" % i if i else ""
        step += ["c += ws[_IU%s] - ws[_IV%s]" % (o, o), "t%d = c & _MASK" % i, "c >>= _W"]
    step.append("if c >= 0:  # u >= v: u -= v, x1 -= x2")
    sub = ["u = _IU"] + ["ws[u%s] = t%d" % (" + %d" % i if i else "", i)
                                    for i in range(n)]
    sub += ["x = _IX1", "y = _IX2"]
    step += ["    " + x for x in sub]
    step.append("else:  # v -= u, x2 -= x1")
    sub = ["x = _IX2", "y = _IX1", "c = 0"]
    for i in range(n):
        o = " + %d" % i if i else ""
        sub += ["c += ws[_IV%s] - ws[_IU%s]" % (o, o), "ws[_IV%s] = c & _MASK" % o, "c >>= _W"]
    step += ["    " + x for x in sub]
    step.append("c = 0")
    for i in range(n):
        o = " + %d" % i if i else ""
        step += ["c += ws[x%s] - ws[y%s]" % (o, o), "ws[x%s] = c & _MASK" % o, "c >>= _W"]
    step.append("if c < 0:")
    step += ["    " + x for x in add]
    return init, halve, done, step


def _wrap(line, ind, width=99):
    """A long `c += x + y - ...` statement split inside parentheses at its + / - signs."""
    if len(ind + line) <= width or " += " not in line:
        return [ind + line]
    head, expr = line.split(" += ", 1)
    out = []
    cur = ind + head + " += ("
    for tok in expr.replace(" - ", " + -").split(" + "):
        sign, tok = ("- ", tok[1:]) if tok.startswith("-") else ("+ ", tok)
        piece = tok if cur.endswith("(") else sign + tok
        if len(cur) + len(piece) + 2 > width:
            out.append(cur.rstrip())
            cur = ind + "    "
        cur += piece + " "
    out.append(cur.rstrip() + ")")
    return out


def _indent(lines, ind):
    out = []
    for line in lines:
        out += _wrap(line, ind)
    return "\n".join(out)


TEMPLATE = '''\
# GENERATED by tools/gen_p256_limbs.py; edit that script, not this file.
# ruff: noqa: F821 (ptr8, ptr32: viper's pointer types)
"""P-256 field arithmetic over {n} limbs of {w} bits for MicroPython's viper emitter
({bits}-bit machine words: exact while every column stays below 2^{bound_bits});
{style}.

Field elements are slots of N limbs in one array("i") workspace, in Montgomery form
(R = 2^260) and canonical (< p) after every operation. `run` executes a program of field
operations (tools/gen_p256_limbs.py has them with their formulas) without a Python call per
operation; `inv` inverts modulo any odd modulus. Both allocate nothing.
"""

import micropython
from micropython import const

W = const({w})
N = const({n})
_W = const({w})
_MASK = const({mask})
_N = const({n})
_MOD = const({mod_off})
_TMP = const({tmp_off})
_TMPU = const({tmpu_off})
_P = const({p_off})
_IU = const({iu_off})
_IV = const({iv_off})
_IX1 = const({ix1_off})
_IX2 = const({ix2_off})
SLOTS = const({nslots})
{slot_consts}
{op_consts}
P_LIMBS = (
    {p_limbs}
)

{programs}

@micropython.viper
def run(ws: ptr32, prog: ptr8, tab: ptr8, toff: int) -> int:
    """Run a program: a count byte, then op d a b bytes (slot numbers; for LOAD and STORE
    `a` is an entry number: 32-byte big-endian values at tab + toff + 32 * entry).
    Returns the number of the JZ/JNZ op that stopped it, or the op count."""
    count = prog[0]
    pc = 0
    while pc < count:
        o = 1 + (pc << 2)
        op = prog[o]
        d = prog[o + 1] * _N
        a = prog[o + 2] * _N
        b = prog[o + 3] * _N
        if op == {MUL}:
{mul_code}
        elif op == {ADD}:
{add_code}
        elif op == {SUB}:
{sub_code}
        elif op == {LOAD}:
            src = toff + (prog[o + 2] << 5) + 31
            end = src - 32
            c = 0
            bits = 0
            i = 0
            while src > end:
                c |= tab[src] << bits
                bits += 8
                src -= 1
                if bits >= _W:
                    ws[d + i] = c & _MASK
                    c >>= _W
                    bits -= _W
                    i += 1
            while i < _N:
                ws[d + i] = c
                c = 0
                i += 1
        elif op == {STORE}:
            dst = toff + (prog[o + 2] << 5) + 31
            end = dst - 32
            c = 0
            bits = 0
            i = 0
            while dst > end:
                if bits < 8 and i < _N:
                    c |= ws[d + i] << bits
                    bits += _W
                    i += 1
                tab[dst] = c & 0xFF
                c >>= 8
                bits -= 8
                dst -= 1
        elif op == {COPY}:
            i = 0
            while i < _N:
                ws[d + i] = ws[a + i]
                i += 1
        else:  # JZ / JNZ
            c = 0
            i = 0
            while i < _N:
                c |= ws[d + i]
                i += 1
            if op == {JZ}:
                if c == 0:
                    return pc
            elif c != 0:
                return pc
        pc += 1
    return pc


@micropython.viper
def inv(ws: ptr32, d: int, a: int) -> int:
    """Slot d = (slot a)^-1 mod (slot MOD, odd), plain values (binary extended Euclid:
    shifts and subtractions only). Returns 0 when slot a is 0 (no inverse), else 1."""
    d *= _N
    a *= _N
{inv_code}'''


INV_HEAD = """\
    init
    if c == 0:
        return 0
    ws[_IX1] = 1
    while True:
        # u, v: halved while even, each with its coefficient x (x/2 mod m: x + m when odd).
        k = 0
        while k < 2:
            u = _IU
            x = _IX1
            if k:
                u = _IV
                x = _IX2
            while (ws[u] & 1) == 0:
halve
            k += 1
        # Done when u or v is 1.
done
        # The larger of u, v less the other; its coefficient likewise, mod m.
step"""

# Loop versions (compact): the same arithmetic, N limbs at a time.
LOOP_MUL = """\
c = 0
k = 0
while k < _N + _N:
    i = k - _N + 1
    if i < 0:
        i = 0
    j = k
    if j > _N - 1:
        j = _N - 1
    while i <= j:
        c += ws[a + i] * ws[b + k - i]
        i += 1
digits
    if k < _N:
        ws[_TMPU + k] = c & _MASK
    else:
        ws[_TMP + k - _N] = c & _MASK
    c >>= _W
    k += 1
"""
LOOP_CANON = """\
# TMP (< 2p) to d, less p unless it is below p.
c = 0
i = 0
while i < _N:
    c += ws[_TMP + i] - ws[_P + i]
    ws[_TMPU + i] = c & _MASK
    c >>= _W
    i += 1
src = _TMPU
if c < 0:
    src = _TMP
i = 0
while i < _N:
    ws[d + i] = ws[src + i]
    i += 1"""
LOOP_ADD = """\
c = 0
i = 0
while i < _N:
    c += ws[a + i] + ws[b + i]
    ws[_TMP + i] = c & _MASK
    c >>= _W
    i += 1
"""
LOOP_SUB = """\
c = 0
i = 0
while i < _N:
    c += ws[a + i] - ws[b + i]
    ws[_TMP + i] = c & _MASK
    c >>= _W
    i += 1
b = c
c = 0
i = 0
while i < _N:
    c += ws[_TMP + i]
    if b < 0:  # a < b: add p back (the carry out cancels the borrow)
        c += ws[_P + i]
    ws[d + i] = c & _MASK
    c >>= _W
    i += 1"""
LOOP_INV_INIT = """\
c = 0
i = 0
while i < _N:
    ws[_IU + i] = ws[a + i]
    ws[_IV + i] = ws[_MOD + i]
    ws[_IX1 + i] = 0
    ws[_IX2 + i] = 0
    c |= ws[a + i]
    i += 1"""
LOOP_HALVE = """\
c = 0
i = 0
while i < _N:
    c |= ws[u + i]
    i += 1
if c == 0:
    return 0  # gcd > 1
z = u
while True:
    i = 0
    while i < _N - 1:
        ws[z + i] = (ws[z + i] >> 1) | ((ws[z + i + 1] & 1) << (_W - 1))
        i += 1
    ws[z + _N - 1] = ws[z + _N - 1] >> 1
    if z == x:
        break
    z = x
    if ws[x] & 1:
        c = 0
        i = 0
        while i < _N:
            c += ws[x + i] + ws[_MOD + i]
            ws[x + i] = c & _MASK
            c >>= _W
            i += 1"""
LOOP_DONE = """\
k = 0
while k < 2:
    u = _IU
    x = _IX1
    if k:
        u = _IV
        x = _IX2
    c = ws[u] ^ 1
    i = 1
    while i < _N:
        c |= ws[u + i]
        i += 1
    if c == 0:
        i = 0
        while i < _N:
            ws[d + i] = ws[x + i]
            i += 1
        return 1
    k += 1"""
LOOP_STEP = """\
i = _N - 1
while i > 0 and ws[_IU + i] == ws[_IV + i]:
    i -= 1
u = _IU
v = _IV
x = _IX1
y = _IX2
if ws[_IU + i] < ws[_IV + i]:
    u = _IV
    v = _IU
    x = _IX2
    y = _IX1
c = 0
i = 0
while i < _N:
    c += ws[u + i] - ws[v + i]
    ws[u + i] = c & _MASK
    c >>= _W
    i += 1
c = 0
i = 0
while i < _N:
    c += ws[x + i] - ws[y + i]
    ws[x + i] = c & _MASK
    c >>= _W
    i += 1
if c < 0:
    c = 0
    i = 0
    while i < _N:
        c += ws[x + i] + ws[_MOD + i]
        ws[x + i] = c & _MASK
        c >>= _W
        i += 1"""


def _loop_digits(w):
    lines = []
    for e, sign in REDUCTION:
        q, sh = divmod(e, w)
        term = "(ws[_TMPU + i] << %d)" % sh if sh else "ws[_TMPU + i]"
        lines += ["i = k - %d" % q, "if i >= 0 and i < _N:",
                  "    c %s= %s" % ("+" if sign > 0 else "-", term)]
    return "\n".join("    " + x for x in lines)


def _inv_code(w, n, unrolled):
    if unrolled:
        init, halve, done, step = _inv_parts(w, n)
        init, halve, done, step = (_indent(init, " " * 4), _indent(halve, " " * 16),
                                   _indent(done, " " * 8), _indent(step, " " * 8))
    else:
        init = _indent(LOOP_INV_INIT.split("\n"), " " * 4)
        halve = _indent(LOOP_HALVE.split("\n"), " " * 16)
        done = _indent(LOOP_DONE.split("\n"), " " * 8)
        step = _indent(LOOP_STEP.split("\n"), " " * 8)
    text = INV_HEAD.replace("    init\n", init + "\n").replace("halve\n", halve + "\n")
    return text.replace("done\n", done + "\n").replace("step", step, 1)


def _ops_code(w, n, p_limbs, unrolled):
    if unrolled:
        mul = (["if a == b:"] + ["    " + x for x in _mul_body(w, n, p_limbs, True)] +
               ["else:"] + ["    " + x for x in _mul_body(w, n, p_limbs, False)])
        return (_indent(mul, " " * 12), _indent(_add_body(w, n, p_limbs), " " * 12),
                _indent(_sub_body(w, n, p_limbs), " " * 12))
    mul = LOOP_MUL.replace("digits\n", _loop_digits(w) + "\n") + LOOP_CANON
    return (_indent(mul.split("\n"), " " * 12),
            _indent((LOOP_ADD + LOOP_CANON).split("\n"), " " * 12),
            _indent(LOOP_SUB.split("\n"), " " * 12))


def generate(w, n, bits, unrolled):
    mask = (1 << w) - 1
    assert -pow(P, -1, 1 << w) % (1 << w) == 1
    assert w * n == 260
    bound = column_bound(w, n)
    assert bound < (1 << (bits - 1)), (w, n, bound)
    progs = []
    for name, ops in PROGRAMS.items():
        text = repr(program_bytes(ops))
        chunks = [text[i : i + 80] for i in range(2, len(text) - 1, 80)]
        # Split between escapes only: a chunk must not end inside "\x..".
        parts, cur = [], ""
        for ch in _escapes(text[2:-1]):
            if len(cur) + len(ch) > 80:
                parts.append(cur)
                cur = ""
            cur += ch
        parts.append(cur)
        del chunks
        progs.append("%s = (\n%s\n)" % (name, "\n".join("    b'%s'" % c for c in parts)))
    p_limbs = tuple((P >> (w * i)) & mask for i in range(n))
    mul_code, add_code, sub_code = _ops_code(w, n, p_limbs, unrolled)
    fields = {
        "w": w, "n": n, "bits": bits, "mask": mask, "bound_bits": bound.bit_length(),
        "mod_off": S["MOD"] * n, "iu_off": S["IU"] * n, "iv_off": S["IV"] * n,
        "slot_consts": "\n".join("S_%s = const(%d)" % (k, v) for k, v in S.items()),
        "op_consts": "\n".join("OP_%s = const(%d)" % (k, v) for k, v in OP.items()),
        "ix1_off": S["IX1"] * n, "ix2_off": S["IX2"] * n, "nslots": len(SLOTS),
        "p_limbs": ",\n    ".join(", ".join(str(v) for v in p_limbs[i : i + 8])
                                   for i in range(0, n, 8)) + ",", "programs": "\n".join(progs),
        "mul_code": mul_code, "add_code": add_code, "sub_code": sub_code,
        "inv_code": _inv_code(w, n, unrolled),
        "tmp_off": S["TMP"] * n, "tmpu_off": S["TMPU"] * n, "p_off": S["P"] * n,
        "style": "unrolled" if unrolled else "loops over the limbs (compact native code)",
    }
    fields.update(OP)
    return TEMPLATE.format(**fields)


def outputs():
    return {OUT / ("p256_w%d.py" % v[0]): generate(*v) for v in VARIANTS}


def main(argv):
    stale = []
    for path, text in outputs().items():
        if "--check" in argv:
            text = text if text.endswith("\n") else text + "\n"
            if not path.exists() or path.read_text() != text:
                stale.append(path.name)
        else:
            path.write_text(text if text.endswith("\n") else text + "\n")
    if stale:
        print("out of date (run tools/gen_p256_limbs.py): " + ", ".join(stale))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
