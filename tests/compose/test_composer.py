"""Units fused with `wasm-tools compose`: one component answering through its dependency."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.compose.wat_parts import consumer, provider
from wasmesh.api import Interface
from wasmesh.compose.composer import compose_unit
from wasmesh.compose.wiring import WiringError
from wasmesh.engine import load_component
from wasmesh.errors import LinkError
from wasmesh.runtime.app import App


def write_app(tmp_path: Path, deploy: str = "") -> Path:
    manifest = tmp_path / "wasmesh.toml"
    manifest.write_text(f"""
[app]
name = "calc"

[components.app]
source = "{consumer("app:c/run@0.1.0", "t:x/calc@1.0.0")}"

[components.calc]
source = "{provider("t:x/calc@1.2.0", bias=1)}"

{deploy}
""")
    return manifest


def test_two_components_answer_through_one_composed_component(tmp_path: Path) -> None:
    app = App.load(write_app(tmp_path), cache=tmp_path / "cache")
    (unit,) = app.units.values()
    world = load_component(unit.loaded.path or "").world
    assert [item.name for item in world.imports] == []
    assert [item.name for item in world.exports] == ["app:c/run@0.1.0"]
    assert app.call("app:c/run@0.1.0#twice", 20) == 41  # add(20, 20) + bias, inside wasm
    run = app.exports["app:c/run"]
    assert isinstance(run, Interface) and run.twice(1) == 3


def test_per_component_units_link_through_the_host(tmp_path: Path) -> None:
    app = App.load(write_app(tmp_path, '[deploy]\nstrategy = "per-component"'), cache=tmp_path)
    assert [p.name for p in app.plans] == ["calc", "app"]  # providers first
    (link,) = app.unit_of("app").remote
    assert (link.import_name, link.provider) == ("t:x/calc@1.0.0", "calc")
    world = app.units["app"].world
    assert [item.name for item in world.imports] == ["t:x/calc@1.0.0"]
    assert app.call("app:c/run@0.1.0#twice", 20) == 41
    assert app.call("t:x/calc#add", 2, 3) == 6  # the provider unit answers directly too
    assert app.serving("calc").call("t:x/calc#add", 2, 3) == 6


def test_composition_is_cached_by_its_inputs(tmp_path: Path) -> None:
    app = App.load(write_app(tmp_path), cache=tmp_path / "cache")
    (plan,) = app.plans
    worlds = {name: load_component(path).world for name, path in app.paths.items()}
    first = compose_unit(plan, app.paths, worlds, tmp_path / "cache")
    stamp = first.stat().st_mtime_ns
    again = compose_unit(plan, app.paths, worlds, tmp_path / "cache")
    assert again == first and again.stat().st_mtime_ns == stamp
    paths = dict(app.paths, calc=provider("t:x/calc@1.2.0", bias=2))
    assert compose_unit(plan, paths, worlds, tmp_path / "cache") != first


def test_wiring_errors_point_at_the_component_in_the_manifest(tmp_path: Path) -> None:
    manifest = tmp_path / "wasmesh.toml"
    manifest.write_text(f"""[app]
name = "calc"

[components.app]
source = "{consumer("app:c/run@0.1.0", "t:x/calc@1.0.0")}"
""")
    with pytest.raises(WiringError) as err:
        App.load(manifest, cache=tmp_path / "cache")
    assert str(err.value) == (
        "wasmesh.toml:4: `app` imports `t:x/calc@1.0.0`, which no component exports and the "
        "host does not provide; add a component exporting it to wasmesh.toml"
    )


def test_a_unit_with_several_entries_is_fused_behind_a_shell(
    guest: Callable[[str], Path], tmp_path: Path
) -> None:
    manifest = tmp_path / "wasmesh.toml"
    manifest.write_text(f"""[app]
name = "two"

[components.probe]
source = "{guest("app-probe-c")}"
env = {{ WHO = "probe" }}

[components.calc]
source = "{provider("t:x/calc@1.0.0", bias=7)}"
""")
    app = App.load(manifest, cache=tmp_path / "cache")
    (plan,) = app.plans
    assert plan.entries == ("probe", "calc")
    (unit,) = app.units.values()
    exports = {item.name for item in unit.world.exports}
    assert exports == {"test:isolation/probe@0.1.0", "t:x/calc@1.0.0"}
    assert app.call("t:x/calc#add", 1, 2) == 10
    # strings in, option<string> out through the shell's memory, many times over
    for _ in range(200):
        assert app.call("test:isolation/probe#read-env", "WHO") == "probe"
    assert app.call("test:isolation/probe#read-env", "NOBODY") is None


def test_world_level_functions_cannot_be_re_exported(
    guest: Callable[[str], Path], tmp_path: Path
) -> None:
    manifest = tmp_path / "wasmesh.toml"
    manifest.write_text(f"""[app]
name = "two"

[components.calc]
source = "{guest("calc-c")}"

[components.probe]
source = "{guest("app-probe-c")}"
""")
    with pytest.raises(LinkError) as err:
        App.load(manifest, cache=tmp_path / "cache")
    assert str(err.value) == (
        "`calc` exports the function `version` outside any interface, which a unit with several "
        "entries cannot re-export; give it a unit of its own"
    )
