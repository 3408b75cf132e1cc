"""Config keys end to end: `invoke --app`, the Python API, `up` over HTTP, `deploy`.

Two components, each with keys of its own: `web` (componentize-js, serving HTTP, importing
`wasi:config/store@0.2.0-draft` and `wasi:config/runtime@0.2.0-draft` as wasmCloud did) and
`reader` (componentize-py, `wasi:config/store@0.2.0-draft-2024-09-27` as Spin 3 imports it).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.cli import BIN, wasmesh, wasmesh_process
from tests.support.httpguests import build_http_guest
from tests.support.processes import Served
from wasmesh.runtime.app import App

SECRET = "s3cr3t-7f1d9c"
GET = "test:config-py/probe@0.1.0#get"

MANIFEST = """\
[app]
name = "configured"

[variables]
greeting = {{ default = "hello" }}
password = {{ required = true, secret = true }}

[components.web]
source = "{web}"

[components.web.config]
greeting = "{{{{ greeting }}}}, world"
dsn = "pg://app:{{{{ password }}}}@db"

[components.reader]
source = "{reader}"
config = {{ only_reader = "mine", greeting = "{{{{ greeting }}}} from the reader" }}

[[triggers.http]]
route = "/..."
component = "web"

[deploy]
strategy = "per-component"
"""


@pytest.fixture(scope="module")
def app_dir(guest: Callable[[str], Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("configured")
    web = build_http_guest("config-js")
    (root / "wasmesh.toml").write_text(MANIFEST.format(web=web, reader=guest("config-py")))
    return root


@pytest.fixture
def password(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("WASMESH_VAR_PASSWORD", SECRET)
    return SECRET


def test_invoke_app_reads_the_components_keys(app_dir: Path, password: str) -> None:
    got = wasmesh("invoke", "--app", app_dir, "--json", GET, '"greeting"')
    assert (got.code, json.loads(got.out)) == (0, "hello from the reader"), got.err
    # the web component's keys are not the reader's
    assert json.loads(wasmesh("invoke", "--app", app_dir, "--json", GET, '"dsn"').out) is None


def test_the_variables_file_overrides_the_environment(app_dir: Path, tmp_path: Path) -> None:
    file = tmp_path / "vars.env"
    file.write_text('greeting="ahoy"\npassword=from-file\n')
    got = wasmesh("invoke", "--app", app_dir, "--variables-file", file, GET, '"greeting"')
    assert (got.code, got.out.strip()) == (0, 'some("ahoy from the reader")'), got.err


def test_a_missing_required_variable_stops_invoke_and_deploy(
    app_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("WASMESH_VAR_PASSWORD", raising=False)
    sentence = (
        "variable `password` is required and has no value; set WASMESH_VAR_PASSWORD or give "
        "it with --variables-file FILE."
    )
    got = wasmesh("invoke", "--app", app_dir, GET, '"greeting"')
    assert got.code == 2 and sentence in got.err and "Traceback" not in got.err
    # deploy checks before it contacts the lattice (nothing listens on this port)
    got = wasmesh("deploy", app_dir, "--nats", "nats://127.0.0.1:9")
    assert got.code == 2 and sentence in got.err and "Traceback" not in got.err


def test_a_malformed_variables_file_stops_invoke_naming_its_line(
    app_dir: Path, tmp_path: Path
) -> None:
    file = tmp_path / "vars.env"
    file.write_text("greeting=hi\npassword='unterminated\n")
    got = wasmesh("invoke", "--app", app_dir, "--variables-file", file, GET, '"greeting"')
    sentence = f"the variables file {file} line 2 is not `NAME=value`; fix or remove that line."
    assert got.code == 2 and sentence in got.err and "Traceback" not in got.err, got.err
    got = wasmesh("invoke", "--app", app_dir, "--variables-file", tmp_path, GET, '"greeting"')
    assert got.code == 2 and "is not a file" in got.err, got.err


def test_each_component_reads_only_its_own_keys(app_dir: Path, password: str) -> None:
    app = App.load(app_dir)
    try:
        reader = app.units["reader"]
        assert reader.call(GET, "only_reader") == "mine"
        assert reader.call(GET, "dsn") is None  # web's key
        assert reader.call("test:config-py/probe@0.1.0#all") == [
            ("only_reader", "mine"),
            ("greeting", "hello from the reader"),
        ]
    finally:
        app.close()


@pytest.fixture(scope="module")
def served(app_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    log = tmp_path_factory.mktemp("up") / "up.log"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("WASMESH_VAR_PASSWORD", SECRET)
        server = Served([str(BIN / "wasmesh"), "up", str(app_dir), "--listen", "127.0.0.1:0"],
                        log=log)  # fmt: skip
    server.log = log  # type: ignore[attr-defined]
    try:
        yield server
    finally:
        server.stop()


def test_up_serves_a_component_its_keys_over_http(served: Served) -> None:
    assert served.request("GET", "/config/greeting") == (200, "text/plain", b"hello, world")
    status, _, body = served.request("GET", "/config/dsn")
    assert (status, body) == (200, f"pg://app:{SECRET}@db".encode())
    assert served.request("GET", "/config/only_reader")[0] == 404  # the reader's key
    status, _, body = served.request("GET", "/config")
    assert json.loads(body) == {"greeting": "hello, world", "dsn": f"pg://app:{SECRET}@db"}
    # the same keys through the interface's earlier name
    assert served.request("GET", "/runtime/greeting") == (200, "text/plain", b"hello, world")
    assert served.request("GET", "/runtime/only_reader")[0] == 404
    assert json.loads(served.request("GET", "/runtime")[2])["greeting"] == "hello, world"


def test_a_secret_never_shows_in_the_output_of_up_inspect_or_graph(
    served: Served, app_dir: Path, password: str
) -> None:
    served.request("GET", "/config/dsn")
    served.request("GET", "/config/nope")
    log = served.log.read_text()  # type: ignore[attr-defined]
    assert "configured" in "".join(served.lines) and SECRET not in "".join(served.lines) + log
    for args in (("inspect", "--app", app_dir), ("inspect", "--app", app_dir, "--json"),
                 ("graph", app_dir)):  # fmt: skip
        got = wasmesh_process(*args)
        assert got.code == 0, got.err
        assert "dsn" in got.out and "********" in got.out
        assert SECRET not in got.out + got.err
