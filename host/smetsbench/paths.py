"""Where the repository's firmware, board definitions and the RTDS data are."""

import os
from pathlib import Path

import smets


def repo_dir():
    return Path(smets.__file__).resolve().parent.parent.parent


def firmware_dir():
    path = Path(smets.__file__).resolve().parent.parent
    if not (path / "main.py").exists():
        raise FileNotFoundError(
            "firmware sources not found next to %s; install smetsbench from a checkout "
            "(pip install -e .)" % smets.__file__
        )
    return path


def boards_dir():
    return repo_dir() / "boards"


def rtds_dir():
    """The RTDS folder (holding RTDS-4.5.0/ and keystore/), or None when absent."""
    env = os.environ.get("SMETSBENCH_RTDS")
    candidates = [Path(env)] if env else []
    candidates.append(repo_dir().parent / "shared" / "rtds")
    for path in candidates:
        if (path / "keystore").is_dir():
            return path
    return None
