"""`wasmesh plan`'s per-call figures beside bench/calls.py's, measured in the same run.

Run: `.venv/bin/python bench/plan.py`.

Both measure one edge: bench/calls.py's caller component calling `add` of its provider
component, fused into one unit, host-linked (two units, one process) and across hosts (two
host processes on a local nats-server). bench/calls.py times a guest-side loop of n calls,
(t(2n) - t(n)) / n. `wasmesh plan` (`wasmesh.observe.costs`) runs the same two components as
an app under the load `loop(N)` (one request: N calls over the edge): its fused and
host-linked figures come from its own probe pair looped the same way, its cross-host figure
from the calls it times over NATS and in process; its "host-linked in app" figure is the
request-level one (latency with the edge cut over fused, per call), shown against
bench/calls.py's host-linked too. Printed side by side with each range and the ratio plan /
bench, and whether the ranges overlap; agreement within the run's noise is the point.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# bench/ holds scripts named like stdlib modules (http.py): keep it off the import path
sys.path = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from bench.calls import CALLER, CROSS_N, PROVIDER, WORK, component, cross_host, per_call  # noqa: E402
from wasmesh.observe.costs import Settings, measure_costs  # noqa: E402
from wasmesh.observe.stats import Figure  # noqa: E402
from wasmesh.runtime.app import App  # noqa: E402

PLAN_N = CROSS_N  # calls per request in the plan's load


def _shown(seconds: float) -> str:
    return f"{seconds * 1e9:.1f} ns" if abs(seconds) < 1e-6 else f"{seconds * 1e6:,.1f} µs"


def _range(figure: Figure) -> str:
    return f"{_shown(figure.median)} [{_shown(figure.low)}..{_shown(figure.high)}]"


def main() -> None:
    caller, provider = component(CALLER), component(PROVIDER)
    app_dir = WORK / "plan"
    app_dir.mkdir(parents=True, exist_ok=True)
    (app_dir / "wasmesh.toml").write_text(
        f'[app]\nname = "calls"\n\n[components.caller]\nsource = "{caller}"\n\n'
        f'[components.math]\nsource = "{provider}"\n'
    )
    (app_dir / "load.txt").write_text(f"loop({PLAN_N})\n")
    fused = App.load(app_dir, cache=WORK / "app", strategy="monolith")
    split = App.load(app_dir, cache=WORK / "app", strategy="per-component")
    runs: dict[str, list[float]] = {"fused": [], "host-linked": [], "cross-host": []}
    per_call(fused.call, 2_000_000, samples=runs["fused"])
    per_call(split.call, 2_000, samples=runs["host-linked"])
    cross_host(caller, provider, CROSS_N, samples=runs["cross-host"])
    bench = {name: Figure.of(samples) for name, samples in runs.items()}
    fused.close()
    split.close()

    def progress(message: str) -> None:
        print(f"plan: {message}", file=sys.stderr, flush=True)

    report = measure_costs(app_dir, app_dir / "load.txt", Settings(10, 5), progress)
    edge = next(e for e in report.edges if e.edge.consumer == "caller")
    assert edge.calls_per_request == PLAN_N, edge.calls_per_request
    plan = {"fused": edge.fused, "host-linked": edge.host_linked, "cross-host": edge.cross_host,
            "host-linked in app": edge.in_app}  # fmt: skip
    bench["host-linked in app"] = bench["host-linked"]

    table = Table(title=f"one call caller → math (plan's load: loop({PLAN_N}), 10 x 5 requests)")
    columns = ("placement", "bench/calls.py [low..high]", "wasmesh plan [low..high]",
               "plan / bench", "ranges overlap")  # fmt: skip
    for column in columns:
        table.add_column(column, justify="left" if column == "placement" else "right")
    for name, peer in bench.items():
        figure = plan[name]
        if figure is None:
            table.add_row(name, _range(peer), "not measured", "—", "—")
            continue
        overlap = "yes" if figure.low <= peer.high and peer.low <= figure.high else "no"
        ratio = f"{figure.median / peer.median:.2f}x"
        table.add_row(name, _range(peer), _range(figure), ratio, overlap)
    Console().print(table)
    load = os.getloadavg()
    print(f"load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} at the end")
    for note in report.notes:
        print(f"note: {note}")


if __name__ == "__main__":
    main()
