"""The board image type-checks against the MicroPython ESP32 stubs: it uses only what the ESP32
port has (modules, functions, attributes), checked by mypy on exactly the files a board holds.

CPython-only fallbacks in the firmware (cryptography for AES, binascii.crc_hqx, termios on the
unix port) carry a `# type: ignore[...]` naming why. The stubs are installed on first use into
build/ (pip); without a network the test skips and says so.
"""

import subprocess
import sys
from pathlib import Path

import pytest
from smetsbench import paths
from smetsbench.boards import build

mypy_api = pytest.importorskip("mypy.api")

STUBS = "micropython-esp32-esp32-generic-stubs==1.29.0.post1"
STDLIB_STUBS = "micropython-stdlib-stubs==1.29.0.post2"

# Errors inside the stub package itself are the stubs' business, not the firmware's.
_CONFIG = """[mypy]
python_version = 3.11
explicit_package_bases = True
no_site_packages = True
warn_unused_ignores = True
[mypy-machine,vfs,_mpy_shed.*,stdlib.*]
ignore_errors = True
"""


def _stubs():
    target = paths.repo_dir() / "build" / "stubs" / STUBS.replace("==", "-")
    if (target / "machine.pyi").exists():
        return target
    tmp = target.with_name(target.name + ".tmp")
    proc = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps",
                           "--target", str(tmp), STUBS, STDLIB_STUBS],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.skip("cannot install %s: %s" % (STUBS, proc.stderr.strip()[-300:]))
    tmp.rename(target)
    return target


def test_board_image_uses_only_what_the_esp32_port_has(tmp_path):
    stubs = _stubs()
    firmware = paths.firmware_dir()
    files = [str(firmware / name[len("lib/"):] if name.startswith("lib/") else firmware / name)
             for name in build.image_files(compiled=False) if name.endswith(".py")]
    config = tmp_path / "mypy.ini"
    config.write_text(_CONFIG.replace(
        "[mypy]\n", "[mypy]\nmypy_path = %s:%s\ncustom_typeshed_dir = %s\n"
        % (stubs, firmware, stubs)))
    out, err, status = mypy_api.run(["--config-file", str(config),
                                     "--cache-dir", str(tmp_path / "cache")] + files)
    assert status == 0, out + err
    assert "Success: no issues found in %d source files" % len(files) in out


def test_the_image_is_what_the_check_covers():
    # The board holds main.py, boot.py and the package minus host-only modules.
    names = set(build.image_files(compiled=False))
    assert {"main.py", "boot.py", "lib/smets/node.py"} <= names
    assert not any(build.is_host_only(n[len("lib/"):]) for n in names if n.startswith("lib/"))
    assert "lib/smets/devices/esme_model.py" not in names
    assert Path(paths.firmware_dir() / "smets" / "devices" / "esme_model.py").exists()
