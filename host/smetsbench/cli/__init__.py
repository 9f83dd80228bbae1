"""`smetsbench` command line: thin wrappers over the documented Python API.

Each command lives in its own module, which defines `register(subparsers)` adding its
sub-parser with `set_defaults(func=...)`; the func takes the parsed args and returns an exit
code. Modules are imported only to build the parser, so a missing optional module (or one
whose dependencies are absent) removes its command instead of breaking the others.
"""

import argparse
import importlib
import logging

# Command modules, in the order `smetsbench --help` lists them.
COMMAND_MODULES = (
    "smetsbench.cli.demo",
    "smetsbench.conformance.runner",
    "smetsbench.cli.bench",
    "smetsbench.cli.fuzz",
    "smetsbench.payloads.decode",
    "smetsbench.cli.virtual",
    "smetsbench.tools.benchinit",
    "smetsbench.tools.provision",
    "smetsbench.tools.deploy",
    "smetsbench.tools.freeze",
    "smetsbench.tools.flash",
    "smetsbench.tools.status",
    "smetsbench.tools.share",
)


def build_parser():
    p = argparse.ArgumentParser(
        prog="smetsbench",
        description="SMETS2 device emulator and GBCS test bench",
    )
    p.add_argument("-v", "--verbose", action="store_true", help="log board LOG frames and details")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name and name.startswith(exc.name):
                continue  # command not built yet / not installed
            raise
        module.register(sub)
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


