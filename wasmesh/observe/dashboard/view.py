"""One lattice as the dashboard shows it: hosts, apps, the wiring graph, routes and rollouts,
gathered into one JSON document from the lattice's status (as `wasmesh status` reads it) and
the live statistics hosts publish (`wasmesh.observe.dashboard.stats`).

The document (`LatticeView.snapshot`):

    {"lattice": str, "at": unix seconds,
     "hosts": [{"host", "labels", "capacity", "admin": URL or "", "units": ["app/unit"],
                "load": {...} | null,
                "requests": float, "rps": float}],
     "apps": [AppStatus.as_dict() + {"routes": {pattern: unit}}],
     "graph": [{"app", "units": [{"unit", "running": [host], "replicas"}],
                "edges": [{"from", "to", "interface", "calls", "calls_per_s", "p50_ms",
                           "p99_ms"}]}],
     "routes": [{"route", "requests", "errors", "rps", "error_rate"}],
     "rollouts": [{"app", "version", "app_version", "rolled_back_to", "current", "ready"}]}

Any of the lattice's credentials may read it (every role reads status and statistics).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from typing import Any

from nats.aio.msg import Msg

from wasmesh.lattice import schema
from wasmesh.lattice.client import LatticeClient
from wasmesh.lattice.connection import NatsOptions
from wasmesh.lattice.schema import DesiredState
from wasmesh.lattice.store import get_value, read_index
from wasmesh.observe.dashboard.stats import STATS_S, STATS_SCHEMA, latencies, merge_buckets

log = logging.getLogger("wasmesh.observe.dashboard")

STALE_S = 5 * STATS_S  # a host silent this long has left (or lost its connection)
ROLLOUTS = 10  # how many recent versions the document lists


class LatticeView:
    """A live view of one lattice; `await start()`, then `await snapshot()`, `await close()`."""

    def __init__(
        self, nats: str | NatsOptions, lattice: str = "default", client: LatticeClient | None = None
    ) -> None:
        """`client`: read through this connected client (a host's `LatticeClient.sharing`)
        rather than a connection of the view's own."""
        self.client = client or LatticeClient(nats, lattice)
        self._connect = client is None
        self.stats: dict[str, tuple[float, dict[str, Any]]] = {}  # host -> (received, summary)
        self._known: list[dict[str, Any]] = []  # hosts in the inventory when the view started
        self._started = 0.0  # time.monotonic() when the inventory was read

    async def start(self) -> None:
        """Connect, follow the hosts' statistics and read the host inventory once."""
        if self._connect:
            await self.client.connect()
        try:
            await self.client.nc.subscribe(self.client.subjects.stats(), cb=self._on_stats)
            self._known = [dataclasses.asdict(h) for h in await self.client.hosts()]
            self._started = time.monotonic()
        except BaseException:
            await self.client.close()
            raise

    async def close(self) -> None:
        await self.client.close()

    async def _on_stats(self, msg: Msg) -> None:
        try:
            doc = json.loads(msg.data)
        except ValueError:
            return
        if isinstance(doc, dict) and doc.get("schema") == STATS_SCHEMA and "host" in doc:
            self.stats[str(doc["host"])] = (time.monotonic(), doc)

    def live(self) -> dict[str, dict[str, Any]]:
        """The latest summary of every host heard from within `STALE_S`."""
        now = time.monotonic()
        return {h: doc for h, (at, doc) in sorted(self.stats.items()) if now - at <= STALE_S}

    async def snapshot(self) -> dict[str, Any]:
        """The whole document (see the module doc)."""
        live = self.live()
        hosts = [_host(doc) for doc in live.values()]
        if time.monotonic() - self._started <= STALE_S:  # not every host heard from yet
            hosts += [{**h, "units": [f"{u['app']}/{u['unit']}" for u in h["units"]],
                       "load": None, "requests": 0.0, "rps": 0.0}
                      for h in self._known if h["host"] not in self.stats]  # fmt: skip
            hosts.sort(key=lambda h: str(h["host"]))
        names = frozenset(h["host"] for h in hosts)
        apps: list[dict[str, Any]] = []
        graph: list[dict[str, Any]] = []
        rollouts: list[dict[str, Any]] = []
        for desired in await self.client.apps():
            status = await self.client.status(desired.app, full=False)
            history = await self._recent(desired.app)
            status = dataclasses.replace(status, live=names, history=history)
            report = status.as_dict()
            report["routes"] = dict(desired.routes)
            apps.append(report)
            graph.append(app_graph(desired, report, live))
            rollouts += [
                {"app": desired.app, "version": v, "app_version": a, "rolled_back_to": s,
                 "current": v == desired.version, "ready": v == desired.version and status.ready}
                for v, s, a in history
            ]  # fmt: skip
        rollouts.sort(key=lambda r: (-r["version"], r["app"]))
        return {
            "lattice": self.client.subjects.lattice,
            "at": time.time(),
            "hosts": hosts,
            "apps": apps,
            "graph": graph,
            "routes": route_figures(live),
            "rollouts": rollouts[:ROLLOUTS],
        }

    async def _recent(self, app: str) -> tuple[tuple[int, int | None, str], ...]:
        """The app's last `ROLLOUTS` versions, as `LatticeClient.history` gives all of them."""
        store = self.client.store
        latest = (await read_index(store)).latest.get(app, 0)
        out: list[tuple[int, int | None, str]] = []
        for version in range(max(1, latest - ROLLOUTS + 1), latest + 1):
            data, _ = await get_value(store.history, f"{app}.{version}")
            if data:
                old = schema.loads(DesiredState, data)
                out.append((version, old.source_version, old.app_version))
        return tuple(out)


def _host(doc: dict[str, Any]) -> dict[str, Any]:
    routes = doc.get("routes", [])
    return {
        "host": doc["host"],
        "labels": doc.get("labels", {}),
        "capacity": doc.get("capacity", 0),
        "admin": doc.get("admin", ""),
        "units": [f"{u['app']}/{u['unit']}" for u in doc.get("units", [])],
        "load": doc.get("load"),
        "requests": sum(r["requests"] for r in routes),
        "rps": round(sum(r["rps"] for r in routes), 3),
    }


def route_figures(live: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Every route's figures summed over the hosts that serve it."""
    out: dict[str, dict[str, Any]] = {}
    for doc in live.values():
        for r in doc.get("routes", []):
            row = out.setdefault(r["route"], {"route": r["route"], "requests": 0.0, "errors": 0.0,
                                              "rps": 0.0, "failing": 0.0})  # fmt: skip
            row["requests"] += r["requests"]
            row["errors"] += r["errors"]
            row["rps"] = round(row["rps"] + r["rps"], 3)
            row["failing"] += r["rps"] * r["error_rate"]
    for row in out.values():
        failing = row.pop("failing")
        row["error_rate"] = round(failing / row["rps"], 4) if row["rps"] else 0.0
    return [out[k] for k in sorted(out)]


def app_graph(
    desired: DesiredState, report: dict[str, Any], live: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    """The app's units and wiring edges, each edge with its live figures summed over hosts
    (a caller is its unit, as the app's units name it, counted under the app's name: another
    app's unit of the same name is not this one)."""
    units = [
        {"unit": name, "running": u["running"], "replicas": u["replicas"]}
        for name, u in report["units"].items()
    ]
    edges = []
    for spec in desired.units:
        for interface, provider in sorted(spec.imports.items()):
            target = spec.import_exports.get(interface, interface)
            seen = [
                e
                for doc in live.values()
                for e in doc.get("edges", [])
                if e.get("app") == desired.app and e["caller"] == spec.name
                and e["interface"] in (interface, target)
            ]
            window = merge_buckets(e.get("buckets", []) for e in seen)
            edges.append({
                "from": spec.name, "to": provider, "interface": interface,
                "calls": sum(e["calls"] for e in seen),
                "calls_per_s": round(sum(e["calls_per_s"] for e in seen), 3),
                **latencies(window),
            })  # fmt: skip
    return {"app": desired.app, "units": units, "edges": edges}
