"""The WASI assets component toolchains need: preview1 adapters and WASI WIT packages.

Both come from the pinned `@bytecodealliance/jco` npm package (installed by
``scripts/setup.py``), so the adapter and the WASI WIT always agree on one WASI 0.2 version.
A world may pin any other 0.2.x (wasmCloud's examples pin ``wasi:http@0.2.0``): WASI 0.2 patch
releases keep every stable item, so the complete 0.2.12 set is supplied again under each
0.2.x version the world's WIT names.
"""

from __future__ import annotations

import functools
import json
import re
import shutil
import sys
from pathlib import Path

from wasmesh.build.toolchain import MissingToolError
from wasmesh.errors import BuildError
from wasmesh.tools import which

# The WASI 0.2 release whose WIT jco ships complete; its preview1 adapters import it too.
WASI_VERSION = "0.2.12"

_PACKAGE_DECL = re.compile(r"^\s*package\s+([a-z][\w-]*:[a-z][\w-]*)", re.MULTILINE)
_VERSIONED_DECL = re.compile(
    r"^\s*package\s+([a-z][\w-]*:[a-z][\w-]*@[\w.+-]+?)\s*[;{]", re.MULTILINE
)
_WASI_USE = re.compile(r"\bwasi:[a-z]")
# A reference to one of the WASI packages jco ships (not other proposals such as
# wasi:logging or wasi:keyvalue, which bring their own WIT).
_WASI_REF = re.compile(
    r"\bwasi:(?:io|clocks|random|cli|filesystem|sockets|http)/[\w-]+@(\d+\.\d+\.\d+)\b"
)


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


def wasi_versions_named(wit_dir: Path) -> set[str]:
    """The ``wasi:`` versions the WIT files directly under ``wit_dir`` name (``0.2.0``...)."""
    found: set[str] = set()
    for wit in wit_dir.glob("*.wit"):
        found.update(_WASI_REF.findall(wit.read_text()))
    return found


def prepare_wit(wit_dir: Path, scratch: Path) -> Path:
    """A WIT directory resolving every ``wasi:`` package ``wit_dir`` uses.

    Returns ``wit_dir`` itself when it needs nothing; otherwise a copy under ``scratch`` whose
    ``deps/`` holds the WASI packages jco ships (at ``WASI_VERSION``, and again at each other
    0.2.x version the world names) next to the ones ``wit_dir`` brings. A version outside
    0.2.x that ``wit_dir/deps`` does not bring itself is a `BuildError` naming it (a world
    bringing its own WASI 0.3 WIT builds; the engine then says whether it can host it).
    """
    if not uses_wasi(wit_dir):
        return wit_dir
    deps = wit_dir / "deps"
    present: set[str] = set()
    if deps.is_dir():
        for wit in deps.rglob("*.wit"):
            present.update(_VERSIONED_DECL.findall(wit.read_text()))
    brought = {d.split("@", 1)[1] for d in present if d.startswith("wasi:")}
    versions = (wasi_versions_named(wit_dir) or {WASI_VERSION}) - brought
    for v in sorted(versions):
        if not v.startswith("0.2."):
            raise BuildError(
                f"{wit_dir} names WASI {v}; wasmesh builds against WASI 0.2.x only (0.3 "
                "components cannot be hosted yet): pin a 0.2 version such as "
                f"wasi:http/proxy@{WASI_VERSION}"
            )
        if int(v.split(".")[2]) > int(WASI_VERSION.split(".")[2]):
            raise BuildError(
                f"{wit_dir} names WASI {v}, newer than the {WASI_VERSION} the pinned toolchain "
                f"knows; pin {WASI_VERSION} or older, or bring its WIT under wit/deps"
            )
    base = wasi_wit_packages()
    wanted = {f"{name}@{v}": (pkg, v) for v in versions for name, pkg in base.items()}
    missing = {n: p for n, p in wanted.items() if n not in present}
    if not missing:
        return wit_dir
    out = scratch / "wit"
    shutil.copytree(wit_dir, out, symlinks=False)
    (out / "deps").mkdir(exist_ok=True)
    for _name, (pkg_dir, v) in sorted(missing.items()):
        if v == WASI_VERSION:
            (out / "deps" / pkg_dir.name).symlink_to(pkg_dir, target_is_directory=True)
            continue
        # The same package text under version v, its references to the other WASI packages
        # moved to v as well.
        dest = out / "deps" / f"{pkg_dir.name}-{v}"
        dest.mkdir()
        for wit in sorted(pkg_dir.rglob("*.wit")):
            text = re.sub(rf"(\bwasi:[\w-]+(?:/[\w-]+)?)@{re.escape(WASI_VERSION)}\b",
                          rf"\g<1>@{v}", wit.read_text())  # fmt: skip
            (dest / wit.relative_to(pkg_dir)).parent.mkdir(parents=True, exist_ok=True)
            (dest / wit.relative_to(pkg_dir)).write_text(text)
    return out
