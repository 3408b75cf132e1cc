"""HTTP semantics as `wasmtime serve` and the RFCs have them.

Outgoing bodies are held to their content-length (RFC 9110 8.6, as wasmtime-wasi-http): more
bytes than declared fail the write (nothing extra reaches the origin, where it would be read as
a second, smuggled request); fewer fail `finish` with `HTTP-request-body-size` and the request
is abandoned (instead of the origin waiting for the rest until a deadline). Incoming requests
show no hop-by-hop fields; absolute-form targets route by their path; 204 and 304 responses get
no content-length from the host.
"""

from __future__ import annotations

import http.client
import socket
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.triggers.http.servers import request, running
from wasmesh.policy import Grants, Policy


class Recording(BaseHTTPRequestHandler):
    """Records every request it parses, well-formed or not."""

    seen: list[tuple[str, bytes]] = []
    timeout = 10

    def do_POST(self) -> None:
        size = int(self.headers.get("content-length", "0"))
        self.seen.append(("POST " + self.path, self.rfile.read(size)))
        self.send_response(200)
        self.send_header("content-length", "0")
        self.end_headers()

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        self.seen.append((f"error {code}", b""))
        super().send_error(code, message, explain)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def origin() -> Iterator[tuple[int, list[tuple[str, bytes]]]]:
    seen: list[tuple[str, bytes]] = []
    handler = type("Handler", (Recording,), {"seen": seen})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.server_address[1], seen
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def fetch_app(guest: Callable[[str], Path]) -> Path:
    return guest("http-fetch-py")


def _post(app: Path, port: int, declare: int, send: int) -> str:
    base = f"http://127.0.0.1:{port}"
    with running({"/...": app}, policy=Policy(Grants(outbound=(base,)))) as server:
        path = f"/post?url={base}/t&declare={declare}&send={send}"
        status, _, body = request(server, "GET", path)
    assert status == 200, body
    return body.decode()


def test_a_body_of_the_declared_length_goes_out(
    fetch_app: Path, origin: tuple[int, list[tuple[str, bytes]]]
) -> None:
    port, seen = origin
    assert _post(fetch_app, port, 5, 5) == "write=ok finish=ok response=200"
    assert seen == [("POST /t", b"xxxxx")]


def test_more_than_declared_fails_the_write_and_nothing_is_smuggled(
    fetch_app: Path, origin: tuple[int, list[tuple[str, bytes]]]
) -> None:
    port, seen = origin
    outcome = _post(fetch_app, port, 5, 40)
    assert outcome.startswith("write=error finish=ErrorCode_HttpRequestBodySize(0) ")
    assert "response=200" not in outcome
    assert all(not what.startswith("error") for what, _ in seen), seen
    assert ("POST /t", b"xxxxx") not in seen


def test_less_than_declared_fails_finish(
    fetch_app: Path, origin: tuple[int, list[tuple[str, bytes]]]
) -> None:
    port, _ = origin
    outcome = _post(fetch_app, port, 10, 5)
    assert outcome.startswith("write=ok finish=ErrorCode_HttpRequestBodySize(5) ")
    assert "response=200" not in outcome


@pytest.mark.parametrize(("declare", "send"), [(10, 5), (5, 40)])
def test_a_response_body_off_its_content_length_is_cut(
    fetch_app: Path, declare: int, send: int
) -> None:
    with running({"/...": fetch_app}) as server:
        host, port = server.address
        conn = http.client.HTTPConnection(host, port, timeout=30)
        try:
            conn.request("GET", f"/respond?declare={declare}&send={send}")
            # Cut before its head (a small body is held back) or in its body: never a
            # complete response with the wrong length, nor extra bytes on the connection.
            with pytest.raises((http.client.IncompleteRead, http.client.RemoteDisconnected)):
                conn.getresponse().read()
        finally:
            conn.close()


def test_incoming_requests_show_no_hop_by_hop_fields(fetch_app: Path) -> None:
    with running({"/...": fetch_app}) as server:
        headers = {
            "X-Kept": "1",
            "Keep-Alive": "timeout=5",
            "Upgrade": "h2c",
            "Proxy-Authorization": "Basic eA==",
            "Connection": "keep-alive, upgrade",
        }
        status, _, body = request(server, "GET", "/headers", headers=headers)
    assert status == 200, body
    names = set(body.decode().splitlines())
    assert "x-kept" in names
    assert not names & {"host", "connection", "keep-alive", "upgrade", "proxy-authorization",
                        "transfer-encoding"}  # fmt: skip


def test_an_absolute_form_target_routes_by_its_path(fetch_app: Path) -> None:
    with (
        running({"/headers": fetch_app}) as server,
        socket.create_connection(server.address, timeout=30) as conn,
    ):
        conn.sendall(
            b"GET http://example.test/headers HTTP/1.1\r\nHost: other\r\nConnection: close\r\n\r\n"
        )
        reply = b""
        while chunk := conn.recv(65536):
            reply += chunk
    assert reply.startswith(b"HTTP/1.1 200"), reply[:200]


@pytest.mark.parametrize("status", [204, 304])
def test_bodiless_statuses_get_no_content_length(echo_py: Path, status: int) -> None:
    with running({"/...": echo_py}) as server:
        got, headers, body = request(server, "GET", f"/status/{status}")
    assert (got, body) == (status, b"")
    assert "content-length" not in headers
