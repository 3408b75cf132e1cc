"""A host's live statistics, read from a real Prometheus registry by metric name."""

from __future__ import annotations

import json
import math

import pytest
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from wasmesh.lattice.host import Host
from wasmesh.observe.dashboard.stats import (
    STATS_SCHEMA,
    StatsPublisher,
    merge_buckets,
    quantile,
    read,
    summarize,
)

EDGE_LABELS = ["app", "caller", "interface", "placement"]


def metrics(registry: CollectorRegistry) -> tuple[Counter, Counter, Histogram, Gauge]:
    """The metrics the summary reads, under their `/metrics` names."""
    requests = Counter("wasmesh_http_requests", "requests", ["route", "method", "status"],
                       registry=registry)  # fmt: skip
    calls = Counter("wasmesh_calls", "calls", EDGE_LABELS, registry=registry)
    seconds = Histogram("wasmesh_call_duration_seconds", "call time", EDGE_LABELS,
                        buckets=(0.001, 0.01, 0.1, 1.0), registry=registry)  # fmt: skip
    live = Gauge("wasmesh_instances_live", "instances", ["unit"], registry=registry)
    return requests, calls, seconds, live


def test_quantiles_interpolate_within_buckets_as_prometheus_does() -> None:
    buckets = [(0.005, 0.0), (0.01, 50.0), (0.1, 100.0), (math.inf, 100.0)]
    assert quantile(0.5, buckets) == pytest.approx(0.01)
    assert quantile(0.99, buckets) == pytest.approx(0.01 + 0.09 * 49 / 50)
    assert quantile(0.5, [(0.1, 0.0), (math.inf, 0.0)]) is None
    # beyond the highest finite bound: that bound, as histogram_quantile answers
    assert quantile(0.99, [(0.1, 10.0), (math.inf, 100.0)]) == 0.1
    summed = merge_buckets([[[0.1, 1], ["+Inf", 1]], [[0.1, 2], ["+Inf", 3]]])
    assert summed == [(0.1, 3.0), (math.inf, 4.0)]


def test_rates_errors_and_latencies_cover_the_window() -> None:
    registry = CollectorRegistry()
    requests, calls, seconds, live = metrics(registry)
    requests.labels("/quote/...", "POST", "200").inc(5)
    before = read(registry, at=100.0)
    requests.labels("/quote/...", "POST", "200").inc(27)
    requests.labels("/quote/...", "POST", "500").inc(3)
    requests.labels("/health", "GET", "404").inc(10)  # 4xx: the client's error, not ours
    edge = ("shop", "front", "shop:pricing/tax@0.1.0", "remote")
    for i in range(20):
        calls.labels(*edge).inc()
        seconds.labels(*edge).observe(0.005 if i < 10 else 0.05)
    live.labels("front").set(2)
    live.labels("tax").set(1)
    figures = summarize(before, read(registry, at=110.0))
    assert figures["routes"] == [
        {"route": "/health", "requests": 10.0, "errors": 0.0, "rps": 1.0, "error_rate": 0.0},
        {"route": "/quote/...", "requests": 35.0, "errors": 3.0, "rps": 3.0, "error_rate": 0.1},
    ]
    [edge_figures] = figures["edges"]
    assert edge_figures["app"] == "shop" and edge_figures["caller"] == "front"
    assert edge_figures["placement"] == "remote"
    assert edge_figures["calls"] == 20.0 and edge_figures["calls_per_s"] == 2.0
    assert edge_figures["p50_ms"] == pytest.approx(10.0)  # the 10th of 20 ends bucket ≤ 10 ms
    assert 10.0 < edge_figures["p99_ms"] <= 100.0
    assert edge_figures["buckets"][-1] == ["+Inf", 20.0]
    assert figures["instances"] == 3.0
    # no earlier reading: totals only, no rates
    first = summarize(None, read(registry, at=120.0))
    assert first["routes"][1]["requests"] == 35.0 and first["routes"][1]["rps"] == 0.0


def test_the_published_document_names_the_host_and_its_inventory() -> None:
    registry = CollectorRegistry()
    requests, *_ = metrics(registry)
    requests.labels("/a", "GET", "200").inc(4)
    host = Host("nats://127.0.0.1:4222", labels={"zone": "a"}, host_id="h7", allow_unsigned=True)
    publisher = StatsPublisher(host, registry)
    first = publisher.document()
    requests.labels("/a", "GET", "200").inc(6)
    doc = json.loads(json.dumps(publisher.document()))
    assert doc["schema"] == STATS_SCHEMA and first["window"] == 0.0
    assert (doc["host"], doc["labels"], doc["units"]) == ("h7", {"zone": "a"}, [])
    assert (doc["capacity"], doc["admin"]) == (host.capacity, "")
    assert doc["window"] > 0 and doc["routes"][0]["requests"] == 10.0
    assert doc["routes"][0]["rps"] > 0
    assert doc["load"]["rss_bytes"] > 0 and doc["load"]["loadavg"] >= 0
