"""`smetsbench decode`: decode GBCS messages (RTDS-style hex files) and check them with a keystore.

Works on any folder of `*_GBCS.HEX` files and a keystore in RTDS naming (`<eui>-<ka|ds>.pem`
certificates, `<eui>-<ka|ds>.key` private keys): the DCC RTDS, or a `smetsbench demo --trace`
run. Keys are chosen from the message (GBCS 4.3.3):
- command MAC: ACB KA private key + recipient device KA certificate;
- response / alert MAC: recipient remote party KA private key + originator KA certificate;
- signatures: originator DS certificate;
- encrypted payload parts: the payload recipient's KA private key (supplementary remote party
  when present) + originator KA certificate.
"""

import json
import sys
from pathlib import Path

from smets.dlms import access, axdr
from smets.gbcs import envelope

from smetsbench.oracle import crypto as ocrypto
from smetsbench.oracle.checker import Checks, protected_attributes
from smetsbench.payloads import registry as payloads

ACB = bytes.fromhex("90b3d51f30000002")


def read_hex(path):
    text = Path(path).read_text().strip()
    return bytes.fromhex("".join(text.split()))


def _try_z(ks, private_title, public_title):
    if not ks.has_private(private_title, "ka") or not ks.has_public(public_title, "ka"):
        return None
    return ocrypto.ecdh(ks.private(private_title, "ka"), ks.public(public_title, "ka"))


def verify(raw, ks, precommand=False):
    """(Checks, decoded JSON) for one GBCS message; a check is skipped when a key is missing."""
    checks = Checks()
    try:
        msg = envelope.decode_precommand(raw) if precommand else envelope.decode(raw)
    except envelope.GBCSFormatError as exc:
        checks.add("envelope", False, str(exc))
        return checks, None
    out = {
        "cra": {1: "command", 2: "response", 3: "alert"}[msg.cra],
        "message_code": "%04X" % msg.message_code,
        "originator": msg.originator.hex(),
        "recipient": msg.recipient.hex(),
        "counter": msg.counter,
        "date_time": axdr.date_time_str(msg.date_time) if msg.date_time else None,
        "other_information": bytes(msg.other_info).hex(),
        "signed": msg.signature is not None,
        "mac": msg.mac.hex() if msg.mac else None,
    }
    checks.add("envelope", True)
    if msg.mac is not None:
        if msg.cra == envelope.CRA_COMMAND:
            # Remote-party commands are MACed by the ACB. A device-originated command (PPMID
            # to GSME on the HAN) is MACed device to device: that needs device private keys.
            remote = ks.has_private(msg.originator, "ds") or ks.has_private(msg.originator, "ka")
            z = _try_z(ks, ACB, msg.recipient) if remote else None
        else:
            z = _try_z(ks, msg.recipient, msg.originator)
        if z is None:
            out["mac_check"] = "no key"
        else:
            checks.add("MAC", ocrypto.verify_message_mac(msg, z))
    if msg.signature is not None:
        if ks.has_public(msg.originator, "ds"):
            checks.add("signature", ocrypto.verify_message_signature(
                msg, ks.public(msg.originator, "ds")))
        else:
            out["signature_check"] = "no key"
    content = bytes(msg.content)
    kind = payloads.kind_of(content, msg)
    out["payload_kind"] = kind.name
    if kind is payloads.UNKNOWN:
        out["payload"] = content.hex()
        return checks, out
    try:
        value = kind.decode(content, msg)
    except ValueError as exc:
        checks.add("%s payload" % kind.name, False, str(exc))
        out["payload"] = content.hex()
        return checks, out
    checks.add("%s payload" % kind.name, True)
    key = _JSON_KEYS[kind.name]
    if kind is payloads.DLMS:
        out[key] = kind.to_json(value)
        if isinstance(value, access.AccessResponse):
            _decrypt(value, msg, ks, checks, out)
    elif kind is payloads.GBZ:
        out[key] = kind.to_json(value, _decrypt_gbz(value, msg, ks, checks, out))
    else:
        out[key] = kind.to_json(value)
    code = kind.alert_code(content, msg)
    if code is not None:
        out["alert_code"] = "%04X" % code
    failure = kind.failure(content, msg)
    if failure is not None:
        out["failure"] = {"index": failure[0], "code": failure[1]}
    return checks, out


# JSON member of each payload kind's decoded form.
_JSON_KEYS = {"DLMS": "dlms", "GBZ": "gbz", "ASN.1": "asn1"}


def _payload_key(ks, msg):
    originator, counter, recipient = ocrypto.payload_kdf_inputs(msg)
    return originator, counter, recipient, _try_z(ks, recipient, originator)


def _decrypt(apdu, msg, ks, checks, out):
    for i, d in enumerate(apdu.data):
        prot = protected_attributes(d)
        if prot is None:
            continue
        originator, counter, recipient, z = _payload_key(ks, msg)
        if z is None:
            out.setdefault("decrypted", {})[str(i)] = "no key"
            continue
        _sc, _ic, ct, tag = prot.split()
        try:
            plain = ocrypto.decrypt_payload(z, originator, counter, recipient,
                                            bytes(ct) + bytes(tag))
            out.setdefault("decrypted", {})[str(i)] = axdr.to_json(axdr.from_bytes(plain))
            checks.add("payload decryption", True)
        except (ocrypto.GBCSCryptoError, ValueError) as exc:
            checks.add("payload decryption", False, str(exc))


def _decrypt_gbz(payload, msg, ks, checks, out):
    """{component index: plaintext ZCL payload} of the encrypted GBZ components (GBCS 7.3.5:
    the KDF mode 04 key, AAD 31)."""
    plain = {}
    for i, c in enumerate(payload.components):
        if not c.encrypted:
            continue
        originator, counter, recipient, z = _payload_key(ks, msg)
        if z is None:
            out.setdefault("decrypted", {})[str(i)] = "no key"
            continue
        try:
            plain[i] = ocrypto.decrypt_payload(z, originator, counter, recipient,
                                               c.ciphertext_and_tag)
            out.setdefault("decrypted", {})[str(i)] = "ok"
            checks.add("payload decryption", True)
        except (ocrypto.GBCSCryptoError, ValueError) as exc:
            checks.add("payload decryption", False, str(exc))
    return plain


def _unchecked(out):
    """What could not be checked for lack of a key (a list of names)."""
    if out is None:
        return []
    names = [k for k in ("mac_check", "signature_check") if out.get(k)]
    decrypted = out.get("decrypted") or {}
    names += ["payload %s" % i for i, v in decrypted.items() if v == "no key"]
    return names


def main(files, keystore=None, strict=False):
    """Print one JSON record per file; exit 1 if a check failed (or, with `strict`, could not be
    made for lack of a key), 2 if the keystore or an input is unusable."""
    if keystore and not Path(keystore).is_dir():
        print("smetsbench decode: keystore %s is not a directory" % keystore, file=sys.stderr)
        return 2
    ks = ocrypto.KeyStore(keystore) if keystore else None
    paths = []
    for f in files:
        p = Path(f)
        if not p.exists():
            print("smetsbench decode: no such file or directory: %s" % p, file=sys.stderr)
            return 2
        # A folder: every *_GBCS.HEX below it (an RTDS root holds one folder per use case).
        paths.extend(sorted(p.rglob("*_GBCS.HEX")) if p.is_dir() else [p])
    if not paths:
        print("smetsbench decode: no *_GBCS.HEX files in %s" % " ".join(files), file=sys.stderr)
        return 2
    failed = unchecked = 0
    for p in paths:
        try:
            raw = read_hex(p)
        except (ValueError, OSError) as exc:
            failed += 1
            print(json.dumps({"file": str(p), "ok": False,
                              "checks": ["FAIL read: %s" % exc]}, indent=1))
            continue
        checks, out = verify(raw, ks if ks is not None else _NoKeys(),
                             precommand="_PRECOMMAND_" in p.name)
        missing = _unchecked(out)
        if not checks.ok:
            failed += 1
        elif missing:
            unchecked += 1
        print(json.dumps({"file": str(p), "ok": checks.ok, "unchecked": missing,
                          "checks": [repr(c) for c in checks], "message": out}, indent=1))
    print("%d files, %d failed, %d not fully checked (no key%s)" % (
        len(paths), failed, unchecked, "" if keystore else ": give --keystore"),
        file=sys.stderr)
    return 1 if failed or (strict and unchecked) else 0


class _NoKeys:
    def has_private(self, *a):
        return False

    def has_public(self, *a):
        return False


def register(sub):
    c = sub.add_parser("decode", help="decode GBCS hex files to JSON and check MACs/signatures")
    c.add_argument("files", nargs="+", help="*_GBCS.HEX files or folders of them")
    c.add_argument("--keystore", metavar="DIR", help="keys to check MACs/signatures and decrypt")
    c.add_argument("--strict", action="store_true",
                   help="fail when a MAC, signature or encrypted part cannot be checked")
    c.set_defaults(func=lambda a: main(a.files, keystore=a.keystore, strict=a.strict))
