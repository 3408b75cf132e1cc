"""The admin listener over real HTTP: /metrics, /healthz, /readyz, added routes, bad
addresses."""

from __future__ import annotations

import http.client
import socket
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler

import pytest

from tests.observe.conftest import scrape, value
from wasmesh.errors import WasmeshError
from wasmesh.observe.admin import AdminServer, parse_address
from wasmesh.observe.metrics import Metrics


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def test_metrics_are_the_registrys_own(metrics: Metrics, admin: AdminServer) -> None:
    metrics.http_answered("/a/...", "GET", 200, 0.01, 5)
    metrics.http_answered("/a/...", "GET", 200, 0.02, 7)
    metrics.http_answered("/a/...", "BREW", 418, 0.02, 0)  # unknown methods are `other`
    samples = scrape(admin.url)
    assert value(samples, "wasmesh_http_requests_total", route="/a/...", method="GET",
                 status="200") == 2  # fmt: skip
    assert value(samples, "wasmesh_http_requests_total", route="/a/...", method="other",
                 status="418") == 1  # fmt: skip
    assert value(samples, "wasmesh_http_request_duration_seconds_count", route="/a/...") == 3
    assert value(samples, "wasmesh_http_response_bytes_total", route="/a/...") == 12
    assert value(samples, "wasmesh_process_resident_memory_bytes") > 0
    assert not [name for name, _ in samples if name.endswith("_created")]  # no _created series
    # no route matched: a fixed label, never an empty one
    metrics.http_answered("", "GET", 404, 0.001, 10)
    assert value(scrape(admin.url), "wasmesh_http_requests_total", route="(none)", method="GET",
                 status="404") == 1  # fmt: skip
    # A fresh Metrics starts from nothing: nothing leaks between registries.
    with AdminServer("127.0.0.1:0", Metrics(process=False)) as other:
        assert value(scrape(other.url), "wasmesh_http_requests_total", route="/a/...",
                     method="GET", status="200") == 0  # fmt: skip


def test_health_and_readiness(admin: AdminServer) -> None:
    assert get(f"{admin.url}/healthz") == (200, "ok\n")
    assert get(f"{admin.url}/readyz") == (200, "ready\n")
    waiting = ["unit math cannot be instantiated: it traps"]
    admin.add_ready_check(lambda: waiting)
    assert get(f"{admin.url}/readyz") == (503, f"not ready: {waiting[0]}\n")
    waiting.clear()
    assert get(f"{admin.url}/readyz") == (200, "ready\n")

    def broken() -> list[str]:
        raise RuntimeError("no answer")

    admin.add_ready_check(broken)
    assert get(f"{admin.url}/readyz") == (503, "not ready: a readiness check failed: no answer\n")
    status, body = get(f"{admin.url}/nowhere")
    assert status == 404 and "/metrics" in body
    # the URL `serve` prints says what is there
    assert get(f"{admin.url}/") == (200, "wasmesh admin: /metrics, /healthz, /readyz\n")


def test_head_answers_as_get_without_the_body(admin: AdminServer) -> None:
    host, port = admin.address
    conn = http.client.HTTPConnection(str(host), int(port), timeout=30)
    try:
        for path, status in (("/healthz", 200), ("/readyz", 200), ("/metrics", 200),
                             ("/nowhere", 404)):  # fmt: skip
            conn.request("HEAD", path)
            response = conn.getresponse()
            assert (response.status, response.read()) == (status, b""), path
            assert int(response.headers["Content-Length"]) > 0, path
        conn.request("GET", "/healthz")  # the same connection: the next body is whole
        response = conn.getresponse()
        assert (response.status, response.read()) == (200, b"ok\n")
    finally:
        conn.close()


def test_routes_added_under_a_prefix(admin: AdminServer) -> None:
    def page(request: BaseHTTPRequestHandler) -> None:
        AdminServer.text(request, 200, f"page {request.path}\n")

    admin.add_route("/", page)
    admin.add_route("/exact", lambda r: AdminServer.text(r, 200, "exact\n"))
    assert get(f"{admin.url}/") == (200, "page /\n")
    assert get(f"{admin.url}/assets/app.js?v=1") == (200, "page /assets/app.js?v=1\n")
    assert get(f"{admin.url}/exact") == (200, "exact\n")
    assert get(f"{admin.url}/healthz") == (200, "ok\n")  # built-in paths come first
    assert get(f"{admin.url}/metrics")[0] == 200
    with pytest.raises(ValueError, match="must start with"):
        admin.add_route("page", page)


@pytest.mark.parametrize("text", ["9090", "localhost", "127.0.0.1:http", "127.0.0.1:70000", ":80"])
def test_malformed_addresses_are_one_sentence(text: str) -> None:
    with pytest.raises(WasmeshError, match=rf"--admin `{text}` is not HOST:PORT; e\.g\."):
        parse_address(text)


def test_a_port_in_use_is_one_sentence() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(WasmeshError, match="the address is in use; pick another port"):
            AdminServer(f"127.0.0.1:{port}", Metrics(process=False))


def test_an_address_of_another_machine_is_one_sentence() -> None:
    with pytest.raises(WasmeshError, match="cannot listen there"):
        AdminServer("192.0.2.1:0", Metrics(process=False))


def test_ipv6_loopback() -> None:
    try:
        server = AdminServer("[::1]:0", Metrics(process=False))
    except WasmeshError:
        pytest.skip("this machine has no IPv6 loopback")
    with server:
        assert server.url.startswith("http://[::1]:")
        assert get(f"{server.url}/healthz") == (200, "ok\n")
