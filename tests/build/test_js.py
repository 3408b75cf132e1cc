"""The JavaScript toolchain (componentize-js) and the kinds-js guest."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.build.conftest import instantiate
from tests.conftest import GUESTS, guest_cache_dir
from wasmesh.build import MissingToolError, ToolchainFailure, load_guest, toolchain_for
from wasmesh.engine import load_component
from wasmesh.errors import BuildError

RT = "demo:kinds/roundtrip@0.1.0"
SHAPE: dict[str, object] = {
    "name": "sq",
    "origin": {"x": -1, "y": 2},
    "tags": ["a", "b"],
    "label": None,
}


def test_kinds_subset_round_trip(guest: Callable[[str], Path]) -> None:
    kinds = instantiate(guest("kinds-js"))
    # componentize-js 0.23 mangles u32 arguments of 2**31 and above; stay below.
    assert kinds.call(RT, "echo-u32", 2**31 - 1) == 2**31 - 1
    assert kinds.call(RT, "echo-string", "snow ☃ man") == "snow ☃ man"
    assert kinds.call(RT, "echo-bytes", b"\x00\xff") == b"\x00\xff"
    assert kinds.call(RT, "echo-strings", ["x", ""]) == ["x", ""]
    assert kinds.call(RT, "echo-color", "blue") == "blue"
    assert kinds.call(RT, "echo-option", None) is None
    assert kinds.call(RT, "echo-option", "v") == "v"
    shape = kinds.call(RT, "echo-shape", _record(kinds, SHAPE))
    assert (shape.name, shape.origin.x, shape.tags, shape.label) == ("sq", -1, ["a", "b"], None)
    assert kinds.call(RT, "lookup", "root").payload == "denied"
    # wasmtime-py gives result<_, string> as None (ok) or the error payload.
    assert kinds.call(RT, "check", False) is None
    assert kinds.call(RT, "check", True) == "failed"
    assert kinds.call(RT, "describe", 3, "b", b"\x01\x02") == "3|b|0102"
    assert kinds.call(RT, "mul-add", 70000, 70000, 1) == (70000 * 70000 + 1) % 2**32


def _record(_: object, fields: dict[str, object]) -> object:
    # wasmtime-py lowers records from any object with matching attributes.
    class R:
        pass

    out = R()
    for key, value in fields.items():
        setattr(out, key, _record(None, value) if isinstance(value, dict) else value)
    return out


def test_no_wasi_http_imports(guest: Callable[[str], Path]) -> None:
    imports = [item.name for item in load_component(guest("kinds-js")).world.imports]
    assert imports and not any(name.startswith("wasi:http/") for name in imports)


@pytest.mark.slow
def test_broken_source_quotes_componentize_js(tmp_path: Path) -> None:
    src = tmp_path / "broken-js"
    shutil.copytree(GUESTS / "kinds-js", src)
    (src / "app.js").write_text("export const roundtrip = {\n  echoU32(v) { return v;\n};\n")
    with pytest.raises(ToolchainFailure) as info:
        toolchain_for("js").build(
            src, tmp_path / "b.wasm", "kinds", src / "wit", options={"disable": ["http"]}
        )
    assert "'broken-js'" in str(info.value)
    assert "failed to parse JS source" in info.value.output


def test_missing_entry(tmp_path: Path) -> None:
    src = tmp_path / "no-entry"
    shutil.copytree(GUESTS / "kinds-js" / "wit", src / "wit")
    with pytest.raises(BuildError, match=r"no app\.js"):
        toolchain_for("js").build(src, tmp_path / "e.wasm", "kinds", src / "wit")


def test_up_to_date_build_leaves_the_output_alone(guest: Callable[[str], Path]) -> None:
    built = guest("kinds-js")
    before = built.stat()
    result = load_guest(GUESTS / "kinds-js").build(guest_cache_dir() / "kinds-js.wasm")
    assert not result.rebuilt
    assert result.seconds < 1.0
    assert (built.stat().st_ino, built.stat().st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


def test_missing_tool(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    src = tmp_path / "kinds"
    shutil.copytree(GUESTS / "kinds-js", src)
    monkeypatch.setenv("PATH", str(tmp_path / "nothing"))
    monkeypatch.setattr("wasmesh.tools.tool_dirs", lambda: [])  # nor beside the interpreter
    with pytest.raises(MissingToolError, match=r"^componentize-js is not installed"):
        toolchain_for("js").build(src, tmp_path / "k.wasm", "kinds", src / "wit")
