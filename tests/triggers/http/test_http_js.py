"""A componentize-js fetch-event app served over loopback."""

from __future__ import annotations

import os
import threading
from http.server import ThreadingHTTPServer
from pathlib import Path

from tests.triggers.http.servers import Upstream, request, running
from wasmesh.policy import Grants, Policy


def test_fetch_event_app(echo_js: Path) -> None:
    with running({"/...": echo_js}) as server:
        status, headers, body = request(server, "GET", "/hello")
        assert (status, body) == (200, b"hello from js GET /hello")
        assert headers["content-type"] == "text/plain"

        payload = os.urandom(150_000)
        status, _, body = request(server, "POST", "/echo", payload)
        assert (status, body) == (200, payload)

        status, headers, _ = request(server, "GET", "/headers", headers={"X-Js": "yes"})
        assert (status, headers["x-js"]) == (200, "yes")

        assert request(server, "GET", "/status/404")[0] == 404


def test_fetch_from_js_goes_through_the_grant(echo_js: Path) -> None:
    upstream = ThreadingHTTPServer(("127.0.0.1", 0), Upstream)
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    port = upstream.server_address[1]
    target = f"/fetch?url=http://127.0.0.1:{port}/from-js"
    try:
        granted = Policy(Grants(outbound=(f"http://127.0.0.1:{port}",)))
        with running({"/...": echo_js}, policy=granted) as server:
            assert request(server, "GET", target)[2] == b"200 upstream saw /from-js"
        with running({"/...": echo_js}) as server:
            status, _, body = request(server, "GET", target)
            assert status == 502 and body.startswith(b"fetch failed")
    finally:
        upstream.shutdown()
        upstream.server_close()
