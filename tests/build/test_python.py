"""The Python toolchain (componentize-py) and the kinds-py / cmd-py guests."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
import wasmtime

from tests.build.conftest import instantiate, logging_wrappers
from tests.conftest import GUESTS, guest_cache_dir
from wasmesh.build import MissingToolError, ToolchainFailure, load_guest, toolchain_for
from wasmesh.errors import BuildError

RT = "demo:kinds/roundtrip@0.1.0"

ECHOES: list[tuple[str, object]] = [
    ("echo-bool", True),
    ("echo-s8", -128),
    ("echo-s16", -32768),
    ("echo-s32", -(2**31)),
    ("echo-s64", -(2**63)),
    ("echo-u8", 255),
    ("echo-u16", 65535),
    ("echo-u32", 2**32 - 1),
    ("echo-u64", 2**64 - 1),
    ("echo-f32", 1.5),
    ("echo-f64", -0.1),
    ("echo-char", "é"),
    ("echo-string", "snow ☃ man"),
    ("echo-bytes", b"\x00\xff"),
    ("echo-strings", ["a", "", "c"]),
    ("echo-tuple", (7, "seven")),
    ("echo-color", "green"),
    ("echo-perms", {"read", "exec"}),
    ("echo-option", None),
    ("echo-option", "x"),
]


def test_kinds_round_trip(guest: Callable[[str], Path]) -> None:
    kinds = instantiate(guest("kinds-py"))
    for func, value in ECHOES:
        assert kinds.call(RT, func, value) == value, func
    assert kinds.call(RT, "describe", 3, "b", b"\x01\x02") == "3|b|0102"
    assert kinds.call(RT, "lookup", "ann").tag == "ok"
    assert kinds.call(RT, "lookup", "root").payload == "denied"
    assert kinds.call(RT, "lookup", "").payload == "not-found"
    # wasmtime-py gives result<_, string> as None (ok) or the error payload.
    assert kinds.call(RT, "check", False) is None
    assert kinds.call(RT, "check", True) == "failed"


def test_kinds_counter_resource(guest: Callable[[str], Path]) -> None:
    kinds = instantiate(guest("kinds-py"))
    counter = kinds.call(RT, "[constructor]counter", 5)
    assert kinds.call(RT, "[method]counter.incr", counter, 3) == 8
    assert kinds.call(RT, "peek", counter) == 8
    zero = kinds.call(RT, "[static]counter.zero")
    assert kinds.call(RT, "[method]counter.get", zero) == 0


def test_command_prints_and_reads_env(guest: Callable[[str], Path], tmp_path: Path) -> None:
    wasi = wasmtime.WasiConfig()
    wasi.argv = ["cmd-py", "one", "two"]
    wasi.env = [("GREETING", "hi")]
    wasi.stdout_file = str(tmp_path / "out.txt")
    cmd = instantiate(guest("cmd-py"), wasi)
    assert cmd.call("wasi:cli/run@0.2.12", "run").tag == "ok"
    assert (tmp_path / "out.txt").read_text() == "args: one two\nGREETING: hi\n"


def test_up_to_date_build_needs_no_tool(
    guest: Callable[[str], Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    built = guest("kinds-py")
    before = built.stat()
    log = tmp_path / "tools.log"
    real = str(shutil.which("componentize-py"))
    logging_wrappers(tmp_path / "bin", log, {"componentize-py": real})
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    result = load_guest(GUESTS / "kinds-py").build(guest_cache_dir() / "kinds-py.wasm")
    assert not result.rebuilt
    assert not log.exists()
    assert (built.stat().st_ino, built.stat().st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


@pytest.mark.slow
def test_broken_source_quotes_componentize_py(tmp_path: Path) -> None:
    src = tmp_path / "broken"
    shutil.copytree(GUESTS / "cmd-py", src)
    (src / "app.py").write_text("from wit_world import exports\n\nclass Run(exports.Run)\n")
    with pytest.raises(ToolchainFailure) as info:
        toolchain_for("python").build(src, tmp_path / "b.wasm", "cmd", src / "wit")
    assert info.value.component == "broken"
    assert "SyntaxError" in info.value.output
    assert "Stack backtrace" not in str(info.value)


def test_missing_app_module(tmp_path: Path) -> None:
    src = tmp_path / "empty"
    shutil.copytree(GUESTS / "cmd-py" / "wit", src / "wit")
    with pytest.raises(BuildError, match="no module 'app'"):
        toolchain_for("python").build(src, tmp_path / "e.wasm", "cmd", src / "wit")


def test_missing_tool(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    src = tmp_path / "cmd"
    shutil.copytree(GUESTS / "cmd-py", src)
    monkeypatch.setenv("PATH", str(tmp_path / "nothing"))
    monkeypatch.setattr("wasmesh.tools.tool_dirs", lambda: [])  # nor beside the interpreter
    with pytest.raises(MissingToolError, match=r"^componentize-py is not installed"):
        toolchain_for("python").build(src, tmp_path / "c.wasm", "cmd", src / "wit")
