"""Status that tells the truth: why nothing runs with no host, no stale reasons, history."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from wasmesh.lattice.client import LatticeClient
from wasmesh.lattice.server import NatsServer
from wasmesh.lattice.status import AppStatus
from wasmesh.lattice.store import digest_of
from wasmesh.lattice.topology import Topology

from .conftest import admin, host, run


async def _until(
    client: LatticeClient, app: str, ok: Callable[[AppStatus], bool], timeout: float = 30
) -> AppStatus:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        status = await client.status(app)
        if ok(status) or asyncio.get_running_loop().time() > deadline:
            return status
        await asyncio.sleep(0.1)


NO_HOST = "not placed: no host is in the lattice; start one with `wasmesh host`."


def test_with_no_host_status_says_why_and_reasons_of_hosts_that_left_go(
    nats_server: NatsServer, tmp_path: Path, shop: Callable[..., Topology]
) -> None:
    async def scenario() -> None:
        async with admin(nats_server) as client:
            await client.deploy("shop", shop())
            status = await client.status("shop")
            assert status.errors == [f"math: {NO_HOST}", f"front: {NO_HOST}"]

            only = host(nats_server, labels={"zone": "a"}, host_id="h0", cache_dir=tmp_path)
            await only.start()
            try:
                await client.deploy("shop", shop(labels={"gpu": "yes"}))
                status = await _until(client, "shop", lambda s: "no live host has" in str(s.errors))
                assert status.errors == [
                    "math: no live host has gpu=yes (of 1 live); start a host with those labels "
                    "or relax the unit's requirements."
                ]
            finally:
                await only.stop()
            # the reason counted h0; with h0 gone, status says what is true now
            status = await _until(client, "shop", lambda s: s.live == frozenset())
            assert status.errors == [f"math: {NO_HOST}", f"front: {NO_HOST}"]
            assert [h["version"] for h in status.as_dict()["history"]] == [1, 2]

    run(scenario(), 120)


def test_history_lists_every_version_and_what_rollbacks_returned_to(
    nats_server: NatsServer, tmp_path: Path, shop: Callable[..., Topology]
) -> None:
    async def scenario() -> None:
        async with admin(nats_server) as client:
            await client.deploy("shop", replace(shop(), version="1.0.0"))
            await client.deploy("shop", replace(shop("lattice-math-v2"), version="2.0.0"))
            await client.rollback("shop", 1)
            await client.rollback("shop", 2)  # a rollback of the rollback: forward again
            status = await client.status("shop")
            assert status.history == (
                (1, None, "1.0.0"), (2, None, "2.0.0"), (3, 1, "1.0.0"), (4, 2, "2.0.0")
            )  # fmt: skip
            assert status.as_dict()["app_version"] == "2.0.0"
            v2 = next(u for u in shop("lattice-math-v2").units if u.name == "math")
            math = next(u for u in status.desired.units if u.name == "math")
            assert math.digest == digest_of(v2.component.read_bytes())

    run(scenario())


def test_failures_belong_to_their_version_and_status_says_which_one_serves(
    nats_server: NatsServer, tmp_path: Path, shop: Callable[..., Topology]
) -> None:
    async def scenario() -> None:
        only = host(nats_server, host_id="h0", cache_dir=tmp_path)
        await only.start()
        try:
            async with admin(nats_server) as client:
                await client.deploy("shop", shop())
                await client.wait_ready("shop", 30)
                async with LatticeClient(nats_server.options("admin")) as unsigned:
                    await unsigned.deploy("shop", shop("lattice-math-v2"))  # refused
                status = await _until(client, "shop", lambda s: bool(s.errors))
                assert [e.split(":")[0] for e in status.errors] == ["math on h0"]
                assert "is not signed" in status.errors[0]
                assert (status.desired.version, status.serving) == (2, 1)
                assert status.as_dict()["serving"] == 1
                await client.rollback("shop", 1)
                status = await client.wait_ready("shop", 30)
                status = await client.status("shop")
                assert (status.desired.version, status.serving, status.errors) == (3, 3, [])
        finally:
            await only.stop()

    run(scenario(), 120)
