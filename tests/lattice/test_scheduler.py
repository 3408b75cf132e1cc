"""The scheduler: one active per lattice through the lease, and failover after kill -9."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any

from wasmesh.lattice.client import LatticeClient
from wasmesh.lattice.connection import connect_once
from wasmesh.lattice.local import LocalHosts
from wasmesh.lattice.scheduler import FAILOVER_BOUND_S, LEASE_TTL_S, Scheduler
from wasmesh.lattice.schema import Subjects
from wasmesh.lattice.server import NatsServer
from wasmesh.lattice.store import open_store
from wasmesh.lattice.topology import Topology

from .conftest import admin, run


def test_one_candidate_holds_the_lease_and_another_takes_over(nats_server: NatsServer) -> None:
    async def scenario() -> None:
        nc = await connect_once(nats_server.options("host"))
        store = await open_store(nc, Subjects())
        a, b = Scheduler(nc, store, "a"), Scheduler(nc, store, "b")
        assert await a.campaign() and not await b.campaign()
        started = time.monotonic()
        while not await b.campaign():  # a stopped renewing: b waits out the TTL
            await asyncio.sleep(0.1)
        assert not a.active  # a stepped down by itself before b could take over
        assert LEASE_TTL_S <= time.monotonic() - started < LEASE_TTL_S + 1
        assert not await a.campaign()  # a's next renewal fails its compare-and-set
        assert await b.campaign()  # b renews
        await b.stop()  # a stopping scheduler hands the lease over at once
        assert await a.campaign()
        await nc.close()

    run(scenario())


def _math_host(status: Any) -> str:
    (host,) = status.placement.units["math"]
    return str(host)


async def _until_call_works(client: LatticeClient, bound: float) -> float:
    started = time.monotonic()
    while time.monotonic() - started < bound + 5:
        try:
            if await client.invoke("shop", "sum3", [1, 2, 3], timeout=0.5) == 6:
                return time.monotonic() - started
        except Exception:
            await asyncio.sleep(0.05)
    raise AssertionError("calls never succeeded again")


def test_calls_succeed_again_within_the_bound_after_kill_9(
    nats_server: NatsServer, host_processes: LocalHosts, shop: Callable[..., Topology]
) -> None:
    for name in ("h0", "h1", "h2"):
        host_processes.start(name)

    async def scenario() -> None:
        async with admin(nats_server) as client:
            await client.deploy("shop", shop())
            status = await client.wait_ready("shop", 30)
            assert await client.invoke("shop", "sum3", [1, 2, 3]) == 6

            victim = _math_host(status)
            host_processes.kill9(victim)
            elapsed = await _until_call_works(client, FAILOVER_BOUND_S)
            assert elapsed < FAILOVER_BOUND_S, f"{elapsed:.2f} s > {FAILOVER_BOUND_S} s"
            status = await client.wait_ready("shop", 5)
            assert _math_host(status) != victim

            # now kill the active scheduler: another host takes the lease and places again
            lease = await client.store.scheduler.get("lease")
            leader = json.loads(lease.value or b"{}")["holder"]
            host_processes.kill9(leader)
            started = time.monotonic()
            await client.deploy("shop", shop("lattice-math-v2"))
            await client.wait_ready("shop", FAILOVER_BOUND_S + 5)
            assert time.monotonic() - started < FAILOVER_BOUND_S
            assert await client.invoke("shop", "version", []) == 2
            holder = json.loads((await client.store.scheduler.get("lease")).value or b"{}")
            assert holder["holder"] not in (victim, leader)

    run(scenario(), 120)
