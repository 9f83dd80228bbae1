"""RTDS ESME commands replayed against an in-process ESME; responses compared by shape.

Every RTDS scenario whose command goes to the ESME with a DLMS payload is re-protected for a
fresh ESME (RTDS keystore parties, the device's own keys: `conformance.rewrap`), handed to
`ESME.handle_gbcs` on the RTDS device clock, and its response compared with the RTDS response
by shape (`conformance_compare`: types, structure sizes, results, scaler-units, decrypted
protected attributes; values may differ). ERROR scenarios get the RTDS failure injected on
the same item (`fault_dlms` with `after`); future-dated scenarios move the clock to the
activation time and compare the 8F66 alerts too. Fast (no virtual boards): the same replay
as `smetsbench conformance`, for the firmware's data tables.

Run as a script for a per-use-case table: `python tests/host/test_esme_rtds.py`.
"""

import sys
from collections import Counter

import pytest
from smets.devices.esme import ESME
from smets.gbcs import envelope
from smets.store import Store
from smetsbench.conformance import compare as cmp
from smetsbench.conformance import runner as conf
from smetsbench.oracle import crypto as ocrypto
from smetsbench.oracle.parties import DEVICE_TRUSTS
from smetsbench.paths import rtds_dir
from smetsbench.session import device_identity

pytestmark = pytest.mark.rtds

RTDS = rtds_dir()
HUB = bytes.fromhex("00db1234567890a2")

# What the emulated ESME cannot answer like the RTDS meter, and why.
EXPECTED_DIFFERENCES = {
    "ECS61d_7.14_SUCCESS": "RTDS ECS46c and ECS61d disagree on the ALCS schedule's bit-strings "
                           "(4 vs 3 bits) for the same object",
}


def _expected_difference(scenario_id):
    for token, why in EXPECTED_DIFFERENCES.items():
        if token in scenario_id:
            return why
    return None


def scenarios():
    if RTDS is None:
        return []
    out = []
    for sc in conf.discover(RTDS):
        if sc.kind != "command" or sc.device_type != "ESME" or sc.response is None:
            continue
        if sc.device_eui != bytes.fromhex("00db1234567890a0"):
            continue
        if bytes(sc.message(sc.command).content)[:1] != b"\xd9":
            continue  # ASN.1 (security credentials, join, firmware) use cases are not DLMS
        out.append(sc)
    return out


class Replay:
    """An RTDS keystore, and an in-process ESME per scenario."""

    def __init__(self, tmp):
        self.tmp = tmp
        self.ks = ocrypto.KeyStore(conf.find_keystore(RTDS))
        self.parties, self.by_role = conf.load_parties(self.ks)
        self.ka = ocrypto.generate_private_key()
        self.ds = ocrypto.generate_private_key()
        self.ka_public = ocrypto.public_key_raw(self.ka)
        self.n = 0

    def device(self, party, now, variant="single"):
        trusted = {r: p for r, p in self.by_role.items() if r in DEVICE_TRUSTS}
        trusted[party.role] = party
        # The supplier's prepayment key too (keystore pp-ka), as the conformance runner does.
        dcc = conf.TrustedParties(list(trusted.values()), self.ks)
        ident = device_identity("ESME", bytes.fromhex("00db1234567890a0"), self.ka, self.ds,
                                HUB, dcc)
        self.n += 1
        store = Store(str(self.tmp / ("esme%d" % self.n)))
        init = dict(conf.RTDS_WORLD["ESME"])
        # The meter variant the scenario needs, as the conformance runner chooses it.
        if variant == "twin":
            init.update(conf.RTDS_TWIN)
        elif variant != "single":
            init["variant"] = variant
        return ESME(ident, store, now, fresh=True, init=init), dcc

    def _decrypt(self, msg, device_ka):
        originator, counter, recipient = ocrypto.payload_kdf_inputs(msg)

        def dlms(index, prot):
            sc, _ic, ct, tag = prot.split()
            if not self.ks.has_private(recipient, "ka") or device_ka is None:
                return "no key"
            try:
                z = ocrypto.ecdh(self.ks.private(recipient, "ka"), device_ka)
                plain = ocrypto.decrypt_payload(z, originator, counter, recipient,
                                           bytes(ct) + bytes(tag))
                from smets.dlms import axdr

                return axdr.from_bytes(plain)
            except ValueError as exc:
                return "%s: %s" % (type(exc).__name__, exc)

        return dlms, None

    def compare(self, expected, got, alert=False):
        rtds_ka = self.ks.public(bytes(expected.originator), "ka") \
            if self.ks.has_public(bytes(expected.originator), "ka") else None
        e = cmp.message_node(expected, *self._decrypt(expected, rtds_ka))
        g = cmp.message_node(got, *self._decrypt(got, self.ka_public))
        diffs = [d for d in cmp.compare(e, g) if d.kind == cmp.SHAPE]
        if alert:
            # An alert's originator counter (and the invoke id made from it) is the device's
            # own, whichever counters the meter that made the RTDS had reached.
            diffs = [d for d in diffs if not d.path.endswith(("header.counter", "invoke-id"))]
        return diffs

    def run(self, sc):
        """Shape differences (list of str) of one scenario."""
        cmd = sc.message(sc.command)
        expected = sc.message(sc.response)
        party = self.parties[bytes(cmd.originator)]
        now = conf.message_time(expected) or conf.RTDS_EPOCH
        dev, dcc = self.device(party, now, conf.esme_variant(sc.id, cmd.message_code))
        failure = conf.dlms_failure(expected)
        if failure is not None:
            dev.control("fault_dlms", {"count": 1, "after": failure[0]}, now)
        content = None
        if cmd.message_code in conf.TOP_UP_CODES:  # the UTRN made for this meter's key
            content = conf.top_up_payload(cmd, self.ks, dev.eui, self.ka_public)
        raw = conf.rewrap(cmd, party, dcc.acb, dev.eui, self.ka_public, content)
        out = dev.handle_gbcs(raw, now)
        if not out or dev.last_outcome != "accepted":
            return ["no response: %s %s" % (dev.last_outcome, dev.last_detail)]
        got = envelope.decode(out[0])
        problems = [str(d) for d in self.compare(expected, got)]
        if (cmd.signature is not None) != (got.signature is not None):
            problems.append("signed %s, RTDS %s" % (got.signature is not None,
                                                   cmd.signature is not None))
        # Future-dated changes: the alerts when the clock reaches their activation time.
        raised = []
        for path in sc.alerts:
            want = sc.message(path)
            t = conf.message_time(want)
            if t:
                raised += [envelope.decode(a) for a in dev.device_tick(t)]
            match = [a for a in raised if self.compare(want, a, alert=True) == []]
            if not match:
                problems.append("alert %s: %s" % (path.name, [
                    str(d) for a in raised[:1] for d in self.compare(want, a, alert=True)]
                    or "none raised"))
            else:
                raised.remove(match[0])
        return problems


SCENARIOS = scenarios()
_RESULTS = {}


@pytest.fixture(scope="module")
def replay(tmp_path_factory):
    if RTDS is None:
        pytest.skip("RTDS data (../shared/rtds) not present")
    return Replay(tmp_path_factory.mktemp("esme_rtds"))


def _result(replay, sc):
    if sc.id not in _RESULTS:
        _RESULTS[sc.id] = replay.run(sc)
    return _RESULTS[sc.id]


@pytest.mark.parametrize("sc", SCENARIOS, ids=[s.id for s in SCENARIOS])
def test_rtds_scenario_shape(replay, sc, request):
    why = _expected_difference(sc.id)
    if why:
        request.applymarker(pytest.mark.xfail(reason=why, strict=True))
    problems = _result(replay, sc)
    assert not problems, "\n".join(problems)


def test_rtds_coverage(replay):
    """Ratchet: most ESME DLMS scenarios pass, over many message codes."""
    passed = [sc for sc in SCENARIOS if not _result(replay, sc)]
    codes = {sc.message_code for sc in passed}
    assert len(passed) >= 200, len(passed)
    assert len(codes) >= 80, sorted("%04X" % c for c in codes)


def main():
    import tempfile
    from pathlib import Path

    if RTDS is None:
        sys.exit("RTDS not found")
    replay = Replay(Path(tempfile.mkdtemp(prefix="esme-rtds-")))
    by_code = {}
    for sc in SCENARIOS:
        problems = replay.run(sc)
        row = by_code.setdefault((sc.message_code, sc.use_case), Counter())
        row["pass" if not problems else "fail"] += 1
        if problems:
            print("FAIL %s\n    %s" % (sc.id, "\n    ".join(problems[:3])))
    total = Counter()
    for (code, name), row in sorted(by_code.items()):
        total.update(row)
        print("%04X %-8s %3d pass %3d fail" % (code, name.split()[0], row["pass"], row["fail"]))
    print("%d scenarios, %d codes: %d pass, %d fail" % (
        sum(total.values()), len(by_code), total["pass"], total["fail"]))


if __name__ == "__main__":
    main()
