"""Securing and unsecuring NWK and APS frames (ZigBee spec 4.3.1, 4.4.1), frame counters.

Both layers use CCM* at level 5 (ENC-MIC-32): the MIC covers the layer's header and its
auxiliary header with the real level, the payload is encrypted, and the level field is sent as
zero (4.3.1.1 step 7). The nonce is the sender's IEEE address, the frame counter and the
security control (Aux.nonce). A frame counter is never used twice with a key (4.3.1.1 step 1):
`OutCounter` persists a ceiling reserved ahead of the counters it hands out, so a reboot resumes
above anything sent (a save per frame would wear the flash). A receiver keeps the next counter
it accepts from each sender (4.3.1.2 step 4 / 4.4.1.2): a replayed or stale frame is dropped.

`crypto` is the provider of the primitives: smets.zigbee.sec on a board, `cryptography` on the
host (smetsbench.han.zcrypto); the same calls either way: key, seal, open_, mmo.
"""

try:
    from micropython import const
except ImportError:  # CPython

    def const(x):  # type: ignore[misc]  # CPython has no micropython.const
        return x


from smets.zigbee.frames import (
    KEY_DATA,
    KEY_LOAD,
    KEY_NETWORK,
    KEY_TRANSPORT,
    LEVEL_ENC_MIC32,
    Aux,
    FrameError,
)
from smets.zigbee.sec import SecurityError, keyed_hash

MIC_LEN = const(4)
_LEVEL_MASK = const(0x07)  # security level bits of the security control (4.5.1.1)
COUNTER_BLOCK = const(1024)  # counters handed out between two saves of the ceiling
MAX_COUNTER = const(0xFFFFFFFF)


def seal(crypto, key, header, aux, payload):
    """header || aux (level sent as 0) || CCM*(payload) || MIC, built in one bytearray."""
    a = header + aux.to_bytes(LEVEL_ENC_MIC32)
    n = len(a)
    out = bytearray(n + len(payload) + MIC_LEN)
    out[:n] = a
    out[len(header)] &= ~_LEVEL_MASK  # the level as sent: 0 (4.3.1.1 step 7, 4.4.1.1 step 8)
    crypto.seal_into(key, aux.nonce(), a, payload, MIC_LEN, out, n)
    return out


def seal_nwk(crypto, key, key_seq, eui, counter, nwk, payload):
    """A NWK frame secured with the network key (4.3.1.1): `nwk` gets its auxiliary header,
    extended nonce from `eui`, frame counter `counter`, key sequence number `key_seq`."""
    nwk.aux = Aux(KEY_NETWORK, counter, eui, key_seq)
    return seal(crypto, key, nwk.header_bytes(), nwk.aux, payload)


def open_frame(crypto, key, frame, src_eui=None):
    """The plaintext payload of a parsed secured NWK or APS frame (its `header`, `aux`,
    `payload`); SecurityError on a MIC that does not verify. `src_eui`: the sender when the
    auxiliary header has no extended nonce."""
    aux = frame.aux
    try:
        nonce = aux.nonce(src_eui)
    except FrameError as exc:
        raise SecurityError(str(exc))
    a = frame.header + aux.to_bytes(LEVEL_ENC_MIC32)
    return crypto.open_(key, nonce, a, frame.payload, MIC_LEN)


def aps_key(crypto, key_id, link_key):
    """The key an APS frame secured with `key_id` uses, from the link key (4.5.3): the link
    key itself for data, its keyed hash with 0x00 / 0x02 for key-transport / key-load."""
    if key_id == KEY_DATA:
        return link_key
    if key_id == KEY_TRANSPORT:
        return keyed_hash(link_key, 0x00, crypto.mmo)
    if key_id == KEY_LOAD:
        return keyed_hash(link_key, 0x02, crypto.mmo)
    raise SecurityError("APS frame secured with key identifier %d" % key_id)


class OutCounter:
    """An outgoing frame counter that never repeats, also across reboots: `ceiling` (to be
    persisted) is always above every value handed out."""

    __slots__ = ("value", "ceiling")

    def __init__(self, ceiling=0):
        self.value = ceiling  # resumes above anything used before the reboot
        self.ceiling = ceiling

    def take(self):
        """(counter, True when the new ceiling must be saved before the counter is used)."""
        v = self.value
        if v >= MAX_COUNTER:
            # ZigBee 4.3.1.1: a counter of 0xFFFFFFFF ends the key's use; the key must change.
            raise SecurityError("frame counter exhausted")
        self.value = v + 1
        if v < self.ceiling:
            return v, False
        self.ceiling = min(v + COUNTER_BLOCK, MAX_COUNTER)
        return v, True


class InCounters:
    """The next frame counter accepted from each sender (an EUI-64)."""

    __slots__ = ("next",)

    def __init__(self, saved=None):
        self.next = {}
        for k, v in (saved or {}).items():
            self.next[bytes.fromhex(k)] = v

    def fresh(self, eui, counter):
        return counter >= self.next.get(eui, 0)

    def accept(self, eui, counter):
        """Record a frame that verified; False (and nothing recorded) for a replayed or stale
        counter."""
        if counter < self.next.get(eui, 0):
            return False
        self.next[eui] = counter + 1
        return True

    def forget(self, eui):
        self.next.pop(eui, None)

    def to_record(self):
        return {k.hex(): v for k, v in self.next.items()}


__all__ = ("seal", "seal_nwk", "open_frame", "aps_key", "OutCounter", "InCounters", "Aux",
           "KEY_DATA", "KEY_NETWORK", "KEY_TRANSPORT", "KEY_LOAD", "SecurityError")
