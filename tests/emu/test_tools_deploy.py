"""`smetsbench deploy` with the real mpremote against virtual boards (MicroPython unix port)."""

import json
import os
import pty
import tty

import pytest
from smets.node import FIRMWARE_VERSION
from smetsbench import cli, paths
from smetsbench.boards import build
from smetsbench.boards.virtual import VirtualBoard, find_micropython
from smetsbench.tools.deploy import deploy
from smetsbench.tools.errors import ToolError
from smetsbench.tools.probe import open_link

pytestmark = pytest.mark.skipif(find_micropython() is None,
                                reason="needs the MicroPython unix port")


@pytest.fixture(scope="module")
def bare(tmp_path_factory):
    """A virtual board with MicroPython only, as an ESP32 just flashed with MicroPython."""
    board = VirtualBoard(tmp_path_factory.mktemp("bare") / "board", install_firmware=False,
                         name="bare")
    board.start()
    yield board
    board.stop()


def _status(port):
    link = open_link(port)
    try:
        return link.control("status", timeout=10)
    finally:
        link.close()


def test_first_deploy_installs_everything_and_the_firmware_starts(bare):
    lines = []
    result = deploy(bare.port, out=lines.append)
    image = build.image_files(march="x64")
    assert result.board == "virtual" and result.arch == "x64"
    assert set(result.copied) == set(image)  # board.json was already there, identical
    assert result.removed == [] and result.unchanged == 1
    assert result.firmware == FIRMWARE_VERSION
    for name, data in image.items():
        assert (bare.directory / name).read_bytes() == data
    assert "no smets firmware answered; using the REPL" in lines[0]
    st = _status(bare.port)
    assert st["firmware"] == FIRMWARE_VERSION and st["board"] == "virtual"


def test_deploy_again_copies_only_what_changed(bare):
    unchanged = deploy(bare.port)
    assert unchanged.copied == [] and unchanged.removed == []
    # A damaged file, a missing file and a leftover source that would shadow a .mpy.
    lib = bare.directory / "lib" / "smets"
    (lib / "link.mpy").write_bytes(b"junk")
    (lib / "han.mpy").unlink()
    (lib / "node.py").write_text("raise ImportError('stale source')\n")
    lines = []
    result = deploy(bare.port, out=lines.append)
    assert result.copied == ["lib/smets/han.mpy", "lib/smets/link.mpy"]
    assert result.removed == ["lib/smets/node.py"]
    assert not (lib / "node.py").exists()
    assert (lib / "link.mpy").read_bytes() == build.image_files(march="x64")[
        "lib/smets/link.mpy"]
    assert "  copy lib/smets/han.mpy" in lines and "  remove lib/smets/node.py" in lines
    assert _status(bare.port)["firmware"] == FIRMWARE_VERSION


def test_deploy_keeps_the_identity_and_restarts_a_provisioned_board(tmp_path):
    from smetsbench.session import Bench

    with Bench(work_dir=tmp_path) as bench:
        esme = bench.add_virtual("ESME")
        esme.link.release()
        result = deploy(esme.board.port, board="virtual")
        assert result.copied == []
        esme.link.reopen()
        st = esme.link.control("status", timeout=10)
        assert st["role"] == "ESME" and st["eui"] == esme.eui.hex()


def test_old_micropython_and_wrong_board_are_refused(bare, tmp_path):
    newer = json.loads((paths.boards_dir() / "virtual.json").read_text())
    newer["micropython"]["min_version"] = "9.0.0"
    path = tmp_path / "future-board.json"
    path.write_text(json.dumps(newer))
    with pytest.raises(ToolError) as err:
        deploy(bare.port, board=str(path))
    assert "older than 9.0.0 which board virtual needs" in str(err.value)
    assert "smetsbench flash" in str(err.value)
    with pytest.raises(ToolError) as err:
        deploy(bare.port, board="esp32-devkitc")
    assert "runs MicroPython for x64, but board esp32-devkitc (esp32) runs xtensawin" in \
        str(err.value)
    # The refusals leave the board at its REPL, untouched: the next deploy starts it again.


def test_board_without_micropython_missing_and_busy_ports(bare):
    master, slave = pty.openpty()  # a port where nothing answers
    tty.setraw(slave)
    try:
        with pytest.raises(ToolError) as err:
            deploy(os.ttyname(slave), timeout=15)
        assert "no MicroPython REPL on" in str(err.value)
        assert "smetsbench flash" in str(err.value)
    finally:
        os.close(master)
        os.close(slave)
    with pytest.raises(ToolError, match="no such port /dev/ttyUSB-none"):
        deploy("/dev/ttyUSB-none")
    link = open_link(bare.port)
    try:
        with pytest.raises(ToolError, match="is busy: another program has it open"):
            deploy(bare.port)
    finally:
        link.close()


def test_cli_deploy(bare, capsys):
    assert cli.main(["deploy", "--port", bare.port]) == 0
    out = capsys.readouterr().out
    assert "0 file(s) copied" in out and "firmware %s running" % FIRMWARE_VERSION in out
    assert cli.main(["deploy", "--port", bare.port, "--board", "esp32-c6"]) == 2
    assert "rv32imc" in capsys.readouterr().err
