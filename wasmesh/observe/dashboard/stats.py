"""A lattice host's live statistics: a small JSON summary published every `STATS_S` seconds on
`wasmesh.<lattice>.stats.<host>` for dashboards.

The figures are read from the process's metrics (`wasmesh.observe.metrics`, a
`prometheus_client` registry) by metric name, so they are the ones `/metrics` serves:

| summary | metric |
|---|---|
| requests, errors (5xx), requests/s per route | `wasmesh_http_requests_total{route,status}` |
| calls per edge, calls/s | `wasmesh_calls_total{app,caller,interface,placement}` |
| p50/p99 per edge | `wasmesh_call_duration_seconds{app,caller,interface,placement}` |
| live instances | `wasmesh_instances_live` |

Rates and quantiles cover the last `WINDOW_S` seconds; totals count from the host's start.
Quantiles interpolate within histogram buckets as Prometheus's `histogram_quantile` does
(prometheus.io, "Histograms and summaries"). A metric the process does not have (or metrics
off) counts as 0.

The document (`STATS_SCHEMA`):

    {"schema": 1, "host": str, "labels": {str: str}, "capacity": int, "admin": URL or "",
     "units": [{"app", "unit", "digest", "state"}], "at": unix seconds, "window": seconds,
     "load": {"loadavg": float, "rss_bytes": int, "in_flight": float, "instances": float},
     "routes": [{"route", "requests", "errors", "rps", "error_rate"}],
     "edges": [{"app", "caller", "interface", "placement", "calls", "calls_per_s", "p50_ms",
                "p99_ms", "buckets": [[le seconds, calls in the window], ...]}]}
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import os
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from prometheus_client.registry import Collector, CollectorRegistry

from wasmesh.observe import metrics

if TYPE_CHECKING:
    from wasmesh.lattice.host import Host

log = logging.getLogger("wasmesh.observe.dashboard")

STATS_S = 1.0  # a host publishes its summary this often
WINDOW_S = 10.0  # rates and quantiles cover this many seconds
STATS_SCHEMA = 1

REQUESTS = "wasmesh_http_requests_total"
IN_FLIGHT = "wasmesh_http_requests_in_flight"
CALLS = "wasmesh_calls_total"
CALL_SECONDS = "wasmesh_call_duration_seconds"
INSTANCES = "wasmesh_instances_live"
# what a summary reads: collecting only these skips the rest (the process collector, ...)
READ = [REQUESTS, IN_FLIGHT, CALLS, f"{CALL_SECONDS}_bucket", INSTANCES]

Edge = tuple[str, str, str, str]  # (app, caller, interface, placement)
Buckets = list[tuple[float, float]]  # (upper bound in seconds, cumulative count)


@dataclass
class Reading:
    """The registry's figures at one moment (`time.monotonic()` seconds)."""

    at: float
    requests: dict[str, float] = field(default_factory=dict)  # route -> requests
    errors: dict[str, float] = field(default_factory=dict)  # route -> 5xx answers
    calls: dict[Edge, float] = field(default_factory=dict)
    buckets: dict[Edge, dict[float, float]] = field(default_factory=dict)  # edge -> le -> count
    in_flight: float = 0.0
    instances: float = 0.0


def read(registry: Collector | None, at: float | None = None) -> Reading:
    """What the summary needs from `registry` (None: metrics are off, nothing counted),
    summed over the labels it does not keep."""
    out = Reading(time.monotonic() if at is None else at)
    for family in registry.collect() if registry is not None else ():
        for s in family.samples:
            labels = s.labels
            if s.name == REQUESTS:
                route = labels.get("route", "")
                out.requests[route] = out.requests.get(route, 0.0) + s.value
                if labels.get("status", "").startswith("5"):
                    out.errors[route] = out.errors.get(route, 0.0) + s.value
            elif s.name == CALLS:
                edge = _edge(labels)
                out.calls[edge] = out.calls.get(edge, 0.0) + s.value
            elif s.name == f"{CALL_SECONDS}_bucket":
                le = float(labels.get("le", "+Inf"))
                per = out.buckets.setdefault(_edge(labels), {})
                per[le] = per.get(le, 0.0) + s.value
            elif s.name == IN_FLIGHT:
                out.in_flight += s.value
            elif s.name == INSTANCES:
                out.instances += s.value
    return out


def _edge(labels: dict[str, str]) -> Edge:
    return (labels.get("app", ""), labels.get("caller", ""), labels.get("interface", ""),
            labels.get("placement", ""))  # fmt: skip


def quantile(q: float, buckets: Iterable[tuple[float, float]]) -> float | None:
    """The `q`-quantile (0..1) of a histogram given as (upper bound, cumulative count) pairs,
    interpolated linearly within its bucket (Prometheus's `histogram_quantile`); None when it
    counts nothing. A quantile in the `+Inf` bucket is the highest finite bound."""
    ordered = sorted(buckets)
    if not ordered or ordered[-1][1] <= 0:
        return None
    rank = q * ordered[-1][1]
    lower, below = 0.0, 0.0
    for le, count in ordered:
        if count >= rank:
            if math.isinf(le):
                return lower
            if count == below:
                return le
            return lower + (le - lower) * (rank - below) / (count - below)
        lower, below = le, count
    return lower


def summarize(old: Reading | None, new: Reading) -> dict[str, Any]:
    """The `routes`, `edges` and load figures of the summary: totals from `new`, rates and
    quantiles over the time since `old` (everything counted so far when there is none)."""
    base = old or Reading(new.at)
    seconds = max(new.at - base.at, 1e-9) if old is not None else 0.0

    def rate(now: float, before: float) -> float:
        return round((now - before) / seconds, 3) if seconds else 0.0

    routes = []
    for route in sorted(new.requests):
        done = new.requests[route] - base.requests.get(route, 0.0)
        failed = new.errors.get(route, 0.0) - base.errors.get(route, 0.0)
        routes.append({
            "route": route,
            "requests": new.requests[route],
            "errors": new.errors.get(route, 0.0),
            "rps": rate(new.requests[route], base.requests.get(route, 0.0)),
            "error_rate": round(failed / done, 4) if done > 0 else 0.0,
        })  # fmt: skip
    edges = []
    for edge in sorted(set(new.calls) | set(new.buckets)):
        window = _window(new.buckets.get(edge, {}), base.buckets.get(edge, {}))
        edges.append({
            "app": edge[0], "caller": edge[1], "interface": edge[2], "placement": edge[3],
            "calls": new.calls.get(edge, 0.0),
            "calls_per_s": rate(new.calls.get(edge, 0.0), base.calls.get(edge, 0.0)),
            **latencies(window),
            "buckets": [[_le(le), n] for le, n in window] if window[-1:] and window[-1][1] else [],
        })  # fmt: skip
    return {"routes": routes, "edges": edges, "in_flight": new.in_flight,
            "instances": new.instances}  # fmt: skip


def latencies(window: Buckets) -> dict[str, float | None]:
    """p50 and p99 in milliseconds of a histogram window (None when it counts nothing)."""
    out: dict[str, float | None] = {}
    for name, q in (("p50_ms", 0.5), ("p99_ms", 0.99)):
        value = quantile(q, window)
        out[name] = None if value is None else round(value * 1000, 3)
    return out


def _window(new: dict[float, float], old: dict[float, float]) -> Buckets:
    return sorted((le, count - old.get(le, 0.0)) for le, count in new.items())


def _le(le: float) -> float | str:
    return "+Inf" if math.isinf(le) else le


def merge_buckets(windows: Iterable[Iterable[list[Any]]]) -> Buckets:
    """Sum histogram windows as the summaries carry them ([le, count] with "+Inf") into one."""
    total: dict[float, float] = {}
    for window in windows:
        for le, count in window:
            key = float(le)
            total[key] = total.get(key, 0.0) + float(count)
    return sorted(total.items())


def _rss_bytes() -> int:
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


class StatsPublisher:
    """Publishes `host`'s summary every `STATS_S` seconds while it runs (see the module doc)."""

    def __init__(self, host: Host, registry: CollectorRegistry | None = None) -> None:
        """`registry`: where to read the figures (default: the process's metrics, when on)."""
        self.host = host
        self.registry = registry
        self._readings: deque[Reading] = deque()

    def document(self) -> dict[str, Any]:
        """The summary now (and remember this reading for the next window)."""
        active = metrics.active()
        registry = self.registry or (active.registry if active is not None else None)
        reading = read(registry.restricted_registry(READ) if registry is not None else None)
        while len(self._readings) > 1 and reading.at - self._readings[1].at >= WINDOW_S:
            self._readings.popleft()
        old = self._readings[0] if self._readings else None
        self._readings.append(reading)
        beat = self.host.heartbeat()
        figures = summarize(old, reading)
        return {
            "schema": STATS_SCHEMA,
            "host": beat.host,
            "labels": beat.labels,
            "capacity": beat.capacity,
            "admin": self.host.admin_url,  # its admin listener ("" when it has none)
            "units": [asdict(u) for u in beat.units],
            "at": time.time(),
            "window": round(reading.at - old.at, 6) if old else 0.0,
            "load": {
                "loadavg": os.getloadavg()[0],
                "rss_bytes": _rss_bytes(),
                "in_flight": figures.pop("in_flight"),
                "instances": figures.pop("instances"),
            },
            **figures,
        }

    async def run(self) -> None:
        """Publish until cancelled; a failed publish (NATS reconnecting) is retried next time."""
        subject = self.host.subjects.stats(self.host.host_id)
        while True:
            try:
                body = json.dumps(self.document(), separators=(",", ":")).encode()
                await self.host.nc.publish(subject, body)
            except Exception as exc:
                log.debug("stats not published: %s", exc)
            await asyncio.sleep(STATS_S)


def start_publishing(host: Host) -> asyncio.Task[None]:
    """Start publishing `host`'s live statistics; cancel the task to stop."""
    return asyncio.create_task(StatsPublisher(host).run())
