"""`smetsbench freeze`: the frozen-module tree and manifest for a MicroPython build."""

import subprocess

from smetsbench import cli
from smetsbench.boards import build
from smetsbench.boards.build import find_mpy_cross
from smetsbench.tools.freeze import freeze


def test_freeze_writes_the_board_sources_and_a_manifest_the_build_can_run(tmp_path):
    manifest = freeze(tmp_path / "out", "esp32-s3")
    out = tmp_path / "out"
    board = {n[len("lib/"):] for n in build.image_files(compiled=False) if n.startswith("lib/")}
    written = {p.relative_to(out).as_posix() for p in (out / "smets").rglob("*.py")}
    assert written == board and "smets/dlms/axdr.py" not in written
    assert "def to_json" not in (out / "smets" / "zcl" / "types.py").read_text()
    # The manifest as the MicroPython build runs it: include() and package() supplied.
    calls = []
    exec(manifest.read_text(), {"include": lambda p: calls.append(("include", p)),
                                "package": lambda *a, **kw: calls.append(("package", a, kw))})
    assert calls[0] == ("include", "$(PORT_DIR)/boards/manifest.py")
    assert calls[1][1] == ("smets",) and calls[1][2]["base_path"] == str(out)
    assert "BOARD=ESP32_GENERIC_S3" in manifest.read_text()
    # Every frozen source compiles for the board's architecture.
    for path in sorted((out / "smets").rglob("*.py"))[:60]:
        proc = subprocess.run(find_mpy_cross() + ["-march=xtensawin", "-o", str(tmp_path / "x"),
                                                  str(path)], capture_output=True, text=True)
        assert proc.returncode == 0, (path, proc.stderr)


def test_cli_freeze(tmp_path, capsys):
    assert cli.main(["freeze", str(tmp_path / "f"), "--board", "esp32-devkitc"]) == 0
    assert "make -C ports/esp32 BOARD=ESP32_GENERIC FROZEN_MANIFEST=" in capsys.readouterr().out
    assert cli.main(["freeze", str(tmp_path / "g"), "--board", "no-such-board"]) == 2
