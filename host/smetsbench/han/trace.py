"""Write a bench run as RTDS-style files so any GBCS tool can re-check it.

    <dir>/<UseCase>_<n>_<SCENARIO>_COMMAND_GBCS.HEX
    <dir>/<UseCase>_<n>_<SCENARIO>_RESPONSE_GBCS.HEX
    <dir>/<UseCase>_<n>_<SCENARIO>_<ALERTCODE>_ALERT_GBCS.HEX
    <dir>/keystore/<eui>-<ka|ds>.pem   certificates of the devices and remote parties
    <dir>/keystore/<eui>-<ka|ds>.key   remote-party private keys (devices keep theirs)
    <dir>/pki/                         the run's test PKI that issued those certificates

n numbers the runs so repeated use cases do not overwrite each other. File contents are upper
case hex on one line, as in the DCC RTDS.
"""

from pathlib import Path

from smets.gbcs import envelope

from smetsbench.oracle import checker, pki


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

    def _issue(self, eui, usage, private_key, role=None):
        """Certificate from the run's test PKI, written with (remote parties) its private key."""
        if self._pki is None:
            self._pki = pki.BenchPKI.load_or_create(self.dir / "pki")
        if role is None:
            cert = self._pki.issue_device_certificate(eui, private_key.public_key(), usage)
            key = None
        else:
            cert = self._pki.issue_org_certificate(
                eui, private_key.public_key(), usage, pki.PARTY_ROLES[role],
                "SMETSBENCH %s" % role.upper())
            key = private_key
        pki.write_keystore(self.keystore, [(eui, usage, cert, key) if key else
                                           (eui, usage, cert)])

    def _write_parties(self):
        for role, party in self.dcc.parties.items():
            for usage, key in (("ds", party.ds_key), ("ka", party.ka_key)):
                if key is not None:
                    self._issue(party.eui, usage, key, role)

    def device(self, handle):
        self._issue(handle.eui, "ka", handle.ka_key)
        self._issue(handle.eui, "ds", handle.ds_key)

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
