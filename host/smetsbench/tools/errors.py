"""The error the bench tools raise, and the CLI wrapper that prints it."""

import functools
import sys


class ToolError(RuntimeError):
    """A bench tool could not do its job; the message says why and what to do about it."""


def cli_command(func):
    """Wrap a CLI `func(args)`: a ToolError becomes one 'smetsbench: error: ...' line on stderr
    and exit status 2 instead of a traceback."""

    @functools.wraps(func)
    def wrapper(args):
        try:
            return func(args)
        except ToolError as exc:
            sys.stdout.flush()
            sys.stderr.write("smetsbench %s: error: %s\n" % (getattr(args, "command", ""), exc))
            return 2

    return wrapper
