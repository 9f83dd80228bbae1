"""MicroPython libraries the board image bundles from their published releases (not our code).

The CAD publishes with micropython-lib's MQTT client, `umqtt.simple`. micropython-lib publishes
it to PyPI as `micropython-umqtt.simple`, an upip-style source archive that pip cannot install
(it has no setup.py), so the build fetches that archive from PyPI itself, checks it against
the pinned SHA-256, keeps it in build/vendor/ and takes the module out of it. Boards built from
a MicroPython checkout get the same module with `require("umqtt.simple")` in
firmware/manifest.py; `mpremote mip install umqtt.simple` also works on a board with a network.

Offline with an empty cache, `files()` logs why and returns nothing: the image is built
without the client and the CAD reports "umqtt.simple not installed" instead of publishing.
SMETSBENCH_VENDOR_DIR points at a folder holding the archives already (air-gapped benches).
"""

import hashlib
import io
import json
import logging
import os
import tarfile
import urllib.request
from pathlib import Path

from smetsbench import paths

log = logging.getLogger("smetsbench.boards.vendor")

# (PyPI project, version, sha256 of the sdist, member in the archive, path on the board)
PACKAGES = (
    ("micropython-umqtt.simple", "1.3.4",
     "b6a2520239e3992c63a7de9370ee9b3d9d27819a90359c521f1c0f7ccab8d12f",
     "umqtt/simple.py", "lib/umqtt/simple.py"),
)
_JSON = "https://pypi.org/pypi/%s/json"  # PyPI JSON API: the project's releases


class VendorError(RuntimeError):
    pass


def cache_dir():
    env = os.environ.get("SMETSBENCH_VENDOR_DIR")
    return Path(env) if env else paths.repo_dir() / "build" / "vendor"


def _archive(project, version, sha256, timeout=30.0):
    """The sdist bytes of project==version, from the cache or PyPI, checked."""
    name = "%s-%s.tar.gz" % (project, version)
    path = cache_dir() / name
    if path.exists():
        data = path.read_bytes()
        if hashlib.sha256(data).hexdigest() == sha256:
            return data
        log.warning("%s does not match its pinned SHA-256; fetching it again", path)
    try:
        with urllib.request.urlopen(_JSON % project, timeout=timeout) as r:
            releases = json.load(r)["releases"]
        url = next(u["url"] for u in releases[version] if u["packagetype"] == "sdist")
        with urllib.request.urlopen(url, timeout=timeout) as r:
            data = r.read()
    except (OSError, ValueError, KeyError, StopIteration) as exc:
        raise VendorError("cannot fetch %s %s from PyPI: %s" % (project, version, exc)) from exc
    if hashlib.sha256(data).hexdigest() != sha256:
        raise VendorError("%s %s from PyPI does not match its pinned SHA-256" % (project,
                                                                                  version))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
    return data


def _member(data, member):
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        for info in tar.getmembers():
            if info.isfile() and info.name.split("/", 1)[-1] == member:
                return tar.extractfile(info).read()
    raise VendorError("%s is not in the archive" % member)


def files(strict=False):
    """{board path: source bytes} of the bundled libraries (empty when they cannot be had,
    unless `strict`)."""
    out = {}
    for project, version, sha256, member, board_path in PACKAGES:
        try:
            out[board_path] = _member(_archive(project, version, sha256), member)
        except VendorError as exc:
            if strict:
                raise
            log.warning("board image without %s: %s", board_path, exc)
    return out
