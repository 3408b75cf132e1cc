"""Rolling updates: v1 -> v2 -> rollback on 3 host processes with zero failed calls under load."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable

from wasmesh.lattice.client import LatticeClient, Topology
from wasmesh.lattice.local import LocalHosts

from .conftest import run


def test_rolling_update_and_rollback_fail_no_call(
    host_processes: LocalHosts, shop: Callable[..., Topology]
) -> None:
    for name in ("h0", "h1", "h2"):
        host_processes.start(name)

    async def scenario() -> None:
        async with LatticeClient(host_processes.url) as client:
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
