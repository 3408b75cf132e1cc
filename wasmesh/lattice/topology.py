"""What a deploy publishes, before it reaches the lattice: an app's units, their placement
constraints and HTTP routes (`Topology`), and how each unit's imports are wired to the unit
that exports them.

`wasmesh.lattice.app` makes a `Topology` from a manifest; `LatticeClient.deploy` publishes it.
`resolve` finds the unit, interface and function an export name means in a deployed app.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wasmesh import plugins
from wasmesh.errors import ExportNotFound, LinkError
from wasmesh.lattice.schema import DesiredState, UnitSpec
from wasmesh.lattice.unit import interfaces
from wasmesh.names import InterfaceName
from wasmesh.policy import Policy


@dataclass(frozen=True)
class UnitDeployment:
    """One unit of an app as the user deploys it: a component and where it may run.

    `imports` maps an imported interface to the unit that provides it; imports left out are
    wired to the one unit of the app that exports the interface. `import_exports` names the
    provider's export where it differs from the import (a semver-compatible version).
    """

    name: str
    component: Path
    replicas: int = 1
    labels: Mapping[str, str] = field(default_factory=dict)
    spread: str | None = None
    min_replicas: int | None = None  # replicas instantiated when placed (None: all)
    imports: Mapping[str, str] = field(default_factory=dict)
    import_exports: Mapping[str, str] = field(default_factory=dict)
    policy: Policy = field(default_factory=Policy)  # the grants and limits it runs under
    # its [[triggers.messaging]] subscriptions (`wasmesh.lattice.messaging.spec_messaging`)
    messaging: tuple[Mapping[str, Any], ...] = ()


@dataclass(frozen=True)
class Topology:
    """The units of an app and their placement constraints; `routes` maps HTTP route
    patterns to the unit serving them."""

    units: tuple[UnitDeployment, ...]
    routes: Mapping[str, str] = field(default_factory=dict)
    version: str = ""  # the manifest's `[app] version`, shown by `status` beside the revision


def wire(units: Sequence[UnitDeployment], worlds: dict[str, Any]) -> dict[str, dict[str, str]]:
    """interface -> providing unit, for each unit's non-WASI imports."""
    exported = {name: interfaces(world.exports) for name, world in worlds.items()}
    wiring: dict[str, dict[str, str]] = {}
    for unit in units:
        wiring[unit.name] = {}
        for iface, funcs in interfaces(worlds[unit.name].imports).items():
            if iface == "" or plugins.host_serves(iface):
                continue
            if any(sig.has_handles for sig in funcs.values()):
                raise LinkError(
                    f"unit {unit.name} imports {iface}, whose functions pass resource handles, "
                    "which cannot cross hosts; put its provider in the same unit."
                )
            provider = unit.imports.get(iface) or _provider(unit.name, iface, exported)
            export = unit.import_exports.get(iface, iface)
            if export not in exported.get(provider, {}):
                raise LinkError(f"unit {provider} does not export {export} for {unit.name}.")
            wiring[unit.name][iface] = provider
    return wiring


def http_spec(unit: str, routes: Mapping[str, str]) -> dict[str, Any]:
    """The HTTP trigger's part of a unit's spec: the route patterns it serves (none: empty)."""
    mine = sorted(pattern for pattern, owner in routes.items() if owner == unit)
    return {"routes": mine} if mine else {}


def _provider(unit: str, iface: str, exported: dict[str, Any]) -> str:
    found = [name for name, ifaces in exported.items() if iface in ifaces and name != unit]
    if len(found) != 1:
        which = "no unit" if not found else f"several units ({', '.join(found)})"
        raise LinkError(
            f"unit {unit} imports {iface}, which {which} of the app exports; "
            "add its provider or name it in the unit's imports."
        )
    return found[0]


def resolve(desired: DesiredState, export: str) -> tuple[UnitSpec, str, str]:
    """(unit, interface, function) of the app's export named `export`."""
    iface, _, func = export.rpartition("#")
    found: list[tuple[UnitSpec, str, str]] = []
    for unit in desired.units:
        for name, funcs in unit.exports.items():
            if func not in funcs:
                continue
            if not iface or InterfaceName.parse(name).matches(InterfaceName.parse(iface)):
                found.append((unit, name, func))
    if len(found) != 1:
        what = "no export" if not found else "several exports"
        raise ExportNotFound(
            f"app {desired.app} has {what} named {export!r}; "
            "name it as interface#function (see `wasmesh status`)."
        )
    return found[0]


def unit_label(app: str, unit: str, iface: str) -> str:
    """How errors name an interface of a deployed unit: in the app's words, not subjects."""
    return f"unit {unit} of app {app} ({iface or 'world'})"
