"""Two `http` templates in one app: `wasmesh new` twice, `build` and `up` with no `[deploy]`
table, and each route answers from its own component (each is a unit of its own). Declared
as one unit, the clash is one sentence naming both components and the `[deploy]` fix."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.cli import BIN, wasmesh
from tests.support.processes import Served

NAMES = ("http-c", "shop-c")  # http-c shares its build with tests/cli/test_templates.py


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("two-http") / "app"
    for name in NAMES:
        made = wasmesh("new", name, "--lang", "c", "--template", "http", "--app", root)
        assert made.code == 0, made.err
    return root


@pytest.fixture(scope="module")
def served(app: Path) -> Iterator[Served]:
    built = wasmesh("build", app, "--json")
    assert built.code == 0, built.err
    server = Served([str(BIN / "wasmesh"), "up", str(app), "--workers", "1",
                     "--listen", "127.0.0.1:0"])  # fmt: skip
    yield server
    server.stop()


@pytest.mark.slow
def test_two_http_templates_build_and_serve_their_own_routes(served: Served) -> None:
    for name in NAMES:
        status, _, body = served.request("GET", f"/{name}/x")
        assert (status, body) == (200, f"hello from {name}: /{name}/x\n".encode())


@pytest.mark.slow
def test_one_declared_unit_names_both_components_and_the_fix(
    app: Path, served: Served, tmp_path: Path
) -> None:
    manifest = app / "wasmesh.toml"
    text = manifest.read_text()
    try:
        manifest.write_text(text + '\n[deploy]\nstrategy = "monolith"\n')
        r = wasmesh("build", app)
    finally:
        manifest.write_text(text)
    assert r.code == 2
    assert "Traceback" not in r.err
    message = " ".join(r.err.split())
    assert "`http-c` and `shop-c` both export `wasi:http/incoming-handler`" in message
    assert 'strategy = "per-component"' in message
