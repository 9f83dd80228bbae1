"""Rarely used code, loaded for one call and dropped again (board heap, not CPython's).

A device keeps its hot path resident and calls the rest (a model image builder, the security
credential use cases, bench CONTROL ops) through `call`, which imports the module, runs one
function and forgets the module and the ones named in `drop`, so that their code can be
collected before the next command needs the heap.
"""

import sys


def unload(fullname):
    """Forget a module so that its code can be collected (sys.modules and its package both
    hold it). On a board only: CPython has heap to spare, and re-imports cost."""
    if sys.implementation.name != "micropython":
        return
    sys.modules.pop(fullname, None)
    i = fullname.rfind(".")
    if i > 0:
        pkg = sys.modules.get(fullname[:i])
        name = fullname[i + 1:]
        if pkg is not None and hasattr(pkg, name):
            delattr(pkg, name)


def call(module, name, args, drop=(), spare=None):
    """`module`.`name`(*args), then `module` and the modules in `drop` unloaded. `spare`: a
    function that lets go of caches the device can load again (verification tables), called
    when the module does not fit the heap, before the one more import it allows."""
    try:
        mod = __import__(module, None, None, (name,))
    except MemoryError:
        if spare is None:
            raise
        unload(module)
        spare()
        mod = __import__(module, None, None, (name,))
    try:
        return getattr(mod, name)(*args)
    finally:
        mod = None
        unload(module)
        for other in drop:
            unload(other)
