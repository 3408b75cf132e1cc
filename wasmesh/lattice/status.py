"""An app's status as the lattice knows it: desired, placed, and running on hosts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from wasmesh.lattice.schema import DesiredState, HostAppStatus, Placement


@dataclass(frozen=True)
class AppStatus:
    """What is desired for an app, where the scheduler put it and what hosts report."""

    desired: DesiredState
    placement: Placement | None
    hosts: tuple[HostAppStatus, ...]

    def running(self, unit: str) -> list[str]:
        """Hosts that serve `unit` at its desired digest."""
        spec = next(u for u in self.desired.units if u.name == unit)
        return sorted(
            h.host
            for h in self.hosts
            for u in h.units
            if u.unit == unit and u.digest == spec.digest and u.state == "running"
        )

    @property
    def ready(self) -> bool:
        """Every unit runs its desired version on every host it is placed on, fully replicated."""
        p = self.placement
        if p is None or p.version != self.desired.version:
            return False
        for spec in self.desired.units:
            placed = p.units.get(spec.name, [])
            if len(placed) < spec.replicas or not set(placed) <= set(self.running(spec.name)):
                return False
        return True

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready summary: version, and per unit its digest, placement and hosts."""
        placed = self.placement.units if self.placement else {}
        return {
            "app": self.desired.app,
            "version": self.desired.version,
            "rolled_back_to": self.desired.source_version,
            "ready": self.ready,
            "units": {
                u.name: {
                    "digest": u.digest,
                    "replicas": u.replicas,
                    "placed": placed.get(u.name, []),
                    "running": self.running(u.name),
                    "exports": u.exports,
                    "imports": u.imports,
                }
                for u in self.desired.units
            },
            "errors": self.errors,
        }

    @property
    def errors(self) -> list[str]:
        """Placement reasons and unit failures, one line each."""
        out = [f"{u}: {r}" for u, r in (self.placement.reasons if self.placement else {}).items()]
        out += [f"{u.unit} on {h.host}: {u.error}" for h in self.hosts for u in h.units if u.error]
        return out
