"""Planning deployment units: entries, links between units, and what cannot cross them."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.compose.wat_parts import both, consumer, provider
from wasmesh.compose.manifest import Manifest, parse_manifest
from wasmesh.compose.units import PlanError, UnitPlan, plan_units
from wasmesh.compose.wiring import wire
from wasmesh.engine import load_component
from wasmesh.engine.types import FuncSig, Param, WitType
from wasmesh.engine.world import FuncItem, InterfaceItem, World


def manifest(components: dict[str, Path | str], tail: str = "") -> Manifest:
    text = '[app]\nname = "t"\n'
    for name, path in components.items():
        text += f'\n[components.{name}]\nsource = "{path}"\n'
    return parse_manifest(text + tail, Path("/srv/t/wasmesh.toml"))


def plan(components: dict[str, Path], tail: str = "") -> tuple[UnitPlan, ...]:
    worlds = {name: load_component(path).world for name, path in components.items()}
    return plan_units(manifest(dict(components), tail), wire(worlds))


def test_members_nothing_else_imports_are_the_entries() -> None:
    components = {
        "a": provider("t:x/a@1.0.0"),
        "app": consumer("app:c/run@0.1.0", "t:x/calc@1.0.0"),
        "calc": provider("t:x/calc@1.0.0"),
    }
    (unit,) = plan(components)
    assert unit.entries == ("a", "app") and unit.components == ("a", "calc", "app")


def test_only_an_entry_can_serve_another_unit() -> None:
    components = {
        "a": consumer("app:c/run@0.1.0", "t:x/base@1.0.0"),
        "b": both("t:x/calc@1.0.0", "t:x/base@1.0.0"),
        "c": provider("t:x/base@1.0.0"),
    }
    with pytest.raises(PlanError) as err:
        plan(components, '\n[deploy]\nunits = { front = ["a"], back = ["b", "c"] }\n')
    assert str(err.value) == (
        "`a` (unit `front`) imports `t:x/base@1.0.0` from `c`, which is inside unit `back` "
        "behind `b`; put `c` in a unit of its own or in the same unit as its consumer"
    )
    plans = plan(components, '\n[deploy]\nunits = { front = ["a"], mid = ["b"], back = ["c"] }\n')
    assert [p.name for p in plans] == ["back", "front", "mid"]


def test_a_trigger_must_target_an_entry() -> None:
    trigger = '\n[[triggers.http]]\nroute = "/x"\ncomponent = "calc"\n'
    components = {
        "app": consumer("app:c/run@0.1.0", "t:x/calc@1.0.0"),
        "calc": provider("t:x/calc@1.0.0"),
    }
    with pytest.raises(PlanError) as err:
        plan(components, trigger)
    assert str(err.value) == (
        "wasmesh.toml:10: a trigger targets `calc`, which is inside unit `main` behind `app`; "
        "give it a unit of its own"
    )


def test_resource_handles_cannot_cross_units() -> None:
    handle = FuncSig((Param("file", WitType("own", resource="file")),), WitType("u32"))
    iface = InterfaceItem("t:x/files@1.0.0", (FuncItem("size", handle),), ("file",))
    worlds = {
        "app": World(imports=(iface,), exports=(FuncItem("run", FuncSig((), None)),)),
        "files": World(imports=(), exports=(iface,)),
    }
    split = manifest(
        {"app": "app.wasm", "files": "files.wasm"}, '\n[deploy]\nstrategy = "per-component"\n'
    )
    with pytest.raises(PlanError) as err:
        plan_units(split, wire(worlds))
    assert str(err.value) == (
        "`app` and `files` share resource handles through `t:x/files@1.0.0`, which cannot "
        "cross units; deploy them in one unit"
    )
    fused = plan_units(manifest({"app": "app.wasm", "files": "files.wasm"}), wire(worlds))
    assert fused[0].components == ("files", "app")
