"""Repository hygiene that CI keeps: lint, and the README's commands match what CI runs."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_readme_starts_with_the_demo_and_test_commands_and_ci_runs_the_latter():
    lines = (ROOT / "README.md").read_text().splitlines()
    assert lines[0] == "```sh"
    demo, tests = lines[1], lines[2]
    assert demo.endswith("smetsbench demo") and "pip install -e ." in demo
    assert "pytest" in tests and ".[test]" in tests
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert tests in ci, ".ci/run must run the README's test command verbatim"


@pytest.mark.skipif(shutil.which("ruff") is None and not (Path(sys.executable).parent / "ruff")
                    .exists(), reason="ruff not installed")
def test_ruff_is_clean():
    exe = Path(sys.executable).parent / "ruff"
    cmd = [str(exe) if exe.exists() else "ruff", "check", "host", "firmware", "tests", "tools"]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-4000:]
