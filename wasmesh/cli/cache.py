"""`wasmesh cache ls|prune`: what the cache directory holds, and keeping it within a bound.

Two areas grow with every new component or toolchain and are safe to evict, since a miss only
costs a recompile: the AOT cache (``aot/``: compiled components, touched on every load) and the
shared build store (``builds/``: built components, touched on every reuse). `prune` removes
their least recently used entries until both together fit ``--max-size``; `wasmesh build`
prunes to the default bound (``$WASMESH_CACHE_MAX_SIZE``, else 4 GiB) after each build. Other
areas (lattice artifacts, registry layers) are listed, never pruned here.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer

from wasmesh.cli.output import out_console, print_json

DEFAULT_MAX_SIZE = "4GiB"
PRUNED_AREAS = ("aot", "builds")

cache_app = typer.Typer(
    help="Show and prune wasmesh's cache (compiled and built components).",
    no_args_is_help=True,
)


@dataclass(frozen=True)
class Entry:
    """One evictable cache entry: its files, their size and when it was last used."""

    area: str
    files: tuple[Path, ...]
    size: int
    used: float


def cache_root() -> Path:
    from wasmesh.engine.cache import cache_dir

    return cache_dir()


def default_max_bytes() -> int:
    """The bound `wasmesh build` keeps the cache within (`$WASMESH_CACHE_MAX_SIZE`)."""
    from wasmesh.sizes import SizeError, parse_size

    value = os.environ.get("WASMESH_CACHE_MAX_SIZE") or DEFAULT_MAX_SIZE
    try:
        return parse_size(value)
    except SizeError as e:
        raise SizeError(f"WASMESH_CACHE_MAX_SIZE: {e}") from None


def entries(root: Path) -> list[Entry]:
    """Every evictable entry under ``root``, least recently used first."""
    found: list[Entry] = []
    for area, pattern, extra in (("aot", "*/*.cwasm", ".seal"), ("builds", "*.wasm", None)):
        for path in (root / area).glob(pattern):
            files = (path, path.with_suffix(extra)) if extra else (path,)
            with contextlib.suppress(OSError):  # removed meanwhile by another process
                st = path.stat()
                found.append(Entry(area, files, sum(_size(f) for f in files), st.st_mtime))
    return sorted(found, key=lambda e: e.used)


def prune(root: Path, max_bytes: int) -> tuple[int, int]:
    """Remove least recently used entries until the pruned areas hold at most ``max_bytes``;
    returns (entries removed, bytes freed)."""
    listed = entries(root)
    total = sum(e.size for e in listed)
    removed = freed = 0
    for entry in listed:
        if total - freed <= max_bytes:
            break
        for path in entry.files:
            with contextlib.suppress(OSError):
                path.unlink()
        removed += 1
        freed += entry.size
    return removed, freed


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _tree_size(root: Path) -> Iterator[int]:
    for dirpath, _, filenames in os.walk(root):
        for name in filenames:
            yield _size(Path(dirpath) / name)


def _entries(count: object) -> str:
    return f"{count} entry" if count == 1 else f"{count} entries"


def _human(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")


@cache_app.command("ls")
def list_cache(
    as_json: Annotated[bool, typer.Option("--json", help="Print the areas as JSON.")] = False,
) -> None:
    """Show each area of the cache directory: entries and size (pruned areas marked)."""
    root = cache_root()
    listed = entries(root)
    areas: dict[str, dict[str, object]] = {}
    for area in PRUNED_AREAS:
        mine = [e for e in listed if e.area == area]
        areas[area] = {"entries": len(mine), "bytes": sum(e.size for e in mine), "pruned": True}
    if root.is_dir():
        for other in sorted(p for p in root.iterdir() if p.is_dir() and p.name not in areas):
            areas[other.name] = {"bytes": sum(_tree_size(other)), "pruned": False}
    bound = default_max_bytes()
    if as_json:
        print_json({"directory": str(root), "max_bytes": bound, "areas": areas})
        return
    out_console.print(f"{root}  (aot + builds kept within {_human(bound)})", markup=False)
    for area, info in areas.items():
        count = _entries(info["entries"]) if "entries" in info else ""
        size = info["bytes"]
        assert isinstance(size, int)
        out_console.print(f"  {area:<10} {_human(size):>10}  {count}", markup=False)


@cache_app.command("prune")
def prune_cache(
    max_size: Annotated[
        str | None,
        typer.Option(
            "--max-size",
            metavar="SIZE",
            help=f"Keep aot + builds within SIZE (64MiB, 1G; 0 empties them) "
            f"[default: $WASMESH_CACHE_MAX_SIZE or {DEFAULT_MAX_SIZE}].",
        ),
    ] = None,
) -> None:
    """Remove the least recently used compiled and built components beyond a size bound."""
    from wasmesh.sizes import parse_size

    bound = default_max_bytes() if max_size is None else (
        0 if max_size.strip() == "0" else parse_size(max_size)
    )  # fmt: skip
    root = cache_root()
    removed, freed = prune(root, bound)
    left = sum(e.size for e in entries(root))
    out_console.print(
        f"removed {_entries(removed)} ({_human(freed)}); aot + builds now {_human(left)}",
        markup=False,
    )


def register(app: typer.Typer) -> None:
    app.add_typer(cache_app, name="cache")
