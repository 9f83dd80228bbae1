"""`smetsbench virtual --role ROLE [--dir DIR]`: a standalone virtual board, served until Ctrl-C.

    $ smetsbench virtual --role ESME --dir boards/esme1
    /dev/pts/7
    virtual ESME board in boards/esme1 on /dev/pts/7 (MicroPython unix port); Ctrl-C to stop
    $ smetsbench provision --port /dev/pts/7 --role ESME
    $ mpremote connect /dev/pts/7 resume ls :lib

The first line of output is the port alone, so scripts can read it (or use --port-file). The
directory plays the board's flash: firmware, board.json and state survive restarts, as a real
board keeps its identity across power cycles. With --bench the board is provisioned from that
bench at start; with --no-firmware it boots to the bare MicroPython REPL, like an ESP32 just
flashed with MicroPython, ready for `smetsbench deploy`.
"""

import os
import signal
import sys
import threading
from pathlib import Path

from smets.node import ROLES as FIRMWARE_ROLES

from smetsbench.boards.virtual import VirtualBoard, VirtualBoardError
from smetsbench.tools.benchdir import ROLES
from smetsbench.tools.errors import ToolError, cli_command


def start_virtual(role, directory=None, board="virtual", heap="256K", firmware=True,
                  bench=None, eui=None, init=None, console_log=None, out=None):
    """Start a virtual board for `role` in `directory` (default ./virtual-<role>); provision it
    from `bench` if given. Returns the running VirtualBoard (call .stop())."""
    role = role.upper()
    if role not in ROLES:
        raise ToolError("role must be one of %s" % "|".join(ROLES))
    directory = Path(directory or "virtual-%s" % role.lower())
    vb = VirtualBoard(directory, board=board, heap=heap, install_firmware=firmware,
                      console_log=console_log, name="virtual-%s" % role.lower())
    try:
        vb.start()
    except VirtualBoardError as exc:
        raise ToolError("cannot start the virtual board: %s" % exc) from None
    try:
        if bench is not None:
            from smetsbench.tools.provision import provision

            provision(vb.port, role, bench, eui=eui, init=init, board=board, out=out)
        elif out:
            if not firmware:
                out("no firmware installed: `smetsbench deploy --port %s` installs it" % vb.port)
            elif role not in FIRMWARE_ROLES:
                out("note: the firmware does not emulate %s yet (it emulates %s)"
                    % (role, ", ".join(FIRMWARE_ROLES)))
            else:
                out("provision it with: smetsbench provision --port %s --role %s"
                    % (vb.port, role))
    except BaseException:
        vb.stop()
        raise
    return vb


def register(sub):
    p = sub.add_parser(
        "virtual",
        help="run a standalone virtual board and print its port (the pty) until Ctrl-C",
        description=__doc__.split("\n\n")[0],
    )
    p.add_argument("--role", required=True, type=str.upper, choices=ROLES,
                   help="the device role the board will play")
    p.add_argument("--dir", help="board directory, its flash (default: ./virtual-<role>)")
    p.add_argument("--board", default="virtual", help="board definition (default: virtual)")
    p.add_argument("--heap", default="256K", help="MicroPython heap (default 256K)")
    p.add_argument("--no-firmware", action="store_true",
                   help="do not install the firmware: bare MicroPython REPL, for deploy")
    p.add_argument("--bench", help="provision the board from this bench directory at start")
    p.add_argument("--eui", help="EUI-64 to provision with (with --bench)")
    p.add_argument("--port-file", help="also write the port path to this file")
    p.add_argument("--console-log", help="append the board's output to this file")
    p.set_defaults(func=_main)


@cli_command
def _main(args):
    info = lambda text: print(text, file=sys.stderr, flush=True)  # noqa: E731
    vb = start_virtual(args.role, args.dir, args.board, args.heap, not args.no_firmware,
                       args.bench, args.eui, console_log=args.console_log, out=info)
    stop = threading.Event()

    def _on_signal(signum, frame):
        stop.set()

    old = {s: signal.signal(s, _on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        if args.port_file:  # before the port is printed: a reader of either finds both
            tmp = args.port_file + ".tmp"
            with open(tmp, "w") as f:
                f.write(vb.port + "\n")
            os.replace(tmp, args.port_file)
        print(vb.port, flush=True)
        info("virtual %s board in %s on %s (%s); Ctrl-C to stop"
             % (args.role, vb.directory, vb.port, vb.runtime))
        while not stop.wait(0.5):
            if vb.process is None:
                break
    finally:
        for s, handler in old.items():
            signal.signal(s, handler)
        vb.stop()
        if args.port_file:
            try:
                os.remove(args.port_file)
            except OSError:
                pass
        info("virtual board stopped")
    return 0
