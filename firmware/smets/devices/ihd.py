"""In-Home Display (IHD): a Type 2 HAN device that shows the household its energy.

It reads the meters like every consumer device (smets.devices.consumer) and draws the pages of
smets.devices.ihd_view into a frame buffer whenever what it knows changes (and once a minute,
for the clock). The display comes from the board: a panel driver chosen by the board
definition (`attach_display`, from smets.runtime.display), else a frame in RAM that the host
fetches with CONTROL "screen" (the virtual board). The consumer's button turns the pages, and
on the messages page confirms the supplier's message (SE Message Confirmation). No GBCS code,
no P-256: a Type 2 device only speaks ZigBee SE on the HAN.
"""

import binascii

from smets.devices import ihd_view
from smets.devices.consumer import ConsumerDevice
from smets.display import memory_display

_CHUNK = 1536  # frame bytes per CONTROL "screen" reply (base64 stays under a link frame)


class IHD(ConsumerDevice):
    ROLE = "IHD"

    def __init__(self, identity, store, now, log=None, fresh=False, init=None):
        ConsumerDevice.__init__(self, identity, store, now, log, fresh, init)
        self.page = 0
        self.screen = 0
        self.screens = 1
        self.display = None
        self.text = []
        self._drawn = None
        self._scratch = None
        self._pending = []  # frames a button press made (sent at the next tick)
        self.stats["draws"] = 0

    def config_from(self, init):
        cfg = ConsumerDevice.config_from(self, init)
        if init.get("display"):
            cfg["display"] = init["display"]  # size of the frame in RAM: {"width", "height"}
        return cfg

    def attach_display(self, display):
        """Draw on a board's panel (smets.runtime.display) instead of a frame in RAM."""
        self.display = display
        self._drawn = None

    def _display(self):
        if self.display is None:
            self.display = memory_display(self.cfg.get("display")) or False
        return self.display or None

    # -- drawing ------------------------------------------------------------------------------
    def draw(self, now, force=False):
        """Redraw when something changed (or the minute did); True when it drew."""
        key = (self.version, self.page, self.screen, now // 60)
        if key == self._drawn and not force:
            return False
        self._drawn = key
        c = ihd_view.content(self, self.page, now)
        self.text = ihd_view.lines(c)
        disp = self._display()
        if disp:
            ops, self.screens = ihd_view.layout(c, disp.width, disp.height, self.screen)
            if self._scratch is None and any(op[0] == "t" and op[4] > 1 for op in ops):
                self._scratch = ihd_view._scratch()
            ihd_view.render(disp.fb, ops, self._scratch)
            disp.show()
        self.stats["draws"] += 1
        return True

    def tick(self, now):
        out = ConsumerDevice.tick(self, now)
        if self._pending:
            out.extend(self._pending)
            self._pending = []
        self.draw(now)
        return out

    def next_due(self, now):
        return min(ConsumerDevice.next_due(self, now), (now // 60 + 1) * 60)

    def button(self, now):
        """The consumer's button: confirm an unread supplier message on the messages page,
        else the next screen."""
        if ihd_view.PAGES[self.page] == "Messages":
            for msg in self.messages:
                if not msg[4]:
                    self._pending.extend(self.confirm(msg, now))
                    return "message %d confirmed" % msg[0]
        self.screen += 1
        if self.screen >= self.screens:
            self.screen = 0
            self.page = (self.page + 1) % len(ihd_view.PAGES)
        return "page %s" % ihd_view.PAGES[self.page]

    # -- bench --------------------------------------------------------------------------------
    def status(self, now):
        st = ConsumerDevice.status(self, now)
        st["page"] = ihd_view.PAGES[self.page]
        st["screen"] = self.text
        return st

    def control(self, op, req, now):
        if op == "screen":
            return self._screen(req, now)
        if op == "text":
            return {"text": self.text, "draws": self.stats["draws"]}  # cheap: no redraw
        if op == "button":
            return {"did": self.button(now), "page": ihd_view.PAGES[self.page]}
        return ConsumerDevice.control(self, op, req, now)

    def _screen(self, req, now):
        """The screen: its text, and (a display in RAM or on a panel) a chunk of the frame
        bytes from `offset`, base64. "page" (a name or an index) shows that page first."""
        page = req.get("page")
        if page is not None:
            if isinstance(page, str):
                page = ihd_view.PAGES.index(page)
            self.page = page % len(ihd_view.PAGES)
            self.screen = int(req.get("screen", 0))
        offset = int(req.get("offset", 0))
        if offset == 0:
            self.draw(now, force=True)
        out = {"page": ihd_view.PAGES[self.page], "screen": self.screen,
               "screens": self.screens, "text": self.text, "draws": self.stats["draws"]}
        disp = self._display()
        if disp:
            out.update({"width": disp.width, "height": disp.height, "format": disp.format,
                        "size": len(disp.buf), "offset": offset,
                        "data": binascii.b2a_base64(
                            disp.buf[offset:offset + _CHUNK]).decode().strip()})
        return out
