"""ZigBee PRO / Smart Energy HAN layers below the APS frames devices handle (sans-IO).

- sec: the ZigBee cryptographic primitives on AES-128 (CCM* with MIC-32, the AES-MMO hash,
  the keyed hash, install code CRC and link key), pure MicroPython on `cryptolib`.
- frames: IEEE 802.15.4 MAC, ZigBee NWK and APS frame codecs and the auxiliary security header.
- security: securing and unsecuring NWK and APS frames (ZigBee spec 4.3, 4.4), the frame
  counters that never repeat across reboots and the replay check on incoming counters.
- stack: a HAN device's stack under its APS frames: join (beacon, association, network key
  transported under the install-code link key), rejoin after a reboot, leave, secured data.
- coordinator: the Communications Hub side: PAN coordinator and trust center, admitting only
  devices in the CHF device log.

Byte order: everything on the air is little-endian (ZigBee); EUI-64s are held big-endian, as
GBCS titles are, and reversed on the air.
"""
