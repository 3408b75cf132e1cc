"""A route's whole policy reaches its instances: directories and fuel too, fresh and warm."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.triggers.http.servers import request, running
from wasmesh.policy import DirGrant, Grants, Limits, Policy
from wasmesh.triggers.http import PoolSettings, RouteTarget


@pytest.mark.parametrize("reuse", [1, 10])
def test_granted_directories_are_preopened(echo_py: Path, tmp_path: Path, reuse: int) -> None:
    granted = Policy(Grants(dirs=(DirGrant(tmp_path, "/data", writable=False),)))
    settings = PoolSettings(max_reuse=reuse)
    with running({"/...": RouteTarget(echo_py, granted, settings)}) as server:
        assert b"preopens=1" in request(server, "GET", "/wasi")[2]
    with running({"/...": RouteTarget(echo_py, settings=settings)}) as server:
        assert b"preopens=0" in request(server, "GET", "/wasi")[2]


def test_fuel_is_a_budget_per_request(echo_py: Path) -> None:
    starved = Policy(limits=Limits(fuel=1000))
    fed = Policy(limits=Limits(fuel=10_000_000_000))
    with running({"/...": RouteTarget(echo_py, starved)}) as server:
        status, _, body = request(server, "GET", "/hello")
        assert status in (500, 504) and body != b"hello GET /hello"
    # A warm instance gets a fresh budget with every request.
    with running({"/...": RouteTarget(echo_py, fed, PoolSettings(max_reuse=10))}) as server:
        assert [request(server, "GET", "/hello")[0] for _ in range(3)] == [200] * 3
