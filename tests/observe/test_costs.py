"""The cost report measured for real: the polyglot example under its HTTP load, in one
process and across hosts (a nats-server and a host process of its own)."""

from __future__ import annotations

from pathlib import Path

import pytest

from wasmesh.compose.plan import plan_app
from wasmesh.observe.assemble import units_named
from wasmesh.observe.costs import Settings, measure_costs
from wasmesh.observe.model import CostReport, EdgeCost
from wasmesh.observe.recommend import recommend

pytestmark = pytest.mark.slow

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "polyglot"
TAX = "shop:pricing/tax@0.1.0"
PRESENTATION = "shop:pricing/presentation@0.1.0"


@pytest.fixture(scope="module")
def report() -> CostReport:
    return measure_costs(EXAMPLE, settings=Settings(requests=100, repeats=3))


def _edge(report: CostReport, consumer: str, interface: str) -> EdgeCost:
    return next(
        e for e in report.edges if (e.edge.consumer, e.edge.interface) == (consumer, interface)
    )


def test_calls_and_payload_per_edge(report: CostReport) -> None:
    # each quote asks tax for a rate and the tax, presentation for a discount and the text
    for interface in (TAX, PRESENTATION):
        edge = _edge(report, "front", interface)
        assert edge.calls_per_request == 2
        assert edge.bytes_per_call > 0
        # nothing calls the receipt component over HTTP
        idle = _edge(report, "receipt", interface)
        assert (idle.calls_per_request, idle.host_linked, idle.cross_host) == (0, None, None)


def test_a_call_costs_more_the_further_it_goes(report: CostReport) -> None:
    for interface in (TAX, PRESENTATION):
        edge = _edge(report, "front", interface)
        assert edge.host_linked is not None and edge.cross_host is not None
        assert 0 < edge.fused.median < edge.host_linked.median < edge.cross_host.median
        for figure in (edge.fused, edge.host_linked, edge.cross_host):
            assert 0 <= figure.low <= figure.median <= figure.high
        # the request-level figure is reported beside it, noise and all
        assert edge.in_app is not None and edge.in_app.low <= edge.in_app.high


def test_host_linked_is_the_probe_crossing_for_every_edge(report: CostReport) -> None:
    # measured once, call by call, as bench/calls.py does: not from request latencies
    tax, presentation = _edge(report, "front", TAX), _edge(report, "front", PRESENTATION)
    assert tax.host_linked == presentation.host_linked
    assert tax.fused == presentation.fused


def test_each_topology_measured(report: CostReport) -> None:
    by_name = {t.name: t for t in report.topologies}
    assert list(by_name) == ["monolith", "per-component", "current", "recommended"]
    assert report.topologies[2].label == "current (= monolith)"
    assert (report.topologies[2].name, report.topologies[2].same_as) == ("current", "monolith")
    for topology in report.topologies:
        assert topology.latency.median > 0 and topology.cpu.median > 0
        assert topology.p99 >= topology.latency.low
    mono, split = by_name["monolith"], by_name["per-component"]
    assert mono.spread is not None and split.spread is not None
    assert mono.spread == mono.latency  # nothing crosses a host
    assert split.spread.median > split.latency.median
    assert len(split.units) == 4 and len(mono.units) == 1


def test_the_recommendation_fuses_hot_edges(report: CostReport) -> None:
    units = [set(members) for members in report.recommended.values()]
    assert any({"front", "tax", "presentation"} <= members for members in units)
    assert "hot edges" in report.reason
    units_named(plan_app(EXAMPLE), report.recommended)  # buildable


def test_a_p99_bound_picks_the_most_units_within_it(report: CostReport) -> None:
    graph = plan_app(EXAMPLE).graph
    loose = recommend(graph, report.edges, 0.001, max_p99=1000.0, spread=True)
    assert len(loose.units) == 4 and "within 1e+06 ms" in loose.reason
    tight = recommend(graph, report.edges, 0.001, max_p99=0.0005, spread=True)
    assert len(tight.units) == 1 and "no topology keeps p99 within 0.5 ms" in tight.reason


def test_json_shape(report: CostReport) -> None:
    data = report.to_json()
    assert set(data) == {
        "app", "load", "requests", "repeats", "unit", "edges", "topologies",
        "recommendation", "notes",
    }  # fmt: skip
    edge = data["edges"][0]
    assert set(edge["seconds_per_call"]) == {"fused", "host_linked", "cross_host",
                                            "host_linked_in_app"}  # fmt: skip
    assert set(edge["seconds_per_call"]["fused"]) == {"median", "low", "high"}
    assert set(data["topologies"][0]) == {"name", "same_as", "units", "one_process", "spread"}
    assert [t["name"] for t in data["topologies"]] == ["monolith", "per-component", "current",
                                                     "recommended"]  # fmt: skip


def test_an_invocation_load_counts_its_own_edges(tmp_path: Path) -> None:
    load = tmp_path / "load.txt"
    lines = ", ".join(['{sku: "tea", quantity: 1, unit-cents: 100}'] * 20)
    load.write_text(f'receipt([{lines}], "fr")\n')
    report = measure_costs(EXAMPLE, load, Settings(requests=20, repeats=3, cross_host=False))
    assert _edge(report, "front", TAX).calls_per_request == 0
    # the Go receipt: a rate and the tax; two amounts per line, the discount, four totals
    assert _edge(report, "receipt", TAX).calls_per_request == 2
    presentation = _edge(report, "receipt", PRESENTATION)
    assert presentation.calls_per_request == 2 * 20 + 1 + 4
    assert presentation.host_linked is not None
    assert 0 < presentation.fused.median < presentation.host_linked.median
    assert presentation.cross_host is None
    assert "across hosts: not measured (--no-cross-host)" in report.notes
