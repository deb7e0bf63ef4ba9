#!/usr/bin/env python3
"""build_wheel.py LIB OUTDIR - writes the swiftnats wheel into OUTDIR: the Python package of
bindings/python with LIB (libswiftnats.so) and the shared libraries it needs that a plain
Debian/Ubuntu system lacks (Jansson) in swiftnats/_native/, which the binding loads first.

A wheel is a zip with a .dist-info directory (PEP 427); written here so that building one
needs nothing beyond Python (no setuptools wheel plugin, no network). It is tagged for this
platform (py3-none-linux_<machine>): the library inside is native code.
"""

from __future__ import annotations

import base64
import hashlib
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Dict, List, Tuple

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "bindings" / "python"
#: libraries LIB links that a plain system may lack (the Swift runtime is inside LIB)
BUNDLED = ("libjansson.so",)


def project_fields() -> Dict[str, str]:
    """name, version, description and requires-python from bindings/python/pyproject.toml."""
    text = (PACKAGE / "pyproject.toml").read_text()
    fields = {}
    for key in ("name", "version", "description", "requires-python"):
        match = re.search(rf'^{re.escape(key)}\s*=\s*"([^"]*)"', text, re.MULTILINE)
        if not match:
            raise SystemExit(f"pyproject.toml has no {key}")
        fields[key] = match.group(1)
    return fields


def needed_libraries(lib: Path) -> List[Path]:
    """The resolved paths of the bundled libraries LIB needs (ldd)."""
    out = subprocess.run(["ldd", str(lib)], check=True, capture_output=True, text=True).stdout
    found = []
    for line in out.splitlines():
        parts = line.split("=>")
        if len(parts) == 2 and parts[0].strip().startswith(BUNDLED):
            path = parts[1].split("(")[0].strip()
            if not path or path == "not found":
                raise SystemExit(f"{lib} needs {parts[0].strip()}, which is not installed")
            found.append(Path(path))
    return found


def stripped(lib: Path) -> bytes:
    """LIB without its debug sections, as `make install` installs it."""
    with tempfile.TemporaryDirectory() as scratch:
        copy = Path(scratch) / lib.name
        shutil.copyfile(lib, copy)
        subprocess.run(["strip", "--strip-debug", str(copy)], check=True)
        return copy.read_bytes()


def record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def main() -> None:
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    lib, outdir = Path(sys.argv[1]), Path(sys.argv[2])
    fields = project_fields()
    name, version = fields["name"], fields["version"]
    tag = f"py3-none-linux_{platform.machine()}"
    files: List[Tuple[str, bytes, int]] = []  # archive name, bytes, mode
    for path in sorted((PACKAGE / "swiftnats").rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and path.suffix in (".py", ".typed"):
            files.append((f"swiftnats/{path.relative_to(PACKAGE / 'swiftnats')}", path.read_bytes(), 0o644))
    files.append(("swiftnats/_native/libswiftnats.so", stripped(lib), 0o755))
    for needed in needed_libraries(lib):
        files.append((f"swiftnats/_native/{needed.name}", needed.read_bytes(), 0o755))
    dist_info = f"{name}-{version}.dist-info"
    readme = (PACKAGE / "README.md").read_text()
    metadata = (f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\nSummary: {fields['description']}\n"
                f"Requires-Python: {fields['requires-python']}\nDescription-Content-Type: text/markdown\n\n{readme}")
    wheel = f"Wheel-Version: 1.0\nGenerator: swiftnats scripts/build_wheel.py\nRoot-Is-Purelib: false\nTag: {tag}\n"
    files += [(f"{dist_info}/METADATA", metadata.encode(), 0o644), (f"{dist_info}/WHEEL", wheel.encode(), 0o644),
              (f"{dist_info}/top_level.txt", b"swiftnats\n", 0o644)]
    record = [record_line(archive, data) for archive, data, _ in files] + [f"{dist_info}/RECORD,,"]
    files.append((f"{dist_info}/RECORD", ("\n".join(record) + "\n").encode(), 0o644))
    outdir.mkdir(parents=True, exist_ok=True)
    target = outdir / f"{name}-{version}-{tag}.whl"
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for archive_name, data, mode in files:
            info = zipfile.ZipInfo(archive_name, date_time=(2026, 1, 1, 0, 0, 0))
            info.external_attr = (0o100000 | mode) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    print(target)


if __name__ == "__main__":
    os.umask(0o022)
    main()
