"""A guest's `wasi:logging` records reach the log of the `wasmesh host` process running it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from wasmesh.lattice.client import Topology, UnitDeployment
from wasmesh.lattice.local import LocalHosts
from wasmesh.lattice.server import NatsServer

from .conftest import admin, run


def test_guest_records_go_to_the_hosts_log_with_the_units_name(
    nats_server: NatsServer, host_processes: LocalHosts, guest: Callable[[str], Path]
) -> None:
    host_processes.start("h0")

    async def scenario() -> None:
        async with admin(nats_server) as client:
            await client.deploy("chat", Topology((UnitDeployment("chatty", guest("logger-wat")),)))
            await client.wait_ready("chat", 60)
            await client.invoke("chat", "say", [3, 1])  # warn
            await client.invoke("chat", "say", [2, 2])  # info, twice

    run(scenario(), 120)
    lines = [ln for ln in host_processes.log("h0").splitlines() if "hello from wasm" in ln]
    assert lines == ["chatty | [test] hello from wasm"] * 3
