"""The cost report's figures and the model that combines them.

Per wiring edge (consumer → provider interface): calls per request, payload bytes per call,
and seconds per call fused, host-linked and across hosts. Per topology (a set of units):
latency and CPU per request measured in one process, and latency with each unit on a host of
its own, which adds, for every edge the topology cuts, its calls times the difference between
its cross-host and host-linked cost (both measured). Every figure is a `Figure`: the median
over repeated runs and their range.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from wasmesh.observe.assemble import Edge
from wasmesh.observe.stats import Figure

Groups = Mapping[str, tuple[str, ...]]  # unit name -> its components


@dataclass(frozen=True)
class EdgeCost:
    """One edge's traffic under the load and what one of its calls costs in each placement
    (seconds; `None` where it was not measured: an edge the load never calls, or no
    nats-server for the cross-host column). `in_app` is the host-linked cost per call as the
    app's requests show it (latency split over fused, per crossing call: its real payloads,
    and a request's noise); the model uses `host_linked`, measured call by call."""

    edge: Edge
    calls_per_request: float
    bytes_per_call: float
    fused: Figure
    host_linked: Figure | None
    cross_host: Figure | None
    in_app: Figure | None = None

    @property
    def active(self) -> bool:
        return self.calls_per_request > 0

    def extra(self, spread: bool) -> float:
        """Seconds per call this edge adds when cut, beyond fused: in one process, or (with
        `spread`, when measured) across hosts."""
        cost = self.cross_host if spread and self.cross_host is not None else self.host_linked
        return 0.0 if cost is None else cost.median - self.fused.median

    def to_json(self) -> dict[str, Any]:
        return {
            "consumer": self.edge.consumer,
            "interface": self.edge.interface,
            "provider": self.edge.provider,
            "calls_per_request": self.calls_per_request,
            "bytes_per_call": self.bytes_per_call,
            "seconds_per_call": {
                "fused": self.fused.to_json(),
                "host_linked": _json(self.host_linked),
                "cross_host": _json(self.cross_host),
                "host_linked_in_app": _json(self.in_app),
            },
        }


@dataclass(frozen=True)
class TopologyCost:
    """A topology's units and its measured cost per request (seconds; CPU seconds).

    `latency`, `p99` and `cpu` are measured with every unit in this process; `spread` and
    `spread_p99` add the measured cross-host cost of the edges it cuts (None without it)."""

    name: str
    units: Groups
    latency: Figure
    p99: float
    cpu: Figure
    spread: Figure | None
    spread_p99: float | None
    same_as: str | None = None  # another topology of the report with the same units

    @property
    def label(self) -> str:
        """The name as the table shows it: `current (= monolith)`."""
        return self.name if self.same_as is None else f"{self.name} (= {self.same_as})"

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "same_as": self.same_as,
            "units": {k: list(v) for k, v in self.units.items()},
            "one_process": {
                "latency": self.latency.to_json(),
                "p99": self.p99,
                "cpu": self.cpu.to_json(),
            },
            "spread": None
            if self.spread is None
            else {"latency": self.spread.to_json(), "p99": self.spread_p99},
        }


@dataclass(frozen=True)
class CostReport:
    """Everything `wasmesh plan` prints: the load, per-edge costs, per-topology costs and the
    recommended units with the reason."""

    app: str
    load: str
    requests: int  # per repeat and topology
    repeats: int
    edges: tuple[EdgeCost, ...]
    topologies: tuple[TopologyCost, ...]
    recommended: Groups
    reason: str
    notes: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "app": self.app,
            "load": self.load,
            "requests": self.requests,
            "repeats": self.repeats,
            "unit": "seconds",
            "edges": [e.to_json() for e in self.edges],
            "topologies": [t.to_json() for t in self.topologies],
            "recommendation": {
                "units": {k: list(v) for k, v in self.recommended.items()},
                "reason": self.reason,
            },
            "notes": list(self.notes),
        }


def cut(groups: Groups, edges: tuple[EdgeCost, ...]) -> tuple[EdgeCost, ...]:
    """The edges whose consumer and provider are in different units of `groups`."""
    home = {c: name for name, members in groups.items() for c in members}
    return tuple(e for e in edges if home[e.edge.consumer] != home[e.edge.provider])


def spread_extra(groups: Groups, edges: tuple[EdgeCost, ...]) -> float | None:
    """Seconds per request that spreading `groups`' units over hosts adds to running them in
    one process; None when the cross-host cost of an edge it cuts was not measured."""
    total = 0.0
    for e in cut(groups, edges):
        if not e.active:
            continue
        if e.cross_host is None or e.host_linked is None:
            return None
        total += e.calls_per_request * (e.cross_host.median - e.host_linked.median)
    return total


def modelled(groups: Groups, edges: tuple[EdgeCost, ...], base: float, spread: bool) -> float:
    """Seconds per request of `groups` estimated from the fused monolith's `base` and the
    cost each cut edge adds per call (across hosts with `spread`)."""
    return base + sum(e.calls_per_request * e.extra(spread) for e in cut(groups, edges))


def _json(figure: Figure | None) -> dict[str, float] | None:
    return None if figure is None else figure.to_json()
