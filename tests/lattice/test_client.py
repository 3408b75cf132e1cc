"""Deploying, invoking, status, undeploy and rollback against real hosts on a real NATS."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest

from wasmesh.errors import ExportNotFound, WitValueError
from wasmesh.lattice import rpc, schema
from wasmesh.lattice.client import LatticeClient
from wasmesh.lattice.errors import LatticeError, RemoteTrap, RemoteUnavailable
from wasmesh.lattice.scheduler import HOST_TIMEOUT_S
from wasmesh.lattice.server import NatsServer
from wasmesh.lattice.status import AppStatus
from wasmesh.lattice.store import digest_of, put_signature
from wasmesh.lattice.topology import Topology, UnitDeployment

from .conftest import lattice, run


def test_deploy_then_invoke_across_hosts(
    nats_server: NatsServer,
    tmp_path: Path,
    shop: Callable[..., Topology],
    guest: Callable[[str], Path],
) -> None:
    async def scenario() -> None:
        async with lattice(nats_server, tmp_path) as (client, _):
            desired = await client.deploy("shop", shop())
            assert desired.version == 1
            assert desired.units[1].imports == {"wasmesh:lattice-test/math": "math"}
            status = await client.wait_ready("shop", 20)
            assert all(len(status.running(u)) == 1 for u in ("math", "front"))
            assert [h.host for h in await client.hosts()] == ["h0", "h1"]
            assert [(d.app, d.version) for d in await client.apps()] == [("shop", 1)]
            summary = status.as_dict()
            assert summary["ready"] and summary["version"] == 1 and summary["errors"] == []
            assert summary["units"]["front"]["imports"] == {"wasmesh:lattice-test/math": "math"}
            assert await client.invoke("shop", "add", [2, 3]) == 5
            # front's import of math is a stub making a NATS request to math's queue group
            assert await client.invoke("shop", "front#sum3", [1, 2, 39]) == 42
            assert await client.invoke("shop", "wasmesh:lattice-test/math#len", [b"abc"]) == 3
            # typed calls check arguments here, against the export's signature
            sig = await client.signature("shop", "math#add")
            assert [(p.name, p.type.kind) for p in sig.params] == [("a", "u32"), ("b", "u32")]
            with pytest.raises(WitValueError, match='argument "b"'):
                await client.invoke("shop", "add", [1, -1])
            # untyped calls travel as tagged JSON and the host checks them
            assert await client.invoke("shop", "add", [2, 3], typed=False) == 5
            with pytest.raises(LatticeError, match="remote add"):
                await client.invoke("shop", "add", [1, "x"], typed=False)
            with pytest.raises(ExportNotFound, match="interface#function"):
                await client.invoke("shop", "nope", [])
            # a function exported at world level, outside any interface
            add = Topology((UnitDeployment("add", guest("add-wat")),))
            await client.deploy("solo", add)
            await client.wait_ready("solo", 20)
            assert await client.invoke("solo", "add", [-5, 3]) == -2

    run(scenario())


def test_traps_and_oversized_payloads_come_back_as_clear_errors(
    nats_server: NatsServer, tmp_path: Path, shop: Callable[..., Topology]
) -> None:
    async def scenario() -> None:
        async with lattice(nats_server, tmp_path) as (client, _):
            await client.deploy("shop", shop())
            await client.wait_ready("shop", 20)
            with pytest.raises(RemoteTrap, match="unreachable"):
                await client.invoke("shop", "fail", [])
            # a trap in the provider is a trap in the caller, carrying the remote message
            with pytest.raises(RemoteTrap, match=r"remote fail.*unreachable"):
                await client.invoke("shop", "fail-through", [])
            assert await client.invoke("shop", "blob", [200_000]) == 200_000
            with pytest.raises(RemoteTrap, match="over the NATS server's max_payload"):
                await client.invoke("shop", "blob", [2_000_000])
            assert await client.invoke("shop", "sum3", [1, 1, 1]) == 3  # hosts still serve

    run(scenario())


def test_corrupt_and_missing_artifacts_show_in_status(
    nats_server: NatsServer, tmp_path: Path, guest: Callable[[str], Path]
) -> None:
    math = guest("lattice-math")

    async def scenario() -> None:
        async with lattice(nats_server, tmp_path, {}) as (client, hosts):
            # other bytes stored under the real artifact's digest: the host must catch it
            digest = digest_of(math.read_bytes())
            await client.store.artifacts.put(digest, b"\0asm garbage")
            assert client.signer is not None  # signed, so the host goes on to fetch it
            await put_signature(client.store, digest, client.signer)
            await client._publish("bad", (schema.UnitSpec("math", digest),), None)
            status = await _until(client, "bad", lambda s: bool(s.errors))
            assert "math on h0: artifact" in status.errors[0] and "is corrupt" in status.errors[0]
            # deploying the app republishes the genuine bytes over the corrupt ones
            await client.deploy("bad", Topology((UnitDeployment("math", math),)))
            await client.wait_ready("bad", 30)
            assert await client.invoke("bad", "add", [2, 3]) == 5
            await client.undeploy("bad")
            missing = schema.UnitSpec("math", "0" * 64, exports={"x": ["f"]})
            assert client.signer is not None  # signed, so the host goes on to fetch it
            await put_signature(client.store, missing.digest, client.signer)
            await client._publish("gone", (missing,), None)
            status = await _until(client, "gone", lambda s: bool(s.errors))
            assert "not in the lattice's object store" in status.errors[0]
            assert hosts[0].scheduler is not None and ("gone", "math") not in hosts[0].served

    run(scenario())


def test_unplaceable_units_report_why(
    nats_server: NatsServer, tmp_path: Path, shop: Callable[..., Topology]
) -> None:
    async def scenario() -> None:
        async with lattice(nats_server, tmp_path, {"zone": "a"}) as (client, _):
            await client.deploy("shop", shop(labels={"gpu": "yes"}))
            status = await _until(client, "shop", lambda s: bool(s.errors))
            assert status.errors == [
                "math: no live host has gpu=yes (of 1 live); start a host with those labels "
                "or relax the unit's requirements."
            ]
            late = r"not ready within 0\.3 s: math: no live host"
            with pytest.raises(LatticeError, match=late) as info:
                await client.wait_ready("shop", 0.3)
            assert str(info.value).endswith("relax the unit's requirements.")  # one period
            # the error names the unit and the app, not the lattice's internal subjects
            with pytest.raises(RemoteUnavailable, match="no host serves unit math of app shop"):
                await client.invoke("shop", "add", [1, 2])

    run(scenario())


def test_undeploy_stops_units_and_rollback_needs_a_known_version(
    nats_server: NatsServer, tmp_path: Path, shop: Callable[..., Topology]
) -> None:
    async def scenario() -> None:
        async with lattice(nats_server, tmp_path) as (client, hosts):
            await client.deploy("shop", shop())
            await client.wait_ready("shop", 20)
            with pytest.raises(LatticeError, match="has no version 7"):
                await client.rollback("shop", 7)
            await client.undeploy("shop")
            with pytest.raises(LatticeError, match="'shop' is not deployed"):
                await client.invoke("shop", "add", [1, 2])
            for _ in range(100):
                if not any(h.served for h in hosts):
                    break
                await asyncio.sleep(0.05)
            assert not any(h.served for h in hosts)
            subject = client.subjects.rpc("shop", "math", "wasmesh:lattice-test/math")
            with pytest.raises(RemoteUnavailable, match="no host serves"):
                await rpc.call(client.nc, subject, "add", "json", b"[1,2]")
            again = await client.deploy("shop", shop())
            assert again.version == 2  # versions keep growing across an undeploy

            # another client has just claimed version 3 and not yet updated the app index
            await client.store.history.create("shop.3", b"{}")
            with pytest.raises(LatticeError, match="deployed by someone else"):
                await client.deploy("shop", shop())

    run(scenario())


async def _until(
    client: LatticeClient, app: str, ok: Callable[[AppStatus], bool], timeout: float = 10
) -> AppStatus:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        status = await client.status(app)
        if ok(status) or asyncio.get_running_loop().time() > deadline:
            return status
        await asyncio.sleep(0.05)


def test_a_host_that_stops_hands_its_units_over_without_waiting_for_a_timeout(
    nats_server: NatsServer, tmp_path: Path, shop: Callable[..., Topology]
) -> None:
    async def scenario() -> float:
        async with lattice(nats_server, tmp_path, {}, {}, {}) as (client, hosts):
            await client.deploy("shop", shop())
            status = await client.wait_ready("shop", 20)
            (runs_math,) = status.running("math")
            leaving = next(h for h in hosts if h.host_id == runs_math)
            await leaving.stop()
            hosts.remove(leaving)
            started = asyncio.get_running_loop().time()
            while True:
                try:
                    assert await client.invoke("shop", "add", [1, 2], timeout=0.5) == 3
                    return asyncio.get_running_loop().time() - started
                except RemoteUnavailable:
                    await asyncio.sleep(0.02)

    elapsed = run(scenario())
    assert elapsed < HOST_TIMEOUT_S, f"{elapsed:.2f} s"
