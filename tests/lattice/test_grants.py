"""A unit's grants and limits survive the desired state whole."""

from __future__ import annotations

from pathlib import Path

from wasmesh.lattice import schema
from wasmesh.policy import DirGrant, Grants, Limits, Policy


def test_every_grant_and_limit_round_trips_through_the_desired_state(tmp_path: Path) -> None:
    policy = Policy(
        Grants(
            env=(("A", "1"),), env_inherit=("HOME",), dirs=(DirGrant(tmp_path, "/data", False),),
            stdin=True, network=True, outbound=("https://*.example.com:443",),
        ),
        Limits(memory_bytes=64 << 20, timeout=2.5, fuel=10**6),
    )  # fmt: skip
    spec = schema.UnitSpec("main", "0" * 64, policy=policy.to_json())
    doc = schema.DesiredState("app", 1, (spec,))
    (back,) = schema.loads(schema.DesiredState, schema.dumps(doc)).units
    assert back.unit_policy() == policy


def test_a_spec_without_a_policy_grants_nothing() -> None:
    assert schema.UnitSpec("main", "0" * 64).unit_policy() == Policy()
