"""An application: `wasmesh.toml` built, wired, fused into units and ready to call.

    app = App.load("examples/polyglot/wasmesh.toml")
    app.call("shop:pricing/quote@0.1.0#quote", items)
    app.exports["shop:pricing/quote"].quote(items)

Loading builds every component from source (cached by content), reads each world, wires the
imports (`wasmesh.compose.wiring`), plans the units (`wasmesh.compose.units`), fuses each unit
(`wasmesh.compose.composer`) and makes it callable with the one runner, each unit under the
policy the plan gives it. Units calling each other in one process are linked through the host
(`wasmesh.capabilities.forwarding`, in-process transport).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from wasmesh.api import Component, Function, Interface
from wasmesh.capabilities.base import Capability
from wasmesh.capabilities.forwarding import Caller, ForwardedImports, ImportProvider, in_process
from wasmesh.capabilities.messaging import Broker, LocalBroker, messaging_for
from wasmesh.compose.composer import compose_unit
from wasmesh.compose.manifest import Manifest
from wasmesh.compose.plan import plan_app
from wasmesh.compose.units import UnitPlan
from wasmesh.compose.wiring import WiringGraph
from wasmesh.engine.loader import LoadedComponent, load_component
from wasmesh.errors import ExportNotFound
from wasmesh.runtime.exports import ExportTarget, resolve_export
from wasmesh.runtime.instance import Runner


class App:
    """A loaded application: one callable component per deployment unit."""

    def __init__(
        self,
        manifest: Manifest,
        graph: WiringGraph,
        plans: tuple[UnitPlan, ...],
        units: Mapping[str, Component],
        paths: Mapping[str, Path],
        broker: Broker | None = None,
    ) -> None:
        self.manifest = manifest
        self.graph = graph
        self.plans = plans
        self.units = dict(units)
        self.paths = dict(paths)
        self.broker: Broker = broker if broker is not None else LocalBroker()
        self.exports = AppExports(self)

    @classmethod
    def load(
        cls,
        path: str | Path,
        *,
        host_interfaces: Iterable[str] = (),
        cache: Path | None = None,
        strategy: str | None = None,
        quiet: bool = True,
        broker: Broker | None = None,
        variables_file: Path | None = None,
    ) -> App:
        """Build, wire, plan and compose the app of `path`; units instantiate on first call.

        `strategy` ("monolith" or "per-component") overrides the manifest's `[deploy]`;
        `host_interfaces` names interfaces the host serves besides `wasi:*`; `broker` carries
        the components' messages (default: an in-process `LocalBroker`, closed with the app);
        the app's variables come from the environment and `variables_file`
        (`wasmesh.compose.variables`).
        """
        plan = plan_app(path, host_interfaces=host_interfaces, cache=cache, strategy=strategy,
                        quiet=quiet, variables_file=variables_file)  # fmt: skip
        worlds = plan.graph.worlds
        units: dict[str, Component] = {}
        broker = broker if broker is not None else LocalBroker()
        for unit in plan.plans:
            composed = compose_unit(unit, plan.paths, worlds, plan.cache)
            units[unit.name] = unit_component(unit, composed, units, plan.plans, broker,
                                              plan.manifest.name)  # fmt: skip
        return cls(plan.manifest, plan.graph, plan.plans, units, plan.paths, broker)

    def unit_of(self, component: str) -> UnitPlan:
        """The plan of the unit holding `component`."""
        return next(p for p in self.plans if component in p.components)

    def serving(self, component: str) -> Component:
        """The running unit that answers for `component` (what a trigger targeting it calls)."""
        return self.units[self.unit_of(component).name]

    def forwarded_imports(self, unit: str) -> ForwardedImports | None:
        """The imports of `unit` served by other units, as a capability (None if it has none).

        For runners other than the unit's own, such as the HTTP trigger serving it.
        """
        plan = next(p for p in self.plans if p.name == unit)
        return _forwarded(plan, self.units[unit].loaded, self.units, self.plans,
                          self.manifest.name)  # fmt: skip

    def unit_capabilities(self, unit: str) -> tuple[Capability, ...]:
        """The app-scoped capabilities of `unit`'s runners: its imports served by other units
        and messaging over the app's broker."""
        loaded = self.units[unit].loaded
        forwarded = self.forwarded_imports(unit)
        own = (forwarded,) if forwarded is not None else ()
        return (*own, *messaging_for(loaded, self.broker, unit, self.manifest.name))

    def http_routes(self) -> dict[str, Path]:
        """Each `[[triggers.http]]` route → the composed unit file serving its component."""
        routes: dict[str, Path] = {}
        for trigger in self.manifest.http_triggers:
            path = self.serving(trigger.component).loaded.path
            assert path is not None  # units are always loaded from a file
            routes[trigger.route] = path
        return routes

    def call(self, target: str, *args: Any) -> Any:
        """Call an export of the app (`pkg:ns/iface@ver#func`) in the unit that offers it."""
        found: list[Component] = []
        for unit in self.units.values():
            try:
                resolve_export(unit.world, target)
            except ExportNotFound:
                continue
            found.append(unit)
        if len(found) != 1:
            names = ", ".join(self.exports)
            how = "no unit exports" if not found else "several units export"
            raise ExportNotFound(f"{how} `{target}` in app `{self.manifest.name}`; it has {names}")
        return found[0].call(target, *args)

    def close(self) -> None:
        for unit in self.units.values():
            unit.close()
        self.broker.close()


class AppExports(Mapping[str, "Interface | Function"]):
    """Every unit's exports by name (interface names may omit their version)."""

    def __init__(self, app: App) -> None:
        self._app = app

    def __getitem__(self, name: str) -> Interface | Function:
        for unit in self._app.units.values():
            try:
                return unit.exports[name]
            except ExportNotFound:
                continue
        raise ExportNotFound(f"app `{self._app.manifest.name}` has no export `{name}`")

    def __iter__(self) -> Iterator[str]:
        return iter([name for unit in self._app.units.values() for name in unit.exports])

    def __len__(self) -> int:
        return sum(len(unit.exports) for unit in self._app.units.values())


def unit_component(
    plan: UnitPlan,
    composed: Path,
    units: Mapping[str, Component],
    plans: tuple[UnitPlan, ...],
    broker: Broker,
    app: str = "",
) -> Component:
    """The unit of `plan` (its composed file `composed`) of `app`, calling the `units` it
    imports from through the host and carrying its messages on `broker`."""
    loaded = load_component(composed, fuel=plan.policy.limits.fuel is not None)
    forwarded = _forwarded(plan, loaded, units, plans, app)
    capabilities: tuple[Capability, ...] = (forwarded,) if forwarded is not None else ()
    capabilities += messaging_for(loaded, broker, plan.name, app)
    return UnitComponent(
        loaded,
        lambda: Runner(loaded, plan.policy, capabilities=capabilities, program=plan.program,
                       app=app),
    )


def _forwarded(
    plan: UnitPlan,
    loaded: LoadedComponent,
    units: Mapping[str, Component],
    plans: tuple[UnitPlan, ...],
    app: str = "",
) -> ForwardedImports | None:
    if not plan.remote:
        return None
    entries = {e: p.name for p in plans for e in p.entries}
    providers: dict[str, ImportProvider] = {}
    for link in plan.remote:
        assert link.provider is not None and link.export is not None
        provider = units[entries[link.provider]]
        providers[link.import_name] = in_process(_caller(provider), link.export)
    return ForwardedImports(loaded.world, providers, caller=plan.name, app=app)


class UnitComponent(Component):
    """A unit, callable from Python; its linker is made on the first call.

    A unit only a trigger can serve (it imports `wasi:http`) still loads, so its file can be
    handed to the HTTP trigger; calling it from Python says which host to use.
    """

    def __init__(self, loaded: LoadedComponent, make_runner: Callable[[], Runner]) -> None:
        self._make_runner = make_runner
        self._runner: Runner | None = None
        # One live instance, one store: callers on other threads (HTTP requests of other
        # units calling this one) take turns.
        self._lock = threading.RLock()
        super().__init__(loaded, None)  # type: ignore[arg-type]

    def call(self, target: str | ExportTarget, *args: Any) -> Any:
        with self._lock:
            return super().call(target, *args)

    @property
    def runner(self) -> Runner:
        if self._runner is None:
            self._runner = self._make_runner()
        return self._runner

    @runner.setter
    def runner(self, value: Runner | None) -> None:
        if value is not None:
            self._runner = value


def _caller(unit: Component) -> Caller:
    # Resolved once per target: the host hop runs on every cross-unit call.
    resolved: dict[str, ExportTarget] = {}

    def call(target: str, args: tuple[Any, ...]) -> Any:
        found = resolved.get(target)
        if found is None:
            found = resolved[target] = resolve_export(unit.world, target, unit.loaded.label)
        return unit.call(found, *args)

    return call
