"""The WAT toolchain: component WAT as is, core WAT + WIT lifted; the WAT test guests."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
import wasmtime

from tests.build.conftest import instantiate, logging_wrappers
from wasmesh.build import ToolchainFailure, toolchain_for
from wasmesh.engine import load_component
from wasmesh.errors import BuildError

CORE = """
(module
  (func (export "double") (param i32) (result i32)
    local.get 0
    i32.const 2
    i32.mul))
"""
WIT = """
package demo:double@0.1.0;

world double {
  export double: func(x: u32) -> u32;
}
"""


def _source(root: Path, wat: str, wit: str | None = WIT) -> Path:
    root.mkdir(parents=True)
    (root / "m.wat").write_text(wat)
    if wit is not None:
        (root / "wit").mkdir()
        (root / "wit" / "w.wit").write_text(wit)
    return root


def test_core_module_is_lifted_with_its_world(tmp_path: Path) -> None:
    src = _source(tmp_path / "double", CORE)
    result = toolchain_for("wat").build(src, tmp_path / "d.wasm", "double", src / "wit")
    assert result.rebuilt
    assert instantiate(result.path).call(None, "double", 21) == 42


def test_second_build_runs_no_tool(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    src = _source(tmp_path / "double", CORE)
    log = tmp_path / "tools.log"
    logging_wrappers(tmp_path / "bin", log, {"wasm-tools": str(shutil.which("wasm-tools"))})
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    monkeypatch.setattr("wasmesh.tools.tool_dirs", lambda: [])  # only the logging wrappers
    out = tmp_path / "d.wasm"
    toolchain_for("wat").build(src, out, "double", src / "wit")
    assert log.read_text().count("wasm-tools") == 3, "parse, embed, new"
    log.write_text("")
    before = out.stat()
    again = toolchain_for("wat").build(src, out, "double", src / "wit")
    assert not again.rebuilt
    assert log.read_text() == ""
    assert (out.stat().st_ino, out.stat().st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    # With no tool on PATH at all, an up-to-date output still needs nothing.
    monkeypatch.setenv("PATH", str(tmp_path / "nothing"))
    assert not toolchain_for("wat").build(src, out, "double", src / "wit").rebuilt


def test_component_wat_needs_no_wit(guest: Callable[[str], Path]) -> None:
    assert instantiate(guest("add-wat")).call(None, "add", 40, 2) == 42


def test_core_module_without_wit_is_refused(tmp_path: Path) -> None:
    src = _source(tmp_path / "double", CORE, wit=None)
    with pytest.raises(BuildError, match="core module and needs a WIT world"):
        toolchain_for("wat").build(src, tmp_path / "d.wasm", "double", None)


def test_syntax_error_quotes_wasm_tools(tmp_path: Path) -> None:
    src = _source(tmp_path / "bad", '(module (func (export "f") (result i32) i32.const))')
    with pytest.raises(ToolchainFailure) as info:
        toolchain_for("wat").build(src, tmp_path / "b.wasm", "double", src / "wit")
    assert "component 'bad'" in str(info.value)
    assert "expected" in info.value.output and "m.wat" in info.value.output


def test_world_mismatch_quotes_wasm_tools(tmp_path: Path) -> None:
    # The world promises `double` but the module exports nothing.
    src = _source(tmp_path / "empty", "(module)")
    with pytest.raises(ToolchainFailure, match="double"):
        toolchain_for("wat").build(src, tmp_path / "e.wasm", "double", src / "wit")


def test_ambiguous_sources(tmp_path: Path) -> None:
    src = _source(tmp_path / "two", CORE)
    (src / "other.wat").write_text(CORE)
    with pytest.raises(BuildError, match=r"exactly one \.wat file"):
        toolchain_for("wat").build(src, tmp_path / "t.wasm", "double", src / "wit")
    result = toolchain_for("wat").build(
        src, tmp_path / "t.wasm", "double", src / "wit", options={"file": "other.wat"}
    )
    assert instantiate(result.path).call(None, "double", 4) == 8


def test_trap_guest_traps_with_a_backtrace(guest: Callable[[str], Path]) -> None:
    trap = instantiate(guest("trap-wat"))
    assert trap.call(None, "ok") == 7
    with pytest.raises(wasmtime.WasmtimeError, match="unreachable") as info:
        trap.call(None, "boom")
    assert "inner" in str(info.value) and "outer" in str(info.value)


def test_loop_guest_is_stopped_by_the_epoch_deadline(guest: Callable[[str], Path]) -> None:
    looping = instantiate(guest("loop-wat"))
    assert looping.call(None, "count", 1000) == 0
    looping.store.set_epoch_deadline(2)  # ticks of 10 ms
    with pytest.raises(wasmtime.WasmtimeError, match="interrupt"):
        looping.call(None, "spin")


def test_membomb_guest_hits_the_memory_limit(guest: Callable[[str], Path]) -> None:
    bomb = instantiate(guest("membomb-wat"))
    assert bomb.call(None, "pages") == 1
    bomb.store.set_limits(memory_size=4 << 20)
    with pytest.raises(wasmtime.WasmtimeError, match="unreachable"):
        bomb.call(None, "grow")


def test_guests_import_nothing(guest: Callable[[str], Path]) -> None:
    for name in ("add-wat", "trap-wat", "loop-wat", "membomb-wat"):
        assert load_component(guest(name)).world.imports == (), name
