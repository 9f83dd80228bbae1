"""Conformance: replay the DCC reference test data against emulated devices or boards."""
