"""`min-replicas`: replicas beyond it are placed but linked and instantiated at their first
call (scale to zero when it is 0)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.cli import wasmesh
from wasmesh.lattice.host import Host
from wasmesh.lattice.server import NatsServer
from wasmesh.lattice.topology import Topology
from wasmesh.lattice.unit import ComponentUnit

from .conftest import lattice, run


def _units(hosts: list[Host]) -> dict[tuple[str, str], ComponentUnit]:
    out: dict[tuple[str, str], ComponentUnit] = {}
    for h in hosts:
        for key, version in h.served.items():
            assert isinstance(version.runner, ComponentUnit)
            out[(h.host_id, key[1])] = version.runner
    return out


def test_a_unit_with_min_replicas_zero_is_placed_but_instantiated_at_its_first_call(
    nats_server: NatsServer, tmp_path: Path, shop: Callable[..., Topology]
) -> None:
    async def scenario() -> None:
        async with lattice(nats_server, tmp_path) as (client, hosts):
            await client.deploy("shop", shop(min_replicas=0))
            status = await client.wait_ready("shop", 30)
            assert len(status.running("math")) == 1  # placed and reported running
            units = _units(hosts)
            (math,) = [u for (_, name), u in units.items() if name == "math"]
            (front,) = [u for (_, name), u in units.items() if name == "front"]
            assert not math.started  # no linker, no instance yet
            assert front.started  # the default: instantiated when placed
            assert await client.invoke("shop", "add", [2, 3]) == 5
            assert math.started
            assert await client.invoke("shop", "front#sum3", [1, 2, 39]) == 42

    run(scenario())


def test_replicas_beyond_min_replicas_wait_for_their_first_call(
    nats_server: NatsServer, tmp_path: Path, shop: Callable[..., Topology]
) -> None:
    async def scenario() -> None:
        async with lattice(nats_server, tmp_path) as (client, hosts):
            await client.deploy("shop", shop(replicas=2, min_replicas=1))
            await client.wait_ready("shop", 30)
            maths = [u for (_, name), u in _units(hosts).items() if name == "math"]
            assert sorted(u.started for u in maths) == [False, True]

    run(scenario())


@pytest.mark.parametrize(("replicas", "minimum"), [("1", "2"), ("2", "-1")])
def test_min_replicas_outside_zero_to_replicas_is_refused(replicas: str, minimum: str) -> None:
    result = wasmesh("deploy", "--replicas", replicas, "--min-replicas", minimum)
    assert result.code == 2
    assert f"--min-replicas must be between 0 and --replicas ({replicas}), not {minimum}." in (
        result.err
    )
