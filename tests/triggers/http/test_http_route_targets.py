"""Routes with their own policy and instance settings (`RouteTarget`): one server."""

from __future__ import annotations

import time
from pathlib import Path

from tests.triggers.http.servers import request, running
from wasmesh.policy import Limits, Policy
from wasmesh.triggers.http import PoolSettings, RouteTarget, ServerLimits


def test_each_route_runs_under_its_own_limits(echo_py: Path) -> None:
    routes: dict[str, Path | RouteTarget] = {
        "/...": echo_py,  # the server's defaults: a 20 s request timeout
        "/loop": RouteTarget(echo_py, Policy(limits=Limits(timeout=0.5))),
        "/status/:code": RouteTarget(
            echo_py, settings=PoolSettings(max_reuse=10, max_concurrent=1)
        ),
    }
    with running(routes, limits=ServerLimits(request_timeout=20.0)) as server:
        started = time.monotonic()
        assert request(server, "GET", "/loop")[0] == 504
        assert time.monotonic() - started < 5  # the route's 0.5 s, not the server's 20 s
        assert [request(server, "GET", "/status/207")[0] for _ in range(3)] == [207] * 3
        assert request(server, "GET", "/hello")[2] == b"hello GET /hello"
        # Different settings never share instances; the same settings would.
        assert len(server.pools) == 3
        warm = next(p for p in server.pools if p.settings.max_reuse == 10)
        assert len(warm.idle) == 1  # three requests, one instance kept warm


def test_routes_with_equal_settings_share_a_pool(echo_py: Path) -> None:
    same = Policy(limits=Limits(memory_bytes=96 << 20))
    routes = {"/a/...": RouteTarget(echo_py, same), "/b/...": RouteTarget(echo_py, same)}
    with running(routes) as server:
        assert len(server.pools) == 1
        assert request(server, "GET", "/b/x")[0] == 200
