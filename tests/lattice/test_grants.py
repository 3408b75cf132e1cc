"""A unit's grants and limits survive the desired state whole."""

from __future__ import annotations

from pathlib import Path

from wasmesh.compose.grants import Grants
from wasmesh.lattice import schema
from wasmesh.lattice.grants import grants_from_json, grants_to_json
from wasmesh.runtime.grants import DirGrant


def test_every_grant_and_limit_round_trips_through_the_desired_state(tmp_path: Path) -> None:
    grants = Grants(
        env=(("A", "1"),), env_inherit=("HOME",), dirs=(DirGrant(tmp_path, "/data", False),),
        stdin=True, network=True, outbound=("https://*.example.com:443",),
        memory_limit=64 << 20, timeout=2.5, fuel=10**6,
    )  # fmt: skip
    spec = schema.UnitSpec("main", "0" * 64, grants=grants_to_json(grants))
    doc = schema.DesiredState("app", 1, (spec,))
    (back,) = schema.loads(schema.DesiredState, schema.dumps(doc)).units
    assert grants_from_json(back.grants) == grants


def test_a_spec_without_grants_grants_nothing() -> None:
    assert grants_from_json(schema.UnitSpec("main", "0" * 64).grants) == Grants()
