"""`smetsbench share PORT`: serve a local board's serial port over RFC 2217 (Telnet COM port).

    $ smetsbench share /dev/ttyUSB0 --tcp-port 4000
    sharing /dev/ttyUSB0 as rfc2217://benchpc:4000 (Ctrl-C to stop)

and on another PC every tool takes the URL as its port: `smetsbench status --port
rfc2217://benchpc:4000`, `--board esme=rfc2217://benchpc:4000` in pytest, a bench.toml entry,
`mpremote connect rfc2217://benchpc:4000`.

    from smetsbench.tools.share import RFC2217Server
    with RFC2217Server("/dev/ttyUSB0", tcp_port=0) as server:
        link = BoardLink(server.url)

Built on pyserial's RFC 2217 implementation (serial.rfc2217.PortManager), in the pattern of
pyserial's rfc2217_server example: one client at a time (a serial port has one user; a second
client is turned away), the port stays open between clients, bytes from the board while no
client is connected are dropped as on an unattended UART. Baud rate and control lines are
applied to the local port; ports without modem lines (a virtual board's pty) ignore RTS/DTR.
For flashing over the network, esptool recommends its own esp_rfc2217_server, which times the
bootloader reset sequence locally.
"""

import logging
import socket
import threading
import time

import serial
import serial.rfc2217

from smetsbench.tools.errors import ToolError, cli_command
from smetsbench.tools.probe import busy_message, check_port_exists

log = logging.getLogger("smetsbench.share")


class _LineTolerantPort:
    """The local serial port as PortManager sees it: control lines that a pty or socket lacks
    read as inactive and ignore writes instead of failing the session."""

    _LINES = ("dtr", "rts")

    def __init__(self, port):
        object.__setattr__(self, "_port", port)

    def __getattr__(self, name):
        return getattr(self._port, name)

    def __setattr__(self, name, value):
        if name in self._LINES:
            try:
                setattr(self._port, name, value)
            except (OSError, serial.SerialException, ValueError):
                pass
            return
        setattr(self._port, name, value)

    def _line(self, name):
        try:
            return getattr(self._port, name)
        except (OSError, serial.SerialException, ValueError):
            return False

    cts = property(lambda self: self._line("cts"))
    dsr = property(lambda self: self._line("dsr"))
    ri = property(lambda self: self._line("ri"))
    cd = property(lambda self: self._line("cd"))


class RFC2217Server:
    def __init__(self, port, tcp_port=0, host="127.0.0.1", baudrate=115200):
        self.port = port
        self.host = host
        self.tcp_port = tcp_port
        self.baudrate = baudrate
        self.clients = 0
        self._serial = None
        self._listener = None
        self._client = None
        self._manager = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = []

    @property
    def url(self):
        host = self.host if self.host not in ("0.0.0.0", "") else socket.gethostname()
        return "rfc2217://%s:%d" % (host, self.tcp_port)

    def start(self):
        check_port_exists(self.port)
        try:
            raw = serial.serial_for_url(self.port, baudrate=self.baudrate, timeout=0.05,
                                        exclusive=True)
        except serial.SerialException as exc:
            text = str(exc).lower()
            if "busy" in text or "lock" in text:
                raise ToolError(busy_message(self.port)) from None
            raise ToolError("cannot open %s: %s" % (self.port, exc)) from None
        self._serial = _LineTolerantPort(raw)
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            listener.bind((self.host, self.tcp_port))
        except OSError as exc:
            raw.close()
            listener.close()
            raise ToolError("cannot listen on %s:%d: %s (TCP port in use? pick another with "
                            "--tcp-port)" % (self.host, self.tcp_port, exc.strerror)) from None
        listener.listen(1)
        listener.settimeout(0.2)
        self._listener = listener
        self.tcp_port = listener.getsockname()[1]
        for target, name in ((self._accept_loop, "accept"), (self._board_to_client, "reader"),
                             (self._poll_lines, "lines")):
            thread = threading.Thread(target=target, name="share-%s" % name, daemon=True)
            thread.start()
            self._threads.append(thread)
        log.info("sharing %s on %s", self.port, self.url)
        return self

    # -- threads
    def _accept_loop(self):
        while not self._stop.is_set():
            try:
                conn, addr = self._listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            with self._lock:
                busy = self._client is not None
            if busy:
                log.info("%s: turned away %s: the port is in use", self.port, addr)
                conn.close()
                continue
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.clients += 1
            threading.Thread(target=self._serve, args=(conn, addr), daemon=True,
                             name="share-client").start()

    def _serve(self, conn, addr):
        log.info("%s: client %s connected", self.port, addr)
        with self._lock:
            self._client = conn
        # PortManager starts the Telnet negotiation through self.write (which takes the lock).
        manager = serial.rfc2217.PortManager(self._serial, self, logger=None)
        with self._lock:
            self._manager = manager
        try:
            while not self._stop.is_set():
                try:
                    data = conn.recv(4096)
                except OSError:
                    break
                if not data:
                    break
                payload = b"".join(manager.filter(data))
                if payload:
                    self._serial.write(payload)
        except (serial.SerialException, OSError) as exc:
            log.error("%s: port failed: %s", self.port, exc)
        finally:
            with self._lock:
                self._client = None
                self._manager = None
            try:
                conn.close()
            except OSError:
                pass
            log.info("%s: client %s disconnected", self.port, addr)

    def write(self, data):
        """PortManager's connection.write (thread safe)."""
        with self._lock:
            conn = self._client
            if conn is None:
                return
            try:
                conn.sendall(data)
            except OSError:
                pass

    def _board_to_client(self):
        while not self._stop.is_set():
            try:
                data = self._serial.read(self._serial.in_waiting or 1)
            except (serial.SerialException, OSError, TypeError) as exc:
                if not self._stop.is_set():
                    log.error("%s: read failed: %s", self.port, exc)
                    time.sleep(0.2)
                continue
            if not data:
                continue
            with self._lock:
                manager = self._manager
            if manager is not None:
                self.write(b"".join(manager.escape(data)))

    def _poll_lines(self):
        while not self._stop.wait(1.0):
            with self._lock:
                manager = self._manager
            if manager is not None:
                try:
                    manager.check_modem_lines()
                except Exception:  # noqa: BLE001 - a notification lost is not fatal
                    pass

    # -- life cycle
    def stop(self):
        self._stop.set()
        with self._lock:
            conn = self._client
        for closable in (conn, self._listener):
            if closable is not None:
                try:
                    closable.close()
                except OSError:
                    pass
        for thread in self._threads:
            thread.join(1.0)
        if self._serial is not None:
            try:
                self._serial.close()
            except Exception:  # noqa: BLE001
                pass

    def serve_forever(self):
        try:
            while not self._stop.wait(0.5):
                pass
        finally:
            self.stop()

    def __enter__(self):
        return self.start() if self._listener is None else self

    def __exit__(self, *exc):
        self.stop()


def share(port, tcp_port=4000, host="127.0.0.1", baudrate=115200, out=None):
    """Serve `port` over RFC 2217 until interrupted."""
    server = RFC2217Server(port, tcp_port, host, baudrate).start()
    if out:
        out("sharing %s as %s (Ctrl-C to stop)" % (port, server.url))
        if host not in ("127.0.0.1", "::1", "localhost"):
            out("warning: RFC 2217 has no authentication: anyone who can reach %s:%d gets "
                "this board, its REPL and its keys" % (host, server.tcp_port))
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


def register(sub):
    p = sub.add_parser(
        "share",
        help="serve a local board's serial port over RFC 2217 (rfc2217://host:port)",
        description=__doc__.split("\n\n")[0],
    )
    p.add_argument("port", help="the local port to share, e.g. /dev/ttyUSB0")
    p.add_argument("--tcp-port", type=int, default=4000, help="TCP port (default 4000)")
    p.add_argument("--bind", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1, this PC only; 0.0.0.0 to "
                        "serve the lab network: there is no authentication)")
    p.add_argument("--baud", type=int, default=115200, help="initial baud rate (default 115200)")
    p.set_defaults(func=_main)


@cli_command
def _main(args):
    logger = logging.getLogger("smetsbench.share")
    logger.setLevel(logging.INFO)
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
    logger.addHandler(handler)
    logger.propagate = False
    share(args.port, args.tcp_port, args.bind, args.baud, out=print)
    return 0
