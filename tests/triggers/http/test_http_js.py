"""A componentize-js fetch-event app served over loopback."""

from __future__ import annotations

import os
from pathlib import Path

from tests.triggers.http.servers import request, running


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
