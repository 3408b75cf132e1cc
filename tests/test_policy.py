"""The one policy: grants and limits as users write them, and as the lattice carries them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from wasmesh.errors import WasmeshError
from wasmesh.policy import POLICY_SCHEMA, DirGrant, Grants, Limits, Policy, PolicyError, parse_size


@pytest.mark.parametrize(
    ("text", "size"),
    [("64MiB", 64 << 20), ("1G", 10**9), ("1GiB", 1 << 30), ("65536", 65536), ("512k", 512_000),
     ("2 MB", 2_000_000), (4096, 4096)],
)  # fmt: skip
def test_parse_size(text: str | int, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize("bad", ["", "lots", "-5", "1.5XB", "0", 0])
def test_parse_size_rejects(bad: str | int) -> None:
    with pytest.raises(WasmeshError, match="size"):
        parse_size(bad)


def test_dir_grant_forms(tmp_path: Path) -> None:
    assert DirGrant.parse(f"{tmp_path}:/data:ro") == DirGrant(tmp_path, "/data", False)
    assert DirGrant.parse(f"{tmp_path}:/data") == DirGrant(tmp_path, "/data", True)
    assert DirGrant.parse(str(tmp_path)).guest == str(tmp_path)


def test_dir_grant_needs_a_directory(tmp_path: Path) -> None:
    with pytest.raises(WasmeshError, match="is not a directory"):
        DirGrant.parse(f"{tmp_path / 'missing'}:/x")


def test_env_grants(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WASMESH_TEST_HOME", "/home/x")
    monkeypatch.delenv("WASMESH_TEST_ABSENT", raising=False)
    grants = Grants(
        env=(Grants.parse_env("A=1=2"),), env_inherit=("WASMESH_TEST_HOME", "WASMESH_TEST_ABSENT")
    )
    assert grants.environment() == [("WASMESH_TEST_HOME", "/home/x"), ("A", "1=2")]
    with pytest.raises(WasmeshError, match="KEY=VALUE"):
        Grants.parse_env("novalue")


def test_nothing_is_granted_by_default() -> None:
    g = Grants()
    assert (g.environment(), g.dirs, g.stdin, g.network, g.outbound) == ([], (), False, False, ())


def test_limits_validate() -> None:
    with pytest.raises(WasmeshError, match="timeout"):
        Limits(timeout=0)


def test_a_policy_travels_whole_as_json(tmp_path: Path) -> None:
    policy = Policy(
        Grants(env=(("A", "1"),), env_inherit=("TZ",), dirs=(DirGrant(tmp_path, "/d", False),),
               stdin=True, network=True, outbound=("https://*.example.com:443",)),
        Limits(memory_bytes=64 << 20, timeout=2.5, fuel=1000),
    )  # fmt: skip
    body = json.loads(json.dumps(policy.to_json()))
    assert body["schema"] == POLICY_SCHEMA
    assert Policy.from_json(body) == policy
    assert Policy.from_json(Policy().to_json()) == Policy()


def test_a_host_refuses_a_policy_it_cannot_enforce() -> None:
    newer = {**Policy().to_json(), "schema": POLICY_SCHEMA + 1}
    with pytest.raises(PolicyError, match="newer than this wasmesh understands"):
        Policy.from_json(newer)
    body = Policy().to_json()
    body["grants"]["keyvalue"] = ["cache"]
    with pytest.raises(PolicyError, match="the grant `keyvalue`, which this wasmesh does not"):
        Policy.from_json(body)
    body = Policy().to_json()
    body["limits"]["fuel"] = -1
    with pytest.raises(PolicyError, match="fuel -1 must be a positive number"):
        Policy.from_json(body)
