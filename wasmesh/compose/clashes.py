"""Entries of one unit that export the same interface, and the default units that avoid them.

A unit's composed component exports each interface once, so two of its entries cannot both
export, say, `wasi:http/incoming-handler` (two HTTP components with their own routes). An app
without a `[deploy]` table is one unit unless that happens; then each component is a unit of
its own (as `strategy = "per-component"`), which is what two separately routed handlers need.
A clash inside units the manifest declares is refused at plan time, naming both components
and the `[deploy]` line that fixes it.
"""

from __future__ import annotations

from collections.abc import Mapping

from wasmesh.compose.manifest import MONOLITH_UNIT, Manifest
from wasmesh.compose.shell import exported_interfaces
from wasmesh.compose.units import UnitPlan
from wasmesh.engine.world import World
from wasmesh.errors import ManifestError
from wasmesh.names import InterfaceName


def clash(plan: UnitPlan, worlds: Mapping[str, World]) -> tuple[str, str, str] | None:
    """(first entry, second entry, interface) when two entries of `plan` export one interface,
    in any two versions (`wasi:http/incoming-handler@0.2.10` and `@0.2.12`: the shell carries
    one of each interface)."""
    owner: dict[str, str] = {}
    for entry in plan.entries:
        for item in exported_interfaces(worlds[entry]):  # what the unit's shell re-exports
            key = InterfaceName.parse(item.name).unversioned
            if key in owner:
                return owner[key], entry, key
            owner[key] = entry
    return None


def is_default_monolith(manifest: Manifest) -> bool:
    """True when the manifest has no `[deploy]` table: its one unit is wasmesh's choice, not
    the user's."""
    declared = manifest.positions is not None and manifest.positions.line(("deploy",))
    names = tuple(c.name for c in manifest.components)
    return (
        not declared
        and manifest.strategy == "monolith"
        and [(u.name, u.components) for u in manifest.units] == [(MONOLITH_UNIT, names)]
    )


def check_clashes(manifest: Manifest, plans: tuple[UnitPlan, ...],
                  worlds: Mapping[str, World]) -> None:  # fmt: skip
    """Refuse a unit two of whose entries export one interface, in one sentence naming both
    components and the manifest fix."""
    for plan in plans:
        found = clash(plan, worlds)
        if found is None:
            continue
        first, second, interface = found
        raise ManifestError(
            f"{manifest.where(('deploy',))}: `{first}` and `{second}` both export `{interface}` "
            f"and are entries of one unit `{plan.name}`, which can export it once; give each a "
            'unit of its own with `[deploy]` `strategy = "per-component"` (or '
            f'`units = {{ {first} = ["{first}"], {second} = ["{second}"] }}`)'
        )
