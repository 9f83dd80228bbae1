"""smetsbench: a SMETS2 device emulator and GBCS test bench (host side)."""

__version__ = "0.1.0"
