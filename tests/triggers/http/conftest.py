"""A real wasmesh HTTP server on loopback, serving guests built from tests/guests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.httpguests import build_http_guest
from tests.triggers.http.servers import running
from wasmesh.policy import Grants, Limits, Policy
from wasmesh.triggers.http import Server, ServerLimits


@pytest.fixture(scope="session")
def echo_py(guest: Callable[[str], Path]) -> Path:
    return guest("http-echo-py")


@pytest.fixture(scope="session")
def echo_js() -> Path:
    return build_http_guest("http-echo-js")


@pytest.fixture(scope="module")
def echo_server(echo_py: Path) -> Iterator[Server]:
    limits = ServerLimits(request_timeout=3.0)
    policy = Policy(Grants(outbound=("http://127.0.0.1:*",)), Limits(memory_bytes=96 << 20))
    with running({"/...": echo_py}, limits=limits, policy=policy) as server:
        yield server
