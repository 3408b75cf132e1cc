"""Fixtures for the lattice: a real nats-server and host agents, every process stopped after."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from wasmesh.lattice.client import Topology, UnitDeployment
from wasmesh.lattice.local import LocalHosts
from wasmesh.lattice.server import NatsServer, start_server

T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T], timeout: float = 60.0) -> T:
    """Run a coroutine to completion, bounded in time."""
    return asyncio.run(asyncio.wait_for(coro, timeout))


@pytest.fixture
def nats_server(tmp_path: Path) -> Iterator[NatsServer]:
    server = start_server(0, tmp_path / "jetstream")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def host_processes(nats_server: NatsServer, tmp_path: Path) -> Iterator[LocalHosts]:
    hosts = LocalHosts(nats_server.url, tmp_path)
    try:
        yield hosts
    finally:
        hosts.stop_all()


@pytest.fixture(scope="session")
def shop(guest: Callable[[str], Path]) -> Callable[..., Topology]:
    """`shop(math="lattice-math", **unit_options)`: a two-unit app, front calling math."""

    def make(math: str = "lattice-math", **math_options: Any) -> Topology:
        return Topology(
            (
                UnitDeployment("math", guest(math), **math_options),
                UnitDeployment("front", guest("lattice-front")),
            )
        )

    return make
