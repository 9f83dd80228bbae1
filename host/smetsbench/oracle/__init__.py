"""Independent oracles: GBCS crypto with `cryptography`, remote parties, the test PKI and the
response checker. Never imported by the firmware."""
