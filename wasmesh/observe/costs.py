"""The cost report: what each wiring edge of an app costs fused, host-linked and across hosts,
measured on this machine under a load, and which units to deploy.

    report = measure_costs("examples/polyglot")           # wasmesh-load.txt or GET each route
    report.edges[0].host_linked.median                     # seconds per call
    report.recommended                                     # {"main": ("front", ...)}

How each figure is measured (never assumed):

- calls per request and payload bytes per call: the app runs with every component in a unit
  of its own, in this process, so every call crosses the host, where a wrapper counts it and
  encodes its arguments and result as the lattice would (`wasmesh.observe.recorder`);
- fused, per call: a composed call's crossing, measured on a probe pair of components the way
  `bench/calls.py` does (`wasmesh.observe.probe`): nanoseconds, far below a request's noise;
- host-linked, per call: the same probe pair's call with caller and provider in units of
  their own in one process (`wasmesh.observe.probe`), as `bench/calls.py` measures it:
  microseconds, resolved by a guest-side loop where a request-level difference is not;
- host-linked in the app, per call (`EdgeCost.in_app`): what the app's own calls, with their
  real payloads, add per crossing call: the extra time per request when the edge's provider
  gets a unit of its own (else every component does), over the monolith's, divided by the
  calls that then cross (shared equally when one split cuts several edges the load calls);
  the extra is the median, over slices of requests measured back to back, of the difference
  between the slices' fastest requests; a request's noise is in it, so it is shown apart and
  the model does not use it;
- across hosts, per call: host-linked plus the difference, per call, between the edge served
  over NATS by a host process (`wasmesh.observe.spread`) and served in process, both timed
  call by call around the provider with the app's own payloads;
- per topology: latency and CPU per request measured in this process (warm instances), and
  with each unit on its own host, that plus its cut edges' measured cross-host extra.

Topologies are measured interleaved, `repeats` rounds of `requests` requests each, so a load
change on the machine falls on all of them; each figure is the median of the rounds' medians
with their range.
"""

from __future__ import annotations

import statistics
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from wasmesh.capabilities.forwarding import ImportProvider
from wasmesh.compose.manifest import MONOLITH_UNIT, load_manifest
from wasmesh.compose.plan import AppPlan, plan_app
from wasmesh.compose.units import PlanError, UnitPlan
from wasmesh.compose.wiring import Link
from wasmesh.errors import WasmeshError
from wasmesh.observe.assemble import Edge, assemble, in_process_only, units_named
from wasmesh.observe.drive import Driver, Sample
from wasmesh.observe.load import Request, describe, read_load
from wasmesh.observe.model import CostReport, EdgeCost, Groups, TopologyCost, cut, spread_extra
from wasmesh.observe.probe import fused_call, host_linked_call
from wasmesh.observe.recommend import candidates, recommend
from wasmesh.observe.recorder import Recorder
from wasmesh.observe.spread import lattice_for, nats_missing
from wasmesh.observe.stats import Figure, percentile

Progress = Callable[[str], None]
SLICE = 10  # requests in a row per topology while measuring them interleaved


@dataclass(frozen=True)
class Settings:
    """How much to measure: `requests` per round and topology, `repeats` rounds, whether to
    measure across hosts, and the p99 bound (seconds) the units must keep, if any."""

    requests: int = 200
    repeats: int = 5
    cross_host: bool = True
    max_p99: float | None = None


def measure_costs(
    path: str | Path,
    load: Path | None = None,
    settings: Settings | None = None,
    progress: Progress = lambda _: None,
) -> CostReport:
    """Run the app at `path` under `load` (see `wasmesh.observe.load`) and report its costs.

    Raises `WasmeshError` (bad app, bad load, a request answered 5xx) with one sentence.
    """
    settings = settings or Settings()
    if settings.requests < 1 or settings.repeats < 1:
        raise WasmeshError("--requests and --repeats must be at least 1")
    requests = read_load(load, load_manifest(path))
    progress("building and wiring the app")
    base = plan_app(path)
    components = tuple(base.graph.worlds)
    per_component = {c: (c,) for c in components}
    pc_plans = units_named(base, per_component)

    progress("counting calls per edge (every component in a unit of its own)")
    tallies = Recorder(payloads=True)
    counted = _run(base, pc_plans, tallies.wrap, requests, max(len(requests), 20), tallies)
    calls = {e: t.calls / counted for e, t in tallies.tallies.items()}
    payload = {e: (t.payload / t.calls if t.calls else 0.0) for e, t in tallies.tallies.items()}
    edges = tuple(Edge.of(link) for link in base.graph.component_links())
    active = [e for e in edges if calls.get(e, 0.0) > 0]

    progress("measuring a fused and a host-linked call")
    fused = fused_call()
    host = host_linked_call()

    notes: list[str] = []
    remote = _cross_host(base, pc_plans, active, requests, settings, notes, progress)
    in_process: dict[Edge, list[float]] = {}
    if remote:  # the same calls timed alike in process, to take the transport's difference
        timed = Recorder()
        _run(base, pc_plans, timed.wrap, requests, _remote_count(requests, settings), timed)
        in_process = {e: t.seconds for e, t in timed.tallies.items()}

    shapes: dict[str, Groups] = {"monolith": {MONOLITH_UNIT: components}}
    shapes["per-component"] = per_component
    shapes["current"] = {u.name: u.components for u in base.manifest.units}
    splits = {e: _isolating(base, e.provider, components) for e in active}
    for groups in splits.values():
        if groups is not None:
            shapes[f"{next(iter(groups))} apart"] = groups
    traffic = tuple(EdgeCost(e, calls.get(e, 0.0), 0.0, fused, None, None) for e in edges)
    for n, groups in enumerate(candidates(base.graph, traffic)):
        shapes[f"candidate {n + 1}"] = groups  # any the recommendation may choose
    samples = _measure_shapes(base, shapes, requests, settings, progress)

    costs = tuple(
        _edge_cost(e, calls.get(e, 0.0), payload.get(e, 0.0), fused, host,
                   splits.get(e) or per_component, samples, shapes, calls,
                   in_process.get(e, []), remote.get(e), settings.repeats)
        for e in edges
    )  # fmt: skip
    mono_p99 = percentile(_all(samples["monolith"]), 99)
    spread_known = bool(remote) or not active
    choice = recommend(base.graph, costs, mono_p99, settings.max_p99, spread_known)
    _check_units(base, choice.units)
    if not any(_same(choice.units, g) for g in shapes.values()):  # cannot happen, but be sure
        shapes["recommended"] = choice.units
        samples.update(_measure_shapes(base, {"recommended": choice.units}, requests,
                                       settings, progress))  # fmt: skip
    topologies = []
    for name in ("monolith", "per-component", "current", "recommended"):
        groups = choice.units if name == "recommended" else shapes[name]
        peers = ("monolith", "per-component", "current")[: 3 if name == "recommended" else 2]
        same = [n for n in peers if n != name and _same(groups, shapes[n])]
        source = next(n for n, g in shapes.items() if _same(g, groups))
        cost = _topology_cost(name, groups, samples[source], costs)
        if name in ("current", "recommended") and same:
            cost = replace(cost, same_as=same[0])
        topologies.append(cost)
    if not active:
        notes.append("the load calls no edge between components: every figure is the app's own")
    return CostReport(
        base.manifest.name, describe(requests), settings.requests, settings.repeats, costs,
        tuple(topologies), choice.units, choice.reason, tuple(notes),
    )  # fmt: skip


def _run(
    base: AppPlan,
    plans: tuple[UnitPlan, ...],
    transport: Callable[[Link, ImportProvider], ImportProvider],
    requests: Sequence[Request],
    count: int,
    recorder: Recorder,
) -> int:
    """Run `count` requests (after one warm-up pass) through an app whose links `transport`
    wraps, the recorder reset after the warm-up; the number of requests counted."""
    driver = Driver(assemble(base, plans, transport), requests)
    try:
        driver.run(requests, len(requests))
        recorder.reset()
        driver.run(requests, count)
    finally:
        driver.close()
    return count


def _cross_host(
    base: AppPlan,
    plans: tuple[UnitPlan, ...],
    active: list[Edge],
    requests: Sequence[Request],
    settings: Settings,
    notes: list[str],
    progress: Progress,
) -> dict[Edge, list[float]]:
    """Seconds per call of each active edge served over NATS by another host process."""
    if not active:
        return {}
    if not settings.cross_host:
        notes.append("across hosts: not measured (--no-cross-host)")
        return {}
    missing = nats_missing()
    if missing is not None:
        notes.append(f"across hosts: not measured: {missing}")
        return {}
    home = {c: p.name for p in plans for c in p.components}
    wanted = {home[e.provider] for e in active}
    recorder = Recorder()
    with tempfile.TemporaryDirectory(prefix="wasmesh-plan-") as tmp:
        progress("measuring calls across hosts (a local nats-server and a host process)")
        with lattice_for(base, plans, wanted, Path(tmp), progress) as lattice:

            def transport(link: Link, local: ImportProvider) -> ImportProvider:
                if Edge.of(link) not in active:
                    return local
                assert link.provider is not None
                return recorder.wrap(link, lattice.provider(home[link.provider], link.export))

            _run(base, plans, transport, requests, _remote_count(requests, settings), recorder)
    return {e: t.seconds for e, t in recorder.tallies.items()}


def _remote_count(requests: Sequence[Request], settings: Settings) -> int:
    """Requests timed per transport: a round's, at most 100 (each call crosses NATS)."""
    return max(len(requests), min(settings.requests, 100))


def _isolating(base: AppPlan, provider: str, components: tuple[str, ...]) -> Groups | None:
    """Units with `provider` alone and everything else fused, if they can be built."""
    rest = tuple(c for c in components if c != provider)
    if not rest:
        return None
    groups = {provider: (provider,), f"{provider}-rest": rest}
    try:
        units_named(base, groups)
    except PlanError:
        return None
    return groups


def _check_units(base: AppPlan, groups: Groups) -> None:
    try:
        units_named(base, groups)
    except PlanError as exc:
        raise WasmeshError(f"the recommended units cannot be built: {exc}") from None


def _measure_shapes(
    base: AppPlan,
    shapes: Mapping[str, Groups],
    requests: Sequence[Request],
    settings: Settings,
    progress: Progress,
) -> dict[str, list[Sample]]:
    """`settings.repeats` rounds of `settings.requests` requests per topology, interleaved."""
    unique: dict[frozenset[frozenset[str]], str] = {}
    for name, groups in shapes.items():
        unique.setdefault(_key(groups), name)
    drivers: dict[str, Driver] = {}
    samples: dict[str, list[Sample]] = {name: [] for name in unique.values()}
    try:
        for name in unique.values():
            progress(f"loading topology {name} ({len(shapes[name])} unit(s))")
            plans = units_named(base, shapes[name])
            drivers[name] = Driver(assemble(base, plans, in_process_only), requests)
            drivers[name].run(requests, max(len(requests), 5))  # instantiate, warm caches
        for round_ in range(settings.repeats):
            progress(f"measuring round {round_ + 1}/{settings.repeats}")
            # in slices of a few requests, topology after topology: a change of load on the
            # machine falls on all of them alike
            rounds = {name: Sample() for name in drivers}
            for start in range(0, settings.requests, SLICE):
                count = min(SLICE, settings.requests - start)
                for name, driver in drivers.items():
                    rounds[name].add(driver.run(requests, count, start))
            for name, sample in rounds.items():
                samples[name].append(sample)
    finally:
        for driver in drivers.values():
            driver.close()
    return {name: samples[unique[_key(g)]] for name, g in shapes.items()}


def _edge_cost(
    edge: Edge,
    calls: float,
    payload: float,
    fused: Figure,
    host: Figure,
    split: Groups,
    samples: Mapping[str, list[Sample]],
    shapes: Mapping[str, Groups],
    all_calls: Mapping[Edge, float],
    in_process: list[float],
    remote: list[float] | None,
    repeats: int,
) -> EdgeCost:
    if calls == 0:
        return EdgeCost(edge, 0.0, 0.0, fused, None, None)
    name = next(n for n, g in shapes.items() if g == split)
    cut_edges = [e for e in all_calls if all_calls[e] > 0 and _crosses(split, e)]
    crossing = sum(all_calls[e] for e in cut_edges)
    in_app = fused.plus(_paired(samples[name], samples["monolith"]).scaled(1 / crossing))
    cross = None
    if remote:
        n = max(1, min(repeats, len(remote), len(in_process)))
        pairs = zip(_rounds(remote, n), _rounds(in_process, n), strict=True)
        diffs = [_median(r) - _median(h) for r, h in pairs]
        cross = host.plus(Figure.of(diffs))
    return EdgeCost(edge, calls, payload, fused, host, cross, in_app)


def _paired(split: list[Sample], monolith: list[Sample]) -> Figure:
    """Seconds per request `split` takes over `monolith`: the difference of the fastest
    request of each slice measured back to back (other work on the machine only ever adds
    time, so the fastest is the least disturbed), its median over all slices; the range is
    that of the rounds' own medians."""
    rounds: list[list[float]] = []
    for s, m in zip(split, monolith, strict=True):
        pairs = zip(_slices(s.latencies), _slices(m.latencies), strict=True)
        rounds.append([min(a) - min(b) for a, b in pairs])
    per_round = [_median(r) for r in rounds]
    return Figure(_median([d for r in rounds for d in r]), min(per_round), max(per_round))


def _slices(values: list[float]) -> list[list[float]]:
    return [values[i : i + SLICE] for i in range(0, len(values), SLICE)]


def _crosses(groups: Groups, edge: Edge) -> bool:
    home = {c: name for name, members in groups.items() for c in members}
    return home[edge.consumer] != home[edge.provider]


def _topology_cost(
    name: str, groups: Groups, samples: list[Sample], edges: tuple[EdgeCost, ...]
) -> TopologyCost:
    latency = Figure.of([_median(s.latencies) for s in samples])
    p99 = percentile(_all(samples), 99)
    cpu = Figure.of([s.cpu_per_request for s in samples])
    extra = spread_extra(groups, edges)
    if extra is None or not cut(groups, edges):
        spread = None if extra is None else latency
        return TopologyCost(name, groups, latency, p99, cpu, spread, None if extra is None else p99)
    return TopologyCost(name, groups, latency, p99, cpu,
                        latency.plus(Figure(extra, extra, extra)), p99 + extra)  # fmt: skip


def _rounds(values: list[float], n: int) -> list[list[float]]:
    """`values` (at least `n` of them) in `n` consecutive chunks."""
    size = len(values) / n
    return [values[int(i * size) : int((i + 1) * size)] or values for i in range(n)]


def _median(values: list[float]) -> float:
    return statistics.median(values)


def _all(samples: list[Sample]) -> list[float]:
    return [t for s in samples for t in s.latencies]


def _key(groups: Groups) -> frozenset[frozenset[str]]:
    return frozenset(frozenset(members) for members in groups.values())


def _same(a: Groups, b: Groups) -> bool:
    return _key(a) == _key(b)
