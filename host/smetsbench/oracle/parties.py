"""Remote parties behind the DCC: their keys, counters, and the GBCS commands they send.

A `RemoteParty` has an entity id (its GBCS system title), a role, a digital-signature (DS) and
a key-agreement (KA) P-256 key pair, and an originator counter. `DCC` is the set of parties a
bench uses: fresh test keys by default, or the private keys of a keystore folder in RTDS naming
(e.g. ../shared/rtds/keystore). Commands are built the way the DCC delivers them: signed by
the originator when critical, and MACed with the Access Control Broker's KA key (GBCS 4.3.3).
"""

import threading
import time
from pathlib import Path

from smets.gbcs import envelope

from smetsbench.oracle import crypto as ocrypto

# Entity ids of the RTDS remote parties; fresh benches reuse them so traces read alike.
DEFAULT_EUIS = {
    "recovery": "90b3d51f30000001",
    "acb": "90b3d51f30000002",
    "tcos": "90b3d51f30000004",
    "wan_provider": "90b3d51f30000007",
    "supplier": "90b3d51f30010000",
    "load_controller": "90b3d51f30010008",
    "network_operator": "90b3d51f30020000",
}
# Parties with a prepayment key agreement key (they make UTRNs, GBCS 14).
PREPAYMENT_ROLES = ("supplier",)
# Roles a device is provisioned to trust by default.
DEVICE_TRUSTS = ("acb", "supplier", "network_operator", "wan_provider", "recovery", "tcos")


class PartyError(RuntimeError):
    pass


class RemoteParty:
    def __init__(self, role, eui, ds_key=None, ka_key=None, counter=None, pp_key=None):
        self.role = role
        self.eui = bytes.fromhex(eui) if isinstance(eui, str) else bytes(eui)
        self.ds_key = ds_key
        self.ka_key = ka_key
        # A supplier's prepayment key agreement key (GBCS 14: UTRNs are MACed with a key
        # from it and the meter's KA key; the meter trusts its public half, cell usage 1).
        self.pp_key = pp_key
        self._counter = counter
        self._top_up = 0  # the top-up counter's high 32 bits last used (GBCS 14)
        self._lock = threading.Lock()

    @property
    def ds_public(self):
        return ocrypto.public_key_raw(self.ds_key) if self.ds_key is not None else None

    @property
    def ka_public(self):
        return ocrypto.public_key_raw(self.ka_key) if self.ka_key is not None else None

    def next_counter(self):
        """A fresh originator counter: strictly increasing, and above any earlier run's (ms
        since 1970), so devices that remember the last accepted counter keep accepting."""
        with self._lock:
            now = int(time.time() * 1000)
            if self._counter is None or now > self._counter:
                self._counter = now
            else:
                self._counter += 1
            return self._counter

    def next_top_up_counter(self):
        """A fresh UTRN counter: top-ups count in the high 32 bits (GBCS 14.3)."""
        with self._lock:
            self._top_up += 1
            return self._top_up << 32

    def trust_entry(self):
        """What a device needs to trust this party (public keys only)."""
        entry = {"eui": self.eui.hex()}
        if self.ka_key is not None:
            entry["ka"] = self.ka_public.hex()
        if self.ds_key is not None:
            entry["ds"] = self.ds_public.hex()
        if self.pp_key is not None:
            entry["pp"] = ocrypto.public_key_raw(self.pp_key).hex()
        return entry

    def __repr__(self):
        return "<RemoteParty %s %s>" % (self.role, self.eui.hex())


class DCC:
    """The remote parties of a bench, with the ACB that MACs every command."""

    def __init__(self, parties):
        self.parties = {p.role: p for p in parties}
        if "acb" not in self.parties:
            raise PartyError("a bench needs an Access Control Broker (acb) party")
        self.source = "fresh test keys"

    @classmethod
    def fresh(cls, roles=DEVICE_TRUSTS):
        parties = []
        for role in roles:
            pp = ocrypto.generate_private_key() if role in PREPAYMENT_ROLES else None
            parties.append(RemoteParty(role, DEFAULT_EUIS[role], ocrypto.generate_private_key(),
                                       ocrypto.generate_private_key(), pp_key=pp))
        return cls(parties)

    @classmethod
    def from_keystore(cls, path, roles=DEVICE_TRUSTS):
        """Parties whose private keys are in `path` (RTDS naming: <eui>-ds.key, <eui>-ka.key)."""
        path = Path(path)
        store = ocrypto.KeyStore(path)
        parties = []
        for role in roles:
            eui = DEFAULT_EUIS[role]
            ds = store.private(eui, "ds") if store.has_private(eui, "ds") else None
            ka = store.private(eui, "ka") if store.has_private(eui, "ka") else None
            if ds is None and ka is None:
                continue
            pp = store.private(eui, "pp-ka") if store.has_private(eui, "pp-ka") else None
            parties.append(RemoteParty(role, eui, ds, ka, pp_key=pp))
        dcc = cls(parties)
        dcc.source = "keystore %s" % path
        return dcc

    def __getitem__(self, role):
        try:
            return self.parties[role]
        except KeyError:
            raise PartyError("no %s remote party on this bench" % role) from None

    @property
    def acb(self):
        return self.parties["acb"]

    def by_eui(self, eui):
        for p in self.parties.values():
            if p.eui == bytes(eui):
                return p
        return None

    def trust_list(self):
        return {role: p.trust_entry() for role, p in self.parties.items()}

    def build_command(self, party, device_eui, device_ka_public, message_code, content,
                      critical=False, counter=None, other_info=None, date_time=None):
        """A GBCS command as the device receives it: (bytes, originator counter)."""
        if counter is None:
            counter = party.next_counter()
        info = other_info if other_info is not None else message_code.to_bytes(2, "big")
        gs = envelope.encode_general_signing(
            envelope.CRA_COMMAND, counter, party.eui, device_eui, info, content, date_time
        )
        signature = None
        if critical:
            if party.ds_key is None:
                raise PartyError("%s has no signing key for a critical command" % party.role)
            signature = ocrypto.sign_general_signing(party.ds_key, gs)
        apdu = envelope.with_signature(gs, signature)
        z = ocrypto.ecdh(self.acb.ka_key, device_ka_public)
        mac = ocrypto.message_mac(z, party.eui, ocrypto.MODE_COMMAND, counter, device_eui,
                             envelope.mac_aad_for(apdu))
        return envelope.wrap_ciphering(apdu, mac), counter
