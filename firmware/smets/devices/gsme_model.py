"""The GSME's ZigBee Smart Energy cluster model and GBCS use cases, as data.

Imported only to build the model image (`python -m smets.devices.gsme_model` writes
gsme_image.py; a core test checks that the two agree) and by the host's use-case library.

TEXT lines:

  a <cluster> <attribute> <type> <flags> <default>   an attribute of the GSME's server side
  u <code> <name> <roles> <flags> <components> [| <components>]   a use case; '+' continues
  v ... as u: a use case of the Gas Proxy Function (smets.devices.gpf), answered from its
        mirror of these attributes

Types: b u8, w u16, t u24, l u32, x u48, i int32, j int24, e enum8, m map8, n map16, k map32,
u UTC time, f boolean, o<n> octet string of up to n bytes, c<n> character string of up to n.
Defaults: a decimal, x<hex> (a string's bytes or a fixed-size raw value) or '<text>'.
Attribute flags: W writable (Write Attributes), R reported to the GPF's mirror, - none.
Use-case roles: S supplier, N network operator, A access control broker, W WAN provider,
T transitional CoS, R recovery, L load controller, P a HAN device (the PPMID); flags:
C critical, T the response carries the device date-time (gbcs-notes 7.3; these are also the
use cases whose commands may be future dated), O the components are an ordered subset of
the template, D an ASN.1 payload (gsme_ext), G signed response, Z the response frames set
the ZCL "disable default response" bit (as the DCC RTDS responses of these use cases do),
- none.
A component is <cluster><kind><command>[*][e]: kind g a foundation command (client to
server), c a cluster command client to server, s server to client; * the component may
repeat; e the response to it is an encrypted GBZ component (GBCS 7.3.5).

Attribute ids and types are ZSE 1.4 (D.2 Basic, D.3 Metering, D.4 Price, D.7 Prepayment,
D.10 Device Management) as GBCS uses them; where the RTDS 4.5.0 answers show a type, it is
that type. Defaults are the emulator's (a meter in m3 with three decimals, GBP).
"""

from smets.devices import model_image
from smets.gbcs.usecases import (  # noqa: F401 - the row format's flags
    FLAG_ASN1,
    FLAG_CRITICAL,
    FLAG_DEVICE,
    FLAG_OPTIONAL,
    FLAG_SIGNED,
    FLAG_TIME,
)
from smets.zcl import attrs as zattrs

VERSION = 1
ROLE_LETTERS = "SNAWTRLP"  # bit i = smets.gbcs.pipeline role bit 1 << i
# Cluster index of a component word (4 bits): the clusters GBCS GBZ payloads use.
CLUSTERS = (0x0000, 0x0700, 0x0702, 0x0703, 0x0705, 0x0707, 0x0708, 0x0709, 0x000A)
# Component word: cluster index << 12 | kind bits << 8 | command id.
W_CLUSTER = 0x100  # a cluster-specific command (else a foundation one)
W_S2C = 0x200  # server to client
W_REPEAT = 0x400  # may repeat
W_ENCRYPT = 0x800  # the response component is encrypted

TEXT = (
    """
# -- Basic (ZSE / ZCL 3.2) ------------------------------------------------------------------
a 0000 0000 b - 1
a 0000 0001 b - 1
a 0000 0002 b - 1
a 0000 0003 b R 1
a 0000 0004 c32 R 'smetsbench'
a 0000 0005 c32 R 'GSME'
a 0000 0006 c16 - '20150101'
a 0000 0007 e - 3
# -- Metering (ZSE D.3): registers, status, formatting, site, uncontrolled flow ------------
a 0702 0000 x R 0
a 0702 0007 u R 0
a 0702 0014 e R 2
a 0702 0100 x R 0
a 0702 0102 x R 0
a 0702 0104 x R 0
a 0702 0106 x R 0
a 0702 0200 m R 0
a 0702 0205 w R 3650
a 0702 0206 o16 R x00010000
a 0702 0300 e R 1
a 0702 0301 t R 1
a 0702 0302 t R 1000
a 0702 0303 m R x43
a 0702 0306 m R 1
a 0702 0307 o16 R ''
a 0702 0308 o24 R 'SB00000001'
a 0702 0400 j R 0
a 0702 0401 t R 0
a 0702 0403 t R 0
a 0702 0607 e R 0
a 0702 0608 e R 0
a 0702 0609 e R 0
a 0702 0700 x R 0
a 0702 0701 x R 0
a 0702 0702 x R 0
a 0702 0703 x R 0
a 0702 0a00 l R 0
a 0702 0a01 u R 0
a 0702 0a02 l R 0
a 0702 0a03 u R 0
a 0702 0b10 w - 200
a 0702 0b11 e - 1
a 0702 0b12 w - 1
a 0702 0b13 w - 1
a 0702 0b14 b - 10
a 0702 0b15 w - 3600
""",
    """
# -- Price (ZSE D.4): blocks, block period, commodity, prices, billing, tariff ------------------
a 0700 0100 x R 0
a 0700 0101 x R 0
a 0700 0102 x R 0
a 0700 0200 u - 0
a 0700 0201 t - 0
a 0700 0202 t R 1
a 0700 0203 t R 1000
a 0700 0204 m - 0
a 0700 0300 e R 1
a 0700 0301 l R 0
a 0700 0302 l R 1000000
a 0700 0303 m R x60
a 0700 0304 l R 39500
a 0700 0305 e R 1
a 0700 0306 m R x30
a 0700 0400 l R 0
a 0700 0401 l R 0
a 0700 0402 l R 0
a 0700 0403 l R 0
a 0700 0410 l R 0
a 0700 0420 l R 0
a 0700 0430 l R 0
a 0700 0440 l R 0
a 0700 0600 u - 0
a 0700 0601 t - 1
a 0700 0602 u - 0
a 0700 0603 t - 0
a 0700 0604 b - x23
a 0700 0610 o24 R ''
a 0700 0611 b R 1
a 0700 0612 b R 0
a 0700 0613 e R 0
a 0700 0615 e R 1
a 0700 0616 w R 826
a 0700 0617 m R x50
""",
    """
# -- Prepayment (ZSE D.7): credit, emergency credit, debt, limits ---------------------------
a 0705 0000 n R x940c
a 0705 0001 i R 0
a 0705 0002 i R 0
a 0705 0003 m R 0
a 0705 0004 u R 0
a 0705 0005 i R 0
a 0705 0006 i R 0
a 0705 0010 l R 0
a 0705 0011 l R 0
a 0705 0020 x R 0
a 0705 0021 l R 0
a 0705 0022 l R 0
a 0705 0030 b - 0
a 0705 0031 l R 0
a 0705 0040 i R 0
a 0705 0210 o12 - ''
a 0705 0211 l R 0
a 0705 0212 e - 0
a 0705 0213 u - 0
a 0705 0214 w - 0
a 0705 0216 e R 1
a 0705 0217 l R 0
a 0705 0219 w - 0
a 0705 0220 o12 - ''
a 0705 0221 l R 0
a 0705 0222 e - 0
a 0705 0223 u - 0
a 0705 0224 w - 0
a 0705 0226 e R 1
a 0705 0227 l R 0
a 0705 0229 w - 0
a 0705 0230 o12 - ''
a 0705 0231 l R 0
a 0705 0232 e - 1
a 0705 0233 u - 0
a 0705 0234 w - 0
a 0705 0236 e - 0
a 0705 0237 l - 0
a 0705 0239 w R 0
# -- Device Management (ZSE D.10): supplier, tenancy, customer ------------------------------
a 0708 0100 l - 0
a 0708 0101 o16 - ''
a 0708 0102 o20 - ''
a 0708 0200 u - 0
a 0708 0201 k - 0
a 0708 0500 o16 - ''
a 0708 0501 b - 0
""",
    """
# -- use cases (GBCS message codes; components per the RTDS 4.5.0 commands) -----------------
u 0014 CS10a SN Z 0709c00
u 00A1 CS10b SN Z 0709c00
u 0015 CS11 S - 0709c01
u 0097 CS01b S T 0705c04
u 006B GCS01a S CTO 0707s00 0707s01* 0707s02* 0707s03 0707s04 0700s04 0700s06 0700s05*
u 00A3 GCS01b S CTO 0700s04 0700s06 0700s05*
u 006C GCS02 S CTZ 0705c06
u 006D GCS03 S CTZ 0705c06
u 006E GCS04 S C 0705c02*
u 006F GCS05 S CTO 0705c03 0705c0c 0705c09 0705c0b 0707s00 0707s01* 0707s02* 0707s03
+ 0707s04
u 0070 GCS06 S C 0705c00
u 0071 GCS07 S - 0703s00
u 0073 GCS11 S - 0708s02
u 0074 GCS13a SN TZ 0702g00e
u 00B6 GCS13c SN TZ 0702g00e
u 00B8 GCS13b SN TZ 0702g00e
u 0075 GCS14 SN T 0700g00 0705g00e
u 0076 GCS15c SN Z 0702c06*e 0705c07*e
u 00C3 GCS15b SN Z 0705c07*e 0702c06*e
u 00C4 GCS15d SN Z 0705c0a
u 00C5 GCS15e SN Z 0705c08
u 0077 GCS16a SN Z 0702c06*e
u 0096 GCS16b SN Z 0705c07*e
u 0078 GCS17 SN Z 0702c08e
u 0079 GCS18 SN - 0702c08e
u 007B GCS21a SN - 0700g00 0702g00
u 00B5 GCS21b SN O 0705g00 0700g00 0707c00 0707c01* 0707c02* 0707c03 0707c04
u 009D GCS21d SN - 0700c0b
u 00DA GCS21k SN - 0700c0b
u 009E GCS21e SN O 0000g00 0702g00
u 009F GCS21f SN O 0700g00 0707c00 0707c01* 0707c02* 0707c03 0707c04 0700c06 0700c07
+ 0700c08
u 00BF GCS21j SN - 0705g00
u 00FB GCS21m SN O 0000g00 0702g00
u 00F1 GCS20r SN - 0708s05
u 00AD GCS20 S - 0708s04*
u 007C GCS23 S O 0700s02 0700s03
u 007D GCS24 S C 0702c0e 0702c0d
u 00FC GCS24a S C 0702c0e 0702c0d
u 007E GCS25 S C 0700s09 0700s01
u 00D8 GCS25a S C 0700s09 0700s01
u 0080 GCS31 SA - 0702c07
u 0081 GCS32 S C 0702c0b
u 0085 GCS39 S C 0702c0b
u 0082 GCS33 SN - 0702g00
u 0083 GCS36 SA - 0708s06
u 0084 GCS38 SN - 0702g00
u 0086 GCS40a S C 0705c05
u 00B4 GCS40b S C 0705c05
u 00C0 GCS40c S C 0705c05
u 00C2 GCS40d S C 0705c05
u 0087 GCS41 S - 0708s03
u 0088 GCS44 S - 0708s01
u 0089 GCS46 SN - 0702g00
u 008D GCS60 SN - 0702g00 0705g00
u 009B PCS01 P - 0705c04
u 0090 PCS02 P - 0705c00
# -- ASN.1 payloads (gsme_ext): clock, HAN joins, device log ---------------------------------
u 007F GCS28 S CD -
u 000E CS03B SA D -
u 00AF CS03C S CD -
u 000F CS04AC S CD -
u 0010 CS04B S D -
u 0013 CS07 SA D -
# -- security credentials (GBCS 12, smets.gbcs.credentials: any GBCS device; a GSME has no
# network operator cells, so no CS02b network operator by network operator) ---------------
u 0008 CS02a AT/T D -
u 011B CS02f AST/ST D -
u 000A CS02c S CD -
u 000B CS02d S CD -
u 000C CS02e SN CD -
u 0102 CS02bSbyS S CTDG -
u 0104 CS02bAbyA A TDG -
u 0106 CS02bTbyT T CTDG -
u 0107 CS02bSbyT T CTDG -
u 0108 CS02bRecovery R/R CTDG -
""",
    """
# -- the Gas Proxy Function's use cases (GBCS: the GPF answers them from its GSME mirror) ----
v 0072 GCS09 S - 0708s00
v 0074 GCS13a SN TZ 0702g00e
v 00B6 GCS13c SN TZ 0702g00e
v 00B8 GCS13b SN TZ 0702g00e
v 0075 GCS14 SN T 0700g00 0705g00e
v 0096 GCS16b SNA Z 0705c07*e
v 00A0 GCS61 SNA Z 0702c08e
v 009E GCS21e SN O 0000g00 0702g00
v 008C GCS59 A D -
v 0102 CS02bSbyS SA CTDG -
v 0103 CS02bNbyN NA CTDG -
""",
)

_TYPES = {"b": 0x20, "w": 0x21, "t": 0x22, "l": 0x23, "x": 0x25, "i": 0x2B, "j": 0x2A,
          "e": 0x30, "m": 0x18, "n": 0x19, "k": 0x1B, "u": 0xE2, "f": 0x10, "o": 0x41,
          "c": 0x42}
_FLAGS = {"C": FLAG_CRITICAL, "T": FLAG_TIME, "O": FLAG_OPTIONAL, "D": FLAG_ASN1,
          "G": FLAG_SIGNED, "Z": FLAG_DEVICE, "-": 0}


def _value(ztype, text):
    if text.startswith("'"):
        return text[1:-1].encode()
    if text.startswith("x"):
        raw = bytes.fromhex(text[1:])
        if ztype in (0x41, 0x42):
            return raw
        return int.from_bytes(raw, "big")
    return int(text)


def attribute_rows(text=TEXT):
    """(cluster, attribute id, type, flags, default, room) of every 'a' line."""
    out = []
    for line in model_image.logical_lines(text):
        parts = line.split(None, 5)
        if parts[0] != "a":
            continue
        _, cluster, attr, t, flags, default = parts
        ztype = _TYPES[t[0]]
        room = int(t[1:]) if len(t) > 1 else 0
        f = (zattrs.WRITABLE if "W" in flags else 0) | (zattrs.REPORTABLE if "R" in flags else 0)
        out.append((int(cluster, 16), int(attr, 16), ztype, f, _value(ztype, default), room))
    return out


def word(token):
    """The 16-bit component word of a template token (see the module docstring)."""
    cluster = int(token[:4], 16)
    kind = token[4]
    cmd = int(token[5:7], 16)
    w = (CLUSTERS.index(cluster) << 12) | cmd
    if kind in "cs":
        w |= W_CLUSTER
    if kind == "s":
        w |= W_S2C
    for ch in token[7:]:
        w |= {"*": W_REPEAT, "e": W_ENCRYPT}[ch]
    return w


def _roles(letters):
    r = 0
    for ch in letters:
        r |= 1 << ROLE_LETTERS.index(ch)
    return r


def use_case_rows(text=TEXT, kind="u"):
    """The use-case rows ('u' lines: the GSME's, 'v': the GPF's) in smets.gbcs.usecases'
    format; a template word per component."""
    out = bytearray()
    for line in model_image.logical_lines(text):
        if not line.startswith(kind + " "):
            continue
        code, name, roles, flags, specs = line[2:].split(" ", 4)
        roles, _, sig_only = roles.partition("/")
        f = 0
        for ch in flags:
            f |= _FLAGS[ch]
        out += int(code, 16).to_bytes(2, "big") + bytes((_roles(roles), f, len(name)))
        out += name.encode()
        if f & FLAG_ASN1:
            out += bytes((_roles(sig_only), 0))
            continue
        alts = specs.split("|")
        out.append(len(alts))
        for alt in alts:
            words = alt.split()
            out.append(len(words))
            for w in words:
                out += word(w).to_bytes(2, "big")
    return bytes(out)


def build(text=TEXT):
    """(attribute index, default values, GSME use-case rows, GPF use-case rows)."""
    index, defaults = zattrs.build(attribute_rows(text))
    return index, defaults, use_case_rows(text), use_case_rows(text, "v")


def image_source():
    """Source of gsme_image.py: the built model as bytes constants."""
    index, defaults, ucs, gpf = build()
    out = ['"""The GSME cluster model and use cases, compiled from gsme_model.TEXT.',
           "",
           "Generated by `python -m smets.devices.gsme_model`; do not edit (a core test checks",
           "that it matches gsme_model). Layouts: smets.zcl.attrs, smets.gbcs.usecases.",
           '"""',
           "",
           "VERSION = %d" % VERSION,
           "CLUSTERS = %r" % (CLUSTERS,)]
    for name, data in (("INDEX", index), ("DEFAULTS", defaults), ("USE_CASES", ucs),
                       ("GPF_USE_CASES", gpf)):
        out += model_image.bytes_constant(name, data)
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    model_image.write(__file__, "gsme_image", image_source())
