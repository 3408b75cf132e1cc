"""Fixtures for the lattice: a real nats-server and host agents, every process stopped after."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from wasmesh.lattice.client import LatticeClient, Topology, UnitDeployment
from wasmesh.lattice.host import Host
from wasmesh.lattice.local import LocalHosts
from wasmesh.lattice.server import NatsServer, start_server

T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T], timeout: float = 60.0) -> T:
    """Run a coroutine to completion, bounded in time."""
    return asyncio.run(asyncio.wait_for(coro, timeout))


@contextlib.asynccontextmanager
async def lattice(
    url: str, tmp: Path, *labels: dict[str, str]
) -> AsyncIterator[tuple[LatticeClient, list[Host]]]:
    """In-process hosts h0, h1... (one per labels dict; two by default) and a client."""
    hosts = [Host(url, labels=lab, host_id=f"h{i}", cache_dir=tmp / f"c{i}") for i, lab in
             enumerate(labels or ({}, {}))]  # fmt: skip
    try:
        for h in hosts:
            await h.start()
        async with LatticeClient(url) as client:
            yield client, hosts
    finally:
        for h in hosts:
            await h.stop()


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
