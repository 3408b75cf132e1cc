"""A lattice unit runs under the policy its desired state carries, not a default one."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from wasmesh.errors import GuestTimeout
from wasmesh.lattice.schema import UnitSpec
from wasmesh.lattice.unit import ComponentUnit
from wasmesh.policy import DirGrant, Grants, Limits, Policy

PROBE = "test:isolation/probe@0.1.0"


def test_the_unit_sees_exactly_its_grants(guest: Callable[[str], Path], tmp_path: Path) -> None:
    (tmp_path / "secret.txt").write_text("the recipe")
    policy = Policy(Grants(env=(("SECRET", "s3cret"),), dirs=(DirGrant(tmp_path, "/data", False),)))
    # as a host gets it: through the desired state's JSON
    carried = UnitSpec("probe", "0" * 64, policy=policy.to_json()).unit_policy()
    granted = ComponentUnit(guest("app-probe-c"), {}, carried)
    assert granted.call(PROBE, "read-env", ["SECRET"]) == "s3cret"
    assert granted.call(PROBE, "read-file", ["/data/secret.txt"]) == "the recipe"
    bare = ComponentUnit(guest("app-probe-c"))
    assert bare.call(PROBE, "read-env", ["SECRET"]) is None
    assert bare.call(PROBE, "read-file", ["/data/secret.txt"]) is None


def test_the_units_timeout_and_the_callers_deadline_both_stop_it(
    guest: Callable[[str], Path],
) -> None:
    unit = ComponentUnit(guest("loop-wat"), {}, Policy(limits=Limits(timeout=0.3)))
    with pytest.raises(GuestTimeout):
        unit.call("", "spin", [])  # the policy's 0.3 s, with no caller deadline
    with pytest.raises(GuestTimeout):
        unit.call("", "spin", [], timeout=0.1)  # the caller's, shorter
