"""Scale to zero: warm instances left idle are dropped after the idle timeout; the next request
makes a new one."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.triggers.http.servers import request, running
from wasmesh.policy import Policy
from wasmesh.triggers.http import PoolSettings, RouteTarget
from wasmesh.triggers.http.instances import InstancePool


def wait_for_idle(pool: InstancePool, count: int, within: float = 10) -> float:
    """Seconds until `pool` holds `count` idle instances (a lease is returned just after its
    response is sent; the reaper runs on its own thread)."""
    started = time.monotonic()
    while len(pool.idle) != count:
        assert time.monotonic() - started < within, f"never {count} idle instance(s)"
        time.sleep(0.01)
    return time.monotonic() - started


def test_idle_warm_instances_are_dropped_and_the_next_request_is_served(echo_py: Path) -> None:
    settings = PoolSettings(max_reuse=100, idle_timeout=0.5)
    with running({"/...": RouteTarget(echo_py, Policy(), settings)}) as server:
        status, _, body = request(server, "POST", "/echo", b"first")
        assert (status, body) == (200, b"first")
        [pool] = server.pools
        assert isinstance(pool, InstancePool)
        wait_for_idle(pool, 1)
        [lease] = pool.idle  # kept warm for the next request
        assert request(server, "POST", "/echo", b"again")[0] == 200
        wait_for_idle(pool, 1)
        assert list(pool.idle) == [lease] and lease.uses == 2  # reused while warm

        wait_for_idle(pool, 0)
        assert time.monotonic() - lease.idle_since >= 0.5  # not before its time
        assert lease.instance.instance is None  # its store was freed, not just forgotten

        status, _, body = request(server, "POST", "/echo", b"after idle")
        assert (status, body) == (200, b"after idle")
        wait_for_idle(pool, 1)
        [fresh] = pool.idle
        assert fresh is not lease and fresh.uses == 1


def test_every_pool_of_a_server_is_swept(echo_py: Path, echo_js: Path) -> None:
    settings = PoolSettings(max_reuse=100, idle_timeout=0.3)
    routes = {
        "/py/...": RouteTarget(echo_py, Policy(), settings),
        "/js/...": RouteTarget(echo_js, Policy(), PoolSettings(max_reuse=100, idle_timeout=60)),
    }
    with running(routes) as server:
        assert request(server, "POST", "/py/x", b"a")[0] == 200
        assert request(server, "POST", "/js/x", b"b")[0] == 200
        by_name = {p.name: p for p in server.pools if isinstance(p, InstancePool)}
        wait_for_idle(by_name["http-echo-js"], 1)
        wait_for_idle(by_name["http-echo-py"], 0)
        assert len(by_name["http-echo-js"].idle) == 1  # its own, longer timeout


@pytest.mark.slow  # builds the polyglot example unless an earlier test did
def test_an_apps_routes_reuse_and_drop_instances_as_up_is_told() -> None:
    from wasmesh.runtime.app import App
    from wasmesh.triggers.base import TriggerOptions, start_triggers, stop_all
    from wasmesh.triggers.http.trigger import HttpTrigger

    app = App.load(Path(__file__).resolve().parents[3] / "examples" / "polyglot")
    options = TriggerOptions("127.0.0.1:0", max_reuse=5, idle_timeout=0.5)
    [trigger] = start_triggers(app, options)
    try:
        assert isinstance(trigger, HttpTrigger)
        [pool] = trigger.server.pools
        assert isinstance(pool, InstancePool)
        assert (pool.settings.max_reuse, pool.settings.idle_timeout) == (5, 0.5)
        for _ in range(2):
            status, _, body = request(trigger.server, "GET", "/quote/health")
            assert (status, body) == (200, b"ok\n")
            wait_for_idle(pool, 1)
        [lease] = pool.idle
        assert lease.uses == 2  # one warm instance served both
        wait_for_idle(pool, 0)
        assert request(trigger.server, "GET", "/quote/health")[0] == 200
    finally:
        stop_all([trigger], 5.0)
        app.close()
