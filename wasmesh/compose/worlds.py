"""Reading a component's world without compiling the component.

Wiring needs every member's imports and exports, but compiling a componentize-py component
takes seconds and the unit it joins is compiled again anyway. For a large component wasmesh
prints its WIT (`wasm-tools component wit`) and compiles a *stand-in* built from that WIT
around a generated core module (`component embed --dummy`): same imports and exports, a few
kilobytes, compiled in milliseconds. Small components are simply loaded.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from wasmesh.build.cache import exclusive
from wasmesh.compose._tools import run_wasm_tools, write_atomically
from wasmesh.engine.loader import load_component
from wasmesh.engine.world import World

STAND_IN_ABOVE = 1 << 20  # bytes; below this, compiling the component itself is as quick


def world_of(path: Path, cache: Path) -> World:
    """The world of the component file `path` (stand-ins are cached under `cache`)."""
    data = path.read_bytes()
    if len(data) <= STAND_IN_ABOVE:
        return load_component(path).world
    stand_in = cache / "worlds" / f"{hashlib.sha256(data).hexdigest()[:32]}.wasm"
    if not stand_in.exists():
        with exclusive(stand_in):  # one maker per stand-in; the others wait and reuse it
            if not stand_in.exists():
                _make_stand_in(path, stand_in)
    return load_component(stand_in).world


def _make_stand_in(path: Path, stand_in: Path) -> None:
    work = stand_in.with_suffix(".d")
    work.mkdir(parents=True, exist_ok=True)
    wit = run_wasm_tools(["component", "wit", path.resolve()], f"reading the WIT of {path}")
    (work / "world.wit").write_text(wit)
    run_wasm_tools(
        ["component", "embed", "--dummy", "world.wit", "--world", "root", "-o", "core.wasm"],
        f"making a stand-in for {path.name}",
        work,
    )
    run_wasm_tools(
        ["component", "new", "core.wasm", "-o", "stand-in.wasm"],
        f"making a stand-in for {path.name}",
        work,
    )
    write_atomically(stand_in, (work / "stand-in.wasm").read_bytes())
