"""Rebuilding the polyglot example with nothing changed: what a no-op build costs.

Run: `.venv/bin/python bench/build.py`.

The first build (in a fresh cache directory, unless `--warm`) compiles the Python, C and JS
components and composes the unit; the no-op rebuilds must only hash inputs and find every
output in the caches. Measured: building the components, and the whole `App.load` (build,
wire, plan, compose, load the fused unit from the AOT cache).
"""

from __future__ import annotations

import shutil
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# bench/http.py would shadow the standard library's `http` for everything imported below.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from wasmesh.compose.manifest import load_manifest  # noqa: E402
from wasmesh.compose.plan import build_component  # noqa: E402
from wasmesh.engine.loader import _MEMO  # noqa: E402
from wasmesh.runtime.app import App  # noqa: E402

EXAMPLE = ROOT / "examples" / "polyglot" / "wasmesh.toml"
CACHE = ROOT / ".cache" / "bench" / "build"


def timed(action: object) -> float:
    assert callable(action)
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def build_all() -> None:
    manifest = load_manifest(EXAMPLE)
    for spec in manifest.components:
        build_component(spec, CACHE / "build")


def load_app() -> None:
    _MEMO.clear()  # as a new process would: components come back from the on-disk AOT cache
    App.load(EXAMPLE, cache=CACHE)


def main() -> None:
    if "--warm" not in sys.argv:
        shutil.rmtree(CACHE, ignore_errors=True)
    first = timed(load_app)
    builds = [timed(build_all) for _ in range(5)]
    loads = [timed(load_app) for _ in range(5)]
    table = Table(title="polyglot example (Python + C + JS, one fused unit)")
    table.add_column("step")
    table.add_column("time", justify="right")
    table.add_column("vs first build", justify="right")
    table.add_row("first App.load (build + compose + compile)", f"{first:.2f} s", "1x")
    for name, samples in (("no-op build of the 3 components", builds), ("no-op App.load", loads)):
        median = statistics.median(samples)
        table.add_row(name, f"{median * 1e3:.0f} ms", f"1/{first / median:.0f}")
    Console().print(table)


if __name__ == "__main__":
    main()
