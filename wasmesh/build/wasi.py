"""The WASI assets component toolchains need: preview1 adapters and WASI WIT packages.

Both come from the pinned `@bytecodealliance/jco` npm package (installed by
``scripts/setup.py``), so the adapter and the WASI WIT always agree on one WASI 0.2 version.
"""

from __future__ import annotations

import functools
import json
import re
import shutil
import sys
from pathlib import Path

from wasmesh.build.toolchain import MissingToolError
from wasmesh.tools import which

# The WASI 0.2 release whose WIT jco ships complete; its preview1 adapters import it too.
WASI_VERSION = "0.2.12"

_PACKAGE_DECL = re.compile(r"^\s*package\s+([a-z][\w-]*:[a-z][\w-]*)", re.MULTILINE)
_WASI_USE = re.compile(r"\bwasi:[a-z]")


@functools.cache
def jco_dir() -> Path:
    """The installed jco package directory (holds ``lib/`` adapters and WIT)."""
    exe = which("jco")
    if exe is not None:
        for parent in Path(exe).resolve().parents:
            if (parent / "package.json").is_file() and (parent / "lib").is_dir():
                return parent
    # scripts/setup.py installs npm packages inside the venv, which may not be on PATH.
    in_venv = Path(sys.prefix) / "lib" / "node" / "node_modules" / "@bytecodealliance" / "jco"
    if (in_venv / "package.json").is_file():
        return in_venv
    raise MissingToolError.for_tool("jco", "the WASI adapters and WIT")


def jco_version() -> str:
    """jco's version from its package.json, or ``"absent"`` when it is not installed."""
    try:
        meta = json.loads((jco_dir() / "package.json").read_text())
    except MissingToolError:
        return "absent"
    return str(meta.get("version", "unknown"))


def adapter_path(kind: str) -> Path:
    """The WASI preview1 adapter of ``kind`` (``"reactor"`` or ``"command"``)."""
    path = jco_dir() / "lib" / f"wasi_snapshot_preview1.{kind}.wasm"
    if not path.is_file():
        raise MissingToolError(
            f"the WASI {kind} adapter is missing from jco at {path}; run ./dev test or "
            "scripts/setup.py to reinstall the pinned toolchain"
        )
    return path


def wasi_wit_packages() -> dict[str, Path]:
    """The WASI WIT package directories jco ships, by package name (``wasi:cli``...)."""
    root = jco_dir() / "lib" / "wit" / "builtin" / WASI_VERSION
    packages: dict[str, Path] = {}
    for pkg_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        names = _declared_packages(pkg_dir)
        if names:
            packages[names.pop()] = pkg_dir
    return packages


def _declared_packages(root: Path) -> set[str]:
    found: set[str] = set()
    for wit in root.rglob("*.wit"):
        found.update(_PACKAGE_DECL.findall(wit.read_text()))
    return found


def uses_wasi(wit_dir: Path) -> bool:
    """Whether the WIT files directly under ``wit_dir`` mention a ``wasi:`` package."""
    return any(_WASI_USE.search(w.read_text()) for w in wit_dir.glob("*.wit"))


def prepare_wit(wit_dir: Path, scratch: Path) -> Path:
    """A WIT directory resolving every ``wasi:`` package ``wit_dir`` uses.

    Returns ``wit_dir`` itself when it needs nothing; otherwise a copy under ``scratch`` whose
    ``deps/`` links the WASI packages jco ships next to the ones ``wit_dir`` brings.
    """
    if not uses_wasi(wit_dir):
        return wit_dir
    deps = wit_dir / "deps"
    present = _declared_packages(deps) if deps.is_dir() else set()
    missing = {n: p for n, p in wasi_wit_packages().items() if n not in present}
    if not missing:
        return wit_dir
    out = scratch / "wit"
    shutil.copytree(wit_dir, out, symlinks=False)
    (out / "deps").mkdir(exist_ok=True)
    for pkg_dir in missing.values():
        (out / "deps" / pkg_dir.name).symlink_to(pkg_dir, target_is_directory=True)
    return out
