"""GBCS payloads (DLMS, GBZ, ASN.1): recognise, decode, show."""
