"""Calls across hosts for the cost report: a local lattice whose one host process runs the
provider units, called from this process over NATS.

`lattice_for` starts a nats-server (JetStream, a free loopback port) and one host agent
process (`python -m wasmesh.lattice.agent`), deploys the units that answer the measured edges
(with the units they call in turn) and yields the `RemoteImports` to call them with: this
process, running the consumers, is the other host. Everything it starts is stopped on exit.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Collection, Iterator
from pathlib import Path

from wasmesh.compose.composer import compose_unit
from wasmesh.compose.plan import AppPlan
from wasmesh.compose.units import UnitPlan
from wasmesh.lattice.app import on_lattice
from wasmesh.lattice.client import LatticeClient
from wasmesh.lattice.connection import NatsOptions, connect_once
from wasmesh.lattice.errors import LatticeError
from wasmesh.lattice.local import LocalHosts
from wasmesh.lattice.schema import Subjects
from wasmesh.lattice.server import nats_server_binary, start_server
from wasmesh.lattice.stub import LoopThread, RemoteImports
from wasmesh.lattice.topology import Topology, UnitDeployment

READY_TIMEOUT_S = 120.0  # the host compiles the units it is given on first sight


def nats_missing() -> str | None:
    """Why calls across hosts cannot be measured here (no nats-server), or None."""
    try:
        nats_server_binary()
    except LatticeError as exc:
        return str(exc)
    return None


@contextlib.contextmanager
def lattice_for(
    base: AppPlan,
    plans: tuple[UnitPlan, ...],
    units: Collection[str],
    workdir: Path,
    progress: Callable[[str], None] = lambda _: None,
) -> Iterator[RemoteImports]:
    """A lattice running `units` of `plans` (and every unit they call) on one host process;
    yields the transport to call them from this process."""
    app = base.manifest.name
    server = start_server(0, workdir / "nats")
    try:
        hosts = LocalHosts(server.url, workdir / "hosts", args=("--allow-unsigned",))
        hosts.start("plan-provider-host")
        loop = LoopThread("wasmesh-plan-nats")
        try:
            topology = _topology(base, plans, units)
            progress(f"deploying {', '.join(u.name for u in topology.units)} to a host process")
            loop.run(_deploy(server.url, app, topology, workdir / "client"), READY_TIMEOUT_S + 30)
            nc = loop.run(connect_once(NatsOptions(server.url)), 30)
            try:
                yield RemoteImports(nc, loop.loop, Subjects(), app)
            finally:
                loop.run(nc.close(), 10)
        finally:
            loop.close()
            hosts.stop_all()
    finally:
        server.stop()


async def _deploy(url: str, app: str, topology: Topology, cache: Path) -> None:
    async with LatticeClient(url, cache_dir=cache) as client:
        await client.deploy(app, topology)
        await client.wait_ready(app, READY_TIMEOUT_S)


def _topology(base: AppPlan, plans: tuple[UnitPlan, ...], wanted: Collection[str]) -> Topology:
    """`wanted` units and those they call, as `wasmesh.lattice.app` deploys them."""
    home = {c: p.name for p in plans for c in p.components}
    by_name = {p.name: p for p in plans}
    chosen: list[str] = []

    def visit(name: str) -> None:
        if name in chosen:
            return
        chosen.append(name)
        for provider in by_name[name].imports_from:
            visit(home[provider])

    for name in wanted:
        visit(name)
    units = []
    for name in chosen:
        plan = by_name[name]
        composed = compose_unit(plan, base.paths, base.graph.worlds, base.cache)
        imports: dict[str, str] = {}
        exports: dict[str, str] = {}
        for link in plan.remote:
            assert link.provider is not None and link.export is not None
            imports[link.import_name] = home[link.provider]
            if link.export != link.import_name:
                exports[link.import_name] = link.export
        units.append(
            UnitDeployment(
                name=name,
                component=composed,
                imports=imports,
                import_exports=exports,
                policy=on_lattice(plan.policy, base.manifest.name),
            )
        )
    return Topology(tuple(units), {}, base.manifest.version)
