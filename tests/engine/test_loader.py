"""Loading components: validation errors, the AOT cache, corrupt cache entries."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.wat import wat_component
from wasmesh.engine import cache as cache_mod
from wasmesh.engine.cache import AotCache, artifact_key
from wasmesh.engine.config import settings_for, shared_engine
from wasmesh.engine.loader import _MEMO, announcing_compiles, load_component
from wasmesh.errors import ComponentError

ADD = """
(component
  (core module $m
    (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add))
  (core instance $i (instantiate $m))
  (func (export "add") (param "a" s32) (param "b" s32) (result s32)
    (canon lift (core func $i "add"))))
"""


@pytest.fixture
def cache(tmp_path: Path) -> AotCache:
    return AotCache(tmp_path)


def fresh_load(path: Path | bytes, cache: AotCache) -> object:
    _MEMO.clear()
    return load_component(path, cache=cache, progress=False)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ComponentError, match="no such file"):
        load_component(tmp_path / "nope.wasm")


def test_directory(tmp_path: Path) -> None:
    with pytest.raises(ComponentError, match="is a directory"):
        load_component(tmp_path)


def test_not_wasm(tmp_path: Path) -> None:
    p = tmp_path / "x.wasm"
    p.write_bytes(b"#!/bin/sh\necho hi\n")
    with pytest.raises(ComponentError, match="not a WebAssembly file"):
        load_component(p)


def test_wat_text_is_explained(tmp_path: Path) -> None:
    p = tmp_path / "x.wasm"
    p.write_text("(component)")
    with pytest.raises(ComponentError, match="WebAssembly text"):
        load_component(p)


def test_core_module_is_not_a_component() -> None:
    core = wat_component('(module (func (export "f")))')
    with pytest.raises(ComponentError, match="core WebAssembly module, not a component"):
        load_component(core)


def test_truncated_component(tmp_path: Path, cache: AotCache) -> None:
    whole = wat_component(ADD).read_bytes()
    p = tmp_path / "cut.wasm"
    p.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(ComponentError, match="is not a valid component"):
        fresh_load(p, cache)


def test_compiled_once_then_mapped_from_cache(cache: AotCache) -> None:
    path = wat_component(ADD)
    first = fresh_load(path, cache)
    second = fresh_load(path, cache)
    assert not first.from_cache  # type: ignore[attr-defined]
    assert second.from_cache  # type: ignore[attr-defined]
    assert first.digest == second.digest  # type: ignore[attr-defined]


def test_corrupt_cache_entry_is_rebuilt(cache: AotCache) -> None:
    path = wat_component(ADD)
    loaded = fresh_load(path, cache)
    key = artifact_key(loaded.digest, settings_for(False))  # type: ignore[attr-defined]
    artifact = cache.path_for(key)
    data = bytearray(artifact.read_bytes())
    data[len(data) // 2] ^= 0xFF
    artifact.write_bytes(bytes(data))
    again = fresh_load(path, cache)
    assert not again.from_cache  # type: ignore[attr-defined]
    assert cache.load(shared_engine(), key) is not None


def test_truncated_cache_entry_is_rebuilt(cache: AotCache) -> None:
    path = wat_component(ADD)
    loaded = fresh_load(path, cache)
    key = artifact_key(loaded.digest, settings_for(False))  # type: ignore[attr-defined]
    artifact = cache.path_for(key)
    artifact.write_bytes(artifact.read_bytes()[:100])
    assert not fresh_load(path, cache).from_cache  # type: ignore[attr-defined]


def test_cache_dir_honours_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("WASMESH_CACHE_DIR", str(tmp_path / "c"))
    assert cache_mod.cache_dir() == tmp_path / "c"


def test_world_lists_exports() -> None:
    loaded = load_component(wat_component(ADD))
    (add,) = loaded.world.exports
    assert add.name == "add"
    assert [p.type.kind for p in add.sig.params] == ["s32", "s32"]  # type: ignore[union-attr]


def test_serve_and_up_say_so_off_a_terminal_when_a_big_component_compiles(
    cache: AotCache, capsys: pytest.CaptureFixture[str]
) -> None:
    data = "a" * ((1 << 20) + 7)
    big = wat_component(f'(component (core module (memory 17) (data (i32.const 0) "{data}")))')
    _MEMO.clear()
    load_component(big, cache=cache)  # as `invoke` does: its standard error stays its own
    assert capsys.readouterr().err == ""
    cache.path_for(artifact_key(load_component(big, cache=cache, progress=False).digest,
                                settings_for(False))).unlink()  # fmt: skip
    _MEMO.clear()
    with announcing_compiles():  # as `serve` and `up` load their units
        load_component(big, cache=cache)
    lines = capsys.readouterr().err.splitlines()
    assert lines[0] == (f"compiling {big.name} (1.0 MB, first time, ~5 s); later starts use "
                        "the cache...")  # fmt: skip
    assert lines[1].startswith(f"compiled {big.name} in ")
    _MEMO.clear()
    with announcing_compiles():
        load_component(big, cache=cache)
    assert capsys.readouterr().err == ""  # from the cache: nothing to say
