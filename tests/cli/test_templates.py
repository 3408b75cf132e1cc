"""`wasmesh new --template`: every template in every language, from an empty directory to an
answer (`invoke` for greeter and library, an HTTP request through `up` for http)."""

from __future__ import annotations

import shutil
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.cli import BIN, wasmesh
from tests.support.processes import Served
from wasmesh.build.templates import TEMPLATES

LANGS = {"greeter": ("python", "js", "c", "wat"), "http": ("python", "js", "c"),
         "library": ("python", "js", "c")}  # fmt: skip
SPLIT = ("--topology", "per-component")  # one unit per component: each compiles on its own


def component_name(template: str, lang: str) -> str:
    # greeters share their names (and so their builds) with tests/cli/test_app.py
    return f"hello-{lang}" if template == "greeter" else f"{template}-{lang}"


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An app scaffolded into a directory that does not exist yet, every template in every language,
    built once."""
    root = tmp_path_factory.mktemp("templates") / "every-template"
    for template, langs in LANGS.items():
        for lang in langs:
            name = component_name(template, lang)
            made = wasmesh("new", name, "--lang", lang, "--template", template, "--app", root)
            assert made.code == 0, made.err
            assert f"({lang}, {template})" in made.out and "next: " in made.out
    built = wasmesh("build", root, *SPLIT, "--json")
    assert built.code == 0, built.err
    return root


@pytest.fixture(scope="module")
def served(app: Path) -> Iterator[Served]:
    server = Served([str(BIN / "wasmesh"), "up", str(app), *SPLIT, "--listen", "127.0.0.1:0"])
    yield server
    server.stop()


@pytest.mark.slow
@pytest.mark.parametrize("lang", LANGS["greeter"])
def test_greeter_template_answers_invoke(app: Path, lang: str) -> None:
    export = f"hello-{lang}:component/greeter#greet"
    r = wasmesh("invoke", "--app", app, *SPLIT, export, '"Ada"')
    assert (r.code, r.out) == (0, '"Hello, Ada!"\n'), r.err


@pytest.mark.slow
@pytest.mark.parametrize("lang", LANGS["library"])
def test_library_template_answers_invoke(app: Path, lang: str) -> None:
    export = f"library-{lang}:component/text#count"
    r = wasmesh("invoke", "--app", app, *SPLIT, export, '"two words, één"')
    assert (r.code, r.out) == (0, "{words: 3, chars: 14}\n"), r.err


@pytest.mark.slow
@pytest.mark.parametrize("lang", LANGS["http"])
def test_http_template_answers_through_up(served: Served, lang: str) -> None:
    status, kind, body = served.request("GET", f"/http-{lang}/hi?x=1")
    assert (status, kind) == (200, "text/plain")
    assert body == f"hello from http-{lang}: /http-{lang}/hi?x=1\n".encode()


def test_http_template_declares_its_route(tmp_path: Path) -> None:
    assert wasmesh("new", "web", "--template", "http", "--lang", "c", "--app", tmp_path).code == 0
    manifest = tomllib.loads((tmp_path / "wasmesh.toml").read_text())
    assert manifest["triggers"]["http"] == [{"route": "/web/...", "component": "web"}]


def test_c_templates_generate_their_bindings_from_wit(tmp_path: Path) -> None:
    for template in ("greeter", "http", "library"):
        made = wasmesh("new", template + "-x", "-t", template, "-l", "c", "--app", tmp_path)
        assert made.code == 0, made.err
        source = (tmp_path / f"{template}-x" / "component.c").read_text()
        assert f'#include "{template}_x.h"' in source  # wit-bindgen's header for the world
        # no canonical ABI written by hand
        assert "export_name" not in source and "cabi_realloc" not in source
    table = tomllib.loads((tmp_path / "wasmesh.toml").read_text())["components"]["http-x"]
    assert table["build"] == {"bindings": "wit-bindgen"}


def test_list_shows_every_template_and_its_languages() -> None:
    r = wasmesh("new", "--list")
    assert r.code == 0, r.err
    lines = r.out.splitlines()
    for name, template in TEMPLATES.items():
        line = next(ln for ln in lines if ln.startswith(name + " "))
        assert ", ".join(template.languages) in line
    assert "wat" in next(ln for ln in lines if ln.startswith("greeter "))


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (("web", "--template", "http", "--lang", "wat"), "the http template has no wat version"),
        (("web", "--template", "grpc"), "no template 'grpc'"),
        (("--lang", "c"), "name the component"),
        (("world", "--template", "http"), "WIT keyword"),
    ],
)
def test_bad_template_requests_are_one_sentence(
    tmp_path: Path, args: tuple[str, ...], said: str
) -> None:
    r = wasmesh("new", *args, "--app", tmp_path / "app")
    assert r.code == 2 and said in r.err and "Traceback" not in r.err
    assert not (tmp_path / "app").exists(), "nothing is written for a refused request"


def test_new_prints_the_next_step_for_another_directory(tmp_path: Path) -> None:
    r = wasmesh("new", "svc", "--lang", "c", "--template", "library", "--app", tmp_path / "shop")
    assert r.code == 0, r.err
    assert f"next: cd {tmp_path / 'shop'} && wasmesh build" in r.out


def test_build_refuses_a_route_to_a_component_without_an_http_handler(tmp_path: Path) -> None:
    assert wasmesh("new", "hello-wat", "--lang", "wat", "--app", tmp_path).code == 0
    manifest = tmp_path / "wasmesh.toml"
    manifest.write_text(
        manifest.read_text() + '\n[[triggers.http]]\nroute = "/hi"\ncomponent = "hello-wat"\n'
    )
    line = manifest.read_text().splitlines().index("[[triggers.http]]") + 1
    r = wasmesh("build", tmp_path)
    assert r.code == 2, r.err
    assert f"wasmesh.toml:{line}: route '/hi' goes to component `hello-wat`" in r.err
    assert "does not export wasi:http/incoming-handler" in r.err


def test_new_over_a_removed_directory_names_the_existing_entry(tmp_path: Path) -> None:
    assert wasmesh("new", "hello-wat", "--lang", "wat", "--app", tmp_path).code == 0
    manifest = tmp_path / "wasmesh.toml"
    before = manifest.read_text()
    shutil.rmtree(tmp_path / "hello-wat")
    r = wasmesh("new", "hello-wat", "--lang", "wat", "--app", tmp_path)
    assert r.code == 2 and "Traceback" not in r.err
    line = before.splitlines().index("[components.hello-wat]") + 1
    assert f"wasmesh.toml:{line} already has [components.hello-wat]" in " ".join(r.err.split())
    assert manifest.read_text() == before and not (tmp_path / "hello-wat").exists()


def test_the_next_step_names_an_export_invoke_can_tell_apart(tmp_path: Path) -> None:
    first = wasmesh("new", "one", "--lang", "wat", "--app", tmp_path)
    assert "wasmesh invoke --app . greet '\"you\"'" in first.out  # alone: the short name
    second = wasmesh("new", "two", "--lang", "wat", "--app", tmp_path)
    # two greeters export `greet`: the short name would be ambiguous
    assert "wasmesh invoke --app . two:component/greeter#greet '\"you\"'" in second.out
    assert wasmesh("build", tmp_path).code == 0
    r = wasmesh("invoke", "--app", tmp_path, "two:component/greeter#greet", '"you"')
    assert (r.code, r.out) == (0, '"Hello, you!"\n'), r.err
