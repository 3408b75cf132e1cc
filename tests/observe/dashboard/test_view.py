"""The dashboard's document: figures of several hosts summed per route and per wiring edge."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry, Counter, Histogram

from wasmesh.lattice.schema import DesiredState, UnitSpec
from wasmesh.lattice.status import AppStatus
from wasmesh.observe.dashboard.stats import read, summarize
from wasmesh.observe.dashboard.view import app_graph, route_figures

EDGE = ["app", "caller", "interface", "placement"]
TAX = "shop:pricing/tax@0.1.0"


def host_summary(ok: int, failed: int, fast: int, slow: int,
                 other: int = 0) -> dict[str, object]:  # fmt: skip
    """One host's summary over 10 s: `ok` + `failed` requests to /quote/..., `fast` (1 ms) and
    `slow` (100 ms) calls from shop's front to tax, and `other` (10 s) calls from the front
    unit of another app, `outlet`, to its own tax."""
    registry = CollectorRegistry()
    requests = Counter("wasmesh_http_requests", "", ["route", "method", "status"],
                       registry=registry)  # fmt: skip
    calls = Counter("wasmesh_calls", "", [*EDGE, "outcome"], registry=registry)
    seconds = Histogram("wasmesh_call_duration_seconds", "", EDGE, registry=registry,
                        buckets=(0.0005, 0.001, 0.05, 0.1, 1.0))  # fmt: skip
    before = read(registry, at=0.0)
    requests.labels("/quote/...", "POST", "200").inc(ok)
    requests.labels("/quote/...", "POST", "503").inc(failed)
    for duration, count in ((0.001, fast), (0.1, slow)):
        calls.labels("shop", "front", TAX, "lattice", "ok").inc(count)
        for _ in range(count):
            seconds.labels("shop", "front", TAX, "lattice").observe(duration)
    calls.labels("outlet", "front", TAX, "lattice", "ok").inc(other)
    for _ in range(other):
        seconds.labels("outlet", "front", TAX, "lattice").observe(10.0)
    return summarize(before, read(registry, at=10.0))


def test_routes_and_edges_are_summed_over_hosts() -> None:
    # another app's unit `front` calls as much again, slowly: none of it is shop's
    live = {"a": host_summary(90, 10, 98, 0, 50), "b": host_summary(100, 0, 0, 2, 50)}
    assert route_figures(live) == [{"route": "/quote/...", "requests": 200.0, "errors": 10.0,
                                    "rps": 20.0, "error_rate": 0.05}]  # fmt: skip
    desired = DesiredState("shop", 3, (
        UnitSpec("front", "0" * 64, imports={TAX: "tax"}, replicas=2),
        UnitSpec("tax", "1" * 64, exports={TAX: ["tax"]}),
    ))  # fmt: skip
    report = AppStatus(desired, None, ()).as_dict()
    graph = app_graph(desired, report, live)
    assert [u["unit"] for u in graph["units"]] == ["front", "tax"]
    assert graph["units"][0]["replicas"] == 2
    [edge] = graph["edges"]
    assert (edge["from"], edge["to"], edge["interface"]) == ("front", "tax", TAX)
    assert (edge["calls"], edge["calls_per_s"]) == (100.0, 10.0)
    # 98 calls of 1 ms on one host, 2 of 100 ms on the other: buckets merged, not averaged
    assert edge["p50_ms"] == pytest.approx(0.5 + 0.5 * 50 / 98, abs=1e-3)
    assert edge["p99_ms"] == pytest.approx(50 + 50 * (99 - 98) / 2)
