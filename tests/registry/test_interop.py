"""Interoperability with the `oras` CLI (oras-go), another client of the same registry API."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.cli import BIN
from tests.support.registry import Registry
from wasmesh.engine.loader import load_component
from wasmesh.registry import (
    CONFIG_MEDIA_TYPE,
    RegistryError,
    inspect_component,
    parse_reference,
    pull_component,
    push_component,
)

Guest = Callable[[str], Path]


def oras(*args: str | Path, cwd: Path | None = None) -> str:
    proc = subprocess.run(
        [str(BIN / "oras"), *map(str, args)], capture_output=True, text=True, timeout=120, cwd=cwd
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_oras_reads_what_wasmesh_pushed(registry: Registry, guest: Guest, tmp_path: Path) -> None:
    calc = guest("calc-c")
    ref = f"{registry.address}/interop/by-wasmesh:1"
    digest = push_component(calc, parse_reference(ref))

    manifest = json.loads(oras("manifest", "fetch", "--plain-http", ref))
    assert manifest["config"]["mediaType"] == CONFIG_MEDIA_TYPE
    config = json.loads(oras("manifest", "fetch-config", "--plain-http", ref))
    assert config["component"]["exports"] == [e.name for e in load_component(calc).world.exports]
    out = tmp_path / "calc.wasm"
    layer = manifest["layers"][0]["digest"]
    oras("blob", "fetch", "--plain-http", f"{ref.split(':1')[0]}@{layer}", "--output", out)
    assert out.read_bytes() == calc.read_bytes()
    assert digest in oras("resolve", "--plain-http", ref)


def test_wasmesh_reads_what_oras_pushed(registry: Registry, guest: Guest, tmp_path: Path) -> None:
    calc = guest("calc-c")
    work = tmp_path / "work"
    work.mkdir()
    (work / "calc.wasm").write_bytes(calc.read_bytes())
    world = load_component(calc).world
    config = {
        "created": "2026-01-01T00:00:00Z",
        "architecture": "wasm",
        "os": "wasip2",
        "layerDigests": [],
        "component": {
            "exports": [e.name for e in world.exports],
            "imports": [i.name for i in world.imports],
        },
    }
    (work / "config.json").write_text(json.dumps(config))
    ref = f"{registry.address}/interop/by-oras:1"
    oras(
        "push", "--plain-http", ref, "--config", f"config.json:{CONFIG_MEDIA_TYPE}",
        "calc.wasm:application/wasm", cwd=work,
    )  # fmt: skip

    artifact = inspect_component(parse_reference(ref))
    assert artifact.config.exports == tuple(e.name for e in world.exports)
    pulled = pull_component(parse_reference(ref))
    assert pulled.path.read_bytes() == calc.read_bytes()


def test_artifacts_that_are_not_wasm_components_are_refused(
    registry: Registry, guest: Guest, tmp_path: Path
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    (work / "notes.txt").write_text("hello\n")
    notes = f"{registry.address}/interop/notes:1"
    oras("push", "--plain-http", notes, "notes.txt:text/plain", cwd=work)
    with pytest.raises(RegistryError, match="is not a wasm component artifact"):
        pull_component(parse_reference(notes))

    # The wasm layout, but the layer is a core module.
    (work / "core.wasm").write_bytes(b"\0asm\x01\0\0\0")
    (work / "config.json").write_text(json.dumps({"architecture": "wasm", "os": "wasip2"}))
    core = f"{registry.address}/interop/core:1"
    oras(
        "push", "--plain-http", core, "--config", f"config.json:{CONFIG_MEDIA_TYPE}",
        "core.wasm:application/wasm", cwd=work,
    )  # fmt: skip
    with pytest.raises(RegistryError, match="is not a wasm component; push one"):
        pull_component(parse_reference(core))
