"""Run the core tests (tests/core/test_*.py) on the MicroPython unix port.

From CPython::

    python tools/mptest.py [--heap 2M] [--micropython PATH] [--timeout S] [pattern]

starts ``micropython -X heapsize=<heap>`` (the one next to sys.executable, else on PATH; or
--micropython / $MICROPYTHON) on a generated driver that imports this file and calls `run`.
Or directly on MicroPython::

    micropython -X heapsize=2M tools/mptest.py [pattern]

The heap is for compiling the test and firmware sources on the fly; a board's heap is measured
on its ROMFS image by `smetsbench bench`.

`pattern` selects modules by file name ("link" runs test_link.py); "link::crc" also selects
the tests of those modules whose name contains "crc". No pattern runs everything.

For each module: import it with firmware/ and tests/core/ first on sys.path, call each function
named test_* (alphabetical order) without arguments after a gc.collect(), and print one line
per test: PASS / SKIP / FAIL, the test id (test_link.py::test_crc16_is_genibus) and its time;
a FAIL is followed by its traceback (sys.print_exception); a module that fails to import is one
FAIL. Afterwards the module and whatever it imported are dropped from sys.modules, so each
module starts with the whole heap. Exit status: 0 all passed, 1 a failure, 5 no test selected
(as pytest).

What the tests see:
- SMETSBENCH_ROOT: the repository root; SMETSBENCH_RTDS: the RTDS directory, kept if set, else
  <root>/../shared/rtds (it may not exist). Read them with os.getenv, which MicroPython has.
  From CPython they are put in the child's environment; run directly, `run` sets the missing
  ones with os.putenv.
- Skipping: raise an exception whose class is named SkipTest, e.g.
  ``try: from unittest import SkipTest`` / ``except ImportError: class SkipTest(Exception): ...``
  (pytest reports unittest.SkipTest as a skip; MicroPython has no unittest).
"""

import sys

_SKIP = "SkipTest"


def _parent(path):
    i = path.rstrip("/").rfind("/")
    if i < 0:
        return "."
    return path[:i] or "/"


def _ms():
    try:
        import time

        return time.ticks_ms()
    except AttributeError:  # CPython
        return int(time.monotonic() * 1000)


def _print_exception(e):
    if hasattr(sys, "print_exception"):
        sys.print_exception(e)
    else:  # CPython
        import traceback

        traceback.print_exception(type(e), e, e.__traceback__)


def _unload(keep):
    """Forget the modules imported since `keep` was taken, so each test module has the heap."""
    for key in list(sys.modules):
        if key not in keep:
            del sys.modules[key]


def run(root, pattern=""):
    """Run the selected core tests in this interpreter; return the exit status."""
    import gc
    import os

    core = root + "/tests/core"
    for path in (core, root + "/firmware"):
        if path not in sys.path:
            sys.path.insert(0, path)
    if hasattr(os, "putenv"):
        if os.getenv("SMETSBENCH_ROOT") is None:
            os.putenv("SMETSBENCH_ROOT", root)
        if os.getenv("SMETSBENCH_RTDS") is None:
            os.putenv("SMETSBENCH_RTDS", _parent(root) + "/shared/rtds")
    module_part, _, test_part = pattern.partition("::")
    files = sorted(f for f in os.listdir(core) if f.startswith("test_") and f.endswith(".py"))
    passed = failed = skipped = 0
    for file in files:
        if module_part not in file:
            continue
        name = file[:-3]
        loaded = list(sys.modules)
        gc.collect()
        try:
            module = __import__(name)
        except Exception as e:  # noqa: BLE001 - reported, then the next module runs
            print("FAIL %s (import)" % file)
            _print_exception(e)
            failed += 1
            _unload(loaded)
            continue
        for test in sorted(dir(module)):
            fn = getattr(module, test)
            if not test.startswith("test_") or test_part not in test or not callable(fn):
                continue
            test_id = file + "::" + test
            gc.collect()
            start = _ms()
            try:
                fn()
            except Exception as e:  # noqa: BLE001 - a failing test, reported
                if type(e).__name__ == _SKIP:
                    print("SKIP %s: %s" % (test_id, e))
                    skipped += 1
                else:
                    print("FAIL %s (%d ms)" % (test_id, _ms() - start))
                    _print_exception(e)
                    failed += 1
                continue
            print("PASS %s (%d ms)" % (test_id, _ms() - start))
            passed += 1
        module = fn = None
        _unload(loaded)
    print("%d passed, %d failed, %d skipped" % (passed, failed, skipped))
    if failed:
        return 1
    return 0 if passed + skipped else 5


def _find_micropython():
    import os
    import shutil

    near = os.path.join(os.path.dirname(sys.executable), "micropython")
    if os.access(near, os.X_OK):
        return near
    return shutil.which("micropython")


def main(argv=None):
    """CPython: run the core tests on the MicroPython unix port in a child process."""
    import argparse
    import os
    import subprocess

    parser = argparse.ArgumentParser(description="Run tests/core on the MicroPython unix port.")
    parser.add_argument("--heap", default="2M", help="MicroPython heap (-X heapsize=)")
    parser.add_argument("--micropython", default=os.environ.get("MICROPYTHON"), help="binary")
    parser.add_argument("--timeout", type=float, default=1200, help="seconds for the whole run")
    parser.add_argument("pattern", nargs="?", default="", help='"link" or "link::crc"')
    args = parser.parse_args(argv)
    exe = args.micropython or _find_micropython()
    if not exe:
        parser.error("no micropython binary next to %s or on PATH" % sys.executable)
    tools = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(tools)
    env = dict(os.environ)
    env.setdefault("SMETSBENCH_ROOT", root)
    env.setdefault("SMETSBENCH_RTDS", os.path.normpath(os.path.join(root, "..", "shared", "rtds")))
    driver = (
        "import sys\nsys.path.insert(0, %r)\nimport mptest\nsys.exit(mptest.run(%r, %r))\n"
        % (
            tools,
            root,
            args.pattern,
        )
    )
    cmd = [exe, "-X", "heapsize=" + args.heap, "-c", driver]
    try:
        return subprocess.run(cmd, env=env, timeout=args.timeout, check=False).returncode
    except subprocess.TimeoutExpired:
        print("mptest: timed out after %g s" % args.timeout)
        return 1


if __name__ == "__main__":
    if sys.implementation.name == "micropython":
        script = sys.argv[0]
        if not script.startswith("/"):
            import os

            script = os.getcwd() + "/" + script
        sys.exit(run(_parent(_parent(script)), sys.argv[1] if len(sys.argv) > 1 else ""))
    sys.exit(main())
