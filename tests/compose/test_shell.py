"""Units with several entries: a generated shell re-exports every entry's interfaces."""

from __future__ import annotations

import threading
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest

from wasmesh.runtime.app import App
from wasmesh.triggers.http.server import Server

pytestmark = pytest.mark.slow


def test_an_http_handler_and_a_library_share_one_composed_unit(
    guest: Callable[[str], Path], tmp_path: Path
) -> None:
    """The handler's request and response-outparam handles pass through the shell unchanged."""
    manifest = tmp_path / "wasmesh.toml"
    manifest.write_text(f"""[app]
name = "site"

[components.web]
source = "{guest("http-echo-py")}"

[components.probe]
source = "{guest("app-probe-c")}"
env = {{ WHO = "probe" }}

[[triggers.http]]
route = "/..."
component = "web"
""")
    app = App.load(manifest, cache=tmp_path / "cache")
    (plan,) = app.plans
    assert plan.entries == ("web", "probe")
    exports = {item.name for item in app.serving("web").world.exports}
    assert exports == {"wasi:http/incoming-handler@0.2.12", "test:isolation/probe@0.1.0"}
    # The unit imports wasi:http, so it runs on the Python WASI layer, from Python as well.
    assert app.call("test:isolation/probe#read-env", "WHO") == "probe"
    assert app.http_routes() == {"/...": app.serving("web").loaded.path}
    server = Server(app.http_routes(), "127.0.0.1:0")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        body = b"ping through the shell " * 1000  # streams, not one buffer
        request = urllib.request.Request(server.url + "/echo", data=body, method="POST")
        with urllib.request.urlopen(request, timeout=60) as response:
            assert (response.status, response.read()) == (200, body)
    finally:
        server.shutdown(1)
        thread.join(5)
