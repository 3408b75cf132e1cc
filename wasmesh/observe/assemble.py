"""An app loaded with units of the cost report's choosing, each import between units served
by a transport it picks per edge (in process, over NATS) and can wrap (to count and time).

`wasmesh.runtime.app.App` builds the same thing for the manifest's own units; here the units
come from the caller and every link between units passes through `Transport`, so the report
sees each call that crosses a unit boundary. The wrapped app serves HTTP routes too
(`forwarded_imports` is what the HTTP trigger links), so a route's calls are seen alike.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from wasmesh.api import Component
from wasmesh.capabilities.base import Capability
from wasmesh.capabilities.forwarding import ForwardedImports, ImportProvider, in_process
from wasmesh.capabilities.messaging import LocalBroker, messaging_for
from wasmesh.compose.composer import compose_unit
from wasmesh.compose.manifest import Unit
from wasmesh.compose.plan import AppPlan
from wasmesh.compose.units import UnitPlan, plan_units
from wasmesh.compose.wiring import Link
from wasmesh.engine.loader import LoadedComponent, load_component
from wasmesh.runtime.app import App, UnitComponent
from wasmesh.runtime.exports import ExportTarget, resolve_export
from wasmesh.runtime.instance import Runner

# (the link crossing units, its in-process provider) -> the provider to link instead
Transport = Callable[[Link, ImportProvider], ImportProvider]


def in_process_only(link: Link, provider: ImportProvider) -> ImportProvider:
    """The transport `wasmesh up` uses: every link in process, unwrapped."""
    return provider


@dataclass(frozen=True)
class Edge:
    """One wiring edge: `consumer` calls `interface` (its import name), served by `provider`."""

    consumer: str
    interface: str
    provider: str

    @classmethod
    def of(cls, link: Link) -> Edge:
        assert link.provider is not None
        return cls(link.consumer, link.import_name, link.provider)

    def __str__(self) -> str:
        return f"{self.consumer} → {self.interface}"


def units_named(base: AppPlan, groups: Mapping[str, tuple[str, ...]]) -> tuple[UnitPlan, ...]:
    """The plan of `base`'s app with `groups` (unit name → components) as its units.

    Raises `wasmesh.compose.units.PlanError` when the units cannot be built (a component
    another unit imports from hidden behind an entry, handles crossing units).
    """
    units = tuple(Unit(name, members) for name, members in groups.items())
    manifest = replace(base.manifest, units=units, strategy="units")
    return plan_units(manifest, base.graph)


class AssembledApp(App):
    """An `App` whose links between units go through a `Transport`."""

    transport: Transport = staticmethod(in_process_only)

    def forwarded_imports(self, unit: str) -> ForwardedImports | None:
        plan = next(p for p in self.plans if p.name == unit)
        return _forwarded(plan, self.units[unit].loaded, self.units, self.plans, self.transport)


def assemble(base: AppPlan, plans: tuple[UnitPlan, ...], transport: Transport) -> AssembledApp:
    """Compose (cached) and load each unit of `plans`, linking units through `transport`;
    units instantiate on first call, as `App.load`'s do."""
    worlds = base.graph.worlds
    broker = LocalBroker()
    units: dict[str, Component] = {}
    for plan in plans:
        composed = compose_unit(plan, base.paths, worlds, base.cache)
        loaded = load_component(composed, fuel=plan.policy.limits.fuel is not None)
        forwarded = _forwarded(plan, loaded, units, plans, transport)
        capabilities: tuple[Capability, ...] = (forwarded,) if forwarded is not None else ()
        capabilities += messaging_for(loaded, broker, plan.name)
        units[plan.name] = UnitComponent(loaded, _runner(loaded, plan, capabilities))
    app = AssembledApp(base.manifest, base.graph, plans, units, base.paths, broker)
    app.transport = transport
    return app


def _runner(
    loaded: LoadedComponent, plan: UnitPlan, capabilities: tuple[Capability, ...]
) -> Callable[[], Runner]:
    return lambda: Runner(loaded, plan.policy, capabilities=capabilities, program=plan.program)


def _forwarded(
    plan: UnitPlan,
    loaded: LoadedComponent,
    units: Mapping[str, Component],
    plans: tuple[UnitPlan, ...],
    transport: Transport,
) -> ForwardedImports | None:
    if not plan.remote:
        return None
    entries = {e: p.name for p in plans for e in p.entries}
    providers: dict[str, ImportProvider] = {}
    for link in plan.remote:
        assert link.provider is not None and link.export is not None
        local = in_process(_caller(units[entries[link.provider]]), link.export)
        providers[link.import_name] = transport(link, local)
    return ForwardedImports(loaded.world, providers, caller=plan.name)


def _caller(unit: Component) -> Callable[[str, tuple[Any, ...]], Any]:
    resolved: dict[str, ExportTarget] = {}

    def call(target: str, args: tuple[Any, ...]) -> Any:
        found = resolved.get(target)
        if found is None:
            found = resolved[target] = resolve_export(unit.world, target, unit.loaded.label)
        return unit.call(found, *args)

    return call
