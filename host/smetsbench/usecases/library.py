"""GBCS use cases the bench can send: how to build each command and what its response must say.

Each `UseCase` is one row: name, message code, target device type, criticality, the remote party
that sends it by default, a `build(counter, party, device_eui, **params)` returning the DLMS
content, and an `expect(response, values, params)` adding use-case checks on the decoded
response (`values` = the returned Data, decrypted where GBCS encrypts them). Adding a use case is
adding a row.

The OBIS codes and script ids here restate GBCS on purpose rather than importing them from the
firmware's device model: the bench must notice when the emulator gets one wrong.
"""

import time

from smets.dlms import access, axdr
from smets.dlms.access import (
    AccessRequest,
    GetProtectedAttributes,
    ProtectedGet,
    ProtectionParameters,
    RequestSpec,
)
from smets.dlms.axdr import Data

from smetsbench.payloads.registry import DERError, der_decode
from smetsbench.usecases import gbz as gbz_use_cases


def _obis(text):
    return bytes(int(x) for x in text.split("-"))


OBIS_FIRMWARE = _obis("0-0-0-2-1-255")
OBIS_MPAN_IMPORT = _obis("0-0-94-44-34-11")
OBIS_MPAN_EXPORT = _obis("1-0-0-0-2-255")
OBIS_IMPORT_REGISTERS = _obis("0-0-94-44-34-10")
OBIS_DP_IMPORT = _obis("0-0-43-2-8-255")
OBIS_DISCONNECT_CONTROL = _obis("0-0-96-3-10-255")
OBIS_DISCONNECT_SCRIPTS = _obis("0-0-10-0-106-255")
OBIS_CONSUMER_MESSAGE = _obis("0-2-96-13-1-255")
OBIS_TOU_CHARGE = _obis("0-0-19-20-0-255")
OBIS_STANDING_CHARGE = _obis("0-0-19-20-4-255")

CONTROL_STATES = {0: "disconnected", 1: "connected", 2: "ready_for_reconnection"}

# The CHF (GBCS CCS / ECS26i,n / ECS35c,d / DBCH use cases; DLMS IC 104 for the device logs).
OBIS_CHF_DEVICE_LOG = _obis("0-0-30-3-0-255")
OBIS_CHF_DEVICE_LOG_2 = _obis("0-0-30-3-1-255")
OBIS_DEVICE_ID = _obis("0-0-96-1-1-255")
OBIS_DEVICE_TYPE = _obis("0-0-96-1-4-255")
OBIS_DEVICE_VERSION = _obis("0-0-96-1-6-255")
OBIS_CHF_EVENT_LOG = _obis("0-0-99-98-0-255")
OBIS_CHF_SECURITY_LOG = _obis("0-0-99-98-1-255")
OBIS_SUBGHZ_CONFIG = _obis("0-0-94-44-10-0")
OBIS_SUBGHZ_SCAN = _obis("0-0-94-44-10-1")
OBIS_SUBGHZ_CHANNEL = _obis("0-0-94-44-10-2")
# GBCS device types (JoinDevice / CCS01): the device log records what a device is.
GBCS_DEVICE_TYPES = {"GSME": 0, "ESME": 1, "CHF": 2, "GPF": 3, "HCALCS": 4, "PPMID": 5}
TYPE_2_DEVICE = 6  # IHD, CAD and any other Type 2 device


def invoke_id(counter):
    """GBCS long-invoke-id-and-priority: break-on-error, low 24 bits of the counter."""
    return access.BREAK_ON_ERROR | (counter & access.INVOKE_ID_MASK)


def _request(counter, specs, data=None):
    return AccessRequest(invoke_id(counter), specs, data).to_bytes()


class UseCase:
    payload = "DLMS"  # DLMS ACCESS (this class), ASN.1 DER (Asn1UseCase) or GBZ (gas)

    def __init__(self, name, code, title, build, expect=None, critical=False,
                 originator="supplier", device="ESME", encrypted=False):
        self.name = name
        self.code = code
        self.title = title
        self.build = build
        self._expect = expect
        self.critical = critical
        self.originator = originator
        self.device = device
        self.devices = (device,)
        self.encrypted = encrypted

    def expect(self, checks, response, values, params):
        results = [s.result for s in response.specs]
        checks.add("all results success", all(r == access.SUCCESS for r in results),
                   str(results))
        if self._expect and checks.ok:
            self._expect(checks, response, values, params)

    def __repr__(self):
        return "<UseCase %s %04X>" % (self.name, self.code)


class Asn1UseCase(UseCase):
    """A use case whose payload is ASN.1 DER (GBCS 13.7 joins, CS07, CS08): `expect` gets the
    response's DER bytes."""

    payload = "ASN.1"

    def expect(self, checks, response, values, params):
        try:
            tree = der_decode(response)
        except DERError as exc:
            checks.add("response payload is DER", False, str(exc))
            return
        checks.add("response payload is DER", True)
        if self._expect:
            self._expect(checks, tree, params)


# -- builders ---------------------------------------------------------------------------------


def _build_ecs17b(counter, party, device_eui, **_):
    protection = ProtectionParameters(
        b"\x04" + counter.to_bytes(8, "big"), party.eui, bytes(device_eui)
    )
    params = GetProtectedAttributes([ProtectedGet(1, OBIS_IMPORT_REGISTERS, 2)], [protection])
    return _request(counter, [RequestSpec.action(30, OBIS_DP_IMPORT, 1)], [params.to_data()])


def _build_get(*descriptors):
    def build(counter, party, device_eui, **_):
        return _request(counter, [RequestSpec.get(c, o, a) for c, o, a in descriptors])
    return build


def _build_set_mpan(obis):
    def build(counter, party, device_eui, mpan="1312345678333", **_):
        return _request(counter, [RequestSpec.set(1, obis, 2)], [Data.octet(mpan.encode())])
    return build


def _build_script(script_id):
    def build(counter, party, device_eui, **_):
        return _request(counter, [RequestSpec.action(9, OBIS_DISCONNECT_SCRIPTS, 1)],
                        [Data.uint16(script_id)])
    return build


def _build_message(counter, party, device_eui, message="Message from your supplier", **_):
    """ECS10: the supplier's message for the consumer's display (0-2:96.13.1)."""
    return _request(counter, [RequestSpec.set(1, OBIS_CONSUMER_MESSAGE, 2)],
                    [Data.octet(message.encode())])


def _charges(value, prices):
    """A Charge unit_charge (IC 113) Data with its charges per unit replaced by `prices`
    (10^-5 GBP, the tariff's price scale), one per index it has, the last repeated."""
    scale, ref, table = value.value
    rows = []
    for i, row in enumerate(table.value):
        index = row.value[0]
        rows.append(Data.structure([index, Data.int16(prices[min(i, len(prices) - 1)])]))
    return Data.structure([scale, ref, Data.array(rows)])


def _build_tariff(specs):
    """ECS01a with a new unit rate (`price`, one per TOU rate, 10^-5 GBP per kWh) and daily
    standing charge (`standing`), every activation date-time "now": the meter applies the new
    tariff at once (GBCS: an activation time in the past or NOW executes immediately)."""
    from smets.cosem import NOW_DT
    from smets.devices import esme_model

    def build(counter, party, device_eui, price=20000, standing=25000, **_):
        prices = list(price) if isinstance(price, (list, tuple)) else [price]
        rs, data = [], []
        for _kind, cls, obis, index, hook, value in specs:
            rs.append(RequestSpec.set(cls, obis, index))
            if esme_model.HOOKS[hook] == "act":
                data.append(Data.octet(NOW_DT))
            elif (cls, obis, index) == (113, OBIS_TOU_CHARGE, 6):
                data.append(_charges(value, prices))
            elif (cls, obis, index) == (113, OBIS_STANDING_CHARGE, 6):
                data.append(_charges(value, [standing]))
            else:
                data.append(value)
        return _request(counter, rs, data)
    return build


# -- expectations -----------------------------------------------------------------------------


def _expect_registers(checks, response, values, params):
    regs = values[0] if values else None
    ok = (regs is not None and regs.tag == axdr.STRUCTURE and len(regs.value) == 1
          and regs.value[0].tag == axdr.STRUCTURE and len(regs.value[0].value) == 4)
    if not checks.add("import register collection shape", ok, repr(regs)):
        return
    reg = regs.value[0].value
    checks.add("active import is double-long-unsigned Wh",
               reg[0].tag == axdr.DOUBLE_LONG_UNSIGNED and reg[1].value[1].value == 30)
    checks.add("reactive import is double-long-unsigned varh",
               reg[2].tag == axdr.DOUBLE_LONG_UNSIGNED and reg[3].value[1].value == 32)
    if "import_wh" in params:
        checks.add("active import value", reg[0].value == params["import_wh"],
                   "%d Wh, expected %d" % (reg[0].value, params["import_wh"]))


def _expect_firmware(checks, response, values, params):
    v = values[0]
    checks.add("firmware version octet-string(4)",
               v.tag == axdr.OCTET_STRING and len(v.value) == 4, repr(v))


def _expect_mpans(checks, response, values, params):
    ok = all(v.tag == axdr.OCTET_STRING for v in values)
    checks.add("MPANs are octet-strings", ok)
    if ok and "mpan" in params:
        got = bytes(values[0].value).decode("ascii", "replace")
        checks.add("import MPAN value", got == params["mpan"], "%r" % got)


def _expect_state(checks, response, values, params):
    v = values[0]
    checks.add("control_state is enum", v.tag == axdr.ENUM, repr(v))
    if "state" in params and v.tag == axdr.ENUM:
        checks.add("control_state value", v.value == params["state"],
                   "%s, expected %s" % (CONTROL_STATES.get(v.value, v.value),
                                        CONTROL_STATES.get(params["state"])))


def _expect_null(checks, response, values, params):
    checks.add("no data returned", all(v.tag == axdr.NULL for v in values))


# -- joining devices (GBCS 13.7): ASN.1 payloads --------------------------------------------------
# Device types (GBCS_DEVICE_TYPES above, by role name or TYPE2) and join methods restated from
# GBCS (JoinDeviceCommand): the bench must notice when the firmware numbers them differently.
DEVICE_TYPES = dict(GBCS_DEVICE_TYPES, TYPE2=TYPE_2_DEVICE, IHD=TYPE_2_DEVICE,
                    CAD=TYPE_2_DEVICE)
JOIN_METHODS = {0x000D: 0, 0x00AB: 1, 0x000E: 2, 0x00AF: 3}


def _der(tag, body):
    n = len(body)
    head = bytes((n,)) if n < 0x80 else (b"\x81" + bytes((n,)) if n < 0x100
                                         else b"\x82" + n.to_bytes(2, "big"))
    return bytes((tag,)) + head + bytes(body)


def _der_int(v):
    return _der(0x02, v.to_bytes(max(1, (v.bit_length() + 8) // 8), "big", signed=True))


def _build_join(code):
    def build(counter, party, device_eui, other, other_type, certificate=None, **_):
        """`other`: the other device's EUI-64 (hex or bytes); `other_type`: a DEVICE_TYPES
        name or number; `certificate`: its KA certificate DER (Method C)."""
        eui = bytes.fromhex(other) if isinstance(other, str) else bytes(other)
        t = DEVICE_TYPES[other_type] if isinstance(other_type, str) else other_type
        body = _der_int(JOIN_METHODS[code]) + _der(0x04, eui) + _der_int(t)
        return _der(0x30, body + (bytes(certificate) if certificate else b""))
    return build


def _build_unjoin(counter, party, device_eui, other, **_):
    return _der(0x04, bytes.fromhex(other) if isinstance(other, str) else bytes(other))


def _build_null(counter, party, device_eui, **_):
    return b"\x05\x00"


def _expect_code(checks, tree, params):
    want = params.get("code", 0)
    ok = tree.tag == 0x02
    got = int.from_bytes(tree.value, "big", signed=True) if ok else None
    checks.add("response code", got == want, "%s, expected %d" % (got, want))


def _expect_join_details(checks, tree, params):
    kids = tree.children or []
    ok = tree.tag == 0x30 and kids and kids[0].tag == 0x02 and kids[0].value == b"\x00"
    if not checks.add("join details read", bool(ok), repr(kids)):
        return
    entries = {}
    for e in (kids[1].children if len(kids) > 1 else []):
        entries[e.children[0].value.hex()] = int.from_bytes(e.children[1].value, "big")
    if "joined" in params:
        want = {bytes.fromhex(k).hex() if isinstance(k, str) else bytes(k).hex():
                DEVICE_TYPES.get(v, v) for k, v in params["joined"].items()}
        checks.add("device log entries", entries == want, "%r, expected %r" % (entries, want))


def _build_cs06(counter, party, device_eui, image_hash, when=None, **_):
    """CS06 Activate Firmware: SEQUENCE {image hash, originator counter, [execution time]}."""
    import time as _time

    body = _der(0x04, bytes.fromhex(image_hash)) + _der_int(counter)
    if when is not None:
        body += _der(0x18, _time.strftime("%Y%m%d%H%M%SZ", _time.gmtime(when)).encode())
    return _der(0x30, body)


def _expect_activation(checks, tree, params):
    if params.get("when") is not None:
        checks.add("command accepted (NULL)", tree.tag == 0x05, "tag %02x" % tree.tag)
        return
    kids = tree.children or []
    ok = tree.tag == 0x30 and len(kids) == 2 and kids[0].tag == 0x02 and kids[1].tag == 0x04
    if checks.add("execution outcome", ok, repr(kids)):
        got = int.from_bytes(kids[0].value, "big")
        checks.add("response code", got == params.get("code", 0),
                   "%d, expected %d" % (got, params.get("code", 0)))


def _expect_firmware_version(checks, tree, params):
    kids = tree.children or []
    ok = tree.tag == 0x30 and len(kids) == 2 and kids[0].tag == 0x04 and kids[1].tag == 0x02
    checks.add("firmware version and response code", ok, repr(kids))
    if ok:
        checks.add("read success", kids[1].value == b"\x00", kids[1].value.hex())


# -- the CHF ------------------------------------------------------------------------------------


def _build_ccs01(counter, party, device_eui, eui=None, install_code=None, device_type=1, band=0,
                 join_period=3600, **_):
    """CCS01 Add Device to CHF device log: register_device(structure{device id, device type,
    install code, band}), join_timeout, enable_disable_joining."""
    entry = Data.structure([Data.octet(bytes(eui)), Data.enum(device_type),
                            Data.octet(bytes(install_code)), Data.enum(band)])
    log = OBIS_CHF_DEVICE_LOG
    return _request(counter, [RequestSpec.action(104, log, 1), RequestSpec.set(104, log, 3),
                              RequestSpec.set(104, log, 2)],
                    [entry, Data.uint16(join_period), Data.boolean(True)])


def _build_ccs02(counter, party, device_eui, eui=None, **_):
    return _request(counter, [RequestSpec.action(104, OBIS_CHF_DEVICE_LOG, 2)],
                    [Data.octet(bytes(eui))])


def _build_ccs07(counter, party, device_eui, **_):
    return _request(counter, [RequestSpec.action(104, OBIS_CHF_DEVICE_LOG, 4),
                              RequestSpec.action(104, OBIS_CHF_DEVICE_LOG_2, 4)])


def _build_log(obis):
    def build(counter, party, device_eui, **_):
        return _request(counter, [RequestSpec.get_with_selection(7, obis, 2, 1, _EVERYTHING)])
    return build


def _build_dbch04(counter, party, device_eui, **_):
    """DBCH04 Set CHF Sub GHz Configuration (DUIS SetCHFSubGHzConfiguration): channel masks
    (page 28-31 and 27 channel bits), duty cycle thresholds (x100), channel change limit,
    GSME curfew, quieter / noisier thresholds, poor comms percentage (x100) and periods, noise
    measurement period, failure and retry percentages (x100)."""
    masks = [Data.bits(page + "0" * 25 + "11") for page in ("11100", "11101", "11110", "11111")]
    config = Data.structure(masks + [Data.uint16(130), Data.uint16(220), Data.uint8(5),
                                     Data.uint16(7), Data.uint8(7), Data.uint8(12),
                                     Data.uint16(6000), Data.uint8(130), Data.uint16(100),
                                     Data.uint16(4000), Data.uint16(3000)])
    return _request(counter, [RequestSpec.set(1, OBIS_SUBGHZ_CONFIG, 2)], [config])


def _build_dbch05(counter, party, device_eui, **_):
    return _request(counter, [RequestSpec.set(1, OBIS_SUBGHZ_SCAN, 2)], [Data.uint8(0)])


def _expect_device_log(checks, response, values, params):
    v = values[0]
    if not checks.add("active_devices is an array of structures", v.tag == axdr.ARRAY and all(
            e.tag == axdr.STRUCTURE and len(e.value) == 14 for e in v.value), repr(v)[:80]):
        return
    euis = [bytes(e.value[0].value) for e in v.value]
    if "eui" in params:
        listed = bytes(params["eui"]) in euis
        checks.add("device %s %s the log" % (bytes(params["eui"]).hex(), "in" if params.get(
            "present", True) else "not in"), listed == params.get("present", True))


def _expect_backup(checks, response, values, params):
    ok = all(v.tag == axdr.STRUCTURE and len(v.value) == 3 and v.value[2].tag == axdr.ARRAY
             for v in values)
    checks.add("each backup is structure{date-time, PAN, array}", ok)


def _expect_identity(checks, response, values, params):
    checks.add("identity values are octet-strings",
               all(v.tag == axdr.OCTET_STRING for v in values))
    if values and "eui" in params and len(values) == 3:
        checks.add("device id is the CHF's EUI-64", bytes(values[0].value) == params["eui"])


def _expect_compact(checks, response, values, params):
    checks.add("log is a compact-array", values[0].tag == axdr.COMPACT_ARRAY, repr(values[0]))


USE_CASES = {}
for _uc in (
    UseCase("ECS17b", 0x0027, "Read ESME Energy Registers (Import Energy)", _build_ecs17b,
            _expect_registers, encrypted=True),
    UseCase("ECS52", 0x0059, "Read ESME/Comms Hub Firmware Version",
            _build_get((1, OBIS_FIRMWARE, 2)), _expect_firmware),
    UseCase("ECS40", 0x004E, "Read MPAN Value on the ESME",
            _build_get((1, OBIS_MPAN_IMPORT, 2), (1, OBIS_MPAN_EXPORT, 2)), _expect_mpans),
    UseCase("ECS39a", 0x004C, "Set MPAN Value on the ESME", _build_set_mpan(OBIS_MPAN_IMPORT),
            _expect_null),
    UseCase("ECS45", 0x0052, "Read Status of Load Switch in the ESME",
            _build_get((70, OBIS_DISCONNECT_CONTROL, 3)), _expect_state),
    UseCase("ECS42", 0x004F, "Remotely Close the Load Switch on the ESME", _build_script(51),
            _expect_null, critical=True),
    UseCase("ECS43", 0x0050, "Remotely Open the Load Switch on the ESME", _build_script(52),
            _expect_null, critical=True),
    UseCase("ECS44", 0x0051, "Arm Load Switch in ESME", _build_script(54), _expect_null,
            critical=True),
    Asn1UseCase("CS03A1", 0x000D, "Method A Join (Meter)", _build_join(0x000D), _expect_code,
                critical=True),
    Asn1UseCase("CS03A2", 0x00AB, "Method A Join (non Meter)", _build_join(0x00AB),
                _expect_code, critical=True, originator="acb", device="PPMID"),
    Asn1UseCase("CS03B", 0x000E, "Method B Join", _build_join(0x000E), _expect_code),
    Asn1UseCase("CS03C", 0x00AF, "Method C Join", _build_join(0x00AF), _expect_code,
                critical=True, originator="acb", device="PPMID"),
    Asn1UseCase("CS04AC", 0x000F, "Method A or C Unjoin", _build_unjoin, _expect_code,
                critical=True),
    Asn1UseCase("CS04B", 0x0010, "Method B Unjoin", _build_unjoin, _expect_code),
    Asn1UseCase("CS07", 0x0013, "Read Device Join Details", _build_null,
                _expect_join_details),
    Asn1UseCase("CS06", 0x0012, "Activate Firmware", _build_cs06, _expect_activation,
                critical=True),
    Asn1UseCase("CS08", 0x0129, "Read PPMID/HCALCS Firmware Version", _build_null,
                _expect_firmware_version, originator="acb", device="PPMID"),
    UseCase("ECS10", 0x0021, "Send Message to the consumer's display", _build_message,
            _expect_null),
    UseCase("CCS01", 0x0001, "Add Device to CHF device log", _build_ccs01, _expect_null,
            originator="acb", device="CHF"),
    UseCase("CCS02", 0x0002, "Remove device from CHF device log", _build_ccs02, _expect_null,
            originator="acb", device="CHF"),
    UseCase("CCS05CCS04", 0x0004, "Read CHF device log / check HAN communications",
            _build_get((104, OBIS_CHF_DEVICE_LOG, 4)), _expect_device_log, originator="acb",
            device="CHF"),
    UseCase("CCS06", 0x010F, "Read CHF device log and check HAN communications",
            _build_get((104, OBIS_CHF_DEVICE_LOG, 4)), _expect_device_log, originator="acb",
            device="CHF"),
    UseCase("CCS07", 0x00FE, "Read CHF device logs", _build_ccs07, _expect_backup,
            originator="acb", device="CHF"),
    UseCase("ECS26i", 0x0092, "Read CHF identity",
            _build_get((1, OBIS_DEVICE_ID, 2), (1, OBIS_DEVICE_TYPE, 2),
                       (1, OBIS_DEVICE_VERSION, 2)), _expect_identity, originator="acb",
            device="CHF"),
    UseCase("ECS26n", 0x00FA, "Read CHF identity and type",
            _build_get((1, OBIS_DEVICE_TYPE, 2), (1, OBIS_DEVICE_VERSION, 2)), _expect_identity,
            originator="acb", device="CHF"),
    UseCase("ECS35c", 0x0093, "Read CHF event log", _build_log(OBIS_CHF_EVENT_LOG),
            _expect_compact, originator="acb", device="CHF"),
    UseCase("ECS35d", 0x0094, "Read CHF security log", _build_log(OBIS_CHF_SECURITY_LOG),
            _expect_compact, originator="acb", device="CHF"),
    UseCase("DBCH01", 0x010A, "Read CHF sub-GHz channel",
            _build_get((1, OBIS_SUBGHZ_CHANNEL, 2)), originator="acb", device="CHF"),
    UseCase("DBCH03", 0x010C, "Read CHF sub-GHz configuration",
            _build_get((1, OBIS_SUBGHZ_CONFIG, 2)), originator="acb", device="CHF"),
    UseCase("DBCH04", 0x010D, "Set CHF sub-GHz configuration", _build_dbch04, _expect_null,
            originator="acb", device="CHF"),
    UseCase("DBCH05", 0x010E, "Request CHF sub-GHz channel scan", _build_dbch05, _expect_null,
            originator="acb", device="CHF"),
):
    USE_CASES[_uc.name] = _uc


def get(name):
    try:
        return USE_CASES[name]
    except KeyError:
        raise KeyError("unknown use case %s (known: %s)" % (name, ", ".join(USE_CASES))) from None


# -- every other ESME use case, built from the firmware's own tables ------------------------------
# The ESME model (smets.devices.esme_model, compiled into esme_image) lists for each message code
# the request specs its ACCESS-Request must carry, the roles that may send it and whether it is
# critical. Rows for the codes not written out above are generated from it: a GET carries no
# data, a SET the attribute's default value (an activation date-time: NEVER, i.e. a
# cancellation), an ACTION the parameter its method takes; Data protection reads ask for every
# attribute the object protects, encrypted for the sender.

_ROLE_ORDER = (("supplier", 0x01), ("network_operator", 0x02), ("acb", 0x04),
               ("load_controller", 0x40))
_EVERYTHING = Data.structure([
    Data.structure([Data.uint16(1), Data.octet(_obis("0-0-94-44-100-255")), Data.int8(2),
                    Data.uint16(0)]),
    Data.uint32(0), Data.uint32(0xFFFFFFFF), Data.array([])])


def _model_specs(image, p, n):
    """[(kind, class, OBIS, index, hook, default Data or raw bytes)] of a template."""
    from smets.cosem import AttrStore

    store = AttrStore.from_bytes(image.KEYS, image.DEFAULTS)
    out = []
    for i in range(n):
        word = (image.USE_CASES[p + 2 * i] << 8) | image.USE_CASES[p + 2 * i + 1]
        slot = word & 0x1FFF
        key = store.key(slot)
        raw = store.get(slot)
        hook = image.HOOKS[slot]
        plain = raw and not key[8] & 0x80 and hook != 10  # 10: "log", profile descriptors
        value = axdr.from_bytes(raw) if plain else raw
        out.append((word >> 13, (key[0] << 8) | key[1], bytes(key[2:8]), key[8] & 0x7F,
                    hook, value))
    return out


def _model_build(specs, script):
    from smets.devices import esme_model

    hooks = esme_model.HOOKS

    def build(counter, party, device_eui, device_ka=None, utrn=None, value=1000, pounds=False,
              **_):
        rs, data = [], []
        top_up = value
        for kind, cls, obis, index, hook, value in specs:
            name = hooks[hook]
            if kind == access.GET:
                rs.append(RequestSpec.get(cls, obis, index))
                data.append(Data.null())
            elif kind == access.GET_WITH_SELECTION:
                rs.append(RequestSpec.get_with_selection(cls, obis, index, 1, _EVERYTHING))
                data.append(Data.null())
            elif kind == access.SET:
                rs.append(RequestSpec.set(cls, obis, index))
                data.append(Data.octet(b"1312345678333") if name == "mpan" else value)
            else:
                rs.append(RequestSpec.action(cls, obis, index))
                if name == "dp":
                    gets = [ProtectedGet((value[k] << 8) | value[k + 1], value[k + 2:k + 8],
                                         value[k + 8]) for k in range(0, len(value), 9)]
                    prot = ProtectionParameters(b"\x04" + counter.to_bytes(8, "big"),
                                                party.eui, bytes(device_eui))
                    data.append(GetProtectedAttributes(gets, [prot]).to_data())
                elif script is not None:
                    data.append(Data.uint16(script))
                elif cls == 9:
                    data.append(Data.uint16(273))
                elif name == "topup":
                    # CS01a: a UTRN the supplier makes for this meter (GBCS 14, checked by
                    # the meter with the prepayment key), or the one given.
                    if utrn is None and getattr(party, "pp_key", None) is not None \
                            and device_ka is not None:
                        from smetsbench.oracle import utrn as outrn

                        utrn = outrn.make(party, device_eui, device_ka, top_up, pounds)[0]
                    data.append(Data.octet(str(utrn or "73946144332040217315").encode()))
                elif name == "adj":
                    data.append(Data.int32(100000))
                elif name == "clkset":
                    # ECS70: preset time and validity interval, all "now" (the bench's clock
                    # and the meter's are the same): a set within tolerance.
                    from smets.cosem import date_time

                    now = Data.octet(date_time(int(time.time())))
                    data.append(Data.structure([now, Data.octet(b"\xff" * 9 + b"\x80\x00\xff"),
                                                Data.octet(b"\xff" * 9 + b"\x80\x00\xff")]))
                else:
                    data.append(Data.int8(0))
        return _request(counter, rs, data)
    return build


def _model_rows():
    from smets.devices import esme_image

    try:
        from smetsbench.conformance.codes import MESSAGE_CODES
    except ImportError:  # pragma: no cover - the table ships with the conformance runner
        MESSAGE_CODES = {}
    from smets.gbcs import usecases as rowfmt

    rows = esme_image.USE_CASES
    for p in rowfmt.rows(rows):
        row = rowfmt.use_case(rows, p)
        code, roles, name = row.code, row.roles, row.name
        if rows[p + 3] & rowfmt.FLAG_ASN1:
            continue  # an ASN.1 use case (CS02x): no ACCESS specs
        script = rowfmt.script(rows, p)
        first = rowfmt.alternatives(rows, p) + 1
        if name in USE_CASES:
            continue
        specs = _model_specs(esme_image, first + 1, rows[first])
        originator = [r for r, bit in _ROLE_ORDER if roles & bit][0]
        title = MESSAGE_CODES.get(code, (name,))[0]
        uc = UseCase(name, code, title, _model_build(specs, script), critical=row.critical,
                     originator=originator, encrypted=any(s[1] == 30 for s in specs))
        uc.specs = specs
        yield uc


for _uc in _model_rows():
    USE_CASES[_uc.name] = _uc
# A tariff change with the values asked for (price=, standing=) instead of a cancellation.
if "ECS01a" in USE_CASES:
    USE_CASES["ECS01a"].build = _build_tariff(USE_CASES["ECS01a"].specs)


# -- the gas meter's and the GPF's use cases (GBZ payloads: smetsbench.usecases.gbz) -------------
for _uc in gbz_use_cases.USE_CASES.values():
    USE_CASES.setdefault(_uc.name, _uc)
