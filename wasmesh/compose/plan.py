"""Building, wiring and planning an application: `wasmesh.toml` to deployment units.

    plan = plan_app("examples/polyglot")     # every component built (cached), wired, planned
    plan.plans                                # the units, each with its policy

Both the one-process runtime (`wasmesh.runtime.app.App`) and the lattice
(`wasmesh.lattice.app`) start from an `AppPlan`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from wasmesh.build import ComponentSpec as BuildSpec
from wasmesh.build.cache import store_dir
from wasmesh.compose.clashes import check_clashes, clash, is_default_monolith
from wasmesh.compose.manifest import ComponentSpec, Manifest, load_manifest, with_strategy
from wasmesh.compose.units import UnitPlan, plan_units
from wasmesh.compose.variables import resolve_manifest
from wasmesh.compose.wiring import WiringGraph, default_host, wire
from wasmesh.compose.worlds import world_of
from wasmesh.engine.world import World
from wasmesh.errors import ManifestError

HTTP_HANDLER = "wasi:http/incoming-handler"


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
    return build.build(out_dir / f"{spec.name}.wasm", quiet=quiet, store=store_dir()).path


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
    variables_file: Path | None = None,
    resolve_variables: bool = True,
) -> AppPlan:
    """Build every component of the app at `path`, wire them and plan the units.

    The app's variables are resolved first (`wasmesh.compose.variables`, with
    `variables_file`): a missing required one stops it before anything is built. Without
    `resolve_variables` (to build or show an app, not run it) config values stay templates.
    """
    manifest = load_manifest(path)
    if resolve_variables:
        manifest = resolve_manifest(manifest, variables_file)
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
    _check_http_routes(manifest, worlds)
    plans = plan_units(manifest, graph)
    if strategy is None and is_default_monolith(manifest) and any(clash(p, worlds) for p in plans):
        # two entries export one interface (two HTTP handlers): one unit each, see clashes.py
        manifest = with_strategy(manifest, "per-component")
        plans = plan_units(manifest, graph)
    check_clashes(manifest, plans, worlds)
    return AppPlan(manifest, graph, plans, paths, cache)


def _check_http_routes(manifest: Manifest, worlds: Mapping[str, World]) -> None:
    """Each `[[triggers.http]]` route's component exports `wasi:http/incoming-handler`: known
    at build, so `up` never meets a route it cannot serve."""
    for trigger in manifest.http_triggers:
        world = worlds.get(trigger.component)
        if world is None or any(e.name.startswith(HTTP_HANDLER) for e in world.exports):
            continue
        raise ManifestError(
            f"{manifest.path.name}:{trigger.line}: route {trigger.route!r} goes to component "
            f"`{trigger.component}`, which does not export {HTTP_HANDLER}; build it for the "
            "wasi:http/proxy world or route to a component that does"
        )


def _app_cache(manifest: Manifest) -> Path:
    cache = manifest.root / ".wasmesh"
    cache.mkdir(exist_ok=True)
    ignore = cache / ".gitignore"
    if not ignore.exists():
        ignore.write_text("# build outputs of wasmesh\n*\n")
    return cache
