"""`wasmesh build` fills the AOT cache and the shared build store; `wasmesh cache ls|prune`
shows them and evicts the least recently used entries beyond a bound."""

from __future__ import annotations

import json
import os
import re
import shutil
import uuid
from pathlib import Path

import pytest

from tests.support.cli import wasmesh
from wasmesh.engine.loader import is_compiled


@pytest.fixture
def own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    cache = tmp_path / "cache"
    monkeypatch.setenv("WASMESH_CACHE_DIR", str(cache))
    return cache


def new_wat_app(root: Path) -> tuple[Path, str]:
    """An app of one WAT greeter with a name (so bytes) no other test has compiled."""
    name = "aot-x" + uuid.uuid4().hex[:12]
    made = wasmesh("new", name, "--lang", "wat", "--app", root)
    assert made.code == 0, made.err
    return root, name


def test_build_compiles_every_unit_into_the_aot_cache(tmp_path: Path, own_cache: Path) -> None:
    app, name = new_wat_app(tmp_path / "app")
    _, other = new_wat_app(app)  # two components: the unit is a new, composed component
    built = wasmesh("build", app, "--json")
    assert built.code == 0, built.err
    unit = Path(json.loads(built.out)["units"]["main"]["artifact"])
    assert is_compiled(unit), "the first invoke or up maps the unit instead of compiling it"
    shown = wasmesh("build", app)  # nothing left to do: no step line
    assert shown.code == 0 and "building" not in shown.err
    for made in (name, other):
        r = wasmesh("invoke", "--app", app, f"{made}:component/greeter#greet", '"aot"')
        assert (r.code, r.out) == (0, '"Hello, aot!"\n'), r.err


def test_build_progress_is_one_plain_line_per_step_off_a_terminal(
    tmp_path: Path, own_cache: Path
) -> None:
    app, name = new_wat_app(tmp_path / "app")
    new_wat_app(app)
    built = wasmesh("build", app)
    assert built.code == 0, built.err
    lines = built.err.splitlines()
    assert any(re.fullmatch(rf"building {name}: parsing component\.wat \(\d+\.\d s\)", ln)
               for ln in lines)  # fmt: skip
    assert any(
        re.fullmatch(r"building unit main: compiling into the AOT cache \(\d+\.\d s\)", ln)
        for ln in lines
    )
    assert "\x1b" not in built.err


def test_a_new_app_reuses_a_component_built_for_another(tmp_path: Path, own_cache: Path) -> None:
    first, name = new_wat_app(tmp_path / "first")
    assert wasmesh("build", first).code == 0
    second = tmp_path / "second"
    second.mkdir()
    # the same sources in another directory: copied from the store, no tool runs
    (second / "wasmesh.toml").write_text((first / "wasmesh.toml").read_text())
    shutil.copytree(first / name, second / name)
    built = wasmesh("build", second)
    assert built.code == 0, built.err
    assert f"building {name}:" not in built.err
    assert (second / ".wasmesh" / "build" / f"{name}.wasm").read_bytes() == (
        first / ".wasmesh" / "build" / f"{name}.wasm"
    ).read_bytes()


def test_ls_and_prune_evict_the_least_recently_used(tmp_path: Path, own_cache: Path) -> None:
    for i in range(2):
        app, _ = new_wat_app(tmp_path / f"app{i}")  # one component: its own unit
        assert wasmesh("build", app).code == 0
    listed = wasmesh("cache", "ls", "--json")
    assert listed.code == 0, listed.err
    areas = json.loads(listed.out)["areas"]
    assert (areas["aot"]["entries"], areas["builds"]["entries"]) == (2, 2)
    entries = sorted((own_cache / "aot").glob("*/*.cwasm")) + sorted(
        (own_cache / "builds").glob("*.wasm")
    )
    # make one AOT entry and one build the oldest
    old = [entries[0], entries[2]]
    for path in old:
        os.utime(path, (1_000_000, 1_000_000))
    keep = sum(p.stat().st_size + _seal(p) for p in entries if p not in old)
    pruned = wasmesh("cache", "prune", "--max-size", str(keep))
    assert pruned.code == 0, pruned.err
    assert "removed 2 entries" in pruned.out
    assert [p for p in entries if p.exists()] == [p for p in entries if p not in old]
    assert not entries[0].with_suffix(".seal").exists()
    assert wasmesh("cache", "prune", "--max-size", "0").code == 0
    assert not any(p.exists() for p in entries)


def _seal(path: Path) -> int:
    seal = path.with_suffix(".seal")
    return seal.stat().st_size if seal.exists() else 0


def test_prune_refuses_a_size_it_cannot_read(own_cache: Path) -> None:
    r = wasmesh("cache", "prune", "--max-size", "lots")
    assert r.code == 2 and "'lots' is not a size" in r.err


def test_a_bad_bound_in_the_environment_names_the_variable(
    own_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WASMESH_CACHE_MAX_SIZE", "lots")
    r = wasmesh("cache", "ls")
    assert r.code == 2 and "Traceback" not in r.err
    assert "WASMESH_CACHE_MAX_SIZE: 'lots' is not a size" in r.err


def test_one_entry_is_one_entry(tmp_path: Path, own_cache: Path) -> None:
    app, _ = new_wat_app(tmp_path / "app")  # one component: its build and its unit's artifact
    assert wasmesh("build", app).code == 0
    listed = wasmesh("cache", "ls")
    assert re.search(r"\baot +.* 1 entry$", listed.out, re.MULTILINE), listed.out
    pruned = wasmesh("cache", "prune", "--max-size", "0")
    assert "removed 2 entries" in pruned.out
    again = wasmesh("cache", "prune", "--max-size", "0")
    assert "removed 0 entries" in again.out


def test_build_out_copies_each_component(tmp_path: Path, own_cache: Path) -> None:
    app, name = new_wat_app(tmp_path / "app")
    built = wasmesh("build", app, "--out", tmp_path / "dist")
    assert built.code == 0, built.err
    r = wasmesh("invoke", tmp_path / "dist" / f"{name}.wasm", "greet", '"out"')
    assert (r.code, r.out) == (0, '"Hello, out!"\n'), r.err
    refused = wasmesh("build", app, "--out", tmp_path / "no" / "such" / "dir")
    assert refused.code == 2 and "--out" in refused.err and "Traceback" not in refused.err
