"""Shared fixtures for core device tests: keys, a provisioned identity, command builders.

Runs on CPython and MicroPython, so it uses the firmware crypto to build commands (the host
tests check the same flows against `cryptography`).
"""

import os

from smets.dlms import access
from smets.dlms.access import AccessRequest, RequestSpec
from smets.gbcs import crypto, envelope, p256
from smets.store import Store

DEVICE_EUI = bytes.fromhex("00db1234567890a0")
HUB_EUI = bytes.fromhex("00db1234567890a2")
# Fixed test keys (scalars) so tests are fast and repeatable.
KEYS = {
    "device_ka": 0x1F2E3D4C5B6A79880123456789ABCDEF0FEDCBA98765432100112233445566,
    "device_ds": 0x2A3B4C5D6E7F8091A2B3C4D5E6F708192A3B4C5D6E7F8091A2B3C4D5E6F70819,
    "acb_ka": 0x3C4D5E6F708192A3B4C5D6E7F8091A2B3C4D5E6F708192A3B4C5D6E7F8091A2,
    "acb_ds": 0x4D5E6F708192A3B4C5D6E7F8091A2B3C4D5E6F708192A3B4C5D6E7F8091A2B3,
    "supplier_ka": 0x5E6F708192A3B4C5D6E7F8091A2B3C4D5E6F708192A3B4C5D6E7F8091A2B3C4,
    "supplier_ds": 0x6F708192A3B4C5D6E7F8091A2B3C4D5E6F708192A3B4C5D6E7F8091A2B3C4D5,
    "network_operator_ka": 0x708192A3B4C5D6E7F8091A2B3C4D5E6F708192A3B4C5D6E7F8091A2B3C4D5E6,
    "network_operator_ds": 0x8192A3B4C5D6E7F8091A2B3C4D5E6F708192A3B4C5D6E7F8091A2B3C4D5E6F7,
}
PARTY_EUIS = {
    "acb": bytes.fromhex("90b3d51f30000002"),
    "supplier": bytes.fromhex("90b3d51f30010000"),
    "network_operator": bytes.fromhex("90b3d51f30020000"),
}
_PUB = {}


def pub(name):
    if name not in _PUB:
        _PUB[name] = p256.public_key(KEYS[name])
    return _PUB[name]


def identity():
    parties = {}
    for role in PARTY_EUIS:
        parties[role] = {
            "eui": PARTY_EUIS[role].hex(),
            "ka": pub(role + "_ka").hex(),
            "ds": pub(role + "_ds").hex(),
        }
    # The supplier's prepayment key agreement key (GBCS 14: UTRNs are MACed under ECDH of it
    # and the meter's KA key): the fixtures' supplier KA key doubles as it.
    parties["supplier"]["pp"] = pub("supplier_ka").hex()
    return {
        "role": "ESME",
        "eui": DEVICE_EUI.hex(),
        "ka_key": "%064x" % KEYS["device_ka"],
        "ds_key": "%064x" % KEYS["device_ds"],
        "hub_eui": HUB_EUI.hex(),
        "parties": parties,
    }


def raises(exc, fn, *args):
    """The exception `fn(*args)` raises, which must be an `exc` (no pytest.raises: these tests
    also run on the MicroPython unix port)."""
    try:
        fn(*args)
    except exc as e:
        return e
    raise AssertionError("%r%r did not raise %s" % (fn, args, exc.__name__))


def scratch_store():
    base = os.getenv("TMPDIR") or "/tmp"
    return Store(base + "/smets-test-" + "".join("%02x" % b for b in os.urandom(6)))


def cleanup(store):
    store.wipe()
    try:
        os.rmdir(store.root)
    except OSError:
        pass


_counters = {}


def next_counter(role):
    _counters[role] = _counters.get(role, 1000) + 1
    return _counters[role]


def invoke(counter):
    return access.BREAK_ON_ERROR | (counter & access.INVOKE_ID_MASK)


def command(role, code, content, critical=False, counter=None, recipient=DEVICE_EUI,
            mac_key="acb_ka"):
    """A GBCS command from `role` MACed with the ACB key (GBCS 4.3.3)."""
    if counter is None:
        counter = next_counter(role)
    gs = envelope.encode_general_signing(
        envelope.CRA_COMMAND, counter, PARTY_EUIS[role], recipient, code.to_bytes(2, "big"),
        content)
    sig = crypto.sign_apdu(KEYS[role + "_ds"], gs) if critical else None
    apdu = envelope.with_signature(gs, sig)
    z = p256.ecdh(KEYS[mac_key], pub("device_ka"))
    return crypto.add_mac(z, apdu), counter


def get_request(counter, *descriptors):
    return AccessRequest(invoke(counter), [RequestSpec.get(c, o, a) for c, o, a in descriptors])


def obis(text):
    return bytes(int(x) for x in text.split("-"))


def rand_bytes(n, seed):
    """Deterministic bytes, the same on CPython and MicroPython."""
    out = bytearray(n)
    x = seed
    for i in range(n):
        x = (x * 1103515245 + 12345) & 0x7FFFFFFF
        out[i] = (x >> 16) & 0xFF
    return bytes(out)


def utrn(counter_hi, value, pounds=False, key="supplier_ka"):
    """A UTRN of `value` pennies (or pounds) the fixtures' supplier makes for the device
    (counter high 32 bits `counter_hi`; `key`: the prepayment key it is MACed under), as str."""
    from smets.gbcs import utrn as u

    z = p256.ecdh(KEYS[key], pub("device_ka"))
    return u.make(z, PARTY_EUIS["supplier"], DEVICE_EUI, counter_hi << 32, value, pounds)
