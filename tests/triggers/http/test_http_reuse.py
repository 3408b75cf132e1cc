"""Instances reused across requests: a component that cannot answer twice in one instance
(componentize-js answers one fetch event per instance) costs its clients nothing."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.triggers.http.servers import request, running
from wasmesh.policy import Policy
from wasmesh.triggers.http import PoolSettings, RouteTarget, Server
from wasmesh.triggers.http.instances import InstancePool


@contextmanager
def reusing(component: Path, caplog: pytest.LogCaptureFixture) -> Iterator[Server]:
    """A server reusing instances of `component` up to 10 times, one at a time, its
    `wasmesh.http` log captured."""
    settings = PoolSettings(max_reuse=10, max_concurrent=1)
    with caplog.at_level(logging.INFO, logger="wasmesh.http"), \
            running({"/...": RouteTarget(component, Policy(), settings)}) as server:  # fmt: skip
        yield server


def retries(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if "trying a fresh one" in r.getMessage()]


def test_a_reused_js_instance_that_fails_is_retried_on_a_fresh_one(
    echo_js: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with reusing(echo_js, caplog) as server:
        answers = [request(server, "POST", "/echo", f"body {i}".encode()) for i in range(6)]
        assert [(s, b) for s, _, b in answers] == [(200, f"body {i}".encode()) for i in range(6)]
        [pool] = server.pools
        assert isinstance(pool, InstancePool)
    assert len(retries(caplog)) == 1, retries(caplog)  # then the pool serves it fresh
    assert pool.max_reuse == 1


def test_a_reused_instance_that_traps_is_not_retried(
    echo_py: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with reusing(echo_py, caplog) as server:
        assert request(server, "POST", "/echo", b"warm")[0] == 200
        assert request(server, "GET", "/trap")[0] == 500  # it may have acted before it trapped
        status, _, body = request(server, "POST", "/echo", b"after")
        assert (status, body) == (200, b"after")
    assert retries(caplog) == []
