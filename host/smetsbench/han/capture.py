"""HAN capture to pcap, as the frames are on the air, and the keys Wireshark decrypts them with.

    with PcapWriter("demo.pcap", keys=hub.coordinator.keys) as cap:
        hub.air_taps.append(cap.air_tap)
        ...
    # demo.pcap       IEEE 802.15.4 frames with FCS (LINKTYPE_IEEE802_15_4_WITHFCS, 195)
    # demo.pcap.keys  Wireshark's zigbee_pc_keys table: the network key and the link keys

A secured HAN's links carry 802.15.4 frames (smets.zigbee.frames); the capture writes each one
the hub sends or receives, with the FCS the radio would add (built by scapy's Dot15d4FCS). The
keys file is a Wireshark UAT file: copy it into a profile as `zigbee_pc_keys`, or give each line
to tshark (`tshark_args`):

    tshark -r demo.pcap -o 'uat:zigbee_pc_keys:"<key>","Normal","network key, sequence 0"' ...

Wireshark then opens the NWK layer with the network key, the APS layer with the link keys (and
their key-transport hashes), and its GBCS dissector shows the messages in the Tunneling
cluster's TransferData. An unsecured HAN (tests of the routing alone) is captured from its APS
frames (`tap`), rebuilt as unsecured 802.15.4 / NWK / APS frames.
"""

import struct
import threading
import time

from scapy.layers.dot15d4 import Dot15d4FCS
from scapy.utils import RawPcapWriter

LINKTYPE_IEEE802_15_4_WITHFCS = 195
PAN_ID = 0x1234
_MAC_FCF = 0x8861  # data, ack request, PAN id compression, short dst/src addresses
_NWK_FCF = 0x0008  # data frame, protocol version 2
_APS_FCF = 0x00  # data frame, unicast, no security, no ack request
_FCS = Dot15d4FCS()


def open_air(coordinator, frames, link_key=None):
    """What the frames on the air carry, opened with the hub's network key (as Wireshark does
    with the keys file): (source, destination, cluster, APS-secured, source endpoint, APS
    payload) of each NWK data frame (source and destination their NWK EUI-64s; the payload
    of an APS-secured frame opened with `link_key(source, destination)`, 16 bytes, or None
    when that gives no key or the frame does not open with it), and (MAC source short
    address, MAC destination, "poll", False, None, None) of each MAC Data Request; other
    frames are left out."""
    from smets.zigbee import security
    from smets.zigbee.frames import (
        MAC_COMMAND,
        MAC_DATA,
        MAC_DATA_REQUEST,
        ApsPdu,
        FrameError,
        MacFrame,
        NwkFrame,
    )
    from smets.zigbee.sec import SecurityError

    out = []
    for frame in frames:
        try:
            mac = MacFrame.from_bytes(frame)
            if mac.ftype == MAC_COMMAND and bytes(mac.payload[:1]) == bytes((MAC_DATA_REQUEST,)):
                out.append((mac.src, mac.dst, "poll", False, None, None))
                continue
            if mac.ftype != MAC_DATA or not len(mac.payload):
                continue
            nwk = NwkFrame.from_bytes(mac.payload)
            if nwk.aux is None or nwk.ftype != 0:
                continue
            aps = ApsPdu.from_bytes(security.open_frame(
                coordinator.crypto, coordinator.nwk_key, nwk, nwk.aux.src_eui))
        except FrameError:
            continue
        payload = bytes(aps.payload)
        if aps.aux is not None:
            raw = link_key(nwk.src_eui, nwk.dst_eui) if link_key is not None else None
            try:
                payload = None if raw is None else bytes(security.open_frame(
                    coordinator.crypto, coordinator.crypto.key(raw), aps,
                    aps.aux.src_eui or nwk.src_eui))
            except SecurityError:
                payload = None
        out.append((nwk.src_eui, nwk.dst_eui, aps.cluster, aps.aux is not None, aps.src_ep,
                    payload))
    return out


def fcs(frame):
    """The 802.15.4 FCS of a frame (ITU-T CRC-16, as scapy computes it)."""
    return _FCS.compute_fcs(bytes(frame))


def uat_line(key, label):
    """One zigbee_pc_keys record: key (hex), byte order, label."""
    return '"%s","Normal","%s"' % (bytes(key).hex().upper(), label.replace('"', "'"))


def tshark_args(keys):
    """tshark options giving it `keys` [(label, key)]: one -o per zigbee_pc_keys record."""
    out = []
    for label, key in keys:
        out += ["-o", "uat:zigbee_pc_keys:" + uat_line(key, label)]
    return out


def read_keys(path):
    """[(label, key)] of a keys file written by PcapWriter."""
    out = []
    for line in open(path, encoding="utf-8"):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = [p.strip('"') for p in line.split('","')]
        out.append((parts[2], bytes.fromhex(parts[0])))
    return out


class PcapWriter:
    def __init__(self, path, hub_eui=None, keys=None):
        self.path = str(path)
        self.keys_path = self.path + ".keys"
        self._pcap = RawPcapWriter(self.path, linktype=LINKTYPE_IEEE802_15_4_WITHFCS,
                                   sync=True)
        self._pcap.write_header(None)  # a capture without frames is still a pcap file
        self._keys = keys  # callable -> [(label, key)] (the coordinator's), or None
        self._written_keys = None
        self._lock = threading.Lock()
        self._short = {}
        if hub_eui is not None:
            self._short[bytes(hub_eui)] = 0x0000
        self._mac_seq = 0
        self._nwk_seq = 0
        self.frames = 0
        self._open = True

    # -- the secured HAN: frames as on the air ----------------------------------------------------
    def air_tap(self, direction, frame, eui=None, t=None):
        """A HanNetwork air tap: hub.air_taps.append(writer.air_tap)."""
        self._write(bytes(frame), t)
        self._update_keys()

    def _write(self, frame, t):
        t = time.time() if t is None else t
        sec = int(t)
        with self._lock:
            if not self._open:
                return
            self._pcap.write_packet(frame + fcs(frame), sec=sec, usec=int((t - sec) * 1e6))
            self.frames += 1

    def _update_keys(self):
        if self._keys is None:
            return
        # Every key the capture has met: a device removed since still has its frames in it.
        keys = list(self._written_keys or ())
        for item in self._keys():
            if item not in keys:
                keys.append(item)
        if keys == self._written_keys:
            return
        with self._lock:
            with open(self.keys_path, "w", encoding="utf-8") as f:
                f.write("# Wireshark zigbee_pc_keys (key, byte order, label): the HAN's keys\n")
                for label, key in keys:
                    f.write(uat_line(key, label) + "\n")
            self._written_keys = keys

    # -- an unsecured HAN: APS frames rebuilt ---------------------------------------------------
    def short_address(self, eui):
        eui = bytes(eui)
        if eui not in self._short:
            self._short[eui] = 0x0000 if not self._short else len(self._short)
        return self._short[eui]

    def frame(self, aps):
        """An unsecured 802.15.4 frame (no FCS) carrying one smets.han.ApsFrame."""
        src = self.short_address(aps.src_eui)
        dst = self.short_address(aps.dst_eui)
        self._mac_seq = (self._mac_seq + 1) & 0xFF
        self._nwk_seq = (self._nwk_seq + 1) & 0xFF
        mac = struct.pack("<HBHHH", _MAC_FCF, self._mac_seq, PAN_ID, dst, src)
        nwk = struct.pack("<HHHBB", _NWK_FCF, dst, src, 30, self._nwk_seq)
        aps_hdr = struct.pack("<BBHHBB", _APS_FCF, aps.dst_ep, aps.cluster, aps.profile,
                              aps.src_ep, aps.counter)
        return mac + nwk + aps_hdr + bytes(aps.payload)

    def write(self, aps, t=None):
        self._write(self.frame(aps), t)

    def tap(self, direction, aps, eui, t=None):
        """A CommsHub APS tap (an unsecured HAN): hub.taps.append(writer.tap)."""
        self.write(aps, t)

    def close(self):
        self._update_keys()
        with self._lock:
            if self._open:
                self._pcap.close()
                self._open = False

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
