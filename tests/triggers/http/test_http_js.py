"""A componentize-js fetch-event app served over loopback."""

from __future__ import annotations

import logging
import os
import threading
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.triggers.http.servers import Upstream, request, running
from wasmesh.policy import Grants, Policy
from wasmesh.triggers.http.instances import PoolSettings, RouteTarget


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


def test_a_component_that_cannot_serve_twice_per_instance_falls_back_to_fresh_instances(
    echo_js: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """componentize-js answers only the first request of an instance ("respondWith can't be
    called twice"): the instance that failed is dropped, the component is served with a fresh
    instance per request from then on, and the log says so once."""
    settings = PoolSettings(max_reuse=100, max_concurrent=2)
    target = RouteTarget(echo_js, settings=settings, name="echo-js")
    with (
        caplog.at_level(logging.WARNING, logger="wasmesh.http"),
        running({"/...": target}) as server,
    ):
        statuses = [request(server, "GET", f"/n{i}")[0] for i in range(8)]
        pool = server.pools[0]
        assert pool.idle_count() == 0  # nothing kept warm any more
    # only the first reuse fails (which request reuses first depends on when a lease returns)
    assert statuses[0] == 200 and statuses.count(200) >= 7 and statuses[-4:] == [200] * 4
    warned = [
        r.getMessage() for r in caplog.records if "fresh instance per request" in r.getMessage()
    ]
    assert len(warned) == 1 and "echo-js" in warned[0] and "two requests" in warned[0]
