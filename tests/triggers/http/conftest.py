"""A real wasmesh HTTP server on loopback, serving guests built from tests/guests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.httpguests import build_http_guest
from tests.triggers.http.servers import running
from wasmesh.triggers.http import Limits, PoolSettings, Server


@pytest.fixture(scope="session")
def echo_py(guest: Callable[[str], Path]) -> Path:
    return guest("http-echo-py")


@pytest.fixture(scope="session")
def echo_js() -> Path:
    return build_http_guest("http-echo-js")


@pytest.fixture(scope="module")
def echo_server(echo_py: Path) -> Iterator[Server]:
    limits = Limits(request_timeout=3.0)
    pool = PoolSettings(memory_limit=96 << 20, allow_outbound=("http://127.0.0.1:*",))
    with running({"/...": echo_py}, limits=limits, pool=pool) as server:
        yield server
