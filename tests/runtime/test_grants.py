"""Parsing grants and limits as users write them."""

from __future__ import annotations

from pathlib import Path

import pytest

from wasmesh.errors import WasmeshError
from wasmesh.runtime.grants import DirGrant, Grants, Limits, parse_size


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
