"""Device-to-device key agreement of a Method A join (GBCS 13.7): the meter (the initiator, told
by CS03A1) and the PPMID or HCALCS (the responder, told by CS03A2) learn each other's key
agreement public key over the HAN, through the ZSE Key Establishment cluster (0x0800). Method C
needs no exchange: the join command carries the partner's certificate (smets.devices.joins).

The exchange is the emulator's reduced form of CBKE: Initiate Key Establishment Request (client
to server, command 0x00) carries the initiator's 64-byte P-256 key agreement public key X||Y
after a 2-byte suite id, the Response (server to client, 0x00) the responder's; each side
records the other's key in its device log (FLAG_KEY), from which both derive the same ECDH
secret (static keys, as for Method C). Real GBCS CBKE exchanges the SMKI certificates and
ephemeral keys with a key confirmation (ECMQV); that part is not emulated. The link key the
two then share (`link_key`) is derived from the secret as CBKE derives its KeyData: the hash
KDF of SEC 1 3.6.1 with SHA-256 over Z || counter 1, MacKey the first 16 bytes and the link key
the next 16 (ZSE 1.4 Annex C, key derivation); the two devices' Smart Energy frames are
APS-secured with it (smets.zigbee.stack, GBCSDevice.han_link_key). A side takes the
exchange only from a device its log holds as its Method A partner, else it answers Terminate
Key Establishment (0x03) "unknown issuer" (the initiator tries again: the two joins may arrive
in either order). Loaded for the frame only.
"""

from smets import devlog
from smets.gbcs import p256
from smets.han import ApsFrame
from smets.zcl.frame import TYPE_CLUSTER, ZCLFrame

CLUSTER = 0x0800
INITIATE = 0x00  # request (client -> server) and response (server -> client)
TERMINATE = 0x03
SUITE = b"\x00\x80"  # the emulator's suite id (little-endian 0x8000: P-256 static keys)
STATUS_UNKNOWN_ISSUER = 0x01
STATUS_BAD_MESSAGE = 0x03


def link_key(dev, partner_ka):
    """The 16-byte link key `dev` shares with the partner whose key agreement public key is
    `partner_ka` (X||Y): KeyData of SHA-256(Z || 00000001), Z the static ECDH secret."""
    import hashlib

    z = p256.ecdh(dev.ka_key, partner_ka)
    return hashlib.sha256(z + b"\x00\x00\x00\x01").digest()[16:]


def _own_key(dev):
    return p256.public_key(dev.ka_key)


def request(dev, partner, seq):
    """The initiator's Initiate Key Establishment Request to `partner`."""
    frame = ZCLFrame(INITIATE, SUITE + _own_key(dev), seq=seq)
    return ApsFrame(dev.eui, partner, CLUSTER, frame.to_bytes())


def _partner(dev, eui, method):
    e = dev.device_log.entry(eui)
    return e is not None and e[1] == method


def on_frame(dev, aps, zcl, now):
    """Frames out for a Key Establishment frame, or None when it is not one."""
    if aps.cluster != CLUSTER or zcl.frame_type != TYPE_CLUSTER:
        return None
    payload = zcl.payload
    if zcl.command == TERMINATE:
        dev.log("W", "key establishment refused by %s (status %d)" % (
            aps.src_eui.hex() if hasattr(aps.src_eui, "hex") else aps.src_eui,
            payload[0] if len(payload) else -1))
        return []
    if zcl.command != INITIATE:
        return None
    responder = not zcl.server_to_client
    method = devlog.METHOD_A_RESPONDER if responder else devlog.METHOD_A_INITIATOR
    if len(payload) != 66 or payload[:2] != SUITE:
        status = STATUS_BAD_MESSAGE
    elif not _partner(dev, aps.src_eui, method):
        status = STATUS_UNKNOWN_ISSUER
    else:
        key = bytes(payload[2:])
        try:
            p256.decode_point(b"\x04" + key)
        except p256.P256Error:
            status = STATUS_BAD_MESSAGE
        else:
            dev.device_log.set_key(aps.src_eui, key)
            dev.log("I", "key agreed with %s" % "".join("%02x" % b for b in aps.src_eui))
            if not responder:
                return []
            frame = ZCLFrame(INITIATE, SUITE + _own_key(dev), server_to_client=True,
                             disable_default_response=True, seq=zcl.seq)
            return [aps.reply(CLUSTER, frame.to_bytes())]
    frame = ZCLFrame(TERMINATE, bytes((status, 0, 0)), server_to_client=responder,
                     disable_default_response=True, seq=zcl.seq)
    return [aps.reply(CLUSTER, frame.to_bytes())]
