"""Reading a cost report's load: HTTP lines, calls, scripts, the defaults and bad input."""

from __future__ import annotations

from pathlib import Path

import pytest

from wasmesh.compose.manifest import load_manifest
from wasmesh.observe.load import HttpRequest, Invocation, LoadError, read_load

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "polyglot"


def _manifest(tmp_path: Path, triggers: str = "") -> Path:
    (tmp_path / "calc.wasm").write_bytes(b"")
    (tmp_path / "wasmesh.toml").write_text(
        f'[app]\nname = "calc"\n\n[components.calc]\nsource = "calc.wasm"\n{triggers}'
    )
    return tmp_path / "wasmesh.toml"


def test_lines_of_http_requests_and_calls(tmp_path: Path) -> None:
    (tmp_path / "order.json").write_text('[{"sku": "tea"}]')
    load = tmp_path / "load.txt"
    load.write_text(
        "# comment\n\nPOST /quote/fr [1, 2]\nGET /health\nPUT /upload @order.json\n"
        'add(1, 2)\ndemo:calc/math#greet("a, b")\n'
    )
    requests = read_load(load, load_manifest(_manifest(tmp_path)))
    assert requests == (
        HttpRequest("POST", "/quote/fr", b"[1, 2]"),
        HttpRequest("GET", "/health"),
        HttpRequest("PUT", "/upload", b'[{"sku": "tea"}]'),
        Invocation("add", ("1", "2")),
        Invocation("demo:calc/math#greet", ('"a, b"',)),
    )


def test_a_script_generates_the_load(tmp_path: Path) -> None:
    script = tmp_path / "load.py"
    script.write_text("def requests():\n    return [f'add({n}, 1)' for n in range(3)]\n")
    requests = read_load(script, load_manifest(_manifest(tmp_path)))
    assert requests == tuple(Invocation("add", (str(n), "1")) for n in range(3))


def test_defaults_the_apps_load_file_then_its_routes(tmp_path: Path) -> None:
    assert read_load(None, load_manifest(EXAMPLE))[0] == HttpRequest(
        "POST", "/quote/fr", b'[{"sku": "tea", "quantity": 3, "unit-cents": 450}]'
    )
    routes = '\n[[triggers.http]]\nroute = "/items/:id/..."\ncomponent = "calc"\n'
    manifest = load_manifest(_manifest(tmp_path, routes))
    assert read_load(None, manifest) == (HttpRequest("GET", "/items/1/"),)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("POST quote", "needs a path starting with `/`"),
        ("hello world", "neither an HTTP request"),
        ("add(1, 2", "neither an HTTP request"),
        ("GET /x @missing.json", "cannot read the body"),
        ("# only a comment", "names no request"),
    ],
)
def test_bad_lines_name_the_file_and_line(tmp_path: Path, text: str, message: str) -> None:
    load = tmp_path / "load.txt"
    load.write_text(text + "\n")
    with pytest.raises(LoadError, match=message) as caught:
        read_load(load, load_manifest(_manifest(tmp_path)))
    assert str(load) in str(caught.value)


def test_bad_scripts_and_files(tmp_path: Path) -> None:
    manifest = load_manifest(_manifest(tmp_path))
    with pytest.raises(LoadError, match="no such file"):
        read_load(tmp_path / "nope.txt", manifest)
    script = tmp_path / "none.py"
    script.write_text("X = 1\n")
    with pytest.raises(LoadError, match=r"defines no `requests\(\)`"):
        read_load(script, manifest)
    script.write_text("def requests():\n    raise ValueError('boom')\n")
    with pytest.raises(LoadError, match="ValueError: boom"):
        read_load(script, manifest)
    script.write_text("def requests():\n    return [1]\n")
    with pytest.raises(LoadError, match="must return strings"):
        read_load(script, manifest)
    with pytest.raises(LoadError, match=r"no \[\[triggers\.http\]\] route"):
        read_load(None, manifest)
