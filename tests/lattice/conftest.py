"""Fixtures for the lattice: a real nats-server and host agents, every process stopped after.

The server is secured as `wasmesh lattice up --tls` starts it: NKey users with per-role
permissions for lattices `default` and `other`, TLS with client certificates, and hosts that
run only artifacts signed by the lattice's key. Clients deploy as the admin role.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from wasmesh.lattice.client import LatticeClient
from wasmesh.lattice.credentials import Secrets, ensure_secrets
from wasmesh.lattice.host import Host
from wasmesh.lattice.local import LocalHosts
from wasmesh.lattice.server import NatsServer, start_server
from wasmesh.lattice.signing import Signer, Verifier
from wasmesh.lattice.topology import Topology, UnitDeployment

T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T], timeout: float = 60.0) -> T:
    """Run a coroutine to completion, bounded in time."""
    return asyncio.run(asyncio.wait_for(coro, timeout))


def admin(server: NatsServer, lattice: str = "default", **kw: Any) -> LatticeClient:
    """A client with the admin credential, signing what it deploys with the lattice's key."""
    signer = None
    if server.secrets is not None:
        signer = Signer.from_file(server.secrets.lattice(lattice).signing_key)
    return LatticeClient(server.options("admin", lattice), lattice, signer=signer, **kw)


def host(server: NatsServer, **kw: Any) -> Host:
    """An in-process host with the host credential, trusting the lattice's signing key."""
    if server.secrets is None:
        return Host(server.options("host"), allow_unsigned=True, **kw)
    trust = Verifier.from_file(server.secrets.lattice().trust)
    return Host(server.options("host"), trust=trust, **kw)


@contextlib.asynccontextmanager
async def lattice(
    server: NatsServer, tmp: Path, *labels: dict[str, str]
) -> AsyncIterator[tuple[LatticeClient, list[Host]]]:
    """In-process hosts h0, h1... (one per labels dict; two by default) and an admin client."""
    hosts = [host(server, labels=lab, host_id=f"h{i}", cache_dir=tmp / f"c{i}")
             for i, lab in enumerate(labels or ({}, {}))]  # fmt: skip
    try:
        for h in hosts:
            await h.start()
        async with admin(server) as client:
            yield client, hosts
    finally:
        for h in hosts:
            await h.stop()


@pytest.fixture(scope="session")
def secrets(tmp_path_factory: pytest.TempPathFactory) -> Secrets:
    """Credentials of lattices `default` and `other`, a local CA and signing keys."""
    return ensure_secrets(tmp_path_factory.mktemp("creds"), ("default", "other"), tls_hosts=())


@pytest.fixture
def nats_server(tmp_path: Path, secrets: Secrets) -> Iterator[NatsServer]:
    server = start_server(0, tmp_path / "jetstream", secrets=secrets)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def host_processes(nats_server: NatsServer, tmp_path: Path) -> Iterator[LocalHosts]:
    assert nats_server.secrets is not None
    trust = ("--trust", str(nats_server.secrets.lattice().trust))
    hosts = LocalHosts(nats_server.url, tmp_path, options=nats_server.options("host"), args=trust)
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
