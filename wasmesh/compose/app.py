"""An application: `wasmesh.toml` built, wired, fused into units and ready to call.

    app = App.load("examples/polyglot/wasmesh.toml")
    app.call("shop:pricing/quote@0.1.0#quote", items)
    app.exports["shop:pricing/quote"].quote(items)

Loading builds every component from source (cached by content), reads each world, wires the
imports (`wasmesh.compose.wiring`), plans the units (`wasmesh.compose.units`), fuses each unit
(`wasmesh.compose.composer`) and makes it callable with the runtime, the unit under the grants
the plan gives it. Units calling each other in one process are linked through the host
(`wasmesh.compose.crossunit`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wasmesh.api import Component, Function, Interface
from wasmesh.build import ComponentSpec as BuildSpec
from wasmesh.capabilities.defaults import default_wasi
from wasmesh.compose.composer import compose_unit
from wasmesh.compose.crossunit import Caller, CrossUnitLinks
from wasmesh.compose.grants import Grants
from wasmesh.compose.manifest import ComponentSpec, Manifest, load_manifest, with_strategy
from wasmesh.compose.units import UnitPlan, plan_units
from wasmesh.compose.wiring import WiringGraph, default_host, wire
from wasmesh.compose.worlds import world_of
from wasmesh.engine.loader import LoadedComponent, load_component
from wasmesh.errors import ExportNotFound, ManifestError
from wasmesh.runtime import grants as rt
from wasmesh.runtime.exports import ExportTarget, resolve_export
from wasmesh.runtime.instance import Runner


def build_component(spec: ComponentSpec, out_dir: Path, *, quiet: bool = True) -> Path:
    """The component file for `spec`: its `.wasm`, or the output of building its sources."""
    source = spec.source
    if source.is_prebuilt:
        return source.path
    assert source.language is not None
    wit = source.wit
    if wit is None and (source.path / "wit").is_dir():
        wit = source.path / "wit"
    options: dict[str, object] = dict(source.options)
    if source.adapter:
        options["adapter"] = source.adapter
    build = BuildSpec(
        spec.name, source.language, source.path.resolve(), source.world or spec.name,
        wit.resolve() if wit else None, options,
    )  # fmt: skip
    return build.build(out_dir / f"{spec.name}.wasm", quiet=quiet).path


def runtime_grants(grants: Grants) -> tuple[rt.Grants, rt.Limits]:
    """The runtime's grants and limits for a unit whose plan grants `grants`."""
    dirs = grants.dirs
    return (
        rt.Grants(
            env=grants.env, env_inherit=grants.env_inherit, dirs=dirs, stdin=grants.stdin,
            network=grants.network, outbound=grants.outbound,
        ),
        rt.Limits(grants.memory_limit, grants.timeout, grants.fuel),
    )  # fmt: skip


@dataclass(frozen=True)
class AppPlan:
    """An application built, wired and planned into units, not yet composed."""

    manifest: Manifest
    graph: WiringGraph
    plans: tuple[UnitPlan, ...]
    paths: Mapping[str, Path]
    cache: Path


def plan_app(
    path: str | Path,
    *,
    host_interfaces: Iterable[str] = (),
    cache: Path | None = None,
    strategy: str | None = None,
    quiet: bool = True,
) -> AppPlan:
    """Build every component of the app at `path`, wire them and plan the units."""
    manifest = load_manifest(path)
    if strategy is not None:
        manifest = with_strategy(manifest, strategy)
    if any(spec.source.oci for spec in manifest.components):
        from wasmesh.registry.sources import resolve_sources

        manifest = resolve_sources(manifest)
    cache = cache or _app_cache(manifest)
    for spec in manifest.components:
        source = spec.source.path
        if not (source.is_file() if spec.source.is_prebuilt else source.is_dir()):
            what = "component file" if spec.source.is_prebuilt else "source directory"
            raise ManifestError(
                f"{manifest.where(('components', spec.name, 'source'))}: the {what} {source} of "
                f"[components.{spec.name}] does not exist; fix `source` or build it first"
            )
    paths = {
        spec.name: build_component(spec, cache / "build", quiet=quiet)
        for spec in manifest.components
    }
    worlds = {name: world_of(p, cache) for name, p in paths.items()}
    where = {c.name: manifest.where(("components", c.name)) for c in manifest.components}
    graph = wire(worlds, manifest.wiring, default_host(host_interfaces), where)
    return AppPlan(manifest, graph, plan_units(manifest, graph), paths, cache)


class App:
    """A loaded application: one callable component per deployment unit."""

    def __init__(
        self,
        manifest: Manifest,
        graph: WiringGraph,
        plans: tuple[UnitPlan, ...],
        units: Mapping[str, Component],
        paths: Mapping[str, Path],
    ) -> None:
        self.manifest = manifest
        self.graph = graph
        self.plans = plans
        self.units = dict(units)
        self.paths = dict(paths)
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
    ) -> App:
        """Build, wire, plan and compose the app of `path`; units instantiate on first call.

        `strategy` ("monolith" or "per-component") overrides the manifest's `[deploy]`;
        `host_interfaces` names interfaces the host serves besides `wasi:*`.
        """
        plan = plan_app(path, host_interfaces=host_interfaces, cache=cache, strategy=strategy,
                        quiet=quiet)  # fmt: skip
        worlds = plan.graph.worlds
        units: dict[str, Component] = {}
        for unit in plan.plans:
            composed = compose_unit(unit, plan.paths, worlds, plan.cache)
            units[unit.name] = _unit_component(unit, composed, units, plan.plans)
        return cls(plan.manifest, plan.graph, plan.plans, units, plan.paths)

    def unit_of(self, component: str) -> UnitPlan:
        """The plan of the unit holding `component`."""
        return next(p for p in self.plans if component in p.components)

    def serving(self, component: str) -> Component:
        """The running unit that answers for `component` (what a trigger targeting it calls)."""
        return self.units[self.unit_of(component).name]

    def remote_links(self, unit: str) -> CrossUnitLinks | None:
        """The imports of `unit` served by other units, as a capability (None if it has none).

        For hosts other than the unit's own runner, such as the HTTP trigger serving it.
        """
        plan = next(p for p in self.plans if p.name == unit)
        return _remote_links(plan, self.units[unit].loaded, self.units, self.plans)

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


def _app_cache(manifest: Manifest) -> Path:
    cache = manifest.root / ".wasmesh"
    cache.mkdir(exist_ok=True)
    ignore = cache / ".gitignore"
    if not ignore.exists():
        ignore.write_text("# build outputs of wasmesh\n*\n")
    return cache


def _unit_component(
    plan: UnitPlan, composed: Path, units: Mapping[str, Component], plans: tuple[UnitPlan, ...]
) -> Component:
    grants, limits = runtime_grants(plan.grants)
    loaded = load_component(composed, fuel=limits.fuel is not None)
    # Native WASI unless the unit needs the Python layer (wasi:http, network grants).
    capabilities: list[Any] = [default_wasi(loaded, grants, (), plan.name)]
    links = _remote_links(plan, loaded, units, plans)
    if links is not None:
        capabilities.append(links)
    return UnitComponent(loaded, lambda: Runner(loaded, grants, limits, capabilities=capabilities))


def _remote_links(
    plan: UnitPlan,
    loaded: LoadedComponent,
    units: Mapping[str, Component],
    plans: tuple[UnitPlan, ...],
) -> CrossUnitLinks | None:
    if not plan.remote:
        return None
    entries = {e: p.name for p in plans for e in p.entries}
    targets: dict[str, tuple[str, Caller]] = {}
    for link in plan.remote:
        assert link.provider is not None and link.export is not None
        provider = units[entries[link.provider]]
        targets[link.import_name] = (link.export, _caller(provider))
    return CrossUnitLinks(loaded.world, targets)


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
