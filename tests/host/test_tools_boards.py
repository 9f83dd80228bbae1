"""Board definitions (boards/*.json) and the firmware's LED/button driver (runtime/board_io)."""

import json

import pytest
from smets.runtime import board_io
from smetsbench import paths
from smetsbench.tools import boarddefs
from smetsbench.tools.errors import ToolError

# Facts checked against Espressif's esp-dev-kits user guides and MicroPython's esp32 board
# files (deploy_options.flash_offset); see the commit that fixed boards/.
FACTS = {
    "esp32-devkitc": {"chip": "esp32", "offset": 0x1000, "arch": "xtensawin", "tx": 1, "rx": 3,
                      "button": 0, "led": None, "mp_board": "ESP32_GENERIC"},
    "esp32-s3": {"chip": "esp32s3", "offset": 0x0, "arch": "xtensawin", "tx": 43, "rx": 44,
                 "button": 0, "led": 38, "mp_board": "ESP32_GENERIC_S3"},
    "esp32-c6": {"chip": "esp32c6", "offset": 0x0, "arch": "rv32imc", "tx": 16, "rx": 17,
                 "button": 9, "led": 8, "mp_board": "ESP32_GENERIC_C6"},
}


def test_every_shipped_definition_loads_and_checks():
    names = boarddefs.names()
    assert {"esp32-devkitc", "esp32-s3", "esp32-c6", "virtual"} <= set(names)
    for name in names:
        defn = boarddefs.load(name)
        assert defn["name"] == name
        assert boarddefs.check(json.loads(defn["_raw"])) == []


@pytest.mark.parametrize("name", sorted(FACTS))
def test_esp32_definitions_state_the_documented_facts(name):
    facts = FACTS[name]
    defn = boarddefs.load(name)
    assert defn["chip"] == facts["chip"]
    assert boarddefs.esptool_chip_name(defn["chip"]) is not None
    assert boarddefs.parse_int(defn["flash"]["firmware_offset"]) == facts["offset"]
    assert defn["micropython"]["mpy_arch"] == facts["arch"]
    assert defn["micropython"]["board"] == facts["mp_board"]
    assert defn["micropython"]["firmware"].startswith(facts["mp_board"] + "-")
    assert (defn["link"]["tx"], defn["link"]["rx"]) == (facts["tx"], facts["rx"])
    assert defn["link"]["port"] == "stdio" and defn["link"]["baud"] == 115200
    assert defn["button"]["pin"] == facts["button"] and defn["button"]["pull"] == "up"
    assert (defn["led"] or {}).get("pin") == facts["led"]
    assert boarddefs.flash_bytes(defn["flash"]["size"]) >= 4 * 1024 * 1024


def test_virtual_definition_has_no_flash_and_no_pins():
    defn = boarddefs.load("virtual")
    assert defn["chip"] is None and defn["flash"] is None
    assert defn["led"] is None and defn["button"] is None


def test_unknown_board_and_bad_definitions_are_clear(tmp_path):
    with pytest.raises(ToolError, match="unknown board 'esp8266'.*esp32-devkitc"):
        boarddefs.load("esp8266")
    with pytest.raises(ToolError, match="no board definition file"):
        boarddefs.load(str(tmp_path / "nope.json"))
    bad = dict(json.loads((paths.boards_dir() / "esp32-s3.json").read_text()))
    bad["led"] = {"pin": "GPIO38"}
    bad["micropython"] = dict(bad["micropython"], mpy_arch="z80", min_version="new")
    bad["flash"] = {"size": "lots", "firmware_offset": "zero"}
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(bad))
    with pytest.raises(ToolError) as err:
        boarddefs.load(str(path))
    for text in ("led needs an integer pin", "mpy_arch 'z80'", "min_version", "flash.size",
                 "firmware_offset"):
        assert text in str(err.value)


def test_versions_and_mpy_values():
    assert boarddefs.parse_version("1.24") == (1, 24, 0)
    assert boarddefs.parse_version("v1.29.0-preview") == (1, 29, 0)
    assert boarddefs.parse_version([1, 29, 0, "preview"]) == (1, 29, 0)
    with pytest.raises(ValueError):
        boarddefs.parse_version("latest")
    # The unix port (x64) and the ESP32-C6 build (rv32imc): values the boards report.
    assert boarddefs.decode_mpy(2822) == (6, 3, "x64")
    assert boarddefs.decode_mpy(12038) == (6, 3, "rv32imc")
    assert boarddefs.decode_mpy(6) == (6, 0, None)
    assert boarddefs.chip_from_machine("Generic ESP32S3 module with ESP32S3") == "esp32s3"
    assert boarddefs.chip_from_machine("ESP32C6 module with ESP32-C6") == "esp32c6"
    assert boarddefs.chip_from_machine("linux [GCC 14.2.1] version") is None


# --- runtime/board_io with dummy pins (the unix port has no GPIO) ---------------------------


class FakePin:
    OUT, IN, PULL_UP, PULL_DOWN = 1, 2, 3, 4
    pins = {}

    def __init__(self, number, mode=None, pull=None):
        self.number, self.mode, self.pull = number, mode, pull
        self.level = 1 if pull == self.PULL_UP else 0
        self.writes = []
        FakePin.pins[number] = self

    def value(self, v=None):
        if v is None:
            return self.level
        self.level = v
        self.writes.append(v)


class FakeMachine:
    Pin = FakePin


class FakeNeoPixel:
    def __init__(self, pin, n):
        self.pin, self.pixels, self.shown = pin, [(9, 9, 9)] * n, []

    def __setitem__(self, i, color):
        self.pixels[i] = color

    def __getitem__(self, i):
        return self.pixels[i]

    def write(self):
        self.shown.append(self.pixels[0])


class FakeNeoPixelModule:
    NeoPixel = FakeNeoPixel


def test_board_without_led_and_button_gets_dummies():
    io = board_io.open_io(boarddefs.load("virtual"))
    io.activity(0)
    assert io.poll(10) == (False, None)


def test_gpio_led_flashes_on_activity_then_goes_off():
    io = board_io.open_io({"led": {"pin": 2, "kind": "gpio"}}, machine=FakeMachine)
    pin = FakePin.pins[2]
    assert pin.mode == FakePin.OUT and pin.writes == [0]
    io.activity(1000)
    assert pin.level == 1
    pressed, wait = io.poll(1010)
    assert not pressed and wait == board_io.FLASH_MS - 10
    io.poll(1000 + board_io.FLASH_MS)
    assert pin.level == 0
    assert io.poll(2000) == (False, None)


def test_neopixel_led_of_the_s3_definition():
    defn = boarddefs.load("esp32-s3")
    io = board_io.open_io(defn, machine=FakeMachine, neopixel=FakeNeoPixelModule)
    np = io.led._np
    assert np.pin.number == 38 and np.shown == [(0, 0, 0)]
    io.activity(0)
    assert np.shown[-1] == tuple(defn["led"]["color"])
    io.poll(board_io.FLASH_MS)
    assert np.shown[-1] == (0, 0, 0)


def test_button_press_is_debounced_and_reported_once():
    defn = boarddefs.load("esp32-c6")
    io = board_io.open_io(defn, machine=FakeMachine, neopixel=FakeNeoPixelModule)
    pin = FakePin.pins[9]
    assert pin.pull == FakePin.PULL_UP
    assert io.poll(0) == (False, board_io.BUTTON_POLL_MS)
    pin.level = 0  # pressed (pulled up, active low)
    assert io.poll(100) == (False, board_io.DEBOUNCE_MS)
    pin.level = 1  # a bounce
    assert io.poll(105)[0] is False
    pin.level = 0
    assert io.poll(110)[0] is False
    assert io.poll(110 + board_io.DEBOUNCE_MS)[0] is True
    assert io.poll(200)[0] is False  # still held: not again
    pin.level = 1
    io.poll(300)
    pin.level = 0
    io.poll(400)
    assert io.poll(400 + board_io.DEBOUNCE_MS)[0] is True


def test_bad_pin_entries_are_reported():
    with pytest.raises(board_io.BoardIOError):
        board_io.open_io({"led": {"pin": "x"}}, machine=FakeMachine)
    with pytest.raises(board_io.BoardIOError):
        board_io.open_io({"button": {"pin": 0, "pull": "sideways"}}, machine=FakeMachine)
    with pytest.raises(board_io.BoardIOError):
        board_io.open_io({"led": {"pin": 1, "kind": "lamp"}}, machine=FakeMachine)


def test_esp32_definition_on_a_port_without_gpio_runs_without_led_and_button():
    # CPython has no `machine`: the firmware on a virtual board given an ESP32 definition.
    io = board_io.open_io(boarddefs.load("esp32-s3"))
    assert isinstance(io.led, board_io.NoLED) and isinstance(io.button, board_io.NoButton)
