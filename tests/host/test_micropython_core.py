"""The core tests again, on the MicroPython unix port (the firmware's real runtime)."""

import subprocess
import sys
from pathlib import Path

import pytest
from smetsbench.boards.virtual import find_micropython

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(find_micropython() is None, reason="MicroPython unix port not installed")
def test_core_suite_passes_on_micropython():
    # The heap here is for compiling the sources on the fly; the firmware's heap budget is
    # measured on .mpy by `smetsbench bench`.
    proc = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "mptest.py"), "--heap", "2M"],
        capture_output=True, text=True, timeout=600, cwd=ROOT,
    )
    failures = [line for line in proc.stdout.splitlines() if not line.startswith(("PASS", "SKIP"))]
    assert proc.returncode == 0, "\n".join(failures[-60:]) + proc.stderr[-2000:]
    assert " 0 failed" in proc.stdout
