"""`wasmesh --version`: wasmesh, wasmtime-py and the toolchain pins as installed."""

from __future__ import annotations

import tomllib
from importlib import metadata
from pathlib import Path

from tests.support.cli import wasmesh

TOOLCHAIN = Path(__file__).resolve().parents[2] / "toolchain.toml"


def test_version_names_wasmesh_wasmtime_and_every_pin() -> None:
    r = wasmesh("--version")
    assert r.code == 0, r.err
    lines = r.out.splitlines()
    assert lines[0] == f"wasmesh {metadata.version('wasmesh')}"
    assert lines[1] == f"wasmtime-py {metadata.version('wasmtime')}"
    pins = tomllib.loads(TOOLCHAIN.read_text())
    for name, pinned in {**pins["python"], **pins["npm"]}.items():
        if name != "wasmtime":
            assert f"  {name} {pinned}" in lines, name
