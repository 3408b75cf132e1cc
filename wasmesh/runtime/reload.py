"""A running application's next version: rebuilt from its sources, only changed units anew.

    fresh = reload_app(app, "examples/polyglot")
    fresh.app          # the next App: changed units new, the others the very same objects
    fresh.units        # the units whose composed component (or plan) changed, and their callers

Every component is rebuilt through the content-keyed build cache (an unchanged one costs a hash
of its inputs), the app is wired and planned again, and a unit is composed and loaded anew when
its composed component's digest or its plan (members, links, grants, limits) changed. A unit
calling such a unit through the host is made anew too, so that its calls reach the new version.
The units left alone keep their instances. Build, wiring and composition errors propagate (a
`WasmeshError`): the running app is untouched, so a caller keeps serving it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

from wasmesh.api import Component
from wasmesh.compose.composer import compose_unit
from wasmesh.compose.manifest import TriggerDecl
from wasmesh.compose.plan import plan_app
from wasmesh.compose.units import UnitPlan
from wasmesh.runtime.app import App, unit_component


@dataclass(frozen=True)
class Reloaded:
    """The next version of an app: `units` (names, instantiation order) are new objects in
    `app`; `retired` are the objects they replace, to be closed once nothing calls them."""

    app: App
    units: tuple[str, ...]
    retired: tuple[Component, ...]


def reload_app(
    app: App,
    path: str | Path,
    *,
    strategy: str | None = None,
    variables_file: Path | None = None,
) -> Reloaded:
    """Rebuild `app` from the manifest at `path` (loaded with the same `strategy` and
    `variables_file`); see the module's docstring. The manifest's triggers may have changed
    too (`changed_triggers` tells which kinds): the next app carries the new ones, for the
    triggers that can reload to serve."""
    plan = plan_app(path, strategy=strategy, quiet=True, variables_file=variables_file)
    old_plans = {p.name: p for p in app.plans}
    changed: set[str] = set()
    composed: dict[str, Path] = {}
    for unit in plan.plans:
        composed[unit.name] = compose_unit(unit, plan.paths, plan.graph.worlds, plan.cache)
        old = app.units.get(unit.name)
        if old is None or old_plans.get(unit.name) != unit:
            changed.add(unit.name)  # new, or its members, links or policy changed
        elif _digest(composed[unit.name]) != old.loaded.digest:
            changed.add(unit.name)
    affected = _with_callers(changed, plan.plans)
    units: dict[str, Component] = {}
    made: list[str] = []
    for unit in plan.plans:  # providers before their callers
        if unit.name in affected:
            units[unit.name] = unit_component(
                unit, composed[unit.name], units, plan.plans, app.broker, plan.manifest.name
            )
            made.append(unit.name)
        else:
            units[unit.name] = app.units[unit.name]
    retired = tuple(c for name, c in app.units.items() if name in affected or name not in units)
    fresh = App(plan.manifest, plan.graph, plan.plans, units, plan.paths, app.broker)
    return Reloaded(fresh, tuple(made), retired)


def changed_triggers(old: Collection[TriggerDecl], new: Collection[TriggerDecl]) -> list[str]:
    """The trigger kinds (`http`, `cron`, ...) whose tables differ between `old` and `new`,
    in the order they first appear; where a table sits in the file does not matter."""
    kinds = list(dict.fromkeys(d.kind for d in (*old, *new)))
    return [k for k in kinds if _triggers(old, k) != _triggers(new, k)]


def _triggers(decls: Collection[TriggerDecl], kind: str) -> list[tuple[object, ...]]:
    return [(d.kind, d.address, d.component, d.options) for d in decls if d.kind == kind]


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _with_callers(changed: set[str], plans: tuple[UnitPlan, ...]) -> set[str]:
    """`changed` and every unit calling one of them, directly or not."""
    home = {c: p.name for p in plans for c in p.components}
    affected = set(changed)
    grew = True
    while grew:
        grew = False
        for p in plans:
            if p.name not in affected and any(home.get(c) in affected for c in p.imports_from):
                affected.add(p.name)
                grew = True
    return affected
