"""From a `wasmesh.toml` app to the units the lattice deploys.

The compose layer builds, wires and plans the app into deployment units and fuses each into
one component; every *remote* link of a unit (an import served by another unit) becomes a
stub on the host that runs it, calling the provider unit's queue group.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from wasmesh import plugins
from wasmesh.compose.composer import compose_unit
from wasmesh.compose.plan import plan_app
from wasmesh.lattice.errors import LatticeError
from wasmesh.lattice.messaging import spec_messaging
from wasmesh.lattice.topology import Topology, UnitDeployment
from wasmesh.policy import Policy, StoreGrant
from wasmesh.triggers.messaging import subscribed


@dataclass(frozen=True)
class Placement:
    """Where a unit may run: replicas, required host labels, a label to spread across, and
    how many replicas are instantiated when placed (`min_replicas`; None: all, 0: none until
    the first call, Knative's `min-scale = 0`)."""

    replicas: int = 1
    labels: Mapping[str, str] = field(default_factory=dict)
    spread: str | None = None
    min_replicas: int | None = None


def topology_from_manifest(
    path: str | Path,
    placements: Mapping[str, Placement] | None = None,
    *,
    strategy: str | None = None,
    cache: Path | None = None,
    variables_file: Path | None = None,
) -> tuple[str, Topology]:
    """(app name, topology) of the app at `path`, one lattice unit per deployment unit.

    `placements` gives per-unit replicas and labels (default: one replica anywhere);
    `strategy` ("monolith" or "per-component") overrides the manifest's `[deploy]`.
    Each unit carries its plan's policy whole (as under `wasmesh up`), for RPC and HTTP alike,
    but with its key-value stores in NATS KV (`on_lattice`), so every host sees one store;
    each `[[triggers.http]]` route and `[[triggers.messaging]]` subscription goes to the unit
    holding its component. Variables are resolved here (`variables_file`; a missing required
    one raises); secret config values travel as templates each host completes
    (`wasmesh.compose.variables`).
    """
    plan = plan_app(path, strategy=strategy, cache=cache, variables_file=variables_file)
    for trigger in plan.manifest.triggers:
        entry = plugins.trigger(trigger.kind)
        if entry is not None and entry.lattice is None:
            raise LatticeError(
                f"wasmesh.toml:{trigger.line}: a lattice does not run [[triggers.{trigger.kind}]] "
                "tables; run the app with `wasmesh up`, or remove the table to deploy it."
            )
    home = {component: unit.name for unit in plan.plans for component in unit.components}
    routes = {t.route: home[t.component] for t in plan.manifest.http_triggers}
    units: list[UnitDeployment] = []
    for unit in plan.plans:
        composed = compose_unit(unit, plan.paths, plan.graph.worlds, plan.cache)
        imports: dict[str, str] = {}
        exports: dict[str, str] = {}
        for link in unit.remote:
            assert link.provider is not None and link.export is not None
            imports[link.import_name] = home[link.provider]
            if link.export != link.import_name:
                exports[link.import_name] = link.export
        where = (placements or {}).get(unit.name, Placement())
        units.append(
            UnitDeployment(
                name=unit.name,
                component=composed,
                replicas=where.replicas,
                labels=dict(where.labels),
                spread=where.spread,
                min_replicas=where.min_replicas,
                imports=imports,
                import_exports=exports,
                policy=on_lattice(unit.policy, plan.manifest.name),
                messaging=tuple(
                    spec_messaging(subscribed(home.__getitem__, t))
                    for t in plan.manifest.triggers
                    if t.kind == "messaging" and home[t.component] == unit.name
                ),
            )
        )
    return plan.manifest.name, Topology(tuple(units), routes, plan.manifest.version)


def on_lattice(policy: Policy, app: str) -> Policy:
    """`policy` with each key-value store that is not already in NATS KV moved to the
    lattice's key-value bucket (prefix `APP.STORE`): a SQLite file or a memory store would
    differ from host to host."""
    stores = tuple(
        grant if grant.backend == "nats" else StoreGrant(grant.name, "nats", f"/{app}.{grant.name}")
        for grant in policy.grants.key_value_stores
    )
    if stores == policy.grants.key_value_stores:
        return policy
    return replace(policy, grants=replace(policy.grants, key_value_stores=stores))
