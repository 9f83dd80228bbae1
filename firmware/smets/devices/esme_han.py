"""The ESME and its Type 1 HAN devices: a joined PPMID's prepayment commands and the
auxiliary load control switches on the HAN (HCALCS). Loaded for the frame only (smets.lazy).

PPMID (GBCS PECS01-03, ZSE commands, smets.zcl.ppmid): Consumer Top Up adds a UTRN's credit as
CS01a does; Select Available Emergency Credit makes emergency credit available as ECS09 does;
Local Change Supply "ON" closes an armed load switch as the consumer's button does. Each is an
"Immediate HAN Interface Command" event in the meter's event log (GBCS Table 16.2: 8154 actioned
/ 8155 not actioned), besides the event of what it did (810E credit added, 81AB emergency
credit activated).

HCALCS (smets.zcl.drlc): auxiliary load control switch [n] (1..5) is HAN-connected when its
identifier 0-0:94.44.0.2n (ECS46c) names an HCALCS in the device log. When ECS47 switches it
(script table 0-0:10.0.103, script id n << 8 | action: 0x11 on, 0x12 off, 0x20 reset to off)
the ESME sends the HCALCS a Load Control Event (duty cycle 100 on, 0 off); a Get Scheduled
Events from the HCALCS (HECS01) is answered with the switch's current state. Frames from
devices the log does not hold, or from a joined device of another type, are dropped.
"""

from smets import cosem, devlog
from smets.devices import esme as E
from smets.han import ApsFrame
from smets.zcl.frame import (
    FAILURE,
    MALFORMED_COMMAND,
    NOT_FOUND,
    SUCCESS,
    TYPE_CLUSTER,
    ZCLError,
    ZCLFrame,
)

# The frames taken here (ZSE; smets.zcl.ppmid and smets.zcl.drlc hold their codecs, imported
# by the handler of a frame that needs them, so a PPMID's frame loads no DRLC code and an
# HCALCS's no prepayment code; esme drops them with this module).
_PREPAYMENT = 0x0705
_METERING = 0x0702
_DRLC = 0x0701
_SELECT_EMERGENCY_CREDIT = 0x00
_CONSUMER_TOP_UP = 0x04
_LOCAL_CHANGE_SUPPLY = 0x0C

EVENT_HAN_ACTIONED = 0x8154  # Immediate HAN Interface Command received and actioned
EVENT_HAN_NOT_ACTIONED = 0x8155
EVENT_EC_ACTIVATED = 0x81AB
_UTC_2000 = 946684800
_ALCS_IDS = b"\x00\x01\x00\x00\x5e\x2c\x00"  # 0-0:94.44.0.2n attr 2 (class 1)
_ALCS_STATE = b"\x00\x46\x00"  # 0-n:96.3.10.255 class 70 (disconnect control), attr 2
_ALCS_SWITCHES = 5
ACTION_ON = 0x11
ACTION_OFF = 0x12
ACTION_RESET = 0x20


def _hexs(b):
    return "".join("%02x" % x for x in b)


KE_RETRY_S = 60  # a Method A partner that has not answered is asked again (device time)


def key_establishment(esme, now):
    """Ask every Method A partner the meter has no key of yet (smets.devices.keyest); the
    next time to try, or None when every partner's key is known."""
    from smets.devices import keyest

    waiting = False
    for eui, _t in esme.device_log.entries():
        e = esme.device_log.entry(eui)
        if e[1] == devlog.METHOD_A_INITIATOR and not e[2] & devlog.FLAG_KEY:
            esme.han_out.append(keyest.request(esme, eui, esme.next_zcl_seq()))
            waiting = True
    return now + KE_RETRY_S if waiting else None


def on_frame(esme, aps, zcl, now):
    """Frames out for a frame from a Type 1 device, or None when it is none of ours."""
    if aps.cluster == 0x0800:
        from smets.devices import keyest

        return keyest.on_frame(esme, aps, zcl, now)
    kind = esme.device_log.joined(aps.src_eui)
    if kind == devlog.PPMID and zcl.frame_type == TYPE_CLUSTER and not zcl.server_to_client:
        if aps.cluster == _PREPAYMENT and zcl.command in (_SELECT_EMERGENCY_CREDIT,
                                                          _CONSUMER_TOP_UP):
            return _guard(esme, aps, zcl, now, _prepayment)
        if aps.cluster == _METERING and zcl.command == _LOCAL_CHANGE_SUPPLY:
            return _guard(esme, aps, zcl, now, _local_change_supply)
    if kind == devlog.HCALCS and aps.cluster == _DRLC and zcl.frame_type == TYPE_CLUSTER \
            and not zcl.server_to_client:
        return _guard(esme, aps, zcl, now, _drlc)
    return None


def _guard(esme, aps, zcl, now, handler):
    esme.advance(now)
    try:
        return handler(esme, aps, zcl, now)
    except ZCLError as exc:
        esme.stats["zcl_errors"] += 1
        esme.log("W", "malformed command from %s: %s" % (_hexs(aps.src_eui), exc))
        esme._event(now, EVENT_HAN_NOT_ACTIONED)
        return [aps.reply(aps.cluster, zcl.default_response(MALFORMED_COMMAND).to_bytes())]


def _prepayment(esme, aps, zcl, now):
    from smets.zcl import ppmid as pz

    s = esme.state
    if zcl.command == pz.SELECT_EMERGENCY_CREDIT:
        pz.parse_select_emergency_credit(zcl.payload)
        # GBCS PECS02: as ECS09, the emergency credit limit becomes available.
        a = esme.attrs
        s["ec_credit"] = cosem.value_int(a.get(a.slot(E._KEY_EC_LIMIT)))
        esme._event(now, EVENT_EC_ACTIVATED)
        esme._event(now, EVENT_HAN_ACTIONED)
        esme._save()
        return [aps.reply(aps.cluster, zcl.default_response(SUCCESS).to_bytes())]
    origin, code = pz.parse_consumer_top_up(zcl.payload)
    # GBCS PECS01: a UTRN, checked and applied as CS01a applies one (esme_ext.top_up: the
    # refusal is the ZSE ResultType, its GBCS event logged); then the HAN command's event.
    result, value = E._call("top_up", esme, code, now, True)
    esme._event(now, EVENT_HAN_NOT_ACTIONED if result else EVENT_HAN_ACTIONED)
    body = pz.top_up_response(result, value, origin, esme.balance())
    frame = ZCLFrame(pz.CONSUMER_TOP_UP_RESPONSE, body, server_to_client=True,
                     disable_default_response=True, seq=zcl.seq)
    return [aps.reply(aps.cluster, frame.to_bytes())]


def _local_change_supply(esme, aps, zcl, now):
    from smets.zcl import ppmid as pz

    proposed = pz.parse_local_change_supply(zcl.payload)
    # GBCS PECS03 (as SMETS): only "supply ON" can succeed, and only on an armed switch.
    ok = proposed == pz.SUPPLY_ON and esme.press_button(now)
    if not ok:
        esme._event(now, EVENT_HAN_NOT_ACTIONED)
    else:
        esme._event(now, EVENT_HAN_ACTIONED)
    state = esme.state["control_state"]
    status = (pz.SUPPLY_OFF, pz.SUPPLY_ON, pz.SUPPLY_ARMED)[state % 3]
    body = pz.supply_status_response(0, 0, now - _UTC_2000, status)
    frame = ZCLFrame(pz.SUPPLY_STATUS_RESPONSE, body, server_to_client=True,
                     disable_default_response=True, seq=zcl.seq)
    return [aps.reply(aps.cluster, frame.to_bytes())]


# -- auxiliary load control switches on the HAN -------------------------------------------------


def switch_of(esme, eui):
    """The auxiliary load control switch number (1..5) an HCALCS serves, or 0."""
    a = esme.attrs
    for n in range(1, _ALCS_SWITCHES + 1):
        v = a.get(a.slot(_ALCS_IDS + bytes((20 + n, 2))))
        if v is not None and bytes(v[2:]) == bytes(eui):
            return n
    return 0


def alcs_state(esme, n):
    a = esme.attrs
    v = a.get(a.slot(_ALCS_STATE + bytes((n, 96, 3, 10, 0xFF, 2))))
    return v is not None and v[1] != 0


def _event_frame(esme, on, seq):
    from smets.zcl import drlc

    esme.state["drlc_event"] = (esme.state.get("drlc_event", 0) + 1) & 0xFFFFFFFF
    ev = drlc.LoadControlEvent(esme.state["drlc_event"], drlc.DUTY_ON if on else drlc.DUTY_OFF)
    return ZCLFrame(drlc.LOAD_CONTROL_EVENT, ev.to_bytes(), server_to_client=True,
                    disable_default_response=True, seq=seq)


def run_script(esme, script, now):
    """A script of 0-0:10.0.103 switches auxiliary controller [n]. ECS47: n << 8 | action
    (0x11 on, 0x12 off, 0x20 reset to off); ECS47a: (0x10 + n) << 8 | level (0 off, 1..100 on;
    RTDS 0x1100 deactivates, 0x1564 activates) [both inferred from the RTDS script ids]. The
    switch's state changes; an HCALCS serving it is told (frames queued in esme.han_out).
    Other ids (proportional controller inputs, 0x21.. / 0x23..) change no switch."""
    hi = script >> 8
    lo = script & 0xFF
    if 1 <= hi <= _ALCS_SWITCHES and lo in (ACTION_ON, ACTION_OFF, ACTION_RESET):
        n, on = hi, lo == ACTION_ON
    elif 0x11 <= hi <= 0x10 + _ALCS_SWITCHES and lo <= 100:
        n, on = hi - 0x10, lo > 0
    else:
        return
    a = esme.attrs
    a.put(a.slot(_ALCS_STATE + bytes((n, 96, 3, 10, 0xFF, 2))), b"\x03\xff" if on else b"\x03\x00")
    esme._dirty = True
    v = a.get(a.slot(_ALCS_IDS + bytes((20 + n, 2))))
    hcalcs = bytes(v[2:]) if v is not None else b""
    if len(hcalcs) == 8 and esme.device_log.joined(hcalcs) == devlog.HCALCS:
        # The event id is saved with the switch's state by the command (ECS47) that ran this.
        frame = _event_frame(esme, on, esme.next_zcl_seq())
        esme.han_out.append(ApsFrame(esme.eui, hcalcs, _DRLC, frame.to_bytes()))
        esme.log("I", "HCALCS %s (switch %d) told to switch %s" % (_hexs(hcalcs), n,
                                                                  "on" if on else "off"))


def _drlc(esme, aps, zcl, now):
    from smets.zcl import drlc

    if zcl.command == drlc.REPORT_EVENT_STATUS:
        rep = drlc.EventStatus.from_bytes(zcl.payload)
        esme.log("I", "HCALCS %s event %d status %02x" % (_hexs(aps.src_eui), rep.event_id,
                                                         rep.status))
        return []
    if zcl.command == drlc.GET_SCHEDULED_EVENTS:
        drlc.parse_get_scheduled_events(zcl.payload)
        n = switch_of(esme, aps.src_eui)
        if not n:
            esme._event(now, EVENT_HAN_NOT_ACTIONED)
            return [aps.reply(aps.cluster, zcl.default_response(NOT_FOUND).to_bytes())]
        esme._event(now, EVENT_HAN_ACTIONED)  # GBCS HECS01
        frame = _event_frame(esme, alcs_state(esme, n), zcl.seq)
        # The event id on flash before it leaves: after a reboot the HCALCS never sees an
        # id again (ZSE D.2: a repeated Issuer Event ID is the same event).
        esme._save()
        return [aps.reply(aps.cluster, frame.to_bytes())]
    return [aps.reply(aps.cluster, zcl.default_response(FAILURE).to_bytes())]
