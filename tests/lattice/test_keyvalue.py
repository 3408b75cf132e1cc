"""`wasi:keyvalue` on a lattice: one counter served by two host processes, one NATS KV store."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest

from wasmesh.engine.values import Err, Ok
from wasmesh.lattice.app import Placement, topology_from_manifest
from wasmesh.lattice.local import LocalHosts
from wasmesh.lattice.server import NatsServer

from .conftest import admin, run

EXEC = "test:kv-counter/ops#exec"
INCREMENTS = 1000


@pytest.mark.slow
def test_a_counter_on_two_hosts_counts_every_increment_once(
    nats_server: NatsServer,
    host_processes: LocalHosts,
    guest: Callable[[str], Path],
    tmp_path: Path,
) -> None:
    (tmp_path / "wasmesh.toml").write_text(f"""\
[app]
name = "counter"

[components.counter]
source = "{guest("kv-counter-py")}"
key-value-stores = ["default"]
""")
    locked_dir = tmp_path / "locked"
    locked_dir.mkdir()
    (locked_dir / "wasmesh.toml").write_text(f"""\
[app]
name = "locked"

[components.locked]
source = "{guest("kv-counter-py")}"
""")
    where = {"counter": Placement(replicas=2, spread="zone")}
    app, topology = topology_from_manifest(
        tmp_path, where, strategy="per-component", cache=tmp_path / "cache"
    )
    locked, locked_topology = topology_from_manifest(locked_dir, cache=tmp_path / "cache")
    counter = next(u for u in topology.units if u.name == "counter")
    stores = counter.policy.grants.key_value_stores
    assert [(s.name, s.backend, s.location) for s in stores] == [
        ("default", "nats", "/counter.default")
    ]
    host_processes.start("h0", "zone=a")
    host_processes.start("h1", "zone=b")

    async def scenario() -> None:
        async with admin(nats_server) as client:
            await client.deploy(app, topology)
            status = await client.wait_ready(app, 120)
            assert status.running("counter") == ["h0", "h1"]
            # one call first: the client learns the export's signature from the artifact once
            assert await client.invoke(app, EXEC, ["default", "get", "hits", ""]) == Ok("none")
            gate = asyncio.Semaphore(64)

            async def one(_: int) -> object:
                async with gate:
                    args = ["default", "incr", "hits", "1"]
                    return await client.invoke(app, EXEC, args, timeout=60)

            done = await asyncio.gather(*(one(i) for i in range(INCREMENTS)))
            assert all(isinstance(r, Ok) for r in done), [r for r in done if not isinstance(r, Ok)]
            # every value from 1 to 1,000 handed out exactly once, across both hosts
            values = sorted(int(r.value) for r in done if isinstance(r, Ok))
            assert values == list(range(1, INCREMENTS + 1))
            got = await client.invoke(app, EXEC, ["default", "get", "hits", ""])
            assert got == Ok(str(INCREMENTS))
            await client.deploy(locked, locked_topology)
            await client.wait_ready(locked, 120)
            denied = await client.invoke(locked, EXEC, ["default", "get", "hits", ""])
            assert denied == Err("access-denied")

    run(scenario(), 600)
    for host in ("h0", "h1"):
        assert "Traceback" not in host_processes.log(host)
