"""The board application core: link frames in, link frames out (sans-IO).

A Node owns the link decoder, answers CONTROL requests (identity, provisioning, clock, faults),
hands HAN frames to the device model of the board's role and sends LOG frames. The runtime feeds
it bytes and monotonic milliseconds and writes out what it returns; nothing here touches a port,
a clock or `machine`, so the same code runs on the ESP32, the unix port and CPython.

CONTROL payloads are UTF-8 JSON objects: a request {"id": n, "op": "...", ...} gets exactly one
reply {"id": n, "ok": true, "result": ...} or {"id": n, "ok": false, "error": "..."}.
LOG payloads are a level letter (D, I, W, E) followed by UTF-8 text.
"""

import gc
import json
import sys

from smets import lazy, link

# Collect before reporting the heap only where a heap is reported (MicroPython): a full
# collection of a large CPython process (an in-process fleet) costs milliseconds.
_COLLECT = sys.implementation.name == "micropython"

FIRMWARE_VERSION = "0.1.0"



def _roles():
    from smets import roles

    try:
        return roles.emulated()
    finally:
        lazy.unload("smets.roles")  # the table is needed again only to provision


# The roles this firmware emulates (smets.roles); a board imports only its own role's code.
ROLES = _roles()

_LOG_KEEP = 32
_OUT_LOG_LIMIT = 64  # queued frames beyond which LOG lines are not sent
# CPU samples kept per key, and keys: hostile input (random message codes) must not grow the
# table without bound; samples of further keys are kept under "other".
_CPU_KEEP = 64
_CPU_KEYS = 16
# CONTROL ops whose code is loaded for the request only (smets.node_ops).
_RARE_OPS = ("provision", "wipe", "certificates", "cpu", "fault", "heap")
_EPOCH_2000 = 946684800


def _code_store():
    """Where the firmware's code runs from: "romfs" (a ROMFS partition, bytecode in place),
    "filesystem" (.mpy files loaded into the heap) or "frozen" (in the MicroPython image)."""
    path = getattr(sys.modules["smets"], "__file__", "")
    if path.startswith("/rom"):
        return "romfs"
    if path.startswith("lib/") or path.startswith("/lib/"):
        return "filesystem"
    return "frozen"


def _now_epoch_default():
    import time

    t = int(time.time())
    # Ports whose epoch is 2000-01-01 (older ESP32 builds).
    if t < _EPOCH_2000 and time.gmtime(0)[0] == 2000:
        t += _EPOCH_2000
    return t


class Clock:
    """Device time in UTC seconds: set by the hub, optionally accelerated for virtual boards."""

    def __init__(self, epoch, mono_ms, rate=1):
        self.set(epoch, mono_ms, rate)

    def set(self, epoch, mono_ms, rate=1):
        self.base_epoch = epoch
        self.base_ms = mono_ms
        self.rate = rate

    def now(self, mono_ms):
        return self.base_epoch + ((mono_ms - self.base_ms) * self.rate) // 1000

    def ms_until(self, epoch, mono_ms):
        """Monotonic ms from mono_ms until device time reaches `epoch` (0 if past)."""
        due = self.base_ms + ((epoch - self.base_epoch) * 1000) // self.rate
        return max(0, due - mono_ms)


class Node:
    def __init__(self, board, store, mono_ms, epoch=None, max_frame=link.MAX_FRAME,
                 cpu_timer=None, rom_bytes=0, display=None):
        self.board = board
        self.rom_bytes = rom_bytes
        # The board's display, opened by the runtime when a device model asks for one
        # (display() -> driver or None; an IHD draws on it).
        self._display = display
        # Optional timer injected by the runtime to measure device CPU time per GBCS command
        # (timer() -> token, timer(token) -> us since); the sans-IO core reads no clock itself.
        self._timer = cpu_timer
        self.cpu = {}
        self.store = store
        # The frame buffer a largest frame needs (max_frame plus a quarter for escapes: a CS02b
        # command with its certificates), taken at boot while the heap is whole.
        self.decoder = link.Decoder(max_frame=max_frame, reserve=max_frame + max_frame // 4)
        self.clock = Clock(epoch if epoch is not None else _now_epoch_default(), mono_ms)
        self._out = []
        self._seq = 0
        self.interrupted = False
        self.reboot_requested = False
        self.logs = []
        self.counters = {
            "han_in": 0,
            "han_out": 0,
            "han_dropped": 0,
            "han_errors": 0,
            "control": 0,
            "control_errors": 0,
            "unknown_frames": 0,
        }
        self.faults = {}
        self.device = None
        self.han = None  # the ZigBee stack under the device's APS frames (smets.zigbee.stack)
        self.identity = store.load("identity")
        cut = store.load("provisioning")
        if cut:
            # Power was cut while a provisioning replaced the state: finish it (the old state
            # may be partly gone, and the host asked for this identity).
            self.log("W", "finishing a provisioning cut short by a reset")
            try:
                kept = [n[5:] for n in store.names() if n.startswith("kept-")]
                lazy.call("smets.node_ops", "finish_provision",
                          (self, cut["identity"], cut.get("init"), mono_ms, kept))
            except Exception as exc:  # noqa: BLE001 - fall back to what is on flash
                self.log("E", "cannot finish the provisioning: %s" % _exc_text(exc))
                store.remove("provisioning")
                self.identity = store.load("identity")
        if self.identity and self.device is None:
            try:
                self._start_device(mono_ms)
            except Exception as exc:  # a bad identity must not brick the board
                self.device = None
                self.log("E", "device start failed: %s" % _exc_text(exc))
        self.log("I", "smets %s up, role %s" % (FIRMWARE_VERSION, self.role))

    # -- link ---------------------------------------------------------------------------------
    @property
    def role(self):
        return self.identity.get("role") if self.identity else None

    def send(self, ftype, payload):
        self._out.append(link.encode(ftype, self._seq, payload))
        self._seq = (self._seq + 1) & 0xFF

    def take_output(self):
        """Every frame to send, as one bytes object (hosts; a board uses outbox)."""
        out, self._out = self._out, []
        return b"".join(out)

    def outbox(self):
        """The queue of encoded frames to send, oldest first; a board writes them one by one
        and pops each once written (a burst of alerts joined would need one large block)."""
        return self._out

    def log(self, level, text):
        line = "%s %s" % (level, text)
        self.logs.append(line)
        if len(self.logs) > _LOG_KEEP:
            self.logs.pop(0)
        if len(self._out) < _OUT_LOG_LIMIT:
            # A port that takes nothing (or a heap that cannot send) must not fill the heap
            # with LOG frames; the lines stay in `logs` (CONTROL logs).
            self.send(link.LOG, (level + text).encode())

    def receive(self, data, mono_ms):
        """Feed bytes from the port; handles every complete frame."""
        self.decoder.feed(data)
        while True:
            event = self.decoder.next_event()
            if event is None:
                return
            if event is link.INTERRUPT:
                self.interrupted = True
                return
            self._frame(event, mono_ms)

    def _frame(self, frame, mono_ms):
        if frame.type == link.HAN:
            self._han(frame, mono_ms)
        elif frame.type == link.CONTROL:
            self._control(frame, mono_ms)
        else:
            self.counters["unknown_frames"] += 1

    # -- HAN ----------------------------------------------------------------------------------
    def _han(self, frame, mono_ms):
        self.counters["han_in"] += 1
        # Each layer's parse copies the payload: let go of the link frame's once the stack
        # holds it, so a 4 KB GBCS command (CS02b) is not in RAM five times on a small heap.
        payload, frame.payload = frame.payload, b""
        if self.device is None or self.han is None:
            self.counters["han_dropped"] += 1
            self.log("W", "HAN frame dropped: %s" % (
                "board not provisioned" if self.device is None else
                "no install code provisioned: the device cannot join a HAN"))
            return
        try:
            apps = self.han.receive(payload, mono_ms)
        except Exception as exc:
            # The stack counts and drops what it cannot use; reaching here is a bug.
            self.counters["han_errors"] += 1
            self.log("E", "HAN stack error: %s" % _exc_text(exc, True))
            return
        payload = None
        now = self.clock.now(mono_ms)
        for aps in apps:
            t0 = self._timer() if self._timer else 0
            try:
                out = self.device.on_han(aps, now)
                if self._timer:
                    self._cpu_sample(self._timer(t0))
            except Exception as exc:
                # The device model must answer every input itself; reaching here is a bug.
                # Keep the board up, count it and tell the host with the traceback.
                self.counters["han_errors"] += 1
                self.log("E", "device error: %s" % _exc_text(exc, True))
                continue
            self._send_han(out, mono_ms)
        self._flush_han()

    def _cpu_sample(self, us):
        # Keyed by what the device says the frame was (a GBCS device: "CODE:outcome").
        key = self.device.cpu_key()
        if key is None:
            return
        samples = self.cpu.get(key)
        if samples is None:
            if len(self.cpu) >= _CPU_KEYS:
                key = "other"
                samples = self.cpu.get(key)
            if samples is None:
                samples = self.cpu[key] = []
        if len(samples) >= _CPU_KEEP:
            samples.pop(0)
        samples.append(us)

    def _send_han(self, frames, mono_ms):
        for aps in frames:
            self.han.send(aps, mono_ms)

    def _flush_han(self):
        """Write what the HAN stack has for the air, as link HAN frames (802.15.4 frames)."""
        for data in self.han.take():
            if self.faults.get("drop_han", 0) > 0:
                self.faults["drop_han"] -= 1
                self.log("W", "fault: dropped outgoing HAN frame")
                continue
            if self.faults.get("corrupt_han", 0) > 0:
                self.faults["corrupt_han"] -= 1
                data = data[:-1] + bytes((data[-1] ^ 0x01,))
                self.log("W", "fault: corrupted outgoing HAN frame")
            self.counters["han_out"] += 1
            self.send(link.HAN, data)

    def tick(self, mono_ms):
        """Run the HAN stack and the device clock; returns ms until the next tick is due (None:
        no timer)."""
        if self.device is None:
            return None
        now = self.clock.now(mono_ms)
        due_ms = None
        try:
            if self.han is not None:
                self.han.tick(mono_ms)
            out = self.device.tick(now)
        except Exception as exc:
            self.counters["han_errors"] += 1
            self.log("E", "device tick error: %s" % _exc_text(exc, True))
            return 1000
        if self.han is not None:
            self._send_han(out, mono_ms)
            self._flush_han()
            # After the device's frames: a sleepy device polls right after what it sent.
            due_ms = self.han.next_due(mono_ms)
        due = self.device.next_due(now)
        wait = None if due is None else self.clock.ms_until(due, mono_ms)
        if due_ms is not None:
            d = max(0, due_ms - mono_ms)
            wait = d if wait is None else min(wait, d)
        return wait

    # -- CONTROL ------------------------------------------------------------------------------
    def _control(self, frame, mono_ms):
        self.counters["control"] += 1
        req_id = None
        # The request's JSON text is not needed once parsed (a provisioning request is a few
        # KB, and the device it builds needs the room).
        payload, frame.payload = frame.payload, b""
        try:
            req = json.loads(payload)
            payload = None
            if not isinstance(req, dict):
                raise ValueError("CONTROL request must be a JSON object")
            req_id = req.get("id")
            op = req.get("op")
            handler = getattr(self, "_op_" + str(op), None)
            if op in _RARE_OPS:
                result = lazy.call("smets.node_ops", op, (self, req, mono_ms))
            elif handler is None:
                if self.device is not None and hasattr(self.device, "control"):
                    result = self.device.control(op, req, self.clock.now(mono_ms))
                else:
                    raise ValueError("unknown CONTROL op %r" % (op,))
            else:
                result = handler(req, mono_ms)
            reply = {"id": req_id, "ok": True, "result": result}
        except Exception as exc:
            self.counters["control_errors"] += 1
            reply = {"id": req_id, "ok": False, "error": _exc_text(exc)}
        try:
            self.send(link.CONTROL, json.dumps(reply).encode())
        except MemoryError:
            reply = None
            gc.collect()
            self.counters["control_errors"] += 1
            self.send(link.CONTROL, b'{"id": %d, "ok": false, "error": "MemoryError: no room '
                      b'for the reply"}' % (req_id if isinstance(req_id, int) else -1))

    def _op_hello(self, req, mono_ms):
        return self._op_status(req, mono_ms)

    def _op_status(self, req, mono_ms):
        if _COLLECT:
            gc.collect()
        status = {
            "firmware": FIRMWARE_VERSION,
            "implementation": sys.implementation.name,
            "board": self.board.get("name"),
            "role": self.role,
            "roles": ROLES,
            "eui": self.identity.get("eui") if self.identity else None,
            "time": self.clock.now(mono_ms),
            "clock_rate": self.clock.rate,
            "link": self.decoder.stats.as_dict(),
            "counters": self.counters,
            "store_errors": self.store.errors,
        }
        mem_free = getattr(gc, "mem_free", None)
        if mem_free:
            # A virtual board's ROMFS image stands for flash: not part of the heap it reports.
            status["heap_free"] = mem_free()
            status["heap_alloc"] = gc.mem_alloc() - self.rom_bytes
            status["code"] = _code_store()
        p256 = sys.modules.get("smets.gbcs.p256")
        if p256 is not None:  # which field arithmetic runs: viper limbs or Python ints
            status["crypto"] = p256.backend()
        if self.device is not None:
            status["device"] = self.device.status(self.clock.now(mono_ms))
        if self.han is not None:
            status["han"] = self.han.status()
        return status

    def _op_time(self, req, mono_ms):
        epoch = req.get("epoch")
        rate = req.get("rate", self.clock.rate)
        if epoch is None:
            epoch = self.clock.now(mono_ms)
        if not isinstance(epoch, int) or not isinstance(rate, int) or rate < 1:
            raise ValueError("time needs integer epoch and rate >= 1")
        self.clock.set(epoch, mono_ms, rate)
        return {"time": epoch, "rate": rate}

    def _op_logs(self, req, mono_ms):
        return self.logs

    def _op_reset(self, req, mono_ms):
        self.shutdown(mono_ms)
        self.reboot_requested = True
        return {"reset": True}

    def shutdown(self, mono_ms):
        """An orderly stop (reset, Ctrl-C to the REPL): the device writes what is only in RAM
        (a power cut loses it, as on a meter without a hold-up capacitor)."""
        if self.device is None:
            return
        try:
            self.device.shutdown(self.clock.now(mono_ms))
            if self.han is not None:
                self.han.shutdown()
        except Exception as exc:  # noqa: BLE001 - stopping must not fail
            self.log("E", "device shutdown: %s" % _exc_text(exc))

    def _op_repl(self, req, mono_ms):
        self.interrupted = True
        return {"repl": True}

    def _device_class(self, role):
        return lazy.call("smets.roles", "device_class", (role,))

    def _start_device(self, mono_ms, fresh=False, init=None):
        self.han = None
        self.device = self._device_class(self.identity["role"])(
            self.identity, self.store, self.clock.now(mono_ms), log=self.log, fresh=fresh,
            init=init,
        )
        attach = getattr(self.device, "attach_display", None)
        if attach is not None and self._display is not None:
            try:
                panel = self._display()
            except Exception as exc:  # noqa: BLE001 - a wrong pin must not stop the device
                panel = None
                self.log("E", "display from board.json unusable: %s" % _exc_text(exc))
            if panel is not None:
                attach(panel)
        if getattr(self.device, "IN_HUB", False):
            # A function of the hub (the GPF): its frames go through the hub, not on the air.
            from smets.hubport import HubPort

            self.han = HubPort(self.log)
        elif self.identity.get("install_code") and getattr(self.device, "HAN", True):
            from smets.zigbee.stack import HanStack

            # A sleepy role's receiver is off when idle, and it runs on a battery (802.15.4
            # capability information 7.3.1.2); the others are mains powered and listen.
            sleepy = getattr(self.device, "SLEEPY", False)
            self.han = HanStack(self.identity, self.store, log=self.log,
                                capability=0x80 if sleepy else 0x8C,
                                nwk_only=self.device.han_nwk_only,
                                link_key=self.device.han_link_key)


def _exc_text(exc, trace=False):
    """The exception; with `trace`, its traceback where MicroPython can give one (on one line:
    the log is line-oriented)."""
    text = "%s: %s" % (type(exc).__name__, exc)
    pe = getattr(sys, "print_exception", None)
    if trace and pe is not None:
        try:
            import io

            buf = io.StringIO()
            pe(exc, buf)
            text += " | " + " | ".join(
                ln.strip() for ln in buf.getvalue().split("\n")[1:-2] if ln.strip())
        except MemoryError:
            pass
    return text
