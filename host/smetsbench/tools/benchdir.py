"""A bench directory: the bench file, its test PKI, its remote parties and its devices' identities.

    BENCH/
      bench.toml   [bench] settings, one [[boards]] table per board (port, board type, role, EUI)
      pki/         the bench test PKI (oracle.pki.BenchPKI): root, device CA, organisation CA
      parties/     the remote parties' KA and DS keys and organisation certificates, in RTDS
                   keystore naming (<eui>-ka.pem/.key), so `DCC.from_keystore` loads them
      devices/     each device's KA and DS keys and SMKI-profile device certificates (RTDS naming)
                   and <eui>.json: role, install code, link key, initial values, provisioning

Everything a bench needs to drive its boards across runs is here: the DCC side (parties/) and
the boards (devices/) agree because both come from the same PKI. Keys are unencrypted PKCS#8
PEM files with mode 0600: this is a TEST bench, not the GB SMKI.

bench.toml::

    [bench]
    name = "lab-1"
    hub_eui = "00db1234567890a2"     # the CHF the devices are provisioned with
    eui_prefix = "00db1234"          # new device EUIs: prefix + random bytes

    [[boards]]
    name = "esme-1"
    port = "/dev/ttyUSB0"            # any pyserial URL, e.g. rfc2217://benchpc:4000
    board = "esp32-devkitc"          # a boards/*.json name
    role = "ESME"
    eui = "00db12340a1b2c3d"
"""

import datetime
import hashlib
import json
import os
import re
import secrets
import tomllib
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from smets import roles
from smets.zigbee import sec as zsec

from smetsbench.han import zcrypto
from smetsbench.han.hub import CHF_EUI
from smetsbench.oracle import pki as pkimod
from smetsbench.oracle.parties import DCC, DEFAULT_EUIS, DEVICE_TRUSTS, PREPAYMENT_ROLES
from smetsbench.tools.errors import ToolError

BENCH_FILE = "bench.toml"
ROLES = roles.bench_roles()  # the firmware's role table (smets.roles)
DEFAULT_EUI_PREFIX = "00db1234"
_BOARD_KEYS = ("name", "port", "board", "role", "eui", "note")
_SUPPLIER_NAME = "smetsbench TEST Supplier"


class BenchError(ToolError):
    """A bench directory that is missing, incomplete or inconsistent."""


# --- ZigBee install codes ------------------------------------------------------------------


def install_code_crc(code):
    """CRC-16/X-25 of an install code (ZigBee: poly 0x1021 reflected, init and xorout 0xFFFF),
    appended least significant byte first (smets.zigbee.sec)."""
    return zsec.install_code_with_crc(code)[-2:]


def new_install_code():
    """A random 16-byte install code with its CRC (18 bytes)."""
    return zsec.install_code_with_crc(secrets.token_bytes(16))


def check_install_code(code):
    code = bytes(code)
    if len(code) not in (8, 10, 14, 18) or install_code_crc(code[:-2]) != code[-2:]:
        raise BenchError("not a ZigBee install code with a valid CRC: %s" % code.hex())
    return code


def link_key(install_code):
    """The HAN link key a joining device derives from its install code (with its CRC): the
    AES-MMO hash of code and CRC (ZigBee B.6; host crypto, smetsbench.han.zcrypto)."""
    return zcrypto.mmo(bytes(install_code))


# --- small TOML writer for bench.toml --------------------------------------------------------


def _toml_value(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value)  # JSON string escapes are valid TOML basic-string escapes
    raise TypeError("cannot write %r to bench.toml" % (value,))


def _parse_eui(text, what="EUI-64"):
    clean = re.sub(r"[\s:-]", "", str(text or "")).lower()
    if not re.fullmatch(r"[0-9a-f]{16}", clean):
        raise BenchError("not an %s (16 hex digits): %r" % (what, text))
    return bytes.fromhex(clean)


def parse_eui(text):
    """8 bytes from '00db1234567890a0' (':' '-' and spaces allowed); BenchError otherwise."""
    return _parse_eui(text)


def parse_role(role):
    text = str(role or "").upper()
    if text not in ROLES:
        raise BenchError("role must be one of %s, got %r" % ("|".join(ROLES), role))
    return text


# --- boards ------------------------------------------------------------------------------


class BoardEntry:
    """One [[boards]] table of bench.toml."""

    def __init__(self, name, port, board="virtual", role=None, eui=None, note=None):
        self.name = name
        self.port = port
        self.board = board
        self.role = parse_role(role) if role else None
        self.eui = parse_eui(eui).hex() if eui else None
        self.note = note

    @classmethod
    def from_dict(cls, data, where):
        unknown = set(data) - set(_BOARD_KEYS)
        if unknown:
            raise BenchError("%s: unknown keys %s (allowed: %s)"
                             % (where, ", ".join(sorted(unknown)), ", ".join(_BOARD_KEYS)))
        for key in ("name", "port"):
            if not isinstance(data.get(key), str) or not data[key]:
                raise BenchError("%s: needs a %s" % (where, key))
        try:
            return cls(data["name"], data["port"], data.get("board", "virtual"),
                       data.get("role"), data.get("eui"), data.get("note"))
        except BenchError as exc:
            raise BenchError("%s: %s" % (where, exc)) from None

    def as_dict(self):
        return {k: getattr(self, k) for k in _BOARD_KEYS if getattr(self, k) is not None}

    def __repr__(self):
        return "<BoardEntry %s %s %s %s>" % (self.name, self.port, self.role, self.eui)


# --- devices -----------------------------------------------------------------------------


class DeviceRecord:
    """A device identity the bench issued: EUI, role, KA/DS keys and certificates, install code."""

    def __init__(self, eui, role, ka_key, ds_key, ka_cert, ds_cert, install_code, info=None):
        self.eui = bytes(eui)
        self.role = role
        self.ka_key = ka_key
        self.ds_key = ds_key
        self.ka_cert = ka_cert
        self.ds_cert = ds_cert
        self.install_code = bytes(install_code)
        self.info = dict(info or {})

    @property
    def link_key(self):
        return link_key(self.install_code)

    def certificates(self):
        return {"ka": self.ka_cert, "ds": self.ds_cert}

    def check(self, pki, where=""):
        """BenchError unless each certificate names this EUI, has the right key usage, holds the
        public key of the private key beside it and chains to the bench PKI."""
        where = where or "device %s" % self.eui.hex()
        for usage, cert, key in (("ka", self.ka_cert, self.ka_key),
                                 ("ds", self.ds_cert, self.ds_key)):
            try:
                cert_eui = pkimod.eui_from_certificate(cert)
                cert_usage = pkimod.usage_of(cert)
            except pkimod.PKIError as exc:
                raise BenchError("%s: %s certificate unreadable: %s" % (where, usage, exc)) \
                    from None
            if cert_eui != self.eui:
                raise BenchError("%s: the %s certificate names EUI %s, not %s: it belongs to "
                                 "another device" % (where, usage, cert_eui.hex(),
                                                     self.eui.hex()))
            if cert_usage != usage:
                raise BenchError("%s: the %s certificate is a %s certificate"
                                 % (where, usage, cert_usage))
            if pkimod.public_key_raw(cert) != pkimod.public_key_raw(key):
                raise BenchError("%s: the %s certificate does not match the %s private key: "
                                 "the files come from different provisionings"
                                 % (where, usage, usage))
            try:
                pkimod.verify_chain(cert, pki)
            except pkimod.PKIError as exc:
                raise BenchError("%s: the %s certificate does not chain to this bench's PKI "
                                 "(%s)" % (where, usage, exc)) from None

    def __repr__(self):
        return "<DeviceRecord %s %s>" % (self.role, self.eui.hex())


def _der_b64(cert):
    import base64

    return base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()


def fingerprint(cert):
    """SHA-256 hex of a certificate's DER (what the firmware reports per certificate held)."""
    return hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()


# --- the bench ---------------------------------------------------------------------------


class BenchDir:
    def __init__(self, path, settings, boards):
        self.path = Path(path)
        self.settings = dict(settings)
        self.boards = list(boards)
        self._pki = None

    # -- files
    @property
    def file(self):
        return self.path / BENCH_FILE

    def _dir(self, key, default):
        return self.path / self.settings.get(key, default)

    @property
    def pki_dir(self):
        return self._dir("pki", "pki")

    @property
    def parties_dir(self):
        return self._dir("parties", "parties")

    @property
    def devices_dir(self):
        return self._dir("devices", "devices")

    @property
    def name(self):
        return self.settings.get("name") or self.path.name

    @property
    def hub_eui(self):
        return _parse_eui(self.settings.get("hub_eui") or CHF_EUI.hex(), "hub EUI")

    @property
    def hub_dir(self):
        """The hub's CHF (keys, device log, logs) kept across runs: `provision` adds each
        board to its device log (CCS01), and later runs' hubs carry on with it."""
        return self._dir("hub_dir", "hub")

    # -- creation and loading
    @classmethod
    def create(cls, path, name=None, now=None, roles=DEVICE_TRUSTS):
        """A new bench in `path`: PKI, remote parties with certificates, empty bench.toml."""
        path = Path(path)
        if (path / BENCH_FILE).exists():
            raise BenchError("%s already holds a bench (%s); use another directory"
                             % (path, BENCH_FILE))
        if (path / "pki").exists() and any((path / "pki").iterdir()):
            raise BenchError("%s/pki already exists: refusing to replace a bench PKI" % path)
        path.mkdir(parents=True, exist_ok=True)
        settings = {"name": name or path.resolve().name, "hub_eui": CHF_EUI.hex(),
                    "eui_prefix": DEFAULT_EUI_PREFIX, "pki": "pki", "parties": "parties",
                    "devices": "devices"}
        bench = cls(path, settings, [])
        pki = pkimod.BenchPKI.create(bench.pki_dir, now=now)
        bench._pki = pki
        entries = []
        for role in roles:
            eui = bytes.fromhex(DEFAULT_EUIS[role])
            for usage in ("ka", "ds"):
                key = pkimod.generate_key()
                name_cn = _SUPPLIER_NAME if (role, usage) == ("supplier", "ds") else None
                cert = pki.issue_org_certificate(eui, key, usage, role, name_cn, now=now)
                entries.append(pkimod.KeystoreEntry(eui, usage, cert, key))
            if role in PREPAYMENT_ROLES:
                # The supplier's prepayment key agreement key (UTRNs, GBCS 14), a KA
                # certificate of its own as in the RTDS keystore (<eui>-pp-ka).
                key = pkimod.generate_key()
                cert = pki.issue_org_certificate(eui, key, "ka", role, now=now)
                entries.append(pkimod.KeystoreEntry(eui, "pp-ka", cert, key))
        pkimod.write_keystore(bench.parties_dir, entries)
        bench.devices_dir.mkdir(parents=True, exist_ok=True)
        bench.save()
        return bench

    @classmethod
    def load(cls, path):
        """The bench in directory `path` (or whose bench.toml is `path`)."""
        path = Path(path)
        file = path if path.name.endswith(".toml") else path / BENCH_FILE
        if not file.exists():
            raise BenchError("no bench at %s (no %s): create one with `smetsbench bench-init %s`"
                             % (path, file.name, path))
        try:
            data = tomllib.loads(file.read_text())
        except (tomllib.TOMLDecodeError, UnicodeError) as exc:
            raise BenchError("%s is not valid TOML: %s" % (file, exc)) from None
        settings = data.get("bench", {})
        if not isinstance(settings, dict):
            raise BenchError("%s: [bench] must be a table" % file)
        raw_boards = data.get("boards", [])
        if not isinstance(raw_boards, list):
            raise BenchError("%s: boards must be an array of tables ([[boards]])" % file)
        boards = []
        for i, item in enumerate(raw_boards):
            if not isinstance(item, dict):
                raise BenchError("%s: boards[%d] is not a table" % (file, i))
            boards.append(BoardEntry.from_dict(item, "%s: boards[%d]" % (file, i)))
        names = [b.name for b in boards]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise BenchError("%s: board names used twice: %s" % (file, ", ".join(dup)))
        bench = cls(file.parent, settings, boards)
        _ = bench.hub_eui  # validates it
        return bench

    def save(self):
        """Rewrite bench.toml from the settings and boards."""
        lines = ["# smetsbench bench file: the boards of this bench and where its keys are.",
                 "# Written by smetsbench (bench-init, provision); edit freely, keep notes in "
                 "`note`.", "", "[bench]"]
        for key, value in self.settings.items():
            lines.append("%s = %s" % (key, _toml_value(value)))
        for board in self.boards:
            lines += ["", "[[boards]]"]
            for key, value in board.as_dict().items():
                lines.append("%s = %s" % (key, _toml_value(value)))
        tmp = self.file.with_name(self.file.name + ".tmp")
        tmp.write_text("\n".join(lines) + "\n")
        os.replace(tmp, self.file)

    # -- PKI and parties
    @property
    def pki(self):
        if self._pki is None:
            try:
                self._pki = pkimod.BenchPKI.load(self.pki_dir)
            except FileNotFoundError:
                raise BenchError("bench %s has no PKI in %s" % (self.path, self.pki_dir)) \
                    from None
            except pkimod.PKIError as exc:
                raise BenchError("bench PKI %s is damaged: %s" % (self.pki_dir, exc)) from None
        return self._pki

    def dcc(self):
        """The bench's remote parties (private keys from parties/)."""
        if not self.parties_dir.is_dir():
            raise BenchError("bench %s has no parties directory %s" % (self.path,
                                                                      self.parties_dir))
        return DCC.from_keystore(self.parties_dir)

    def party_certificates(self):
        """{(eui hex, usage): certificate} of the remote parties."""
        store = pkimod.load_keystore(self.parties_dir)
        out = {}
        for (eui, usage), entry in store.items():
            if entry.certificate is not None and usage in ("ka", "ds"):
                out[(eui.hex(), usage)] = entry.certificate
        return out

    def board_certificates(self, record):
        """{name: certificate} a board holds: its own ('ka', 'ds'), the bench root CA
        ('root-ca') and each remote party's ('<eui>-ka', '<eui>-ds')."""
        certs = {"ka": record.ka_cert, "ds": record.ds_cert,
                 "root-ca": self.pki.root.certificate}
        for (eui, usage), cert in sorted(self.party_certificates().items()):
            certs["%s-%s" % (eui, usage)] = cert
        return certs

    # -- devices
    def _device_paths(self, eui):
        stem = bytes(eui).hex()
        d = self.devices_dir
        return {"ka.pem": d / (stem + "-ka.pem"), "ka.key": d / (stem + "-ka.key"),
                "ds.pem": d / (stem + "-ds.pem"), "ds.key": d / (stem + "-ds.key"),
                "json": d / (stem + ".json")}

    def device(self, eui):
        """The DeviceRecord of `eui`, None if the bench never issued one. BenchError when its
        files are incomplete or unreadable."""
        eui = parse_eui(eui) if isinstance(eui, str) else bytes(eui)
        files = self._device_paths(eui)
        if not files["json"].exists():
            return None
        missing = [p.name for p in files.values() if not p.exists()]
        if missing:
            raise BenchError("device %s in %s is incomplete: missing %s"
                             % (eui.hex(), self.devices_dir, ", ".join(missing)))
        try:
            info = json.loads(files["json"].read_text())
            keys = {u: serialization.load_pem_private_key(files[u + ".key"].read_bytes(), None)
                    for u in ("ka", "ds")}
            certs = {u: x509.load_pem_x509_certificate(files[u + ".pem"].read_bytes())
                     for u in ("ka", "ds")}
            code = check_install_code(bytes.fromhex(info["install_code"]))
        except (ValueError, KeyError, TypeError) as exc:
            raise BenchError("device %s in %s is unreadable: %s"
                             % (eui.hex(), self.devices_dir, exc)) from None
        return DeviceRecord(eui, info.get("role"), keys["ka"], keys["ds"], certs["ka"],
                            certs["ds"], code, info)

    def devices(self):
        """EUIs (hex) of every device the bench issued an identity to."""
        if not self.devices_dir.is_dir():
            return []
        return sorted(p.stem for p in self.devices_dir.glob("*.json")
                      if re.fullmatch(r"[0-9a-f]{16}", p.stem))

    def new_eui(self):
        prefix = bytes.fromhex(self.settings.get("eui_prefix", DEFAULT_EUI_PREFIX))
        if len(prefix) >= 8:
            raise BenchError("eui_prefix must be shorter than 8 bytes")
        while True:
            eui = prefix + secrets.token_bytes(8 - len(prefix))
            if not self._device_paths(eui)["json"].exists():
                return eui

    def issue_identity(self, role, eui=None, init=None, now=None):
        """New KA and DS key pairs for a device, their certificates from the bench Device CA,
        an install code; written to devices/. Returns the DeviceRecord."""
        role = parse_role(role)
        eui = self.new_eui() if eui is None else (parse_eui(eui) if isinstance(eui, str)
                                                   else bytes(eui))
        keys = {u: pkimod.generate_key() for u in ("ka", "ds")}
        certs = {u: self.pki.issue_device_certificate(eui, keys[u], u, role, now=now)
                 for u in ("ka", "ds")}
        code = new_install_code()
        issued = datetime.datetime.now(datetime.UTC).replace(microsecond=0).isoformat()
        info = {"eui": eui.hex(), "role": role, "install_code": code.hex(),
                "link_key": link_key(code).hex(), "init": dict(init or {}), "issued": issued,
                "provisioned": None}
        record = DeviceRecord(eui, role, keys["ka"], keys["ds"], certs["ka"], certs["ds"],
                              code, info)
        self.devices_dir.mkdir(parents=True, exist_ok=True)
        pkimod.write_keystore(self.devices_dir, [
            pkimod.KeystoreEntry(eui, u, certs[u], keys[u]) for u in ("ka", "ds")])
        self.save_device_info(record)
        return record

    def save_device_info(self, record):
        path = self._device_paths(record.eui)["json"]
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(record.info, indent=2, sort_keys=True) + "\n")
        os.replace(tmp, path)

    # -- boards
    def board(self, key):
        """The board entry named `key`, or on port `key`, or with EUI `key`; None if none."""
        for board in self.boards:
            if key in (board.name, board.port) or (board.eui and board.eui == str(key).lower()):
                return board
        return None

    def boards_for(self, role):
        return [b for b in self.boards if b.role == parse_role(role)]

    def set_board(self, entry):
        """Add `entry`, replacing the entry with the same name or the same port."""
        self.boards = [b for b in self.boards if b.name != entry.name and b.port != entry.port]
        self.boards.append(entry)

    def unique_board_name(self, role):
        base = (role or "board").lower()
        taken = {b.name for b in self.boards}
        n = 1
        while "%s-%d" % (base, n) in taken:
            n += 1
        return "%s-%d" % (base, n)

    def __repr__(self):
        return "<BenchDir %s: %d boards>" % (self.path, len(self.boards))
