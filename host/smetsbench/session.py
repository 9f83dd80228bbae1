"""A bench session: remote parties, a Communications Hub, and devices on boards.

    with Bench() as bench:                       # fresh test keys, temporary board folders
        esme = bench.add_virtual("ESME")         # start, provision, wait for its GBCS tunnel
        result = bench.run(esme, "ECS52")        # build, send, check; a Result
        assert result.passed, result.report()

Devices are virtual boards by default; `add_board(role, url)` adopts a real one on any pyserial
URL with the same code path. Negative scenarios (`tamper=`) send a command the device must
discard and check the outcome the firmware's FAILURE_ALERTS table defines: no response, the
alert, and a security-log entry.
"""

import logging
import secrets
import shutil
import tempfile
import time
from pathlib import Path

from smets import roles
from smets.dlms import access
from smets.gbcs import envelope
from smets.zigbee import sec as zsec

from smetsbench.boards.transport import BoardError, BoardLink
from smetsbench.boards.virtual import VirtualBoard
from smetsbench.han.hub import CommsHub, NoResponse
from smetsbench.oracle import checker
from smetsbench.oracle import crypto as ocrypto
from smetsbench.oracle.parties import DCC
from smetsbench.usecases import library as usecases

log = logging.getLogger("smetsbench.session")

DEFAULT_EUIS = {r[0]: r[4] for r in roles.TABLE if r[4] and roles.needs(r[0], roles.BENCH)}
# Devices that sleep and poll the hub for their messages (GBCS 7.2.2: the GSME); the hub keeps
# what is for them in their mailbox until they ask.
SLEEPY_ROLES = roles.names(roles.SLEEPY)
# Functions of the Communications Hub the bench runs in this process, beside the hub (the GPF).
HUB_ROLES = roles.names(roles.HUB)
# The hub endpoints the GPF serves (smets.devices.gpf: RequestMirror on the hub's SE endpoint,
# the mirror on its own) and the clusters it takes on the first.
GPF_MIRROR_EP = 2
GPF_HUB_CLUSTERS = (0x0702,)

# What a device must do with each kind of bad command: (security-log event, alert code or None).
# Mirrors smets.devices.gbcsdev.FAILURE_ALERTS, restated here so the bench checks the firmware
# against an expectation instead of against itself.
NEGATIVE = {
    "bad_mac": ("bad_mac", 0x8F53),
    "bad_signature": ("bad_signature", 0x8F3D),
    "no_signature": ("no_signature", 0x8F3D),
    "replay": ("replay", 0x8F53),
    "wrong_recipient": ("wrong_recipient", None),
    "unknown_code": ("unknown_code", 0x8F1E),
    "malformed": ("bad_payload", 0x8F1E),
    "not_authorised": ("not_authorised", 0x8F30),
}
MSG_GENERIC_CRITICAL_ALERT = 0x1000
ALERT_CREDIT_ADDED_LOCALLY = 0x810E


def device_identity(role, eui, ka_key, ds_key, hub_eui, dcc, install_code=None):
    """The identity record a board is provisioned with (CONTROL provision): its role, EUI-64,
    KA and DS private keys, its Communications Hub, the remote parties it trusts and the
    ZigBee install code it joins the HAN with (16 bytes; sent with its CRC, as on a label). A
    role without GBCS (an IHD, a CAD) gets no keys and no parties: it holds no GBCS
    credentials, only its install code."""
    if not roles.needs(role, roles.GBCS):
        identity = {"role": role, "eui": bytes(eui).hex(), "hub_eui": bytes(hub_eui).hex()}
    else:
        identity = {
            "role": role,
            "eui": bytes(eui).hex(),
            "ka_key": "%064x" % ocrypto.private_key_int(ka_key),
            "ds_key": "%064x" % ocrypto.private_key_int(ds_key),
            "hub_eui": bytes(hub_eui).hex(),
            "parties": dcc.trust_list(),
        }
    if install_code is not None:
        identity["install_code"] = zsec.install_code_with_crc(install_code).hex()
    return identity


# Roles a GBCS join pairs with a device-to-device key (13.7): a meter and its PPMID or HCALCS
# by Method A, a gas meter and its PPMID by Method C.
PAIRED_ROLES = (("ESME", "PPMID"), ("ESME", "HCALCS"), ("GSME", "PPMID"))


def gbcs_device_type(role):
    """The GBCS device type a role has in the CHF device log (CCS01)."""
    return usecases.GBCS_DEVICE_TYPES.get(role, usecases.TYPE_2_DEVICE)


class DeviceHandle:
    def __init__(self, role, eui, ka_key, ds_key, link, board=None, install_code=None):
        self.role = role
        self.eui = bytes.fromhex(eui) if isinstance(eui, str) else bytes(eui)
        self.ka_key = ka_key
        self.ds_key = ds_key
        # The ZigBee install code (16 bytes, GBCS CCS01) the device joins the HAN with.
        self.install_code = install_code or secrets.token_bytes(16)
        self.ka_public = ocrypto.public_key_raw(ka_key)
        self.ds_public = ocrypto.public_key_raw(ds_key)
        self.link = link
        self.board = board
        self.last_commands = {}

    def status(self):
        return self.link.control("status")

    def __repr__(self):
        return "<%s %s on %s>" % (self.role, self.eui.hex(), self.link.url)


class Result:
    def __init__(self, usecase, scenario, device):
        self.usecase = usecase
        self.scenario = scenario
        self.device = device
        self.checks = checker.Checks()
        self.rtt_ms = None
        self.command = None
        self.response = None
        self.alerts = []
        self.decoded = None
        self.values = []
        self.note = ""

    @property
    def passed(self):
        return bool(self.checks) and self.checks.ok

    @property
    def outcome(self):
        return "PASS" if self.passed else "FAIL"

    def report(self):
        lines = ["%s %s: %s (%s checks)" % (self.usecase, self.scenario, self.outcome,
                                           self.checks.summary())]
        lines += ["  " + repr(c) for c in self.checks]
        if self.note:
            lines.append("  note: " + self.note)
        return "\n".join(lines)


class Bench:
    def __init__(self, dcc=None, work_dir=None, heap="256K", runtime="auto", tracer=None,
                 response_timeout=5.0, hub_dir=None, hub_eui=None):
        self.dcc = dcc or DCC.fresh()
        self.hub = CommsHub() if hub_eui is None else CommsHub(bytes(hub_eui))
        # Where the hub keeps its CHF (device log, keys, logs) across runs; default: this run.
        self.hub_dir = hub_dir
        self.heap = heap
        self.runtime = runtime
        self.tracer = tracer
        self.response_timeout = response_timeout
        self._tmp = None
        if work_dir is None:
            self._tmp = tempfile.mkdtemp(prefix="smetsbench-")
            work_dir = self._tmp
        self.work_dir = Path(work_dir)
        self.devices = []
        self.boards = []
        self.links = []
        self._ticker = None
        self.auto_gpf = True  # start the hub's GPF with the first gas meter
        self._pair_keys = {}  # han_keys: (label, public keys) -> link key
        self.join_timeout = 20.0
        self.chf = self._start_chf()

    def _start_chf(self):
        """The Communications Hub Function, run by the hub in this process (an in-process
        board provisioned as CHF with the hub's EUI): the device log the HAN joins through.
        With `hub_dir`, a CHF kept there (same hub, same remote parties) carries on with its
        keys, device log and logs; otherwise a new one is provisioned."""
        import json

        from smetsbench.boards.inprocess import InProcessLink

        directory = Path(self.hub_dir) if self.hub_dir else self.work_dir / "chf"
        link = InProcessLink(directory, name="chf")
        try:
            kept = json.loads((directory / "state" / "identity").read_text())
        except (OSError, ValueError):
            kept = None
        if kept and kept.get("role") == "CHF" and kept.get("eui") == self.hub.eui.hex() \
                and kept.get("parties") == self.dcc.trust_list():
            handle = DeviceHandle("CHF", self.hub.eui,
                                  ocrypto.private_key_from_int(int(kept["ka_key"], 16)),
                                  ocrypto.private_key_from_int(int(kept["ds_key"], 16)), link)
        else:
            handle = self._provision_chf(link)
        self._attach_chf(link)
        if self.tracer:
            self.tracer.device(handle)
        return handle

    def _provision_chf(self, link):
        """New keys for the CHF on `link`, provisioned with the hub's EUI."""
        handle = DeviceHandle("CHF", self.hub.eui, ocrypto.generate_private_key(),
                              ocrypto.generate_private_key(), link)
        identity = device_identity("CHF", handle.eui, handle.ka_key, handle.ds_key,
                                   self.hub.eui, self.dcc)
        link.control("provision", identity=identity, init={}, timeout=20.0)
        return handle

    def _attach_chf(self, link):
        link.control("time", epoch=int(time.time()))
        self.hub.attach_chf(link)
        self.links.append(link)

    def use_chf(self, url=None):
        """The CHF's handle: the hub's own, or (`url`) a board at that pyserial URL provisioned
        as the CHF with the hub's EUI, which the hub then runs its CHF on."""
        if url is None:
            return self.chf
        link = BoardLink(url, name="chf-board")
        try:
            link.control("status", timeout=10.0)
            handle = self._provision_chf(link)
        except Exception:
            link.close()
            raise
        self._attach_chf(link)
        self.chf = handle
        return handle

    def restart_chf(self):
        """The hub's in-process CHF started again from its store (a board's is reset)."""
        old = self.chf
        if old.board is None and old.link.url.startswith("inprocess:"):
            old.link.close()
            if old.link in self.links:
                self.links.remove(old.link)
            self.chf = self._start_chf()
        else:
            old.link.control("reset", timeout=3.0)
        return self.chf

    # -- devices ------------------------------------------------------------------------------
    def add_virtual(self, role, eui=None, init=None, heap=None, admit=True):
        """A device on a virtual board (the firmware on the MicroPython unix port behind a pty),
        provisioned and joined to the HAN. `admit`: True puts it in the CHF device log first
        (CCS01) and waits for it to join; False leaves it out (it will be refused); an install
        code puts it in the log with that code instead of its own (it never gets the network
        key)."""
        eui = eui or DEFAULT_EUIS[role]
        board = VirtualBoard(self.work_dir / ("%s-%s" % (role.lower(), eui)),
                             heap=heap or self.heap, runtime=self.runtime,
                             name="%s-%s" % (role.lower(), eui[-4:]))
        port = board.start()
        self.boards.append(board)
        return self.add_board(role, port, eui=eui, init=init, board=board, admit=admit)

    def add_inprocess(self, role, eui=None, init=None):
        """A device whose firmware core runs in this process (no pty, no MicroPython): for
        fleets of hundreds of meters. Same frames, same device code, same checks."""
        from smetsbench.boards.inprocess import InProcessLink, Ticker

        eui = eui or DEFAULT_EUIS[role]
        link = InProcessLink(self.work_dir / ("%s-%s" % (role.lower(), eui)),
                             name="%s-%s" % (role.lower(), eui[-4:]))
        if self._ticker is None:
            self._ticker = Ticker()
            self._ticker.start()
        # Ticked from the start: joining the HAN runs on the device's timers.
        self._ticker.links.append(link)
        handle = self._adopt(role, link, eui, init)
        link.tick()  # the device asks the hub for its GBCS tunnel at once
        if roles.needs(role, roles.GBCS):
            self.hub.wait_tunnel(handle.eui, timeout=10.0)
        return handle

    def add_hub_function(self, role="GPF", eui=None, init=None):
        """A function of the Communications Hub with its own identity and keys (the GPF), run
        by the hub in this process (its firmware core, as an in-process board) and attached
        to the HAN; it is started once per bench (a second call gives the same device).
        The GPF serves the mirror of the GSME on the hub's endpoints (ZSE D.3.4)."""
        for h in self.devices:
            if h.role == role:
                return h
        from smetsbench.boards.inprocess import InProcessLink, Ticker

        eui = eui or roles.default_eui(role)
        link = InProcessLink(self.work_dir / ("%s-%s" % (role.lower(), eui)),
                             name="%s-%s" % (role.lower(), eui[-4:]))
        if self._ticker is None:
            self._ticker = Ticker(0.2)
            self._ticker.start()
        # In the hub: no CHF device log entry, no install code, no join (smets.hubport.HubPort).
        handle = self._adopt(role, link, eui, init, admit=False)
        if role == "GPF":
            self.hub.attach(link, handle.eui, role, endpoints=(1, GPF_MIRROR_EP), in_hub=True)
            self.hub.host(1, handle.eui, GPF_HUB_CLUSTERS)
            self.hub.host(GPF_MIRROR_EP, handle.eui)
        link.tick()
        self.hub.wait_tunnel(handle.eui, timeout=10.0)
        self._ticker.links.append(link)
        return handle

    @property
    def gpf(self):
        """The hub's GPF (started on first use)."""
        return self.add_hub_function("GPF")

    def add_board(self, role, url, eui=None, init=None, board=None, baudrate=115200,
                  admit=True):
        eui = eui or DEFAULT_EUIS[role]
        link = BoardLink(url, baudrate=baudrate, name=board.name if board else url)
        handle = self._adopt(role, link, eui, init, board, admit)
        # A device without GBCS opens no tunnel; one kept off the HAN cannot.
        if roles.needs(role, roles.GBCS) and admit is True:
            self.hub.wait_tunnel(handle.eui, timeout=10.0)
        return handle

    def _adopt(self, role, link, eui, init, board=None, admit=True):
        self.links.append(link)
        link.control("status", timeout=10.0)  # the firmware is up and answering
        handle = DeviceHandle(role, eui, ocrypto.generate_private_key(),
                              ocrypto.generate_private_key(), link, board)
        if role in SLEEPY_ROLES and "GPF" in roles.emulated() and self.auto_gpf:
            # A gas meter reports to the GPF's mirror on the hub (GBCS 10.4): the hub runs one.
            self.add_hub_function("GPF")
        self.hub.attach(link, handle.eui, role, sleepy=role in SLEEPY_ROLES,
                        in_hub=roles.needs(role, roles.HUB))
        self.provision(handle, init, admit=admit)
        self.devices.append(handle)
        return handle

    def provision(self, handle, init=None, join=True, admit=True):
        """Give a board its identity, as a supplier installs a device: its EUI-64 and install
        code go into the CHF device log first (CCS01), then the board gets its keys, parties
        and install code, and joins the HAN (`join`: wait until it has). `admit` False: not
        into the log; an install code: into the log with that code (as add_virtual)."""
        since = time.time()
        if admit is True:
            self.admit(handle)
        elif admit:
            self.admit(handle, install_code=admit)
        join = join and admit is True
        # A function of the hub (the GPF) joins no HAN: it has no install code.
        code = None if roles.needs(handle.role, roles.HUB) else handle.install_code
        identity = device_identity(handle.role, handle.eui, handle.ka_key, handle.ds_key,
                                   self.hub.eui, self.dcc, code)
        handle.link.control("provision", identity=identity, init=init or {}, timeout=20.0)
        handle.link.control("time", epoch=int(time.time()))
        if self.tracer:
            self.tracer.device(handle)
        if hasattr(handle.link, "tick"):
            handle.link.tick()  # an in-process board starts joining now, not at its next tick
        if join and not self.hub.wait_joined(handle.eui, self.join_timeout, since=since):
            raise RuntimeError("%s %s did not join the HAN within %.0f s: %s\n%s" % (
                handle.role, handle.eui.hex(), self.join_timeout,
                handle.link.control("status").get("han"), handle.link.tail()))

    def admit(self, handle, install_code=None, join_period=3600):
        """CCS01: the device's EUI-64 and install code into the CHF device log (the supplier's
        command, through the DCC), so that it may join the HAN; the Result."""
        res = self.run(self.chf, "CCS01", eui=handle.eui,
                       install_code=install_code or handle.install_code,
                       device_type=gbcs_device_type(handle.role), join_period=join_period)
        if not res.passed:
            raise RuntimeError("CCS01 for %s failed:\n%s" % (handle.eui.hex(), res.report()))
        return res

    def remove(self, handle):
        """CCS02: the device out of the CHF device log; the hub tells it to leave the HAN."""
        return self.run(self.chf, "CCS02", eui=handle.eui)

    def han_keys(self):
        """[(label, key)] of every key on the HAN, for a capture's keys file: the hub's (the
        network key, each device's trust center link key) and, for each pair of the bench's
        devices a GBCS join can pair with a key (PAIRED_ROLES), the link key the join agrees,
        computed here with `cryptography` from the two devices' key agreement keys."""
        from smetsbench.han import zcrypto

        out = list(self.hub.coordinator.keys()) if self.hub.coordinator is not None else []
        cache = self._pair_keys  # a capture asks at every frame
        for a in self.devices:
            for b in self.devices:
                if (a.role, b.role) not in PAIRED_ROLES:
                    continue
                label = "GBCS join link key %s %s - %s %s" % (a.role, a.eui.hex(), b.role,
                                                               b.eui.hex())
                pair = (label, a.ka_public, b.ka_public)
                if pair not in cache:
                    cache[pair] = zcrypto.partner_link_key(a.ka_key, b.ka_public)
                out.append((label, cache[pair]))
        return out

    # -- use cases ----------------------------------------------------------------------------
    def run(self, device, name, scenario="SUCCESS", party=None, tamper=None, wake=True,
            timeout=None, **params):
        """Send one use case to a device and check the outcome; returns a Result.

        A sleepy device (the GSME) gets the command when it next polls the hub: with `wake`
        the bench presses its button (CONTROL wake) once the command waits in its mailbox,
        else the command waits for the device's own wake-up, up to `timeout` seconds
        (default: the bench's response timeout)."""
        uc = usecases.get(name)
        party = self.dcc[party or uc.originator]
        res = Result(name, scenario, device)
        code = uc.code
        counter = party.next_counter()
        content = uc.build(counter, party, device.eui, device_ka=device.ka_public, **params)
        nudge = self._nudge(device) if wake else None
        timeout = self.response_timeout if timeout is None else timeout
        critical = uc.critical
        recipient = device.eui
        if tamper == "unknown_code":
            code = 0x7777
        elif tamper == "malformed":
            content = content[:-3] + b"\xff"
        elif tamper == "wrong_recipient":
            recipient = bytes.fromhex("00db1234567890ff")
        elif tamper == "no_signature":
            critical = False
        if tamper == "replay":
            raw = device.last_commands.get(name)
            if raw is None:
                raw, _ = self.dcc.build_command(party, device.eui, device.ka_public, code, content,
                                                critical=critical, counter=counter)
                self._send_checked(device, uc, party, raw, Result(name, "prime", device), params,
                                   nudge, timeout)
        else:
            raw, _ = self.dcc.build_command(party, recipient, device.ka_public, code, content,
                                            critical=critical, counter=counter)
            if tamper == "bad_mac":
                raw = raw[:-1] + bytes((raw[-1] ^ 0x01,))
            elif tamper == "bad_signature":
                raw = self._corrupt_signature(raw, device)
        res.command = raw
        if tamper is None:
            self._send_checked(device, uc, party, raw, res, params, nudge, timeout)
            device.last_commands[name] = raw
        else:
            self._send_rejected(device, uc, raw, res, tamper, nudge, timeout)
        if self.tracer:
            self.tracer.result(res)
        return res

    def _corrupt_signature(self, raw, device):
        """Flip a signature bit and re-MAC, so only the signature is wrong."""
        msg = envelope.decode(raw)
        sig = bytearray(msg.signature)
        sig[5] ^= 0x01
        apdu = envelope.with_signature(msg.general_signing, bytes(sig))
        z = ocrypto.ecdh(self.dcc.acb.ka_key, device.ka_public)
        mac = ocrypto.message_mac(z, msg.originator, ocrypto.MODE_COMMAND, msg.counter,
                                  msg.recipient, envelope.mac_aad_for(apdu))
        return envelope.wrap_ciphering(apdu, mac)

    def _nudge(self, device):
        """What wakes a sleepy device for a command waiting in its mailbox (None: nothing
        to do, the device is always on)."""
        if device.role not in SLEEPY_ROLES:
            return None

        def nudge():
            try:
                device.link.control("wake")
            except BoardError as exc:  # a device without a button: wait for its own polls
                log.info("%s: no wake-up on request (%s)", device, exc)
        return nudge

    def _sleep_note(self, device):
        """For a sleepy device: how often it wakes (its status), to tell a timeout apart."""
        if device.role not in SLEEPY_ROLES:
            return ""
        try:
            st = device.link.control("status", timeout=2.0)
        except Exception as exc:  # noqa: BLE001 - a note, the timeout is the error
            return " (its status: %s)" % exc
        dev = st.get("device") or {}
        return " (it wakes every %s s of its clock, which runs at %sx)" % (
            dev.get("wake_s", "?"), st.get("clock_rate", 1))

    def _send_checked(self, device, uc, party, raw, res, params, nudge=None, timeout=None):
        cmd = envelope.decode(raw)
        since = time.time()
        t0 = time.perf_counter()
        try:
            rec = self.hub.command(device.eui, raw, timeout=timeout or self.response_timeout,
                                   nudge=nudge)
        except NoResponse as exc:
            res.checks.add("response received", False, str(exc) + self._sleep_note(device))
            res.note = device.link.tail()
            return res
        res.rtt_ms = (time.perf_counter() - t0) * 1000
        res.response = rec.raw
        res.checks.add("response received", True)
        checks, decoded, msg = checker.check_response(
            rec.raw, cmd, party, device.ka_public, device.ds_public, uc.critical, self.dcc)
        res.checks.extend(checks)
        res.decoded = decoded
        if msg is not None and checks.ok and uc.payload == "ASN.1":
            # ASN.1 use cases (CS03 / CS04 / CS07 / CS08): the DER payload is the response.
            res.values = [bytes(msg.content)]
            uc.expect(res.checks, bytes(msg.content), res.values, params)
        elif msg is not None and checks.ok and uc.payload == "GBZ":
            z = checker.payload_z(msg, party, device.ka_public, self.dcc)
            _json, _kind, resp, plain = checker.decode_payload(msg, z)
            res.values = usecases.gbz_use_cases.GBZValues(resp, plain)
            uc.expect(res.checks, resp, res.values, params)
        elif msg is not None and checks.ok:
            resp = access.decode_apdu(msg.content)
            values = list(resp.data)
            if uc.encrypted:
                z = checker.payload_z(msg, party, device.ka_public, self.dcc)
                values = [checker.decrypt_protected(access.ProtectedAttributes.from_data(d), z,
                                                    msg)
                          for d in resp.data if d.tag != 0]
            res.values = values
            uc.expect(res.checks, resp, values, params)
        self._collect_alerts(device, res, since)
        return res

    def _send_rejected(self, device, uc, raw, res, tamper, nudge=None, timeout=None):
        event, alert = NEGATIVE[tamper]
        before = device.link.control("security_log", n=1)["count"]
        since = time.time()
        t0 = time.perf_counter()
        cmd = envelope.decode(raw)
        self.hub.forget_response(device.eui, cmd.counter)
        ticket = self.hub.put(device.eui, raw)
        if nudge is not None:
            nudge()
        log_after = self._wait_security_entry(device, ticket, before, cmd.counter, timeout)
        res.rtt_ms = (time.perf_counter() - t0) * 1000
        # The entry is written once the device has dealt with the command, so a response it
        # should not have sent is in by now (same link, sent before the CONTROL reply).
        got = self.hub.take_response(device.eui, cmd.counter)
        res.checks.add("no response", got is None,
                       "device answered a command it must discard" if got else "")
        entries = log_after["entries"]
        last = entries[-1] if entries else {}
        res.checks.add("security log entry", log_after["count"] == min(before + 1, 100)
                       or (before >= 100 and last.get("counter") == cmd.counter),
                       "%d -> %d entries" % (before, log_after["count"]))
        res.checks.add("security log event", last.get("event") == event,
                       "%s, expected %s" % (last.get("event"), event))
        if alert is not None:
            rec = self.hub.wait_alert(device.eui, timeout=self.response_timeout, since=since)
            if res.checks.add("alert raised", rec is not None, "%04X expected" % alert):
                checks, decoded, msg = checker.check_alert(rec.raw, device.eui, device.ka_public,
                                                           device.ds_public, self.dcc)
                res.checks.extend(checks)
                res.alerts.append(rec.raw)
                if msg is not None:
                    res.checks.add("generic critical alert",
                                   msg.message_code == MSG_GENERIC_CRITICAL_ALERT,
                                   "%04X" % msg.message_code)
                    code = checker.alert_code(msg)
                    res.checks.add("alert code", code == alert,
                                   "%s, expected %04X" % (
                                       "%04X" % code if code is not None else None, alert))
        return res

    def _wait_security_entry(self, device, ticket, before, counter, timeout=None):
        """The device's security log (CONTROL security_log, n=1) once it holds an entry for
        the command `counter` (the log had `before` entries), or as it is when
        `response_timeout` has passed. The log is asked only once the device has the command
        (a sleepy device polls for it), then again at growing intervals."""
        deadline = time.monotonic() + (timeout or self.response_timeout)
        interval = 0.02
        log_now = None
        while True:
            left = deadline - time.monotonic()
            if self.hub.wait_delivered(ticket, max(left, 0)):
                log_now = device.link.control("security_log", n=1)
                entries = log_now["entries"]
                if log_now["count"] != before or (
                        entries and entries[-1].get("counter") == counter):
                    return log_now
            left = deadline - time.monotonic()
            if left <= 0:
                break
            time.sleep(min(interval, left))
            interval = min(interval * 2, 0.5)
        if log_now is None:
            log_now = device.link.control("security_log", n=1)
        return log_now

    def _collect_alerts(self, device, res, since):
        for a in list(self.hub.alerts):
            if a.device == device.eui and a.t >= since:
                res.alerts.append(a.raw)

    # -- at the meter -------------------------------------------------------------------------
    def keypad_top_up(self, device, pence, credit=None, scenario=None):
        """A consumer types a UTRN (made by the supplier, GBCS 14) on the gas meter's keypad
        (CONTROL top_up): checks that it is accepted and that the meter then raises the
        non-critical alert 810E "credit added locally" (GBCS alert codes), MACed to the
        supplier; `credit`: the CreditRemaining expected after it. Returns a Result."""
        from smetsbench.oracle import utrn as outrn

        res = Result("KEYPAD", scenario or "TOP_UP_%d_PENCE" % pence, device)
        digits, _counter = outrn.make(self.dcc["supplier"], device.eui, device.ka_public, pence)
        since = time.time()
        t0 = time.perf_counter()
        got = device.link.control("top_up", utrn=digits)
        res.checks.add("top-up accepted", got.get("result") == 0, "result type %s"
                       % got.get("result"))
        if credit is not None:
            res.checks.add("CreditRemaining after top-up", got.get("credit") == credit,
                           "%s, expected %s" % (got.get("credit"), credit))
        rec = self.hub.wait_alert(device.eui, timeout=self.response_timeout, since=since)
        res.rtt_ms = (time.perf_counter() - t0) * 1000
        if res.checks.add("alert raised", rec is not None, "810E expected"):
            checks, _decoded, msg = checker.check_alert(rec.raw, device.eui, device.ka_public,
                                                       device.ds_public, self.dcc)
            res.checks.extend(checks)
            res.alerts.append(rec.raw)
            if msg is not None:
                code = checker.alert_code(msg)
                res.checks.add("alert code 810E", code == ALERT_CREDIT_ADDED_LOCALLY,
                               "%04X" % code if code is not None else "none")
        if self.tracer:
            self.tracer.result(res)
        return res

    def update_mirror(self, device, timeout=None):
        """Wake a gas meter (CONTROL wake, its button) and wait until the GPF has taken the
        update the meter sends into its mirror at the end of every wake-up (GBCS 10.4): a GPF
        read then answers with what the meter's last commands changed. Returns the seconds
        it took; raises NoResponse when the update does not come in time."""
        gpf = self.gpf
        timeout = timeout or self.response_timeout

        def frames(handle):
            return handle.link.control("status")["device"]["mirror_frames"]

        sent, taken = frames(device), frames(gpf)
        t0 = time.monotonic()
        device.link.control("wake")
        deadline = t0 + timeout
        more = None
        while time.monotonic() < deadline:
            if more is None and frames(device) > sent:
                more = frames(device) - sent  # the meter's update is on its way
            if more is not None and frames(gpf) - taken >= more:
                return time.monotonic() - t0
            time.sleep(0.01)
        raise NoResponse("%s did not update the GPF's mirror within %.1f s (%s)" % (
            device, timeout, "sent, not all taken" if more else "nothing sent"))

    # -- clock --------------------------------------------------------------------------------
    def advance_clock(self, device, seconds):
        """Move a device's clock forward (virtual boards simulate time passing)."""
        st = device.link.control("status")
        return device.link.control("time", epoch=st["time"] + int(seconds))

    # -- teardown ---------------------------------------------------------------------------
    def close(self):
        if self._ticker is not None:
            self._ticker.stop()
            self._ticker = None
        # Off the HAN first: a frame still arriving (a sleepy meter's poll) is then not routed
        # to a device whose link is already closed.
        for handle in self.devices:
            self.hub.detach(handle.eui)
        for link in self.links:
            link.close()
        for board in self.boards:
            board.stop()
        self.links = []
        self.boards = []
        if self._tmp:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
