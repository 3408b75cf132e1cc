"""`wasmesh new`, `build` and `invoke --app`: from an empty directory to an answer."""

from __future__ import annotations

import json
import os
import tomllib
from pathlib import Path

import pytest

from tests.support.cli import wasmesh

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "polyglot"


@pytest.fixture
def isolated_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("WASMESH_CACHE_DIR", os.environ.get("WASMESH_CACHE_DIR", str(tmp_path)))
    return tmp_path


@pytest.mark.parametrize("lang", ["c", "python", "js"])
def test_new_build_invoke(tmp_path: Path, lang: str) -> None:
    r = wasmesh("new", f"hello-{lang}", "--lang", lang, "--app", tmp_path)
    assert r.code == 0, r.err
    manifest = tomllib.loads((tmp_path / "wasmesh.toml").read_text())
    assert manifest["app"]["name"] == tmp_path.name
    assert f"hello-{lang}" in manifest["components"]

    built = wasmesh("build", tmp_path, "--json")
    assert built.code == 0, built.err
    assert list(json.loads(built.out)["units"]) == ["main"]

    r = wasmesh("invoke", "--app", tmp_path, "greet", '"mesh"')
    assert r.code == 0, r.err
    assert "mesh" in r.out

    # A second build with no change rebuilds nothing and is quick.
    again = wasmesh("build", tmp_path, "--json")
    assert json.loads(again.out)["seconds"] < 5


def test_new_adds_to_an_existing_manifest(tmp_path: Path) -> None:
    assert wasmesh("new", "one", "--lang", "c", "--app", tmp_path).code == 0
    assert wasmesh("new", "two", "--lang", "c", "--app", tmp_path).code == 0
    components = tomllib.loads((tmp_path / "wasmesh.toml").read_text())["components"]
    assert set(components) == {"one", "two"}


def test_new_rejects_bad_names_and_languages(tmp_path: Path) -> None:
    r = wasmesh("new", "Bad_Name", "--app", tmp_path)
    assert r.code == 2 and "valid component name" in r.err
    r = wasmesh("new", "ok", "--lang", "cobol", "--app", tmp_path)
    assert r.code == 2 and "cobol" in r.err


def test_polyglot_example_fused_and_split_answer_alike() -> None:
    items = (
        '[{sku: "tea", quantity: 3, unit-cents: 450}, {sku: "cup", quantity: 2, unit-cents: 999}]'
    )
    fused = wasmesh("invoke", "--app", EXAMPLE, "shop:pricing/quote#quote", items, '"fr"')
    assert fused.code == 0, fused.err
    assert fused.out.startswith("ok({subtotal-cents: 3348,")
    split = wasmesh(
        "invoke", "--app", EXAMPLE, "--topology", "per-component", "quote", items, '"fr"'
    )
    assert split.out == fused.out


def test_invoke_app_errors(tmp_path: Path) -> None:
    r = wasmesh("invoke", "--app", EXAMPLE, "nope")
    assert r.code == 2 and "export `nope`" in r.err
    r = wasmesh("invoke", "--app", tmp_path / "missing", "quote")
    assert r.code == 2 and "cannot read" in r.err


@pytest.mark.parametrize(
    ("source", "what"),
    [('"missing.wasm"', "component file"), ('"nosrc"\nlanguage = "c"', "source directory")],
)
def test_a_missing_source_is_a_manifest_error(tmp_path: Path, source: str, what: str) -> None:
    (tmp_path / "wasmesh.toml").write_text(
        f'[app]\nname = "x"\n\n[components.a]\nsource = {source}\n'
    )
    r = wasmesh("build", tmp_path)
    assert r.code == 2, r.err
    assert f"wasmesh.toml:5: the {what}" in r.err and "does not exist" in r.err
    assert "Traceback" not in r.err


def test_invoke_app_refuses_flags_it_would_ignore() -> None:
    r = wasmesh("invoke", "--app", EXAMPLE, "quote", "[]", '"fr"', "--env", "A=1")
    assert r.code == 2 and "come from the app's wasmesh.toml" in r.err
    r = wasmesh("invoke", "calc.wasm", "add", "1", "2", "--topology", "monolith")
    assert r.code == 2 and "use it with --app" in r.err


def test_new_checks_names_and_app_directories(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for keyword in ("world", "string", "interface", "u8"):
        r = wasmesh("new", keyword, "--app", tmp_path)
        assert r.code == 2 and "WIT keyword" in r.err, r.err
    assert not (tmp_path / "wasmesh.toml").exists()

    monkeypatch.chdir(tmp_path)
    r = wasmesh("new", "api", "--lang", "c", "--app", "myshop")
    assert r.code == 0, r.err
    assert (tmp_path / "myshop" / "wasmesh.toml").is_file()
    assert (tmp_path / "myshop" / "api" / "wit" / "world.wit").is_file()
    assert not (tmp_path / "api").exists()
    components = tomllib.loads((tmp_path / "myshop" / "wasmesh.toml").read_text())["components"]
    assert components["api"]["source"] == "api"

    r = wasmesh("new", "api", "--app", tmp_path / "nonexistent" / "app")
    assert r.code == 2 and "no directory" in r.err and "Traceback" not in r.err
    assert not (tmp_path / "nonexistent").exists()
    r = wasmesh("new", "api", "--app", "/proc/nope")  # a place no directory can be made
    assert r.code == 2 and "cannot create it" in r.err and "Traceback" not in r.err
    notes = tmp_path / "notes.txt"
    notes.write_text("mine\n")
    r = wasmesh("new", "api", "--app", notes)
    assert r.code == 2 and "not a wasmesh.toml" in r.err
    assert notes.read_text() == "mine\n"


@pytest.mark.parametrize("lang", ["c", "js"])
def test_new_greeter_builds(tmp_path: Path, lang: str) -> None:
    # The template's interface is `greeter`: the world must not take that name too.
    assert wasmesh("new", "greeter", "--lang", lang, "--app", tmp_path).code == 0
    built = wasmesh("build", tmp_path, "--json")
    assert built.code == 0, built.err
    r = wasmesh("invoke", "--app", tmp_path, "greet", '"mesh"')
    assert r.code == 0 and r.out == '"Hello, mesh!"\n', r.err


def test_up_without_triggers_says_so_before_building(tmp_path: Path) -> None:
    assert wasmesh("new", "hello-wat", "--lang", "wat", "--app", tmp_path).code == 0
    r = wasmesh("up", tmp_path, "--listen", "127.0.0.1:0")
    assert r.code == 2 and "declares no triggers" in r.err and "Traceback" not in r.err
    assert "building" not in r.err
    assert not (tmp_path / ".wasmesh").exists(), "nothing was built"
