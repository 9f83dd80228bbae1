"""AES-128 for the GBCS crypto: smets.aes, which the ZigBee HAN security shares (a HAN-only
role must not load smets.gbcs)."""

from smets.aes import AES128, BLOCK_SIZE  # noqa: F401 - this module's API
