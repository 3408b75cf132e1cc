"""Host agents: inventory in heartbeats, reconnecting after nats-server restarts, and
failures said once."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.wat import wat_component
from wasmesh.lattice import host as host_module
from wasmesh.lattice import schema
from wasmesh.lattice.client import LatticeClient
from wasmesh.lattice.local import LocalHosts
from wasmesh.lattice.server import NatsServer
from wasmesh.lattice.topology import Topology, UnitDeployment
from wasmesh.policy import Limits, Policy

from .conftest import admin, lattice, run


def test_heartbeats_report_labels_and_running_units(
    nats_server: NatsServer, host_processes: LocalHosts, shop: Callable[..., Topology]
) -> None:
    host_processes.start("h0", "zone=a", "disk=ssd")

    async def scenario() -> None:
        async with admin(nats_server) as client:
            await client.deploy("shop", shop())
            await client.wait_ready("shop", 30)
            await asyncio.sleep(0.5)  # one more beat after the units started
            beat = schema.loads(schema.Heartbeat, (await client.store.hosts.get("h0")).value)
            assert beat.labels == {"zone": "a", "disk": "ssd"}
            assert sorted((u.unit, u.state) for u in beat.units) == [
                ("front", "running"),
                ("math", "running"),
            ]

    run(scenario())


def test_hosts_reconnect_after_the_server_restarts(
    nats_server: NatsServer, host_processes: LocalHosts, shop: Callable[..., Topology]
) -> None:
    host_processes.start("h0")
    host_processes.start("h1")

    async def deploy() -> None:
        async with admin(nats_server) as client:
            await client.deploy("shop", shop(replicas=2))
            await client.wait_ready("shop", 30)
            assert await client.invoke("shop", "sum3", [1, 2, 3]) == 6

    run(deploy())
    nats_server.stop()
    time.sleep(0.5)
    nats_server.start()  # same port, same JetStream store

    async def calls_work_again() -> float:
        started = time.monotonic()
        async with admin(nats_server) as client:
            while True:
                try:
                    if await client.invoke("shop", "sum3", [1, 2, 3], timeout=1) == 6:
                        break
                except Exception:
                    await asyncio.sleep(0.1)
            await client.wait_ready("shop", 10)
        return time.monotonic() - started

    assert run(calls_work_again(), 30) < 10
    assert all(p.poll() is None for p in host_processes.procs.values())


def test_a_host_process_stops_cleanly_on_sigterm(host_processes: LocalHosts) -> None:
    proc = host_processes.start("h0")
    deadline = time.monotonic() + 20
    while "host h0 on" not in host_processes.log("h0") and time.monotonic() < deadline:
        time.sleep(0.05)  # printed once the host has joined the lattice
    host_processes.stop_all()
    assert proc.returncode == 0, host_processes.log("h0")


def test_a_unit_that_keeps_failing_to_start_is_reported_once_not_at_every_retry(
    nats_server: NatsServer,
    tmp_path: Path,
    guest: Callable[[str], Path],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(host_module, "RETRY_FAILED_S", 0.1)  # retry often, to see retries
    caplog.set_level(logging.WARNING, "wasmesh.lattice.host")

    async def scenario() -> None:
        async with lattice(nats_server, tmp_path, {}) as (_, hosts):
            async with LatticeClient(nats_server.options("admin")) as unsigned:
                plain = Topology((UnitDeployment("math", guest("lattice-math")),))
                await unsigned.deploy("plain", plain)
            attempts: set[float] = set()
            while len(attempts) < 4:  # the host tried the same refused artifact again and again
                for _, _, at in hosts[0].failed.values():
                    attempts.add(at)
                await asyncio.sleep(0.02)

    run(scenario(), 120)
    said = [r.getMessage() for r in caplog.records if "failed to start" in r.getMessage()]
    assert len(said) == 1 and "unit plain/math failed to start: artifact" in said[0], said


SLOW_MATH = (Path(__file__).parents[1] / "guests" / "lattice-math" / "math.wat").read_text()
SLOW_MATH = SLOW_MATH.replace(
    '(func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add)',
    '(func (export "add") (param i32 i32) (result i32) (loop $spin (br $spin)) i32.const 0)',
)


def test_a_units_timeout_bounds_its_wait_for_a_remote_call(
    nats_server: NatsServer, tmp_path: Path, guest: Callable[[str], Path]
) -> None:
    assert "$spin" in SLOW_MATH
    slow = wat_component(SLOW_MATH)
    topology = Topology((
        UnitDeployment("math", slow, policy=Policy(limits=Limits(timeout=20.0))),
        UnitDeployment("front", guest("lattice-front"), policy=Policy(limits=Limits(timeout=0.5))),
    ))  # fmt: skip

    async def scenario() -> tuple[str, float]:
        async with lattice(nats_server, tmp_path, {}, {}) as (client, _):
            await client.deploy("shop", topology)
            await client.wait_ready("shop", 60)
            started = time.monotonic()
            with pytest.raises(Exception) as caught:
                await client.invoke("shop", "sum3", [1, 2, 3], timeout=30)
            return str(caught.value), time.monotonic() - started

    said, waited = run(scenario(), 120)
    # front gives up at its own 0.5 s, not the lattice's 10 s; math, told front's deadline,
    # may stop its guest first (a trap) or front's wait ends (no reply within 0.5 s)
    assert "within 0.5 s" in said or "ran past its time limit" in said, said
    assert waited < 5.0, (waited, said)  # a bound, not a speed: the old wait was 10 s
