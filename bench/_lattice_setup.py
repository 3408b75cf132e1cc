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
from wasmesh.lattice.client import LatticeClient
from wasmesh.lattice.credentials import ensure_secrets
from wasmesh.lattice.local import LocalHosts
from wasmesh.lattice.server import NatsServer, start_server
from wasmesh.lattice.signing import Signer
from wasmesh.lattice.status import AppStatus
from wasmesh.lattice.topology import Topology

ROOT = Path(__file__).resolve().parent.parent
READY_TIMEOUT_S = 60.0


def build_guest(name: str) -> Path:
    """The test guest `tests/guests/<name>` built (once, cached under .cache/guests)."""
    spec = load_guest(ROOT / "tests" / "guests" / name)
    return spec.build(ROOT / ".cache" / "guests" / f"{name}.wasm", quiet=True).path


@contextlib.contextmanager
def nats_server(workdir: Path, secure: bool = False) -> Iterator[NatsServer]:
    """A nats-server with JetStream on a free loopback port, stopped on exit; `secure`: as
    `wasmesh lattice up --tls` runs it (NKey users with per-role permissions, TLS with client
    certificates, signed artifacts)."""
    secrets = ensure_secrets(workdir / "creds", tls_hosts=()) if secure else None
    server = start_server(0, workdir / "jetstream", secrets=secrets)
    try:
        yield server
    finally:
        server.stop()


def admin_client(server: NatsServer, cache_dir: Path | None = None) -> LatticeClient:
    """A client of `server` that may deploy (and signs what it deploys when secured)."""
    signer = None
    if server.secrets is not None:
        signer = Signer.from_file(server.secrets.lattice().signing_key)
    return LatticeClient(server.options("admin"), cache_dir=cache_dir, signer=signer)


@contextlib.contextmanager
def host_processes(
    server: NatsServer, workdir: Path, hosts: Mapping[str, Sequence[str]]
) -> Iterator[LocalHosts]:
    """Host processes `{host id: ["k=v" labels]}` joined to `server`, all stopped on exit."""
    if server.secrets is not None:
        args: tuple[str, ...] = ("--trust", str(server.secrets.lattice().trust))
    else:
        args = ("--allow-unsigned",)
    procs = LocalHosts(server.url, workdir, options=server.options("host"), args=args)
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


def deploy(
    server: NatsServer, app: str, topology: Topology, cache_dir: Path | None = None
) -> AppStatus:
    """`deploy_ready` from blocking code, with a client of its own."""

    async def run() -> AppStatus:
        async with admin_client(server, cache_dir) as client:
            return await deploy_ready(client, app, topology)

    return asyncio.run(run())
