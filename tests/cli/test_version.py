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


def test_version_lists_the_toolchains_that_build_components() -> None:
    lines = wasmesh("--version").out.splitlines()
    pins = tomllib.loads(TOOLCHAIN.read_text())
    for name, spec in pins["cargo-install"].items():
        assert f"  {name} {spec.split()[0]}" in lines, name  # wit-bindgen-cli for C
    assert f"  go >= {pins['go']['minimum']} (Go components)" in lines
    assert any(ln.startswith("  debian packages (set-up): ") and "clang" in ln for ln in lines)
