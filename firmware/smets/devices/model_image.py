"""What the device model builders (esme_model, gsme_model) share: the logical lines of a model
TEXT, and the source text of the generated image (esme_image, gsme_image), whose bytes
constants are adjacent literals so that a board keeps them in place in its ROM image. Never
imported on a board."""


def logical_lines(text):
    """Logical lines of TEXT (a string or strings), one at a time ('+' lines continue the
    previous one)."""
    cur = None
    for chunk in (text,) if isinstance(text, str) else text:
        i = 0
        n = len(chunk)
        while i < n:
            j = chunk.find("\n", i)
            if j < 0:
                j = n
            line = chunk[i:j].strip()
            i = j + 1
            if not line or line[0] == "#":
                continue
            if line[0] == "+":
                cur += " " + line[1:].strip()
                continue
            if cur:
                yield cur
            cur = line
    if cur:
        yield cur


def bytes_constant(name, data, width=22):
    """Lines of `name = (b"..." ...)` for `data`, `width` bytes a line."""
    out = ["%s = (" % name]
    for i in range(0, len(data), width):
        out.append("    b\"%s\"" % "".join("\\x%02x" % b for b in data[i:i + width]))
    out.append(")")
    return out


def write(module_file, image_name, source):
    """Write `source` as the image module `image_name`.py beside `module_file`."""
    import os

    path = os.path.join(os.path.dirname(os.path.abspath(module_file)), image_name + ".py")
    with open(path, "w") as f:
        f.write(source)
    print("wrote", path)
