"""The HAN side of the Communications Hub: the hub, captures (pcap) and traces."""
