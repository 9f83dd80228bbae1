"""The board image leaves the host-only firmware modules out, and nothing left in it needs them."""

import ast

from smetsbench.boards import build


def _imports(source):
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update("%s.%s" % (node.module, a.name) for a in node.names)
    return names


def test_image_leaves_the_dlms_object_codecs_out():
    files = build.image_files(compiled=False)
    assert "lib/smets/cosem.py" in files and "lib/smets/codec.py" in files
    assert not [p for p in files if p.startswith("lib/smets/dlms/")]
    assert build.is_host_only("smets/dlms/axdr.py")
    assert not build.is_host_only("smets/cosem.py")


def test_no_board_module_imports_a_host_only_one():
    for path, data in build.image_files(compiled=False).items():
        if not path.endswith(".py"):
            continue
        for name in _imports(data.decode()):
            rel = name.replace(".", "/") + "/"
            assert not build.is_host_only(rel), "%s imports host-only %s" % (path, name)
