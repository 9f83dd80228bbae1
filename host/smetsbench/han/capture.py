"""HAN capture to pcap, for Wireshark/tshark (whose GBCS dissector then decodes the GBCS).

The bench carries APS-level frames; a capture rebuilds the layers below so Wireshark's
ZigBee stack dissects them: IEEE 802.15.4 data frame (LINKTYPE_IEEE802_15_4_NOFCS, 230) ->
ZigBee NWK data frame (protocol version 2, no security) -> APS data frame (unicast, no
security) -> ZCL. Wireshark's packet-gbcs registers a heuristic on the Tunneling cluster
(0x0704) and dissects the GBCS tunnel command and message inside TransferData with no
preferences set. NWK/APS security is left off on purpose: a capture is for reading.

Short addresses: the hub (coordinator) is 0x0000; devices get 0x0001, 0x0002... in order of
appearance; PAN id 0x1234.
"""

import struct
import threading
import time

LINKTYPE_IEEE802_15_4_NOFCS = 230
PAN_ID = 0x1234
_MAC_FCF = 0x8861  # data, ack request, PAN id compression, short dst/src addresses
_NWK_FCF = 0x0008  # data frame, protocol version 2
_APS_FCF = 0x00  # data frame, unicast, no security, no ack request


class PcapWriter:
    def __init__(self, path, hub_eui=None):
        self.path = path
        self._f = open(path, "wb")
        self._f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535,
                                  LINKTYPE_IEEE802_15_4_NOFCS))
        self._lock = threading.Lock()
        self._short = {}
        if hub_eui is not None:
            self._short[bytes(hub_eui)] = 0x0000
        self._mac_seq = 0
        self._nwk_seq = 0
        self.frames = 0

    def short_address(self, eui):
        eui = bytes(eui)
        if eui not in self._short:
            self._short[eui] = 0x0000 if not self._short else len(self._short)
        return self._short[eui]

    def frame(self, aps):
        """The 802.15.4 frame (no FCS) carrying one smets.han.ApsFrame."""
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
        data = self.frame(aps)
        t = time.time() if t is None else t
        sec = int(t)
        usec = int((t - sec) * 1e6)
        with self._lock:
            if self._f is None:
                return
            self._f.write(struct.pack("<IIII", sec, usec, len(data), len(data)) + data)
            self._f.flush()
            self.frames += 1

    def tap(self, direction, aps, eui, t=None):
        """A CommsHub tap: hub.taps.append(writer.tap); `t` is the time the HAN gave."""
        self.write(aps, t)

    def close(self):
        with self._lock:
            if self._f is not None:
                self._f.close()
                self._f = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
