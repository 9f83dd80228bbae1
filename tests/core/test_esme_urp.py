"""ECS21b for an unknown remote party (URP): the ESME encrypts for the key agreement certificate
the command carries, with a fresh originator counter of its own that is on flash before it is
used (a reboot must never let the same counter, the GCM IV for that key, encrypt again).

Needs certificates from host/smetsbench/pki.py: CPython only (skipped on the unix port)."""

import gbcs_fixtures as fx
from smets.devices.esme import ESME
from smets.gbcs import credentials_keys, p256

try:
    from unittest import SkipTest
except ImportError:  # MicroPython: tools/mptest.py skips on the class name

    class SkipTest(Exception):
        pass


NOW = 1700000000
URP_EUI = "90b3d51f30030000"


class _Msg:
    def __init__(self, other_info):
        self.other_info = other_info


class _Ctx:
    def __init__(self, other_info):
        self.msg = _Msg(other_info)
        self.other_info = None


def _urp_certificate():
    """(private key, DER) of a supplier KA certificate for URP_EUI, from a throwaway PKI."""
    try:
        import shutil
        import tempfile

        from cryptography.hazmat.primitives.serialization import Encoding
        from smetsbench.oracle import pki
    except ImportError:
        raise SkipTest("needs cryptography and smetsbench.oracle.pki (CPython)")
    tmp = tempfile.mkdtemp()
    try:
        bench = pki.BenchPKI.create(tmp)
        key = pki.generate_key()
        cert = bench.issue_org_certificate(URP_EUI, key.public_key(), "ka", "supplier")
        return key, cert.public_bytes(Encoding.DER)
    finally:
        shutil.rmtree(tmp)


def test_urp_counter_is_on_flash_before_it_encrypts():
    key, der = _urp_certificate()
    store = fx.scratch_store()
    try:
        dev = ESME(fx.identity(), store, NOW, fresh=True)
        info = b"\x00\x28" + bytes.fromhex(URP_EUI) + (5).to_bytes(8, "big") + der
        ctx = _Ctx(info)
        z, counter = credentials_keys.urp(dev, ctx)
        # The response's other-information ends with the device's own counter.
        assert ctx.other_info == info[:18] + counter.to_bytes(8, "big")
        # Z is ECDH of the device's KA key with the certificate's key.
        nums = key.public_key().public_numbers()
        pub = nums.x.to_bytes(32, "big") + nums.y.to_bytes(32, "big")
        assert z == p256.ecdh(fx.KEYS["device_ka"], pub)
        # Power cut now: the counter is already on flash, so the next one is new.
        again = ESME(fx.identity(), store, NOW, fresh=False)
        assert again.alert_counter == counter
        assert credentials_keys.urp(again, _Ctx(info))[1] == counter + 1
    finally:
        fx.cleanup(store)
