"""Deployment units: which components are fused together, and what crosses between units.

A unit is composed into one component whose exports are those of its *entries*: the members
no other member imports (with several entries, a generated shell re-exports them all, see
`wasmesh.compose.shell`). Imports served by another unit are *remote* links: the lattice stubs
them, and in one process they are linked through the host. Handles (resources, streams)
cannot cross units, so a link carrying them must stay inside one unit.

The plan also decides what the host serves each unit (its grants) and which members get an
isolation adapter instead (see `wasmesh.compose.isolation`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from wasmesh.compose.isolation import ENVIRONMENT, PREOPENS, AdapterRequest
from wasmesh.compose.manifest import Manifest, Unit
from wasmesh.compose.wiring import Link, WiringError, WiringGraph
from wasmesh.names import InterfaceName
from wasmesh.policy import Grants, Limits, Policy


class PlanError(WiringError):
    """The deployment units cannot be built as declared."""


@dataclass(frozen=True)
class UnitPlan:
    name: str
    entries: tuple[str, ...]
    components: tuple[str, ...]  # providers first, entries last
    internal: tuple[Link, ...]
    remote: tuple[Link, ...]
    host: tuple[Link, ...]
    policy: Policy = field(default_factory=Policy)  # what the host serves the unit
    isolation: Mapping[str, AdapterRequest] = field(default_factory=dict)

    @property
    def program(self) -> str:
        """The name its instances go by (`argv[0]`, guest log records): its component's when
        it holds one, else the unit's."""
        return self.components[0] if len(self.components) == 1 else self.name

    @property
    def entry(self) -> str:
        """The first entry: the root of the composition when the unit has only one."""
        return self.entries[0]

    @property
    def imports_from(self) -> tuple[str, ...]:
        """The components of other units this unit calls."""
        return tuple(sorted({link.provider for link in self.remote if link.provider}))


def plan_units(manifest: Manifest, graph: WiringGraph) -> tuple[UnitPlan, ...]:
    """One `UnitPlan` per `[deploy]` unit, in the order units must be instantiated."""
    home = {c: unit.name for unit in manifest.units for c in unit.components}
    plans = {unit.name: _plan(manifest, graph, unit, home) for unit in manifest.units}
    entries = {e: plan.name for plan in plans.values() for e in plan.entries}
    for plan in plans.values():
        for link in plan.remote:
            assert link.provider is not None
            if link.provider not in entries:
                raise PlanError(
                    f"`{link.consumer}` (unit `{plan.name}`) imports `{link.import_name}` from "
                    f"`{link.provider}`, which is inside unit `{home[link.provider]}` behind "
                    f"{_names(plans[home[link.provider]].entries)}; put `{link.provider}` in a "
                    "unit of its own or in the same unit as its consumer"
                )
            if graph.has_handles(link):
                raise PlanError(
                    f"`{link.consumer}` and `{link.provider}` share resource handles through "
                    f"`{link.import_name}`, which cannot cross units; deploy them in one unit"
                )
    for trigger in manifest.triggers:
        if trigger.component not in entries:
            unit = plans[home[trigger.component]]
            raise PlanError(
                f"wasmesh.toml:{trigger.line}: a trigger targets `{trigger.component}`, which is "
                f"inside unit `{unit.name}` behind {_names(unit.entries)}; "
                "give it a unit of its own"
            )
    return _ordered(plans)


def _plan(manifest: Manifest, graph: WiringGraph, unit: Unit, home: dict[str, str]) -> UnitPlan:
    members = set(unit.components)
    links = [link for c in unit.components for link in graph.links_of(c)]
    internal = [link for link in links if link.kind == "component" and link.provider in members]
    remote = [link for link in links if link.kind == "component" and link.provider not in members]
    host = [link for link in links if link.kind == "host"]
    consumed = {link.provider for link in internal}
    entries = tuple(c for c in unit.components if c not in consumed)
    order = _providers_first(entries, internal)
    imports = {c: {link.import_name for link in graph.links_of(c)} for c in unit.components}
    policy, isolation = _isolate(manifest, unit, entries[0], order, imports)
    return UnitPlan(
        unit.name, entries, order, tuple(internal), tuple(remote), tuple(host),
        policy, isolation,
    )  # fmt: skip


def _names(names: tuple[str, ...]) -> str:
    return " and ".join(f"`{n}`" for n in names)


def _providers_first(entries: tuple[str, ...], internal: list[Link]) -> tuple[str, ...]:
    order: list[str] = []

    def visit(node: str) -> None:
        for link in internal:
            if link.consumer == node and link.provider and link.provider not in order:
                visit(link.provider)
        if node not in order:
            order.append(node)

    for entry in entries:
        visit(entry)
    return tuple(order)


def _uses(imports: set[str], *prefixes: str) -> bool:
    return any(InterfaceName.parse(i).unversioned.startswith(prefixes) for i in imports)


def _isolate(
    manifest: Manifest,
    unit: Unit,
    entry: str,
    order: tuple[str, ...],
    imports: dict[str, set[str]],
) -> tuple[Policy, dict[str, AdapterRequest]]:
    """The policy the host serves `unit`, and the adapters standing in for it per member."""
    policies = {c: manifest.component(c).policy for c in order}
    grants = {c: p.grants for c, p in policies.items()}
    by_priority = [entry, *[c for c in order if c != entry]]
    env_owner = next((c for c in by_priority if grants[c].env or grants[c].env_inherit), entry)
    dirs_owner = next((c for c in by_priority if grants[c].dirs), entry)
    host_env = (grants[env_owner].env, grants[env_owner].env_inherit)
    host_dirs = grants[dirs_owner].dirs
    isolation: dict[str, AdapterRequest] = {}
    for c in order:
        g = grants[c]
        env: tuple[tuple[str, str], ...] | None = None
        if _uses(imports[c], ENVIRONMENT) and (g.env, g.env_inherit) != host_env:
            if g.env_inherit:
                raise _split(unit, c, env_owner, "inherit different environment variables")
            env = g.env
        deny_dirs = _uses(imports[c], PREOPENS) and g.dirs != host_dirs
        if deny_dirs and g.dirs:
            raise _split(unit, c, dirs_owner, "are granted different directories")
        if env is not None or deny_dirs:
            isolation[c] = AdapterRequest(env, deny_dirs)
    for what, prefixes in (
        ("stdin", ("wasi:cli/stdin",)),
        ("network", ("wasi:sockets/", "wasi:http/outgoing-handler")),
        ("outbound", ("wasi:http/outgoing-handler",)),
        ("key_value_stores", ("wasi:keyvalue/",)),
        ("messaging", ("wasmcloud:messaging/consumer",)),
        ("config", ("wasi:config/",)),
    ):
        users = [c for c in order if _uses(imports[c], *prefixes)]
        values = {repr(getattr(grants[c], what)) for c in users}
        if len(values) > 1:
            key = what.replace("_", "-")  # as the manifest spells it
            raise _split(unit, users[0], users[1], f"have different `{key}` grants")
    return _unit_policy(policies, env_owner, dirs_owner, order, imports), isolation


def _split(unit: Unit, a: str, b: str, why: str) -> PlanError:
    return PlanError(
        f"components `{a}` and `{b}` of unit `{unit.name}` {why}, which one composed unit "
        "cannot keep apart; put them in different units in [deploy]"
    )


def _unit_policy(
    policies: dict[str, Policy],
    env_owner: str,
    dirs_owner: str,
    order: tuple[str, ...],
    imports: dict[str, set[str]],
) -> Policy:
    grants = {c: p.grants for c, p in policies.items()}

    def pick(*prefixes: str) -> Grants:
        users = [c for c in order if _uses(imports[c], *prefixes)]
        return grants[users[0]] if users else Grants()

    memories = [policies[c].limits.memory_bytes for c in order]
    timeouts = [policies[c].limits.timeout for c in order]
    fuels = [policies[c].limits.fuel for c in order]
    unit_grants = Grants(
        env=grants[env_owner].env,
        env_inherit=grants[env_owner].env_inherit,
        dirs=grants[dirs_owner].dirs,
        stdin=pick("wasi:cli/stdin").stdin,
        network=pick("wasi:sockets/", "wasi:http/outgoing-handler").network,
        outbound=pick("wasi:http/outgoing-handler").outbound,
        key_value_stores=pick("wasi:keyvalue/").key_value_stores,
        messaging=pick("wasmcloud:messaging/consumer").messaging,
        config=pick("wasi:config/").config,
    )
    # unlimited if any member is; the memory limit caps each linear memory of the unit (one
    # per member), so it is the largest member's, and fuel, spent by the whole unit, the sum
    limits = Limits(
        memory_bytes=None if None in memories else max(m for m in memories if m is not None),
        timeout=None if None in timeouts else max(t for t in timeouts if t is not None),
        fuel=None if None in fuels else sum(f for f in fuels if f is not None),
    )
    return Policy(unit_grants, limits)


def _ordered(plans: dict[str, UnitPlan]) -> tuple[UnitPlan, ...]:
    """Units that provide first: a unit is instantiated after every unit it calls."""
    entries = {e: plan for plan in plans.values() for e in plan.entries}
    done: list[UnitPlan] = []

    def visit(plan: UnitPlan) -> None:
        for provider in plan.imports_from:
            if entries[provider] not in done:
                visit(entries[provider])
        if plan not in done:
            done.append(plan)

    for plan in plans.values():
        visit(plan)
    return tuple(done)
