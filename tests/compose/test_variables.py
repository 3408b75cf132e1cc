"""`[variables]` and `[components.NAME.config]`: reading, resolving, and keeping units apart."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.compose.wat_parts import consumer
from wasmesh.compose.manifest import Manifest, parse_manifest
from wasmesh.compose.units import PlanError, plan_units
from wasmesh.compose.variables import VariableError, resolve_manifest, variable_values
from wasmesh.compose.wiring import wire
from wasmesh.engine import load_component
from wasmesh.errors import ManifestError
from wasmesh.policy import ConfigValue

HEAD = '[app]\nname = "t"\n'
APP = (
    HEAD
    + """
[variables]
greeting = { default = "hello" }
password = { required = true, secret = true }

[components.api]
source = "api.wasm"

[components.api.config]
greeting = "{{ greeting }}, world"
dsn = "pg://{{greeting}}:{{ password }}@db"
n = "7"

[components.other]
source = "other.wasm"
config = { mine = "other's" }
"""
)


def parse(text: str) -> Manifest:
    return parse_manifest(text, Path("/srv/t/wasmesh.toml"))


def config(manifest: Manifest, component: str) -> dict[str, ConfigValue]:
    return {c.key: c for c in manifest.component(component).policy.grants.config}


def test_config_keys_are_templates_until_resolved() -> None:
    manifest = parse(APP)
    assert [(v.name, v.required, v.secret) for v in manifest.variables] == [
        ("greeting", False, False),
        ("password", True, True),
    ]
    api = config(manifest, "api")
    assert api["greeting"] == ConfigValue("greeting", "{{ greeting }}, world", None, False)
    assert api["dsn"].secret and api["dsn"].value is None
    assert api["n"].value == "7"  # no placeholder: a literal
    assert list(config(manifest, "other")) == ["mine"]


def test_values_come_from_defaults_then_environment_then_the_file(tmp_path: Path) -> None:
    manifest = parse(APP)
    env = {"WASMESH_VAR_PASSWORD": "from-env"}
    assert variable_values(manifest.variables, environ=env) == {
        "greeting": "hello",
        "password": "from-env",
    }
    file = tmp_path / "vars.env"
    file.write_text("# app variables\ngreeting='bonjour'\nWASMESH_VAR_PASSWORD=from-file\n")
    assert variable_values(manifest.variables, file, env) == {
        "greeting": "bonjour",
        "password": "from-file",
    }
    resolved = resolve_manifest(manifest, file, {})
    api = config(resolved, "api")
    assert api["greeting"].value == "bonjour, world"
    assert api["dsn"].value == "pg://bonjour:from-file@db"
    # what the lattice carries for a secret: only the public variables filled in
    assert api["dsn"].template == "pg://bonjour:{{ password }}@db"


def test_a_missing_required_variable_is_one_sentence_naming_it(tmp_path: Path) -> None:
    manifest = parse(APP)
    with pytest.raises(VariableError) as err:
        resolve_manifest(manifest, None, {})
    assert str(err.value) == (
        "variable `password` is required and has no value; set WASMESH_VAR_PASSWORD or give "
        "it with --variables-file FILE."
    )
    with pytest.raises(VariableError, match=r"the variables file .*nope\.env does not exist"):
        variable_values(manifest.variables, tmp_path / "nope.env", {})


@pytest.mark.parametrize(
    ("tail", "message"),
    [
        ('[variables]\nBad = { default = "x" }\n', "variable name `Bad` must be lowercase"),
        ('[variables]\nx = { default = "a", required = true }\n', "needs a `default` or"),
        ("[variables]\nx = {}\n", "variable `x` needs a `default` or `required = true`"),
        ("[variables]\nx = { default = 1 }\n", "`default` in [variables.x] must be a string"),
        ('[variables]\nx = { default = "", shh = true }\n', "unknown key `shh`"),
        (
            '[components.a]\nsource = "a.wasm"\nconfig = { k = "{{ nope }}" }\n',
            "wasmesh.toml:5: config `k` uses `{{ nope }}`, which [variables] does not declare",
        ),
        ('[components.a]\nsource = "a.wasm"\nconfig = { k = 3 }\n', "`k` in [components.a.config]"),
        (
            '[components.a]\nsource = "a.wasm"\nconfig = { k = "{{ nope " }\n',
            "wasmesh.toml:5: config `k` has a `{{` without its `}}`; write a placeholder as",
        ),
        (
            '[variables]\nv = { default = "x" }\n[components.a]\nsource = "a.wasm"\n'
            '[components.a.config]\nk = "{{ v }} and }}"\n',
            "wasmesh.toml:8: config `k` has a `}}` without its `{{`",
        ),
    ],
)
def test_bad_variables_and_config_name_the_fix(tail: str, message: str) -> None:
    text = HEAD + tail
    if "[components." not in tail:
        text += '\n[components.a]\nsource = "a.wasm"\n'
    with pytest.raises(ManifestError) as err:
        parse(text)
    assert message in str(err.value)


def test_one_unit_cannot_give_two_components_different_config() -> None:
    """Composition merges the two components' `wasi:config/store` imports into one, so they
    would share one set of keys: the plan refuses, split they each keep their own."""
    a = consumer("app:c/a@0.1.0", "wasi:config/store@0.2.0-draft")
    b = consumer("app:c/b@0.1.0", "wasi:config/store@0.2.0-draft")
    worlds = {"a": load_component(a).world, "b": load_component(b).world}
    text = HEAD + (
        f'\n[components.a]\nsource = "{a}"\nconfig = {{ k = "a" }}\n'
        f'\n[components.b]\nsource = "{b}"\nconfig = {{ k = "b" }}\n'
    )
    with pytest.raises(PlanError, match=r"different `config` grants.*different units"):
        plan_units(parse(text), wire(worlds))
    split = parse(text + '\n[deploy]\nstrategy = "per-component"\n')
    plans = {p.name: p for p in plan_units(split, wire(worlds))}
    assert [c.value for c in plans["a"].policy.grants.config] == ["a"]
    assert [c.value for c in plans["b"].policy.grants.config] == ["b"]


@pytest.mark.parametrize(
    "line",
    ["this is not dotenv", "=novalue", "password", "password='unterminated"],
)
def test_a_malformed_variables_file_names_the_file_and_line(tmp_path: Path, line: str) -> None:
    manifest = parse(APP)
    file = tmp_path / "vars.env"
    file.write_text(f"# app variables\ngreeting=hi\n{line}\n")
    with pytest.raises(VariableError) as err:
        variable_values(manifest.variables, file, {"WASMESH_VAR_PASSWORD": "env"})
    assert str(err.value) == (
        f"the variables file {file} line 3 is not `NAME=value`; fix or remove that line."
    )


def test_a_variables_file_that_is_a_directory_is_not_a_file(tmp_path: Path) -> None:
    manifest = parse(APP)
    with pytest.raises(VariableError, match=r"the variables file .* is not a file"):
        variable_values(manifest.variables, tmp_path, {})


def test_an_undeclared_name_in_the_variables_file_is_a_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    manifest = parse(APP)
    file = tmp_path / "vars.env"
    file.write_text("password=p\npasword=typo\n")
    assert variable_values(manifest.variables, file, {}) == {"greeting": "hello", "password": "p"}
    err = capsys.readouterr().err
    assert err == (
        f"warning: the variables file {file} sets `pasword`, which [variables] does not "
        "declare; it is ignored.\n"
    )
