"""The CONTROL operations a board runs rarely (provisioning, wipe, certificates, CPU samples,
faults): loaded for one request through smets.lazy and dropped again, so that their code is not
on the board's heap between requests (smets.node keeps status, time, logs, reset and repl).
Each takes the Node, the request and the monotonic ms, and returns the result."""

import binascii
import gc
import hashlib
import sys

from smets import node as node_mod
from smets.codec import length_decoder

_CERT_NAME_CHARS = "0123456789abcdefghijklmnopqrstuvwxyz-"



def provision(node, req, mono_ms):
    identity = req.get("identity")
    if not isinstance(identity, dict) or identity.get("role") not in node_mod.ROLES:
        raise ValueError("provision needs identity with role in %s" % ", ".join(node_mod.ROLES))
    init = req.get("init")
    # Everything is checked before anything is replaced: a refused provisioning leaves the
    # board's identity, counters and registers as they were.
    node._device_class(identity["role"]).validate(identity, init)
    if identity.get("install_code") is not None:
        # The ZigBee install code the device joins the HAN with (smets.zigbee.stack).
        from smets.zigbee.stack import split_install_code

        try:
            split_install_code(bytes.fromhex(identity["install_code"]))
        except (TypeError, ValueError) as exc:
            raise ValueError("install_code: %s" % exc)
    # A reset from here on finishes this provisioning at boot.
    node.store.dump("provisioning", {"identity": identity, "init": init})
    # The old device's records (replay counters, keys, registers, logs) are set aside on
    # flash (a rename: no RAM), to be put back if the new device cannot start.
    kept = []
    if node.identity and node.identity.get("role") in node_mod.ROLES:
        for name in node._device_class(node.identity["role"]).RECORDS:
            if node.store.move(name, "kept-" + name):
                kept.append(name)
    finish_provision(node, identity, init, mono_ms, kept)
    return node._op_status(req, mono_ms)


def finish_provision(node, identity, init, mono_ms, kept):
    old = node.identity
    node.identity = identity
    # Drop the old device model first: building the new one beside it would need the heap
    # of two devices at once.
    node.device = None
    if node_mod._COLLECT:
        gc.collect()
    try:
        node._start_device(mono_ms, fresh=True, init=init)
    except Exception:
        # Keep the board working as it was, with the records set aside put back.
        node.identity = old
        node.device = None
        if node_mod._COLLECT:
            gc.collect()
        for name in node._device_class(identity["role"]).RECORDS:
            if name not in kept:
                node.store.remove(name)  # the new device's
        for name in kept:
            node.store.move("kept-" + name, name)
        node.store.remove("provisioning")
        if old:
            try:
                node._start_device(mono_ms)
            except Exception as exc:  # noqa: BLE001
                node.log("E", "old identity cannot start again: %s" % node_mod._exc_text(exc))
        raise
    node.store.dump("identity", identity)  # streamed: no copy of its JSON text in RAM
    for name in kept:
        node.store.remove("kept-" + name)
    node.store.remove("provisioning")
    node.log("I", "provisioned as %s %s" % (identity["role"], identity.get("eui")))


def wipe(node, req, mono_ms):
    node.store.wipe()
    node.identity = None
    node.device = None
    return {"wiped": True}


def certificates(node, req, mono_ms):
    """The certificates the board holds (its own and its trusted parties'), one store record
    each ("cert-<name>", DER) so they cost no RAM. `clear` drops them all, `put`
    {name: base64 DER} stores some (several requests when they exceed a frame).
    Returns {name: SHA-256 hex of the DER} of every certificate held."""
    if req.get("clear"):
        for name in node.store.names():
            if name.startswith("cert-"):
                node.store.remove(name)
    put = {}
    for name, b64 in (req.get("put") or {}).items():
        if not name or len(name) > 40 or not all(c in _CERT_NAME_CHARS for c in name):
            raise ValueError("bad certificate name %r" % (name,))
        try:
            der = binascii.a2b_base64(b64)
        except (ValueError, TypeError):
            der = b""
        if not _is_der_sequence(der):
            raise ValueError("certificate %s is not base64 of a DER SEQUENCE" % name)
        put[name] = der
    for name in put:  # all checked first: a bad one stores none
        node.store.save_bytes("cert-" + name, put[name])
    held = {}
    for name in node.store.names():
        if name.startswith("cert-"):
            digest = hashlib.sha256(node.store.load_bytes(name)).digest()
            held[name[5:]] = binascii.hexlify(digest).decode()
    return held


def cpu(node, req, mono_ms):
    """Device CPU time per GBCS command handled: {"CODE:outcome": [us, ...]}; with `key`
    only that entry (the whole table of a long run is too big a reply for a small heap),
    with `reset` the entries returned are then cleared."""
    key = req.get("key")
    if key is None:
        result = node.cpu
        if req.get("reset"):
            node.cpu = {}
        return result
    result = {key: node.cpu.get(key, [])}
    if req.get("reset"):
        node.cpu.pop(key, None)
    return result


def heap(node, req, mono_ms):
    """The heap after a collection and the modules resident in it (this op's own dropped), so
    that the host can tell the heap the code takes from the heap the data takes. With `load`
    (a role), that role's code is imported first and the heap it took is `loaded` (`deploy`
    checks that a board can hold the role before anyone provisions it)."""
    mem_free = getattr(gc, "mem_free", None)
    loaded = None
    role = req.get("load")
    if role is not None:
        if role not in node_mod.ROLES:
            raise ValueError("load needs a role in %s" % ", ".join(node_mod.ROLES))
        gc.collect()
        before = gc.mem_alloc() if mem_free else 0
        node._device_class(role)
        gc.collect()
        loaded = gc.mem_alloc() - before if mem_free else None
    gc.collect()
    return {
        "alloc": gc.mem_alloc() - node.rom_bytes if mem_free else None,
        "free": mem_free() if mem_free else None,
        "loaded": loaded,
        "rom_image": node.rom_bytes,
        "code": node_mod._code_store(),
        "modules": sorted(m for m in sys.modules if m != __name__),
    }


def fault(node, req, mono_ms):
    kind = req.get("kind")
    count = req.get("count", 1)
    if kind not in ("drop_han", "corrupt_han"):
        raise ValueError("unknown fault %r" % (kind,))
    if not isinstance(count, int) or isinstance(count, bool) or count < 0:
        raise ValueError("fault count must be a non-negative integer, got %r" % (count,))
    node.faults[kind] = count
    return node.faults



_der_length = length_decoder(ValueError, 3)



def _is_der_sequence(data):
    """Whether `data` is exactly one DER SEQUENCE element (the outside of a certificate)."""
    if len(data) < 2 or data[0] != 0x30:
        return False
    try:
        n, head = _der_length(data, 1)
    except ValueError:
        return False
    return head + n == len(data)
