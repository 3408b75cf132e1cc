"""Fresh metrics per test, an admin listener on loopback, and a scraper that reads `/metrics`
over real HTTP and parses it with prometheus_client's own text parser; the lattice's fixtures
(a secured nats-server, its credentials, the two-unit shop app) for the dashboard's tests."""

from __future__ import annotations

import time
import urllib.request
from collections.abc import Iterator

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.lattice.conftest import nats_server, secrets, shop
from wasmesh.observe import metrics as _metrics
from wasmesh.observe.admin import AdminServer

__all__ = ["nats_server", "secrets", "shop"]

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(url: str, settle: float = 10.0) -> Samples:
    """Every sample of `url`'s `/metrics`, by (sample name, labels), once no HTTP request is
    in flight: a server counts a request just after its client has the whole response."""
    deadline = time.monotonic() + settle
    while True:
        with urllib.request.urlopen(f"{url}/metrics", timeout=30) as response:
            assert response.headers["Content-Type"].startswith("text/plain; version=")
            text = response.read().decode()
        samples = {
            (s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text)
            for s in family.samples
        }
        if value(samples, "wasmesh_http_requests_in_flight") == 0 or time.monotonic() > deadline:
            return samples
        time.sleep(0.01)


def value(samples: Samples, name: str, **labels: str) -> float:
    """The sample `name` with exactly `labels` (0 when absent, as Prometheus reads it)."""
    return samples.get((name, frozenset(labels.items())), 0.0)


def total(samples: Samples, name: str, **labels: str) -> float:
    """The sum of the samples `name` whose labels include `labels`."""
    want = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and want <= ls)


@pytest.fixture
def metrics() -> Iterator[_metrics.Metrics]:
    """This test's own metrics, enabled for the process while it runs."""
    fresh = _metrics.enable(_metrics.Metrics())
    try:
        yield fresh
    finally:
        _metrics.disable()


@pytest.fixture
def admin(metrics: _metrics.Metrics) -> Iterator[AdminServer]:
    with AdminServer("127.0.0.1:0", metrics) as server:
        yield server
