"""The device roles: one table that the firmware and the host both read.

A row: role name, the module and class of its device model (None: not emulated yet), what it
needs, and the EUI-64 a virtual device of the role gets by default (the DCC RTDS device
titles, ../shared/rtds/README.md). Adding a role is adding a row here and its package under
smets/devices/.

Needs (bits):
- GBCS: the GBCS security pipeline (P-256 keys and remote parties in its identity, the
  tunnel client); a role without it loads no GBCS or P-256 code.
- SLEEPY: polls the hub with tunnel GETs instead of taking pushed messages (GBCS 7.2).
- BENCH: the bench provisions and drives it as a board (CLI, bench.toml, pytest fixtures).
- HUB: a function of the Communications Hub, emulated by the host (CHF, GPF).
- TEST: a role for testing the bench itself, not a SMETS2 device.
GBCS device types (SMKI device certificates) are the rows that are neither TEST nor HAN-only
(Type 2 devices, IHD and CAD, are in the SMKI device types too: DEVICE_TYPE).
"""

GBCS = 1
SLEEPY = 2
BENCH = 4
HUB = 8
TEST = 16
DEVICE_TYPE = 32  # a SMKI device type (certificate subject OU)

# name, module, class, needs, default EUI-64
TABLE = (
    ("ESME", "smets.devices.esme", "ESME", GBCS | BENCH | DEVICE_TYPE, "00db1234567890a0"),
    ("GSME", "smets.devices.gsme", "GSME", GBCS | SLEEPY | BENCH | DEVICE_TYPE,
     "00db1234567890a1"),
    ("CHF", "smets.devices.chf", "CHF", GBCS | HUB | DEVICE_TYPE, "00db1234567890a2"),
    ("GPF", "smets.devices.gpf", "GPF", GBCS | HUB | DEVICE_TYPE, "00db1234567890a3"),
    ("PPMID", "smets.devices.ppmid", "PPMID", GBCS | BENCH | DEVICE_TYPE, "00db1234567890a4"),
    ("HCALCS", "smets.devices.hcalcs", "HCALCS", GBCS | BENCH | DEVICE_TYPE,
     "00db1234567890a5"),
    ("SAPC", None, None, DEVICE_TYPE, None),
    # Type 2 devices: the RTDS CS03B joins 00db12345678909c to a meter; the CAD is next to it.
    ("CAD", "smets.devices.cad", "CAD", BENCH | DEVICE_TYPE, "00db12345678909d"),
    ("IHD", "smets.devices.ihd", "IHD", BENCH | DEVICE_TYPE, "00db12345678909c"),
    ("HANTEST", "smets.devices.hantest", "HANTest", BENCH | TEST, "00db1234567890b0"),
)


def _row(role):
    for row in TABLE:
        if row[0] == role:
            return row
    raise ValueError("unknown role %r (roles: %s)" % (role, ", ".join(r[0] for r in TABLE)))


def names(needs=0, without=0):
    """The roles having every bit of `needs` and none of `without`, in table order."""
    return tuple(r[0] for r in TABLE if r[3] & needs == needs and not r[3] & without)


def emulated():
    """The roles whose device model this firmware has (what a board can be provisioned as)."""
    return tuple(r[0] for r in TABLE if r[1] is not None)


def bench_roles():
    """The roles the bench knows as boards (provision, bench.toml, fixtures)."""
    return names(BENCH)


def needs(role, bit):
    return bool(_row(role)[3] & bit)


def default_eui(role):
    return _row(role)[4]


def device_class(role):
    """The device model class of an emulated role, imported now (only that role's code)."""
    row = _row(role)
    if row[1] is None:
        raise ValueError("role %s is not emulated by this firmware (it emulates %s)"
                         % (role, ", ".join(emulated())))
    return getattr(__import__(row[1], None, None, (row[2],)), row[2])
