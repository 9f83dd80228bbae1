"""The response checker runs the checks of a response's payload kind: a GBZ response (GSME, GPF)
must mark its last component and answer each command component (same ZCL sequence number, the
other direction), and carry the kind of payload its command did. Real keys, real MACs; the
RTDS's own GBZ responses pass."""

from pathlib import Path

import pytest
from smets.dlms import access, axdr
from smets.gbcs import envelope
from smets.zcl import gbz
from smetsbench.oracle import checker
from smetsbench.oracle import crypto as ocrypto
from smetsbench.oracle.parties import DCC, RemoteParty
from smetsbench.paths import rtds_dir
from smetsbench.payloads import registry

GSME = bytes.fromhex("00db1234567890a1")
READ = 0x0074  # GCS13a, read the consumption register
METERING = 0x0702


def _keys():
    return ocrypto.generate_private_key(), ocrypto.generate_private_key()


@pytest.fixture(scope="module")
def parties():
    ds, ka = _keys()
    party = RemoteParty("supplier", "90b3d51f30000002", ds, ka)
    dev_ds, dev_ka = _keys()
    return party, dev_ds, dev_ka


def _message(cra, counter, originator, recipient, content, z):
    gs = envelope.encode_general_signing(cra, counter, originator, recipient,
                                         READ.to_bytes(2, "big"), content)
    apdu = envelope.with_signature(gs)
    mac = ocrypto.message_mac(z, originator, cra, counter, recipient,
                              envelope.mac_aad_for(apdu))
    return envelope.wrap_ciphering(apdu, mac)


def _exchange(parties, response, command=None):
    """Check `response` (GBZ components, or payload bytes), MACed by the device, as the answer
    to a GBZ Read Attributes command: the failed check names."""
    party, dev_ds, dev_ka = parties
    z = ocrypto.ecdh(party.ka_key, ocrypto.public_key_raw(dev_ka))
    if command is None:
        command = gbz.GBZPayload([gbz.GBZComponent(METERING, 0x00, 5, 0x00, b"\x00\x00")])
    cmd = envelope.decode(_message(envelope.CRA_COMMAND, 1000, party.eui, GSME,
                                   command.to_bytes(), z))
    content = response if isinstance(response, bytes) else response.to_bytes()
    raw = _message(envelope.CRA_RESPONSE, 1000, GSME, party.eui, content, z)
    checks, _decoded, _msg = checker.check_response(
        raw, cmd, party, ocrypto.public_key_raw(dev_ka), ocrypto.public_key_raw(dev_ds), False)
    return [c.name for c in checks], [c.name for c in checks.failures()]


def _answer(seq=5, fc=0x08, **kw):
    # Read Attributes Response: CurrentSummationDelivered, UNSUPPORTED_ATTRIBUTE.
    return gbz.GBZPayload([gbz.GBZComponent(METERING, fc, seq, 0x01, b"\x00\x00\x86")], **kw)


def test_a_right_gbz_response_passes_the_gbz_checks(parties):
    names, failed = _exchange(parties, _answer())
    assert failed == []
    assert "GBZ last component marked" in names
    assert "GBZ components answer the command's" in names


def test_gbz_responses_that_answer_wrongly_fail(parties):
    # Another ZCL sequence number, the command's own direction, no last-component flag:
    # each well-formed and correctly MACed, each a wrong answer.
    assert _exchange(parties, _answer(seq=6))[1] == ["GBZ components answer the command's"]
    assert _exchange(parties, _answer(fc=0x00))[1] == ["GBZ components answer the command's"]
    assert _exchange(parties, _answer(mark_last=False))[1] == ["GBZ last component marked"]


def test_a_response_of_another_payload_kind_fails(parties):
    # A DLMS ACCESS response (one get, its data) to a GBZ command.
    dlms = access.AccessResponse(5, [axdr.Data.octet(b"x")],
                                 [access.ResponseSpec(access.GET)]).to_bytes()
    assert registry.kind_of(dlms) is registry.DLMS
    assert _exchange(parties, dlms)[1] == ["payload kind as the command's"]


def _rtds_pairs(root):
    for p in sorted((root / "RTDS-4.5.0").rglob("*_RESPONSE_GBCS.HEX")):
        q = Path(str(p).replace("_RESPONSE_", "_COMMAND_"))
        if q.exists():
            yield p.name, (envelope.decode(bytes.fromhex("".join(f.read_text().split())))
                           for f in (q, p))


class _KeystoreParties:
    """The DCC's parties, and any other party whose KA key the RTDS keystore holds: the
    unknown remote parties (URP) that GCS16b / GCS61 responses are encrypted for."""

    def __init__(self, dcc, ks):
        self.dcc, self.ks = dcc, ks

    def by_eui(self, eui):
        party = self.dcc.by_eui(eui)
        if party is None and self.ks.has_private(eui.hex(), "ka"):
            party = RemoteParty("urp", eui, ka_key=self.ks.private(eui.hex(), "ka"))
        return party


# RTDS responses this checker cannot pass, and why:
# - GCS20r's error: a Default Response in the direction of the command it answers (the
#   device, as a Device Management client, should answer client to server, ZCL 2.5.12).
_RTDS_KNOWN = ("GCS20r_6.2.10_ERROR",)


def test_the_rtds_gbz_responses_pass_the_gbz_checks():
    root = rtds_dir()
    if root is None:
        pytest.skip("../shared/rtds not present")
    dcc = DCC.from_keystore(Path(root) / "keystore")
    ks = ocrypto.KeyStore(Path(root) / "keystore")
    urps = _KeystoreParties(dcc, ks)
    n = 0
    supplementary = 0
    for name, (cmd, resp) in _rtds_pairs(Path(root)):
        party = dcc.by_eui(cmd.originator)
        if registry.of_message(cmd) is not registry.GBZ or party is None \
                or party.ka_key is None or any(k in name for k in _RTDS_KNOWN):
            continue
        checks, _decoded, _msg = checker.check_response(
            resp.raw, cmd, party, ks.public(cmd.recipient, "ka"),
            ks.public(cmd.recipient, "ds"), resp.signature is not None, urps)
        assert checks.ok, (name, checks.failures())
        assert "GBZ components answer the command's" in [c.name for c in checks], name
        n += 1
        supplementary += "supplementary remote party's KA key" in [c.name for c in checks]
    assert n >= 90
    assert supplementary >= 2  # GCS16b and GCS61 URP responses, decrypted with the URP key
