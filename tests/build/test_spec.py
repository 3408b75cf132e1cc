"""Component specs from guest.toml / manifest tables, and picking a toolchain."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import GUESTS
from wasmesh.build import TOOLCHAINS, ComponentSpec, load_guest, toolchain_for
from wasmesh.errors import BuildError


def test_every_guest_toml_loads() -> None:
    names = [p.parent.name for p in GUESTS.glob("*/guest.toml")]
    assert {"calc-c", "calc-pure-c", "kinds-py", "kinds-js", "cmd-c", "cmd-py"} <= set(names)
    for name in names:
        spec = load_guest(GUESTS / name)
        assert spec.name == name
        assert spec.source_dir.is_dir()
        toolchain_for(spec.language)


def test_source_and_options(tmp_path: Path) -> None:
    spec = load_guest(GUESTS / "calc-pure-c")
    assert spec.source_dir == (GUESTS / "calc-c").resolve()
    assert spec.wit_dir == (GUESTS / "calc-c" / "wit").resolve()
    assert spec.options["adapter"] == "none"
    assert "language" not in spec.options and "source" not in spec.options


def test_aliases_and_unknown_language() -> None:
    assert toolchain_for("py").language == "python"
    assert toolchain_for("JavaScript").language == "js"
    assert toolchain_for("golang").language == "go"
    assert toolchain_for("rs").language == "rust"
    assert set(TOOLCHAINS) == {"python", "js", "c", "wat", "go", "rust"}
    with pytest.raises(BuildError, match="no toolchain for language 'cobol'"):
        toolchain_for("cobol")


def test_table_needs_language_and_world(tmp_path: Path) -> None:
    with pytest.raises(BuildError, match="needs language and world"):
        ComponentSpec.from_table("x", {"language": "c"}, tmp_path)


def test_missing_and_invalid_guest_toml(tmp_path: Path) -> None:
    with pytest.raises(BuildError, match="does not exist"):
        load_guest(tmp_path)
    (tmp_path / "guest.toml").write_text("language = ")
    with pytest.raises(BuildError, match="not valid TOML"):
        load_guest(tmp_path)


def test_missing_source_dir(tmp_path: Path) -> None:
    spec = ComponentSpec("gone", "c", tmp_path / "gone", "w", None)
    with pytest.raises(BuildError, match=r"source directory .* of component 'gone' does not exist"):
        spec.build(tmp_path / "out.wasm")
