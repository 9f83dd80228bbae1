"""The Communications Hub Function's COSEM objects and GBCS use cases, as data.

The notation is the ESME's (smets.devices.esme_model: class, OBIS short form, attribute or
method with a hook, default value; `u` rows are use cases) and the builder is its `build`,
with the CHF's hooks. Imported only to build chf_image (`python -m smets.devices.chf_model`);
the host's use-case library reads it too.

Objects, as GBCS and the DCC RTDS 4.5.0 show them (DLMS Blue Book IC 104 "ZigBee network
control" for the device logs):
- 0-0:96.1.1.255 the CHF's device identity (its EUI-64); 96.1.4 and 96.1.6 its type and
  version strings (ECS26i, ECS26n).
- 0-0:30.3.0.255 the CHF device log (the devices that may join the SMHAN), 0-0:30.3.1.255
  the second device log the CHF keeps (CCS07 backs both up; the RTDS shows the GPF and PPMID in
  it): attribute 2 enable_disable_joining, 3 join_timeout (s), 4 active_devices (one
  active_device_element per device, CCS05 / CCS04 / CCS06), method 1 register_device (CCS01:
  structure{device id, device type, install code, band}), 2 unregister_device (CCS02), 3
  unregister_all_devices, 4 backup_PAN (CCS07: structure{date-time, extended PAN id, array of
  structure{device id, install code}}), 5 restore_PAN (CCS03, the same structure).
- 0-0:99.98.0.255 / 0-0:99.98.1.255 the CHF event and security logs (profile generic, read
  with a range: ECS35c / ECS35d).
- 0-0:94.44.10.0.255 the sub-GHz configuration (DBCH03 / DBCH04, DUIS SetCHFSubGHzConfiguration:
  four channel masks, duty cycle thresholds, channel change limits, poor-comms and noise
  thresholds), 94.44.10.1 the channel scan request (DBCH05), 94.44.10.2 the current sub-GHz
  channel (DBCH01). Channel masks: 5-bit channel page (28-31 for the GB 868 MHz bands) and a
  27-bit channel mask, as a 32-bit bit-string.

Use cases come from the Access Control Broker (GBCS: the DCC sends CHF commands on behalf of
the service user named in the other-information), security credentials as for the ESME.
"""

from smets.devices import esme_model

VERSION = 1
HOOKS = ("", "id", "devlog", "log", "any", "cfg", "scan")

TEXT = (
    """
# -- identity ------------------------------------------------------------------------------
1 96.1.1 2:id x0000000000000000
1 96.1.4 2 'smetsbench CH'
1 96.1.6 2 'CHF 0.1'
# -- device logs (IC 104 ZigBee network control) --------------------------------------------
104 30.3.0 2 b1
104 30.3.0 3 u16:3600
104 30.3.0 4:devlog n
104 30.3.0 m1:devlog
104 30.3.0 m2:devlog
104 30.3.0 m3:devlog
104 30.3.0 m4:devlog
104 30.3.0 m5:devlog
104 30.3.1 2 b1
104 30.3.1 3 u16:3600
104 30.3.1 4:devlog n
104 30.3.1 m1:devlog
104 30.3.1 m2:devlog
104 30.3.1 m3:devlog
104 30.3.1 m4:devlog
104 30.3.1 m5:devlog
# -- event and security logs: the value names the ring --------------------------------------
7 99.98.0 2:log r00
7 99.98.1 2:log r01
# -- sub-GHz (dual band Communications Hub) -------------------------------------------------
1 94.44.10.0 2:cfg S(B32:e7fffffe,B32:e8000000,B32:f0000000,B32:f8000000,u16:100,u16:200,u8:4,
+ u16:6,u8:6,u8:10,u16:5000,u8:100,u16:60,u16:3000,u16:2000)
1 94.44.10.1 2:scan u8:0
1 94.44.10.2 2 B32:e0000002
""",
    """
u 0001 CCS01 A O a30.3.0/1 s30.3.0/3 s30.3.0/2
u 0002 CCS02 A - a30.3.0/2
u 0003 CCS03 A O a30.3.0/5 a30.3.1/5
u 0004 CCS05CCS04 A - g30.3.0/4
u 00FE CCS07 A O a30.3.0/4 a30.3.1/4
u 010F CCS06 A - g30.3.0/4
u 0092 ECS26i A O g96.1.1/2 g96.1.4/2 g96.1.6/2
u 00FA ECS26n A O g96.1.4/2 g96.1.6/2
u 0093 ECS35c A - r99.98.0/2
u 0094 ECS35d A - r99.98.1/2
u 010A DBCH01 A - g94.44.10.2/2
u 010C DBCH03 A - g94.44.10.0/2
u 010D DBCH04 A - s94.44.10.0/2
u 010E DBCH05 A - s94.44.10.1/2
# -- security credentials (GBCS section 12; the ESME's ASN.1 code, the CHF's cells) --------
u 0008 CS02a A D -
u 0104 CS02bAbyA A TDG -
u 0105 CS02bWbyW W CTDG -
u 0108 CS02bRecovery R/R CTDG -
""",
)


def build():
    return esme_model.build(TEXT, HOOKS)


def image_source():
    """Source of chf_image.py: the built model as bytes constants (what a CHF loads)."""
    keys, hooks, blob, ucs, _acts, _variants = build()
    return esme_model.image_text("CHF", "chf_model", VERSION, (
        ("KEYS", keys), ("HOOKS", hooks), ("DEFAULTS", blob), ("USE_CASES", ucs)))


if __name__ == "__main__":
    from smets.devices import model_image

    model_image.write(__file__, "chf_image", image_source())
