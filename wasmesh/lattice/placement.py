"""Placement: which live hosts run each unit of an app. Pure functions, no I/O."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import replace

from wasmesh.lattice.schema import DesiredState, Heartbeat, HostAssignment, Placement, UnitSpec


def _fits(unit: UnitSpec, host: Heartbeat) -> bool:
    if unit.spread is not None and unit.spread not in host.labels:
        return False
    return all(host.labels.get(k) == v for k, v in unit.labels.items())


def _why_short(unit: UnitSpec, eligible: list[str], hosts: Mapping[str, Heartbeat]) -> str:
    need = [f"{k}={v}" for k, v in sorted(unit.labels.items())]
    if unit.spread is not None:
        need.append(f"a {unit.spread!r} label")
    wanted = f"{unit.replicas} replica{'s' if unit.replicas != 1 else ''}"
    if not hosts:
        return f"no live host in the lattice for {wanted}; start a host with `wasmesh host`."
    if not eligible:
        return (
            f"no live host has {', '.join(need)} (of {len(hosts)} live); "
            "start a host with those labels or relax the unit's requirements."
        )
    usable = [h for h in eligible if hosts[h].capacity > 0]
    full = sorted(set(eligible) - set(usable))
    if not usable:
        return f"every fitting host is at capacity ({', '.join(full)}); add hosts."
    return (
        f"only {len(usable)} live host{'s' if len(usable) != 1 else ''} fit for {wanted}"
        + (f" (need {', '.join(need)})" if need else "")
        + (f" ({', '.join(full)} at capacity)" if full else "")
        + "; start more hosts or lower the replicas."
    )


def place(
    desired: DesiredState,
    hosts: Mapping[str, Heartbeat],
    previous: Placement | None = None,
    load: Counter[str] | None = None,
) -> Placement:
    """Place each unit's replicas on distinct live hosts that carry its labels.

    Hosts that already run a unit keep it (placement is stable across versions, so rolling
    updates happen in place); new replicas go to the least loaded host, and with `spread` to a
    host whose label value holds the fewest replicas so far. `load` counts units per host and
    is updated, so placing several apps in turn balances across them.
    """
    load = load if load is not None else Counter()
    units: dict[str, list[str]] = {}
    reasons: dict[str, str] = {}
    for unit in desired.units:
        eligible = sorted(h for h, hb in hosts.items() if _fits(unit, hb))
        before = previous.units.get(unit.name, []) if previous else []
        chosen = [h for h in before if h in eligible][: unit.replicas]
        while len(chosen) < unit.replicas:
            # a full host keeps what it runs but takes no new replica
            free = [h for h in eligible if h not in chosen and hosts[h].capacity > 0]
            if not free:
                break
            if unit.spread is not None:
                key = unit.spread
                per_value = Counter(hosts[h].labels[key] for h in chosen)
                pick = min(free, key=lambda h: (per_value[hosts[h].labels[key]], load[h], h))
            else:
                pick = min(free, key=lambda h: (load[h], h))
            chosen.append(pick)
        for h in chosen:
            load[h] += 1
        units[unit.name] = chosen
        if len(chosen) < unit.replicas:
            reasons[unit.name] = _why_short(unit, eligible, hosts)
    return Placement(desired.app, desired.version, units, reasons)


def runs(desired: DesiredState, placement: Placement, hosts: Mapping[str, Heartbeat]) -> bool:
    """Whether every unit of `desired` runs, at its digest, on every host it is placed on
    (and on one at least), as the hosts' heartbeats report."""
    for unit in desired.units:
        placed = placement.units.get(unit.name, [])
        if not placed:
            return False
        for h in placed:
            beat = hosts.get(h)
            running = beat is not None and any(
                (r.app, r.unit, r.digest, r.state)
                == (desired.app, unit.name, unit.digest, "running")
                for r in beat.units
            )
            if not running:
                return False
    return True


def retiring(
    live: DesiredState, desired: DesiredState, hosts: Mapping[str, Heartbeat]
) -> dict[str, list[UnitSpec]]:
    """Per live host, the units of the serving version `live` that `desired` no longer has
    (its topology changed) and that the host runs: they keep running until `desired` runs,
    so a version that cannot start leaves the old one serving."""
    gone = [u for u in live.units if u.name not in {d.name for d in desired.units}]
    out: dict[str, list[UnitSpec]] = {}
    for h, beat in hosts.items():
        running = {(r.unit, r.digest) for r in beat.units
                   if r.app == live.app and r.state == "running"}  # fmt: skip
        kept = [u for u in gone if (u.name, u.digest) in running]
        if kept:
            out[h] = kept
    return out


def assignments(
    placed: Mapping[str, tuple[DesiredState, Placement]],
    hosts: Mapping[str, Heartbeat],
    retired: Mapping[str, Mapping[str, list[UnitSpec]]] | None = None,
) -> dict[str, HostAssignment]:
    """Per live host, the unit specs it must run, from every app's placement, plus the
    `retired` units (app -> host -> specs) still serving while a new topology starts."""
    out: dict[str, dict[str, list[UnitSpec]]] = {h: {} for h in hosts}
    for app, per_host in (retired or {}).items():
        for h, specs in per_host.items():
            if h in out:
                out[h].setdefault(app, []).extend(specs)
    for app, (desired, placement) in placed.items():
        for unit in desired.units:
            for i, h in enumerate(placement.units.get(unit.name, [])):
                if h in out:
                    warm = unit.min_replicas is None or i < unit.min_replicas
                    spec = unit if warm else replace(unit, warm=False)
                    out[h].setdefault(app, []).append(spec)
    return {
        h: HostAssignment(h, {app: tuple(specs) for app, specs in sorted(apps.items())})
        for h, apps in out.items()
    }
