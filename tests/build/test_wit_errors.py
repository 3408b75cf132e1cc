"""A WIT mistake in a scaffolded component, built by each toolchain: the error names the
developer's own WIT directory (never the build's scratch copy) and carries the message
without the componentizer's Python traceback or Node.js stack frames."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.cli import wasmesh


@pytest.mark.parametrize("lang", ["c", "python", "js"])
def test_a_wit_error_names_the_developers_file_and_only_the_message(
    tmp_path: Path, lang: str
) -> None:
    name = f"broken-{lang}"
    assert wasmesh("new", name, "--lang", lang, "--app", tmp_path).code == 0
    world = tmp_path / name / "wit" / "world.wit"
    # a WASI import makes every toolchain read a copy of the directory with WASI added
    world.write_text(world.read_text().replace(
        f"world {name} {{", f"world {name} {{\n  import wasi:cli/environment@0.2.0;\n"
        "  export nothing;"))  # fmt: skip
    r = wasmesh("build", tmp_path)
    assert r.code == 2, r.out
    message = r.err
    assert "`nothing` does not exist" in message
    assert str(tmp_path / name / "wit") in message
    assert "wasmesh-build-" not in message, "the scratch copy is not the developer's file"
    assert "Traceback" not in message and "node_modules" not in message
    if lang == "python":  # componentize-py quotes wasm-tools' location: the line to fix
        assert f"--> {world}:11:10" in message
