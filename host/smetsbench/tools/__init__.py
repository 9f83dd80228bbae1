"""Bench tools for real boards: bench files, provisioning, deployment, flashing, sharing."""
