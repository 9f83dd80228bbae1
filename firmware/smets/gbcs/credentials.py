"""The security credential use cases (GBCS section 12) of any GBCS device, imported for one
call (`GBCSDevice.execute_credentials`): the rules and shared helpers here, CS02a/c/d/e/f and
the unknown-remote-party key in `credentials_keys`, CS02b/g in `credentials_anchors`. What a
device holds differs by role (`CELLS`, `MODES`); the rest is the same for every device.

ASN.1 DER payloads (smets.gbcs.asn1) in and out:
- CS02a (0x0008) / CS02f (0x011B) Provide Security Credentials Details: for each remote party
  role asked for, its trust anchor cells (key usage, cell usage, subject entity id, subject key
  identifier) and the role's current sequence number.
- CS02c (0x000A) Issue Security Credentials: a new key pair for the key usage asked for, kept
  pending, and a PKCS#10 certification request signed with it.
- CS02d (0x000B) Update Device Certificate on Device: the certificate is stored as the
  device's own ("cert-ds" / "cert-ka", the records CONTROL "certificates" writes); when it
  certifies the pending key pair, that key pair replaces the device's.
- CS02e (0x000C) Provide Device Certificate from Device: the stored certificate.
- CS02b (0x0102-0x0108) / CS02g (0x0125, 0x0126) Update Security Credentials: trust anchor
  cells replaced by certificates, immediately or at an execution date-time (then an 8F66 /
  8F67 alert, message code 0x00CB / 0x0124, reports the outcome; the "never" date-time
  9999-12-31T23:59:59Z cancels a pending update).
- ECS21b to an unknown remote party (URP): `urp` takes the party's key agreement key from the
  certificate in the command's other-information.

Trust anchors live in the store record "trust" ({role: {"eui", "ds", "ka", "pp" (prepayment
KA), "ca" (the root's key), "seq"}}, hex); until the first replacement the provisioned
identity's parties are the trust anchors. A replacement saves the whole record at once (write
and rename: a power cut leaves the old or the new anchors, never a mix) and reloads the
device's parties, so the next command is checked against the new keys.

Rules, from the RTDS 4.5.0 messages and the ASN.1 of gbcs-parser, and where those do not say,
the emulator's choices (marked *):
- Cells a device holds (`CELLS`; the ESME's): root (keyCertSign), recovery DS, supplier DS, KA
  and prepayment KA, network operator DS and KA, ACB KA, transitional CoS DS, load controller
  DS and KA; a role without a row of its own holds the ESME's cells but the load controller's.
  Another role is "trust anchor not found" (25, RTDS: WAN provider); a held role with no party is
  "no trust anchor" (10)*. CS02f answers "other" (127) for the transitional CoS (both RTDS
  CS02f ERROR variants), otherwise as CS02a.
- The authorising cell of CS02a/f and CS02b/g must be the originator's role; a CS02b/g's
  replacement mode must be its message code's, sent by the role that mode names: supplier by
  supplier (2), network operator (3) and ACB (4) by themselves, transitional CoS by itself (6),
  supplier by transitional CoS (7), any cell but the root by recovery (8), load controller by
  itself (10) or by the supplier (11). Otherwise the command is rejected (not authorised).
- Per replacement (TAMP status codes, RFC 5934, as GBCS uses them): a cell the device does not
  hold 25; a cell the mode may not replace 11 (not authorised); an undecodable certificate, one
  whose key usage is not the cell's or whose role (subject OU) is not the cell's 5 (bad
  certificate; a load controller cell takes a supplier's or load controller's certificate);
  no certification path to a trust anchor 10. Cells are replaced one by one: a failed one
  keeps its anchor and reports existing = replacing (RTDS CS02g ERROR, CS02b contingency).
- Certification path: the replacement is verified with the path certificate whose subject key
  identifier is its authority key identifier, and that certificate with the root trust
  anchor. A device provisioned without a root anchor* accepts the path certificates as they
  are (the authorising party's signature, or the ACB's MAC, still covers the command).
  Validity periods are checked only when the command asks for time-based checks ([1] = 0)*:
  the RTDS device clock (2015) precedes most RTDS certificates.
- Sequence numbers (TAMP): the authorising seq number must exceed the authorising role's
  current one (else every replacement fails, 21 seqNumFailure); after the update the role
  keeps it, then the new floors apply: [4] to the authorising role, [6] to the roles named, and
  a role's floor also becomes the last accepted originator counter of its (new) party.
- CS02d: accepted when the certificate is the device's (hardwareModuleName = its EUI), for
  digitalSignature or keyAgreement alone, and for the pending key pair of CS02c (the private
  key is then replaced) or the current one* (a re-issued certificate, as the RTDS CS02d
  SUCCESS, whose certificate CS02e returns unchanged). The response to it is signed with the
  new key when the DS key changed*.
- An execution failure the bench injects (CONTROL fault_dlms) makes CS02c answer 2 (key pair
  generation failed), CS02d 6 (certificate storage failed) and CS02e 3 (retrieval failure).
"""

from smets.gbcs import asn1
from smets.gbcs.asn1 import SEQUENCE, read_as
from smets.gbcs.cert import KU_DIGITAL_SIGNATURE as DS
from smets.gbcs.cert import KU_KEY_AGREEMENT as KA
from smets.gbcs.cert import KU_KEY_CERT_SIGN as CA

ROLE_NAMES = {0: "root", 1: "recovery", 2: "supplier", 3: "network_operator", 4: "acb",
              5: "tcos", 6: "wan_provider", 8: "load_controller"}
# Trust anchor cells: (role code, key usage, cell usage, trust record field). Every device:
_COMMON_CELLS = ((0, CA, 0, "ca"), (1, DS, 0, "ds"), (2, DS, 0, "ds"), (2, KA, 0, "ka"),
                 (2, KA, 1, "pp"), (3, DS, 0, "ds"), (3, KA, 0, "ka"), (4, KA, 0, "ka"),
                 (5, DS, 0, "ds"))
# Update Security Credentials: message code -> (replacement mode, authorising role, targets).
_COMMON_MODES = {0x0102: (2, 2, (2,)), 0x0103: (3, 3, (3,)), 0x0104: (4, 4, (4,)),
                 0x0106: (6, 5, (5,)), 0x0107: (7, 5, (2,)), 0x0108: (8, 1, (1, 2, 3, 4, 5))}
# By device role, where it holds more: the ESME has the load controller's cells (CS02g);
# or less: the gas meter has no network operator cells (the RTDS 4.5.0 CS02a ERROR answers
# "trust anchor not found" for role 3 on the GSME). The CHF's commands come from the ACB (its
# DS and KA cells) and the WAN provider manages its WAN side (its DS cell, CS02b 0x0105); it
# holds no supplier, network operator or TCoS cells.
CELLS = {"ESME": _COMMON_CELLS + ((8, DS, 0, "ds"), (8, KA, 0, "ka")),
         "GSME": tuple(c for c in _COMMON_CELLS if c[0] != 3),
         "CHF": ((0, CA, 0, "ca"), (1, DS, 0, "ds"), (4, DS, 0, "ds"), (4, KA, 0, "ka"),
                 (6, DS, 0, "ds"))}
MODES = {"GSME": {k: v for k, v in _COMMON_MODES.items() if k != 0x0103},
         "ESME": {0x0102: (2, 2, (2,)), 0x0103: (3, 3, (3,)), 0x0104: (4, 4, (4,)),
                  0x0106: (6, 5, (5,)), 0x0107: (7, 5, (2,)), 0x0108: (8, 1, (1, 2, 3, 4, 5, 8)),
                  0x0125: (10, 8, (8,)), 0x0126: (11, 2, (8,))},
         "CHF": {0x0104: (4, 4, (4,)), 0x0105: (5, 6, (6,)), 0x0108: (8, 1, (1, 4, 6))}}


def cells(dev):
    """The trust anchor cells `dev` holds."""
    return CELLS.get(dev.ROLE, _COMMON_CELLS)


def modes(dev):
    """{message code: (replacement mode, authorising role, target roles)} of `dev`."""
    return MODES.get(dev.ROLE, _COMMON_MODES)

MSG_CS02A = 0x0008
MSG_CS02C = 0x000A
MSG_CS02D = 0x000B
MSG_CS02E = 0x000C
MSG_CS02F = 0x011B
MSG_CS02B_ALERT = 0x00CB
MSG_CS02G_ALERT = 0x0124
ALERT_EXECUTED = 0x8F66
ALERT_NOT_EXECUTED = 0x8F67

# TAMP status codes (RFC 5934 StatusCode) used by GBCS.
SUCCESS = 0
BAD_CERTIFICATE = 5
NO_TRUST_ANCHOR = 10
NOT_AUTHORISED = 11
SEQ_NUM_FAILURE = 21
TRUST_ANCHOR_NOT_FOUND = 25
OTHER = 127

NEVER = 253402300799  # 9999-12-31T23:59:59Z: cancels a pending update
ZERO8 = bytes(8)
_ROOT_EUI = "0000000000000000"




def trust_of(dev):
    """The trust anchors {role: entry} to read and change: a copy of the device's, sharing
    the entries until `writable` copies one (the device's stay as they are until saved)."""
    return dict(dev.trust)


def writable(trust, role):
    """The entry of a role code in a `trust_of` copy, itself a copy that may be changed."""
    name = ROLE_NAMES[role]
    entry = dict(trust.get(name) or {})
    trust[name] = entry
    return entry


def _role_code(party):
    for code, name in ROLE_NAMES.items():
        if name == party.role:
            return code
    return -1


def _whole(data, tag=SEQUENCE):
    body, rest = read_as(data, tag)
    if len(rest):
        raise asn1.ASN1Error("%d bytes after the payload" % len(rest))
    return body


def _cell_id(data):
    """(role, key usage, cell usage), rest of a TrustAnchorCellIdentifier."""
    body, rest = read_as(data, SEQUENCE)
    role, body = asn1.read_int(body)
    usage, body = asn1.read_bits(body)
    cell_usage = 0
    if len(body):
        cell_usage, body = asn1.read_int(body)
    return (role, usage, cell_usage), rest


def _cell_id_bytes(role, usage, cell_usage):
    return asn1.sequence(asn1.integer(role), asn1.bits(usage),
                         asn1.integer(cell_usage) if cell_usage else b"")


def _cell(dev, role, usage, cell_usage):
    for c in cells(dev):
        if c[0] == role and c[1] == usage and c[2] == cell_usage:
            return c
    return None


def _anchor(trust, role, field):
    """(entity id, public key) of a cell, or None when it is empty."""
    e = trust.get(ROLE_NAMES.get(role))
    if not e or not e.get(field):
        return None
    return bytes.fromhex(e.get("eui") or _ROOT_EUI), bytes.fromhex(e[field])
