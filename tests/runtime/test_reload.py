"""`reload_app`: an app's next version from edited sources, only changed units and their
callers made anew; the running version keeps answering until it is dropped. Three WAT
components, one unit each: `mid` calls `base` through the host, `lone` calls nobody."""

from __future__ import annotations

from pathlib import Path

import pytest

from wasmesh.errors import WasmeshError
from wasmesh.runtime.app import App
from wasmesh.runtime.reload import changed_triggers, reload_app

WIT = """package test:chain@0.1.0;

interface num { value: func() -> s32; }
interface twice { twice: func() -> s32; }
interface seven { seven: func() -> s32; }

world base { export num; }
world mid { import num; export twice; }
world lone { export seven; }
"""
WAT = {
    "base": '(module (func (export "test:chain/num@0.1.0#value") (result i32) (i32.const {n})))',
    "mid": """(module
  (import "test:chain/num@0.1.0" "value" (func $value (result i32)))
  (func (export "test:chain/twice@0.1.0#twice") (result i32)
    (i32.mul (call $value) (i32.const {n}))))""",
    "lone": '(module (func (export "test:chain/seven@0.1.0#seven") (result i32) (i32.const {n})))',
}
TWICE = "test:chain/twice@0.1.0#twice"
SEVEN = "test:chain/seven@0.1.0#seven"
TRIGGER = '\n[[triggers.cron]]\nschedule = "@daily"\ncomponent = "lone"\nexport = "seven"\n'


def manifest() -> str:
    tables = [
        f'[components.{name}]\nsource = "{name}"\nlanguage = "wat"\nworld = "{name}"\nwit = "wit"\n'
        for name in WAT
    ]
    return '[app]\nname = "chain"\n\n' + "\n".join(tables)


def write(root: Path, name: str, n: int | str) -> None:
    (root / name).mkdir(exist_ok=True)
    (root / name / f"{name}.wat").write_text(WAT[name].replace("{n}", str(n)))


def reload(app: App, root: Path) -> tuple[App, tuple[str, ...]]:
    fresh = reload_app(app, root, strategy="per-component")
    return fresh.app, fresh.units


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "wit").mkdir()
    (tmp_path / "wit" / "world.wit").write_text(WIT)
    (tmp_path / "wasmesh.toml").write_text(manifest())
    for name, n in (("base", 3), ("mid", 2), ("lone", 7)):
        write(tmp_path, name, n)
    return tmp_path


def test_a_changed_unit_and_its_callers_are_made_anew_the_others_kept(root: Path) -> None:
    app = App.load(root, strategy="per-component")
    assert (app.call(TWICE), app.call(SEVEN)) == (6, 7)
    write(root, "base", 5)
    fresh, units = reload(app, root)
    assert units == ("base", "mid")  # providers first
    assert fresh.units["lone"] is app.units["lone"]
    assert (fresh.call(TWICE), fresh.call(SEVEN)) == (10, 7)
    assert app.call(TWICE) == 6  # the running version answers until it is dropped

    write(root, "lone", 8)
    newer, units = reload(fresh, root)
    assert units == ("lone",)
    assert newer.units["base"] is fresh.units["base"] and newer.units["mid"] is fresh.units["mid"]
    assert (newer.call(TWICE), newer.call(SEVEN)) == (10, 8)
    assert reload(newer, root)[1] == ()  # nothing changed: nothing made
    newer.close()


def test_a_failed_build_raises_and_leaves_the_app_as_it_was(root: Path) -> None:
    app = App.load(root, strategy="per-component")
    write(root, "base", "oops")
    with pytest.raises(WasmeshError, match="base"):
        reload(app, root)
    assert app.call(TWICE) == 6
    app.close()


def test_changed_triggers_come_with_the_next_version(root: Path) -> None:
    app = App.load(root, strategy="per-component")
    (root / "wasmesh.toml").write_text(manifest() + TRIGGER)
    fresh = reload_app(app, root, strategy="per-component")
    assert fresh.units == ()  # no component changed, only what triggers them
    assert changed_triggers(app.manifest.triggers, fresh.app.manifest.triggers) == ["cron"]
    assert [t.address for t in fresh.app.manifest.triggers] == ["@daily"]
    assert changed_triggers(fresh.app.manifest.triggers, fresh.app.manifest.triggers) == []
    app.close()
