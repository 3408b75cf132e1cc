"""`scaffold`: a new component in each language builds and answers greet."""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path

import pytest

from tests.build.conftest import instantiate
from tests.conftest import ROOT, guest_cache_dir
from wasmesh.build import ComponentSpec, scaffold
from wasmesh.build.templates import ScaffoldError


@pytest.mark.parametrize("lang", ["c", "python", "js", "go", "rust", "wat"])
def test_scaffolded_component_builds_and_greets(lang: str, tmp_path: Path) -> None:
    snippet = scaffold(
        "hello-app", lang, tmp_path / "components" / "hello-app", manifest_dir=tmp_path
    )
    table = tomllib.loads(snippet)["components"]["hello-app"]
    assert table["source"] == "components/hello-app"
    # Manifest paths are relative to the manifest's directory.
    wit = "components/hello-app/wit"
    assert (table["language"], table["world"], table["wit"]) == (lang, "hello-app", wit)
    source = tmp_path / table["source"]
    options = dict(table.get("build", {}))
    if "adapter" in table:
        options["adapter"] = table["adapter"]
    spec = ComponentSpec("hello-app", lang, source, table["world"], tmp_path / wit, options)
    # Same sources give the same key wherever they are, so later runs reuse this output.
    result = spec.build(guest_cache_dir() / f"template-{lang}.wasm", quiet=True)
    greeter = instantiate(result.path)
    assert greeter.call("hello-app:component/greeter@0.1.0", "greet", "Ada") == "Hello, Ada!"


def test_snippet_source_defaults_to_dest(tmp_path: Path) -> None:
    snippet = scaffold("svc", "python", tmp_path / "svc")
    assert f'source = "{(tmp_path / "svc").as_posix()}"' in snippet
    assert (tmp_path / "svc" / "app.py").is_file()
    assert not (tmp_path / "svc" / "app.py.tmpl").exists()


@pytest.mark.parametrize("name", ["Hello", "my_app", "1app", "a--b", ""])
def test_invalid_names(name: str, tmp_path: Path) -> None:
    with pytest.raises(ScaffoldError, match="not a valid component name"):
        scaffold(name, "c", tmp_path / "x")


def test_a_long_name_is_one_sentence(tmp_path: Path) -> None:
    with pytest.raises(ScaffoldError, match=r"is 300 characters long; use at most 64$"):
        scaffold("a" * 300, "wat", tmp_path / "x")
    assert not (tmp_path / "x").exists()


def test_unknown_language(tmp_path: Path) -> None:
    with pytest.raises(ScaffoldError, match="no template for language 'cobol'"):
        scaffold("app", "cobol", tmp_path / "x")


def test_refuses_a_non_empty_directory(tmp_path: Path) -> None:
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "keep.txt").write_text("mine")
    with pytest.raises(ScaffoldError, match="already exists and is not empty"):
        scaffold("app", "js", tmp_path / "app")
    assert (tmp_path / "app" / "keep.txt").read_text() == "mine"


def test_rust_template_pins_the_toolchain_wit_bindgen() -> None:
    pins = tomllib.loads((ROOT / "toolchain.toml").read_text())
    cargo = resources.files("wasmesh.build") / "templates" / "greeter" / "rust" / "Cargo.toml"
    deps = tomllib.loads(cargo.read_text())["dependencies"]
    assert deps["wit-bindgen"] == "=" + pins["cargo"]["wit-bindgen"]
