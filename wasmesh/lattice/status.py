"""An app's status as the lattice knows it: desired, placed, and running on hosts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from wasmesh.lattice.schema import DesiredState, HostAppStatus, Placement


@dataclass(frozen=True)
class AppStatus:
    """What is desired for an app, where the scheduler put it and what hosts report.

    `live` names the hosts in the lattice now (None: unknown, every report counts); reports
    and placement reasons from hosts that left are not shown. `history` lists every version
    the lattice keeps as (version, the version whose units it re-published if a rollback, the
    manifest's `[app] version` of its units).
    """

    desired: DesiredState
    placement: Placement | None
    hosts: tuple[HostAppStatus, ...]
    live: frozenset[str] | None = None
    history: tuple[tuple[int, int | None, str], ...] = ()

    def _alive(self, host: str) -> bool:
        return self.live is None or host in self.live

    def running(self, unit: str) -> list[str]:
        """Live hosts that serve `unit` at its desired digest."""
        spec = next(u for u in self.desired.units if u.name == unit)
        return sorted(
            h.host
            for h in self.hosts
            for u in h.units
            if u.unit == unit
            and u.digest == spec.digest
            and u.state == "running"
            and self._alive(h.host)
        )

    @property
    def ready(self) -> bool:
        """Every unit runs its desired version on every host it is placed on, fully replicated,
        and the scheduler has moved calls to it (`Placement.live`)."""
        p = self.placement
        if p is None or p.version != self.desired.version or p.live != self.desired.version:
            return False
        for spec in self.desired.units:
            placed = p.units.get(spec.name, [])
            if len(placed) < spec.replicas or not set(placed) <= set(self.running(spec.name)):
                return False
        return True

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready summary: version, the version serving calls, history, and per unit its
        digest, placement and hosts."""
        placed = self.placement.units if self.placement else {}
        return {
            "app": self.desired.app,
            "version": self.desired.version,
            "rolled_back_to": self.desired.source_version,
            "app_version": self.desired.app_version,
            "history": [
                {"version": v, "rolled_back_to": s, "app_version": a} for v, s, a in self.history
            ],
            "ready": self.ready,
            "serving": self.serving,
            "units": {
                u.name: {
                    "digest": u.digest,
                    "replicas": u.replicas,
                    "placed": [h for h in placed.get(u.name, []) if self._alive(h)],
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
        """Why units are not placed, and unit failures on live hosts, one line each."""
        out: list[str] = []
        p = self.placement
        if self.live is not None and not self.live:
            out += [
                f"{u.name}: not placed: no host is in the lattice; start one with `wasmesh host`."
                for u in self.desired.units
            ]
        elif p is not None:
            gone = {h for hs in p.units.values() for h in hs if not self._alive(h)}
            if not gone:  # reasons written while hosts that left were counted are stale
                out += [f"{u}: {r}" for u, r in p.reasons.items()]
        wanted = {(u.name, u.digest) for u in self.desired.units}
        out += [  # failures of this version only: an earlier one's no longer apply
            f"{u.unit} on {h.host}: {u.error}"
            for h in self.hosts
            if self._alive(h.host)
            for u in h.units
            if u.error and (u.unit, u.digest) in wanted
        ]
        return out

    @property
    def serving(self) -> int:
        """The version whose units serve calls (`Placement.live`; 0: none yet). Below
        `desired.version` while the new version has not started everywhere, or was refused."""
        return self.placement.live if self.placement is not None else 0
