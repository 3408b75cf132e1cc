"""Rolling updates: new versions replace old ones on every host with zero failed calls."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from wasmesh.lattice.client import LatticeClient
from wasmesh.lattice.local import LocalHosts
from wasmesh.lattice.server import NatsServer
from wasmesh.lattice.topology import Topology, UnitDeployment

from .conftest import admin, lattice, run


def test_rolling_update_and_rollback_fail_no_call(
    nats_server: NatsServer, host_processes: LocalHosts, shop: Callable[..., Topology]
) -> None:
    for name in ("h0", "h1", "h2"):
        host_processes.start(name)

    async def scenario() -> None:
        async with admin(nats_server) as client:
            await client.deploy("shop", shop(replicas=3))
            await client.wait_ready("shop", 30)
            versions: Counter[int] = Counter()
            failures: list[str] = []
            calls = 0
            stop = asyncio.Event()

            async def load() -> None:
                nonlocal calls
                while not stop.is_set():
                    try:
                        versions[await client.invoke("shop", "version", [], timeout=5)] += 1
                        assert await client.invoke("shop", "sum3", [1, 2, 3], timeout=5) == 6
                        calls += 2
                    except Exception as exc:
                        failures.append(repr(exc))

            workers = [asyncio.create_task(load()) for _ in range(4)]
            await asyncio.sleep(0.5)
            v2 = await client.deploy("shop", shop("lattice-math-v2", replicas=3))
            status = await client.wait_ready("shop", 30)
            assert len(status.running("math")) == 3 and status.desired.version == v2.version
            # ready means every host drained version 1: no call reaches it any more
            assert [await client.invoke("shop", "version", []) for _ in range(20)] == [2] * 20
            back = await client.rollback("shop", 1)
            assert back.version == 3 and back.source_version == 1
            await client.wait_ready("shop", 30)
            assert [await client.invoke("shop", "version", []) for _ in range(20)] == [1] * 20
            await asyncio.sleep(0.3)
            stop.set()
            await asyncio.gather(*workers)
            assert failures == []
            assert versions[1] > 0 and versions[2] > 0 and calls > 100

    run(scenario(), 120)


def test_a_version_that_cannot_start_leaves_the_old_one_serving(
    nats_server: NatsServer, tmp_path: Path, shop: Callable[..., Topology]
) -> None:
    async def scenario() -> None:
        async with lattice(nats_server, tmp_path) as (client, _):
            await client.deploy("shop", shop(replicas=2))
            await client.wait_ready("shop", 20)
            failures: list[str] = []
            answers: Counter[int] = Counter()
            stop = asyncio.Event()

            async def load() -> None:
                while not stop.is_set():
                    try:
                        answers[await client.invoke("shop", "version", [], timeout=5)] += 1
                    except Exception as exc:
                        failures.append(repr(exc))

            worker = asyncio.create_task(load())
            await client.deploy("shop", shop("lattice-math-broken", replicas=2))
            status = await client.status("shop")
            for _ in range(200):
                status = await client.status("shop")
                if len(status.errors) == 2:
                    break
                await asyncio.sleep(0.05)
            assert sorted(status.errors) == [
                f"math on {h}: the guest trapped: wasm trap: wasm `unreachable` instruction "
                "executed"
                for h in ("h0", "h1")
            ]
            assert not status.ready and status.running("math") == []
            await asyncio.sleep(0.3)
            await client.deploy("shop", shop("lattice-math-v2", replicas=2))
            await client.wait_ready("shop", 20)
            assert [await client.invoke("shop", "version", []) for _ in range(5)] == [2] * 5
            stop.set()
            await worker
            assert failures == [] and answers[1] > 0 and 99 not in answers

    run(scenario())


def test_a_refused_topology_change_leaves_the_old_units_serving(
    nats_server: NatsServer,
    host_processes: LocalHosts,
    shop: Callable[..., Topology],
    guest: Callable[[str], Path],
) -> None:
    for name in ("h0", "h1"):
        host_processes.start(name)
    monolith = Topology((UnitDeployment("main", guest("lattice-math-v2"), replicas=2),))

    async def scenario() -> None:
        async with admin(nats_server) as client:
            await client.deploy("shop", shop(replicas=2))  # per component: math and front
            await client.wait_ready("shop", 30)
            failures: list[str] = []
            answers: Counter[int] = Counter()
            stop = asyncio.Event()

            async def load() -> None:
                while not stop.is_set():
                    try:
                        answers[await client.invoke("shop", "version", [], timeout=5)] += 1
                    except Exception as exc:
                        failures.append(repr(exc))

            workers = [asyncio.create_task(load()) for _ in range(2)]
            await asyncio.sleep(0.3)
            async with LatticeClient(nats_server.options("admin")) as unsigned:
                refused = await unsigned.deploy("shop", monolith)  # hosts refuse it
            for _ in range(400):
                status = await client.status("shop")
                if len(status.errors) == 2:
                    break
                await asyncio.sleep(0.05)
            assert all("is not signed by the trusted key" in e for e in status.errors)
            await asyncio.sleep(1.0)  # the old units keep serving
            assert failures == [] and set(answers) == {1}
            status = await client.status("shop")
            assert status.desired.version == refused.version == 2
            assert status.placement is not None and status.placement.live == 1

            v3 = await client.deploy("shop", monolith)  # signed: it starts, then takes over
            status = await client.wait_ready("shop", 30)
            assert status.desired.version == v3.version == 3
            assert [await client.invoke("shop", "version", []) for _ in range(10)] == [2] * 10
            for _ in range(200):  # the units v3 no longer has stop
                units = {(r.app, r.unit) for h in await client.hosts() for r in h.units}
                if units == {("shop", "main")}:
                    break
                await asyncio.sleep(0.05)
            assert units == {("shop", "main")}
            stop.set()
            await asyncio.gather(*workers)
            assert failures == [] and answers[1] > 0 and answers[2] > 0

    run(scenario(), 120)


def test_scaling_down_under_load_fails_no_call(
    nats_server: NatsServer, tmp_path: Path, shop: Callable[..., Topology]
) -> None:
    async def scenario() -> None:
        async with lattice(nats_server, tmp_path, {}, {}, {}) as (client, hosts):
            await client.deploy("shop", shop(replicas=3))
            await client.wait_ready("shop", 20)
            failures: list[str] = []
            calls = 0
            stop = asyncio.Event()

            async def load() -> None:
                nonlocal calls
                while not stop.is_set():
                    try:
                        assert await client.invoke("shop", "add", [1, 2], timeout=5) == 3
                        calls += 1
                    except Exception as exc:
                        failures.append(repr(exc))

            workers = [asyncio.create_task(load()) for _ in range(4)]
            for replicas in (1, 3, 1):
                await client.deploy("shop", shop(replicas=replicas))
                status = await client.wait_ready("shop", 20)
                # the hosts that no longer run math have left its queue group
                for _ in range(100):
                    if sum(("shop", "math") in h.served for h in hosts) == replicas:
                        break
                    await asyncio.sleep(0.02)
                assert sum(("shop", "math") in h.served for h in hosts) == replicas
                assert len(status.placement.units["math"]) == replicas  # type: ignore[union-attr]
                await asyncio.sleep(0.2)
            stop.set()
            await asyncio.gather(*workers)
            assert failures == [] and calls > 50

    run(scenario())
