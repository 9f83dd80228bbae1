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
from smetsbench.tools import boarddefs
from smetsbench.tools.deploy import FILESYSTEM, ROMFS_FILE, deploy, image
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
    files = image(boarddefs.load("virtual"), "x64", ROMFS_FILE)
    assert result.board == "virtual" and result.arch == "x64" and result.code == ROMFS_FILE
    assert set(files) == {"main.py", "boot.py", "board.json", build.ROMFS_IMAGE}
    assert set(result.copied) == set(files) - {"board.json"}  # that one was there, identical
    assert result.removed == [] and result.unchanged == 1
    assert result.firmware == FIRMWARE_VERSION
    assert result.heap["free"] >= 64 * 1024 and result.heap["loaded"] > 0
    assert "smets.devices.esme" in result.heap["modules"]
    for name, data in files.items():
        assert (bare.directory / name).read_bytes() == data
    assert "no smets firmware answered; using the REPL" in lines[0]
    st = _status(bare.port)
    assert st["firmware"] == FIRMWARE_VERSION and st["board"] == "virtual"
    assert st["code"] == "romfs"  # the package is imported from the mounted image


def test_deploy_again_copies_only_what_changed(bare):
    unchanged = deploy(bare.port)
    assert unchanged.copied == [] and unchanged.removed == []
    # A damaged image, and a leftover source on the filesystem from an older deploy.
    rom = bare.directory / build.ROMFS_IMAGE
    rom.write_bytes(b"junk")
    lib = bare.directory / "lib" / "smets"
    lib.mkdir(parents=True, exist_ok=True)
    (lib / "node.py").write_text("raise ImportError('stale source')\n")
    lines = []
    result = deploy(bare.port, out=lines.append)
    assert result.copied == [build.ROMFS_IMAGE]
    assert result.removed == ["lib/smets/node.py"]
    assert not (lib / "node.py").exists()
    assert rom.read_bytes() == build.romfs_image("x64")
    assert "  copy romfs.img" in lines and "  remove lib/smets/node.py" in lines
    assert _status(bare.port)["firmware"] == FIRMWARE_VERSION


def test_deploy_to_the_filesystem_and_back_to_rom(bare):
    # .mpy files on the filesystem, as on an ESP32 whose MicroPython has no ROM partition.
    result = deploy(bare.port, code=FILESYSTEM)
    files = build.image_files(march="x64")
    assert result.code == FILESYSTEM
    assert result.removed == [build.ROMFS_IMAGE]
    assert set(result.copied) == {p for p in files if p.startswith("lib/")}
    lib = bare.directory / "lib" / "smets"
    (lib / "link.mpy").write_bytes(b"junk")
    (lib / "han.mpy").unlink()
    again = deploy(bare.port, code=FILESYSTEM)
    assert again.copied == ["lib/smets/han.mpy", "lib/smets/link.mpy"]
    assert (lib / "link.mpy").read_bytes() == files["lib/smets/link.mpy"]
    assert _status(bare.port)["code"] == "filesystem"
    back = deploy(bare.port)
    assert back.code == ROMFS_FILE and back.copied == [build.ROMFS_IMAGE]
    assert sorted(back.removed) == sorted(p for p in files if p.startswith("lib/"))
    assert _status(bare.port)["code"] == "romfs"


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


def test_a_board_whose_heap_cannot_hold_the_role_is_refused_with_the_reason(tmp_path):
    # 144 KB of heap: not enough for the ESME's .mpy bytecode (refused before copying), nor
    # for its code from ROM plus its data budget (refused once the code is loaded; at 128 KB
    # the code from ROM no longer loads at all since the secured HAN came in).
    small = VirtualBoard(tmp_path / "small", install_firmware=False, name="small", heap="144K")
    small.start()
    try:
        with pytest.raises(ToolError) as err:
            deploy(small.port, code=FILESYSTEM)
        text = str(err.value)
        assert "of heap free, less than the" in text and ".mpy bytecode" in text
        assert "ROMFS partition" in text and "firmware/manifest.py" in text
        assert not (small.directory / "lib" / "smets").exists()  # nothing copied
        with pytest.raises(ToolError) as err:
            deploy(small.port)
        text = str(err.value)
        # Refused with the reason: the code loads and leaves too little for the data, or
        # (the ESME's resident code grows with its use cases) it does not load at all.
        assert ("with the ESME's code loaded (code in romfs-file)" in text
                and "less than the 64 KB its data needs" in text) or (
                "cannot load the ESME's code" in text and "MemoryError" in text
                and "freeze the code" in text), text
    finally:
        small.stop()


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
