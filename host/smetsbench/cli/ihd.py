"""`smetsbench ihd`: look at an In-Home Display on any port.

    smetsbench ihd screenshot --port /dev/ttyUSB0 screen.png [--page Electricity]
    smetsbench ihd text --port /dev/pts/7 [--page Now]
    smetsbench ihd button --port /dev/pts/7

`screenshot` fetches the IHD's frame buffer (CONTROL "screen") and writes it as a PNG; `text`
prints what the page says; `button` presses the consumer's button (next page, or confirm the
supplier message shown). Works for a virtual board and for a real one whose display is a panel
(the frame comes from the driver's buffer).
"""

from smetsbench import screens
from smetsbench.boards.transport import BoardError
from smetsbench.tools.errors import ToolError, cli_command


def _link(port):
    from smetsbench.tools.probe import open_link

    return open_link(port)


def screenshot(port, path, page=None, scale=3):
    """Write the IHD's screen on `port` to `path` (PNG); returns the Screen."""
    link = _link(port)
    try:
        shot = screens.fetch(link, page)
    except (BoardError, ValueError) as exc:
        raise ToolError("%s: %s" % (port, exc)) from None
    finally:
        link.close()
    screens.save(shot, path, scale)
    return shot


def _page(value):
    return int(value) if value is not None and value.isdigit() else value


@cli_command
def _cmd(args):
    if args.action == "screenshot":
        if not args.file:
            raise ToolError("screenshot needs a FILE.png")
        shot = screenshot(args.port, args.file, _page(args.page), args.scale)
        print("%s: %dx%d %s page %r -> %s" % (args.port, shot.width, shot.height, shot.format,
                                              shot.page, args.file))
        for line in shot.text:
            print("  " + line)
        return 0
    link = _link(args.port)
    try:
        if args.action == "text":
            args_ = {} if args.page is None else {"page": _page(args.page)}
            for line in link.control("screen", **args_)["text"]:
                print(line)
        else:
            r = link.control("button")
            print("%s (page %s)" % (r["did"], r["page"]))
    except BoardError as exc:
        raise ToolError("%s: %s" % (args.port, exc)) from None
    finally:
        link.close()
    return 0


def register(sub):
    p = sub.add_parser("ihd", help="screenshots, screen text and the button of an IHD")
    p.add_argument("action", choices=("screenshot", "text", "button"))
    p.add_argument("file", nargs="?", help="PNG to write (screenshot)")
    p.add_argument("--port", required=True, help="the IHD's port (any pyserial URL)")
    p.add_argument("--page", help="page to show first: Now, Electricity, Gas, Credit, "
                                  "Messages, Status (or its number)")
    p.add_argument("--scale", type=int, default=3, help="pixels per screen pixel (PNG)")
    p.set_defaults(func=_cmd)
