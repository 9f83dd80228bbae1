"""`smetsbench` command line: thin wrappers over the documented Python API."""

import argparse
import logging
import sys


def _demo(args):
    from . import demo

    return demo.main(
        trace_dir=args.trace,
        keystore=args.keystore,
        heap=args.heap,
        runtime=args.runtime,
        work_dir=args.dir,
        pcap=args.pcap,
        verbose=args.verbose,
    )


def _bench(args):
    from . import bench

    return bench.main(rounds=args.rounds, heap=args.heap, roles=args.role)


def _virtual(args):
    from . import virtual_cli

    return virtual_cli.main(args)


def _decode(args):
    from . import decode

    return decode.main(args.files, keystore=args.keystore)


def build_parser():
    p = argparse.ArgumentParser(
        prog="smetsbench",
        description="SMETS2 device emulator and GBCS test bench",
    )
    p.add_argument("-v", "--verbose", action="store_true", help="log board LOG frames and details")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    d = sub.add_parser("demo", help="run the GBCS use cases against virtual boards")
    d.add_argument("--trace", metavar="DIR", help="write every GBCS message and the keystore here")
    d.add_argument("--keystore", metavar="DIR",
                   help="remote-party keys to use (e.g. ../shared/rtds/keystore); default: fresh")
    d.add_argument("--pcap", metavar="FILE", help="capture the HAN traffic to a pcap file")
    d.add_argument("--heap", default="256K", help="MicroPython heap of each virtual board")
    d.add_argument("--runtime", default="auto", choices=("auto", "micropython", "cpython"))
    d.add_argument("--dir", help="keep the virtual boards' directories here (default: temporary)")
    d.set_defaults(func=_demo)

    b = sub.add_parser("bench", help="measure device CPU per command, round trips and heap")
    b.add_argument("--rounds", type=int, default=50)
    b.add_argument("--heap", default="256K")
    b.add_argument("--role", action="append", help="roles to measure (default: all emulated)")
    b.set_defaults(func=_bench)

    v = sub.add_parser("virtual", help="start a standalone virtual board and print its port")
    v.add_argument("--role", help="provision it as this role (ESME, ...)")
    v.add_argument("--dir", help="board directory (its flash filesystem); default: temporary")
    v.add_argument("--heap", default="256K")
    v.add_argument("--runtime", default="auto", choices=("auto", "micropython", "cpython"))
    v.set_defaults(func=_virtual)

    c = sub.add_parser("decode", help="decode GBCS hex files to JSON (and check them)")
    c.add_argument("files", nargs="+")
    c.add_argument("--keystore", metavar="DIR", help="keys to check MACs/signatures and decrypt")
    c.set_defaults(func=_decode)
    return p


def main(argv=None):
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        rc = args.func(args)
    except KeyboardInterrupt:
        return 130
    return rc or 0


if __name__ == "__main__":
    sys.exit(main())
