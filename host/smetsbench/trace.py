"""Write a bench run as RTDS-style files so any GBCS tool can re-check it.

    <dir>/<UseCase>_<n>_<SCENARIO>_COMMAND_GBCS.HEX
    <dir>/<UseCase>_<n>_<SCENARIO>_RESPONSE_GBCS.HEX
    <dir>/<UseCase>_<n>_<SCENARIO>_<ALERTCODE>_ALERT_GBCS.HEX
    <dir>/keystore/<eui>-<ka|ds>.pem   device certificates (public keys of the emulated devices)
    <dir>/keystore/<eui>-<ka|ds>.key   remote-party private keys (and .pem certificates)

n numbers the runs so repeated use cases do not overwrite each other. File contents are upper
case hex on one line, as in the DCC RTDS.
"""

from pathlib import Path

from . import checker
from smets.gbcs import envelope


def _hex(data):
    return bytes(data).hex().upper() + "\n"


class Tracer:
    def __init__(self, directory, dcc, pki=None):
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.keystore = self.dir / "keystore"
        self.keystore.mkdir(exist_ok=True)
        self.dcc = dcc
        self.count = 0
        self.files = []
        self._pki = pki
        self._write_parties()

    def _pki_or_none(self):
        if self._pki is None:
            try:
                from .pki import BenchPKI

                self._pki = BenchPKI.create(self.dir / "pki")
            except ImportError:
                self._pki = False
        return self._pki or None

    def _write_key_pair(self, eui, usage, private_key, org=None):
        from . import pki as pkimod

        pki = self._pki_or_none()
        entries = []
        if pki is not None:
            if org is None:
                cert = pki.issue_device_certificate(eui, private_key.public_key(), usage)
            else:
                cert = pki.issue_org_certificate(eui, private_key.public_key(), usage, *org)
            entries.append(pkimod.KeystoreEntry(eui, usage, cert, private_key if org else None))
            pkimod.write_keystore(self.keystore, entries)

    def _write_parties(self):
        from . import pki as pkimod

        for role, party in self.dcc.parties.items():
            org = (pkimod.ROLE_CODES.get(role, "00"), "SMETSBENCH %s" % role.upper())
            for usage, key in (("ds", party.ds_key), ("ka", party.ka_key)):
                if key is not None:
                    self._write_key_pair(party.eui, usage, key, org)

    def device(self, handle):
        self._write_key_pair(handle.eui, "ka", handle.ka_key)
        self._write_key_pair(handle.eui, "ds", handle.ds_key)

    def result(self, res):
        self.count += 1
        stem = "%s_%03d_%s" % (res.usecase, self.count, res.scenario.upper())
        if res.command is not None:
            self._write(stem + "_COMMAND_GBCS.HEX", res.command)
        if res.response is not None:
            self._write(stem + "_RESPONSE_GBCS.HEX", res.response)
        for i, raw in enumerate(res.alerts):
            code = None
            try:
                code = checker.alert_code(envelope.decode(raw))
            except envelope.GBCSFormatError:
                pass
            tag = "%04X" % code if code is not None else "UNKNOWN"
            suffix = "" if i == 0 else "_%d" % (i + 1)
            self._write("%s_%s%s_ALERT_GBCS.HEX" % (stem, tag, suffix), raw)

    def _write(self, name, data):
        path = self.dir / name
        path.write_text(_hex(data))
        self.files.append(path)
