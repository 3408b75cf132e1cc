"""Recommending units from measured edge costs.

Candidates fuse every edge called at least `t` times per request, for each rate `t` the load
shows (and fuse all: the monolith); every other component keeps a unit of its own, so it can
be placed and scaled apart. A candidate is made buildable by also fusing what cannot cross
units: links carrying resource handles, and a component imported from another unit while it
is hidden inside its own (only a unit's entries can be called from outside).

Without a constraint the rule is "fuse hot edges": those called at least once per request.
With `max_p99` (seconds) the recommendation is the candidate with the most units whose p99
latency with each unit on its own host (modelled from the measured monolith and the cut
edges' measured costs) stays within it; if none does, the monolith, the fastest.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from wasmesh.compose.manifest import MONOLITH_UNIT
from wasmesh.compose.wiring import WiringGraph
from wasmesh.observe.model import EdgeCost, Groups, modelled

HOT_CALLS = 1.0  # calls per request from which an edge is hot


@dataclass(frozen=True)
class Recommendation:
    units: Groups
    reason: str


def fused_where(
    graph: WiringGraph, edges: tuple[EdgeCost, ...], hot: Callable[[EdgeCost], bool]
) -> Groups:
    """Units fusing the edges `hot` selects (and what cannot cross), one per other component."""
    parent = {c: c for c in graph.worlds}

    def root(c: str) -> str:
        while parent[c] != c:
            parent[c] = parent[parent[c]]
            c = parent[c]
        return c

    def join(a: str, b: str) -> bool:
        ra, rb = root(a), root(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
        return ra != rb

    for e in edges:
        if hot(e):
            join(e.edge.consumer, e.edge.provider)
    links = graph.component_links()
    for link in links:
        if graph.has_handles(link):
            assert link.provider is not None
            join(link.consumer, link.provider)
    changed = True
    while changed:  # a provider called from another unit must be an entry of its own
        changed = False
        for link in links:
            assert link.provider is not None
            hidden = any(
                other.provider == link.provider and root(other.consumer) == root(link.provider)
                for other in links
            )
            if root(link.consumer) != root(link.provider) and hidden:
                changed |= join(link.consumer, link.provider)
    members: dict[str, list[str]] = {}
    for c in graph.worlds:
        members.setdefault(root(c), []).append(c)
    return _named(graph, [tuple(sorted(m)) for m in members.values()])


def _named(graph: WiringGraph, groups: list[tuple[str, ...]]) -> Groups:
    if len(groups) == 1:
        return {MONOLITH_UNIT: groups[0]}
    named: dict[str, tuple[str, ...]] = {}
    for group in sorted(groups):
        inside = set(group)
        consumed = {link.provider for link in graph.component_links() if link.consumer in inside}
        entries = [c for c in group if c not in consumed] or list(group)
        named["-".join(entries)] = group
    return named


def candidates(graph: WiringGraph, edges: tuple[EdgeCost, ...]) -> list[Groups]:
    """Every distinct candidate, most units first."""
    rates = sorted({e.calls_per_request for e in edges if e.active}, reverse=True)
    found: list[Groups] = [fused_where(graph, edges, lambda e: False)]
    for rate in rates:
        found.append(fused_where(graph, edges, _at_least(rate)))
    found.append(fused_where(graph, edges, lambda e: True))
    unique: dict[frozenset[tuple[str, ...]], Groups] = {}
    for groups in found:
        unique.setdefault(frozenset(groups.values()), groups)
    return sorted(unique.values(), key=len, reverse=True)


def _at_least(rate: float) -> Callable[[EdgeCost], bool]:
    return lambda e: e.calls_per_request >= rate


def recommend(
    graph: WiringGraph,
    edges: tuple[EdgeCost, ...],
    monolith_p99: float,
    max_p99: float | None,
    spread: bool,
) -> Recommendation:
    """The units to deploy (see the module docstring); `spread`: cross-host costs measured."""
    where = "each unit on its own host" if spread else "in one process"
    if max_p99 is None:
        units = fused_where(graph, edges, lambda e: e.calls_per_request >= HOT_CALLS)
        hot = [str(e.edge) for e in edges if e.calls_per_request >= HOT_CALLS]
        if not hot:
            return Recommendation(units, "no edge is called once per request or more: "
                                  "every component can be placed and scaled apart")  # fmt: skip
        apart = [name for name, members in units.items() if len(members) == 1]
        tail = f"; {', '.join(apart)} apart" if apart and len(units) > 1 else ""
        return Recommendation(units, f"fuse the hot edges ({'; '.join(hot)}){tail}")
    for groups in candidates(graph, edges):
        p99 = modelled(groups, edges, monolith_p99, spread)
        if p99 <= max_p99:
            return Recommendation(
                groups,
                f"the most units whose p99 ({p99 * 1e3:.2f} ms, {where}) is within "
                f"{max_p99 * 1e3:g} ms",
            )
    monolith = fused_where(graph, edges, lambda e: True)
    return Recommendation(
        monolith,
        f"no topology keeps p99 within {max_p99 * 1e3:g} ms (the monolith's is "
        f"{monolith_p99 * 1e3:.2f} ms); the monolith is the fastest",
    )
