"""The board's LED and button, from the board definition (boards/*.json), made on demand.

`open_io(board)` reads the "led" and "button" entries of the definition it is given and returns
a BoardIO; a board without them (the virtual board, a DevKitC without a user LED) gets parts
that do nothing. Nothing touches `machine` at import time, and `machine` can be injected so the
same code runs on the unix port and under CPython with dummies.

- LED: {"pin": n, "kind": "gpio" | "neopixel", "active_high": true, "color": [r, g, b]}.
  `activity(ms)` lights it for FLASH_MS; `poll(ms)` turns it off when that has passed.
- Button: {"pin": n, "pull": "up" | "down" | null}. Pressing it pulls the pin to the level
  opposite its pull. The app loop samples it at least every BUTTON_POLL_MS; `poll(ms)` reports
  a press once the pin has stayed pressed for DEBOUNCE_MS (a bounce that goes away is
  ignored) and not again until it is released. Polling rather than a pin interrupt: an IRQ
  could not wake the loop from `select.poll` on the port anyway.
"""

try:
    from micropython import const
except ImportError:  # CPython

    def const(x):  # type: ignore[misc]  # CPython has no micropython.const
        return x


FLASH_MS = const(40)
DEBOUNCE_MS = const(20)
# How often the app loop samples a fitted button: a press is held for 100 ms or more.
BUTTON_POLL_MS = const(50)


class BoardIOError(ValueError):
    """A board definition whose LED or button entry cannot be used."""


def _pin_number(cfg, what):
    pin = cfg.get("pin")
    if not isinstance(pin, int) or pin < 0:
        raise BoardIOError("%s needs an integer pin, got %r" % (what, pin))
    return pin


class NoLED:
    def activity(self, ms):
        pass

    def poll(self, ms):
        return None


class GpioLED:
    def __init__(self, cfg, machine):
        self._pin = machine.Pin(_pin_number(cfg, "led"), machine.Pin.OUT)
        self._on = 1 if cfg.get("active_high", True) else 0
        self._off_at = None
        self._set(False)

    def _set(self, lit):
        self._pin.value(self._on if lit else 1 - self._on)

    def activity(self, ms):
        if self._off_at is None:
            self._set(True)
        self._off_at = ms + FLASH_MS

    def poll(self, ms):
        """ms until the LED needs attention again, or None."""
        if self._off_at is None:
            return None
        if ms >= self._off_at:
            self._off_at = None
            self._set(False)
            return None
        return self._off_at - ms


class PixelLED(GpioLED):
    """One addressable RGB LED (WS2812, as on the S3 and C6 DevKitC boards)."""

    def __init__(self, cfg, machine, neopixel):
        pin = machine.Pin(_pin_number(cfg, "led"), machine.Pin.OUT)
        self._np = neopixel.NeoPixel(pin, 1)
        color = cfg.get("color") or (0, 0, 24)
        self._color = (int(color[0]), int(color[1]), int(color[2]))
        self._off_at = None
        self._set(False)

    def _set(self, lit):
        self._np[0] = self._color if lit else (0, 0, 0)
        self._np.write()


class NoButton:
    def poll(self, ms):
        return False

    def wait_ms(self):
        return None


class Button:
    def __init__(self, cfg, machine):
        Pin = machine.Pin
        pull = cfg.get("pull")
        if pull == "up":
            self._pin = Pin(_pin_number(cfg, "button"), Pin.IN, Pin.PULL_UP)
            self._active = 0
        elif pull == "down":
            self._pin = Pin(_pin_number(cfg, "button"), Pin.IN, Pin.PULL_DOWN)
            self._active = 1
        elif pull is None:
            self._pin = Pin(_pin_number(cfg, "button"), Pin.IN)
            self._active = 0 if cfg.get("active_low", True) else 1
        else:
            raise BoardIOError("button pull must be up, down or null, got %r" % (pull,))
        self._since = None  # ms the pin was first seen pressed
        self._held = False  # reported, waiting for release

    def poll(self, ms):
        """True once per debounced press."""
        pressed = self._pin.value() == self._active
        if not pressed:
            self._since = None
            self._held = False
            return False
        if self._held:
            return False
        if self._since is None:
            self._since = ms
        if ms - self._since >= DEBOUNCE_MS:
            self._held = True
            return True
        return False

    def wait_ms(self):
        """How soon the app loop should call poll() again."""
        if self._since is not None and not self._held:
            return DEBOUNCE_MS
        return BUTTON_POLL_MS


class BoardIO:
    def __init__(self, led, button):
        self.led = led
        self.button = button

    def activity(self, ms):
        """HAN traffic: blink."""
        self.led.activity(ms)

    def poll(self, ms):
        """(button pressed, ms until the next poll is due or None)."""
        pressed = self.button.poll(ms)
        waits = [w for w in (self.led.poll(ms), self.button.wait_ms()) if w is not None]
        return pressed, (min(waits) if waits else None)


def open_io(board, machine=None, neopixel=None):
    """The LED and button of `board` (a board definition dict)."""
    led_cfg = board.get("led")
    button_cfg = board.get("button")
    if (led_cfg or button_cfg) and machine is None:
        try:
            import machine
        except ImportError:
            machine = None
        if machine is None or not hasattr(machine, "Pin"):
            # The unix port and CPython have no GPIO: a definition with pins used there
            # (e.g. an ESP32 definition on a virtual board) runs without LED and button.
            return BoardIO(NoLED(), NoButton())
    led = NoLED()
    if led_cfg:
        kind = led_cfg.get("kind", "gpio")
        if kind == "neopixel":
            if neopixel is None:
                import neopixel
            led = PixelLED(led_cfg, machine, neopixel)
        elif kind == "gpio":
            led = GpioLED(led_cfg, machine)
        else:
            raise BoardIOError("led kind must be gpio or neopixel, got %r" % (kind,))
    button = Button(button_cfg, machine) if button_cfg else NoButton()
    return BoardIO(led, button)
