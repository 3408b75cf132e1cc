"""What the lattice benchmarks share: a local lattice that is always torn down, and deploys.

A benchmark imports it as `bench._lattice_setup` with the repository root on `sys.path` (and
bench/ off it: bench/http.py would shadow the stdlib).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

from wasmesh.build import load_guest
from wasmesh.lattice.client import LatticeClient, Topology
from wasmesh.lattice.local import LocalHosts
from wasmesh.lattice.server import NatsServer, start_server
from wasmesh.lattice.status import AppStatus

ROOT = Path(__file__).resolve().parent.parent
READY_TIMEOUT_S = 60.0


def build_guest(name: str) -> Path:
    """The test guest `tests/guests/<name>` built (once, cached under .cache/guests)."""
    spec = load_guest(ROOT / "tests" / "guests" / name)
    return spec.build(ROOT / ".cache" / "guests" / f"{name}.wasm", quiet=True).path


@contextlib.contextmanager
def nats_server(workdir: Path) -> Iterator[NatsServer]:
    """A nats-server with JetStream on a free loopback port, stopped on exit."""
    server = start_server(0, workdir / "jetstream")
    try:
        yield server
    finally:
        server.stop()


@contextlib.contextmanager
def host_processes(
    url: str, workdir: Path, hosts: Mapping[str, Sequence[str]]
) -> Iterator[LocalHosts]:
    """Host processes `{host id: ["k=v" labels]}` joined to `url`, all stopped on exit."""
    procs = LocalHosts(url, workdir)
    try:
        for host_id, labels in hosts.items():
            procs.start(host_id, *labels)
        yield procs
    finally:
        procs.stop_all()


async def deploy_ready(client: LatticeClient, app: str, topology: Topology) -> AppStatus:
    """Deploy `topology` as `app` and wait until every unit runs where it is placed."""
    await client.deploy(app, topology)
    return await client.wait_ready(app, READY_TIMEOUT_S)


def deploy(url: str, app: str, topology: Topology, cache_dir: Path | None = None) -> AppStatus:
    """`deploy_ready` from blocking code, with a client of its own."""

    async def run() -> AppStatus:
        async with LatticeClient(url, cache_dir=cache_dir) as client:
            return await deploy_ready(client, app, topology)

    return asyncio.run(run())
