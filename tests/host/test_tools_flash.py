"""`smetsbench flash` through esptool's API against esp32-mock-bootloader (the ROM protocol)."""

import os
import pty
import tty

import pytest
import serial
from smetsbench import cli
from smetsbench.tools.errors import ToolError
from smetsbench.tools.flash import flash, image_chip

mock_api = pytest.importorskip("esp32_mock_bootloader", reason="pip install esp32-mock-bootloader")
esptool_targets = pytest.importorskip("esptool.targets")


def esp_image(chip, size=48_000):
    """A valid ESP image for `chip` (what a MicroPython .bin starts with), built by esptool."""
    from esptool.bin_image import ELFSection

    image = esptool_targets.CHIP_DEFS[chip].BOOTLOADER_IMAGE()
    image.entrypoint = 0x40080000
    image.segments = [ELFSection(b".dram0.data", 0x3FFB0000, os.urandom(size), 0)]
    return image.save(None)


@pytest.fixture(scope="module")
def esp32():
    with mock_api.mock_bootloader(chip="esp32") as mock:
        yield mock


@pytest.fixture(scope="module")
def esp32c6():
    with mock_api.mock_bootloader(chip="esp32c6") as mock:
        yield mock


def test_image_chip_reads_the_header():
    assert image_chip(esp_image("esp32", 1000)) == "esp32"
    assert image_chip(esp_image("esp32s3", 1000)) == "esp32s3"
    assert image_chip(esp_image("esp32c6", 1000)) == "esp32c6"
    with pytest.raises(ToolError, match="not an ESP firmware image"):
        image_chip(b"UF2\n" + bytes(100))


def test_first_flash_erases_then_writes_verifies_and_reports_progress(esp32, tmp_path):
    firmware = tmp_path / "ESP32_GENERIC-test.bin"
    data = esp_image("esp32")
    firmware.write_bytes(data)
    lines, progress = [], []
    result = flash(esp32.url(), "esp32-devkitc", str(firmware), out=lines.append,
                   progress=lambda done, total, what: progress.append((done, total, what)))
    assert result.chip == "ESP32" and result.offset == 0x1000 and result.size == len(data)
    assert result.erased and result.verified
    text = "\n".join(lines)
    assert "no image at 0x1000 yet: erasing the whole flash first" in text
    assert "Verification successful" in text
    assert progress and progress[-1][0] == progress[-1][1] == len(data)
    assert all(p[0] <= p[1] for p in progress)
    # Flashing again finds an image: the filesystem (and the board's identity) is kept.
    again = flash(esp32.url(), "esp32-devkitc", data, out=lines.append)
    assert not again.erased and again.verified
    forced = flash(esp32.url(), "esp32-devkitc", data, erase=True)
    assert forced.erased


def test_s3_and_c6_images_go_to_offset_zero(esp32c6):
    result = flash(esp32c6.url(), "esp32-c6", esp_image("esp32c6"), erase=False)
    assert result.chip == "ESP32-C6" and result.offset == 0 and not result.erased


def test_wrong_chip_on_the_port_is_refused(esp32c6):
    with pytest.raises(ToolError) as err:
        flash(esp32c6.url(), "esp32-devkitc", esp_image("esp32"))
    assert "has an ESP32-C6" in str(err.value) and "board esp32-devkitc has an ESP32" in \
        str(err.value)


def test_image_for_another_chip_is_refused_before_connecting(tmp_path):
    firmware = tmp_path / "s3.bin"
    firmware.write_bytes(esp_image("esp32s3"))
    with pytest.raises(ToolError) as err:
        flash("/dev/never-opened", "esp32-devkitc", str(firmware))
    assert "is built for ESP32-S3, but board esp32-devkitc has an ESP32" in str(err.value)
    assert "ESP32_GENERIC" in str(err.value)


def test_bad_inputs_are_clear(tmp_path):
    with pytest.raises(ToolError, match="cannot read firmware"):
        flash("/dev/null", "esp32-devkitc", str(tmp_path / "missing.bin"))
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"\x00" * 4096)
    with pytest.raises(ToolError, match="not an ESP firmware image"):
        flash("/dev/null", "esp32-devkitc", str(junk))
    with pytest.raises(ToolError, match="has no flash to write.*smetsbench deploy"):
        flash("/dev/null", "virtual", esp_image("esp32"))
    with pytest.raises(ToolError, match="does not fit the 4MB flash"):
        flash("/dev/null", "esp32-devkitc", esp_image("esp32", 4 * 1024 * 1024))
    with pytest.raises(ToolError, match="no such port /dev/does-not-exist"):
        flash("/dev/does-not-exist", "esp32-devkitc", esp_image("esp32"))


def test_port_without_a_bootloader_and_busy_port():
    master, slave = pty.openpty()
    tty.setraw(slave)
    path = os.ttyname(slave)
    try:
        with pytest.raises(ToolError, match="no ESP ROM bootloader answered on"):
            flash(path, "esp32-devkitc", esp_image("esp32"), connect_attempts=1)
        holder = serial.Serial(path, exclusive=True)
        try:
            with pytest.raises(ToolError, match="is busy"):
                flash(path, "esp32-devkitc", esp_image("esp32"), connect_attempts=1)
        finally:
            holder.close()
    finally:
        os.close(master)
        os.close(slave)


def test_cli_flash(esp32, tmp_path, capsys):
    firmware = tmp_path / "fw.bin"
    firmware.write_bytes(esp_image("esp32"))
    assert cli.main(["flash", "--port", esp32.url(), "--board", "esp32-devkitc",
                     str(firmware), "--no-erase"]) == 0
    out = capsys.readouterr().out
    assert "ESP32-D0WD" in out and "at 0x1000" in out and "verified" in out
    assert cli.main(["flash", "--port", esp32.url(), "--board", "esp32-c6",
                     str(firmware)]) == 2
    assert "is built for ESP32, but board esp32-c6 has an ESP32-C6" in capsys.readouterr().err
