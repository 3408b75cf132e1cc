"""A Python HTTP component fetching three URLs at once with asyncio (wasi:io/poll over several
pollables), built against wasi:http/proxy@0.2.0."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.triggers.http.servers import request, running
from wasmesh.policy import Grants, Policy

WANTED = 3


class Gathering(BaseHTTPRequestHandler):
    """Answers only once `WANTED` requests are in flight together (or after 20 s alone).

    A guest fetching one URL after the other sees "1 in flight" in every answer (each after
    20 s); one that fetches them concurrently sees all of them.
    """

    lock = threading.Condition()
    in_flight = 0
    peak = 0  # the most requests ever in flight together

    def do_GET(self) -> None:
        cls = type(self)
        with cls.lock:
            cls.in_flight += 1
            cls.peak = max(cls.peak, cls.in_flight)
            cls.lock.notify_all()
            cls.lock.wait_for(lambda: cls.peak >= WANTED, timeout=20)
            seen = cls.peak
        body = f"{self.path} with {seen} in flight".encode()
        self.send_response(200)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        with cls.lock:
            cls.in_flight -= 1

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def origin() -> Iterator[int]:
    Gathering.in_flight = Gathering.peak = 0
    server = ThreadingHTTPServer(("127.0.0.1", 0), Gathering)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def test_three_urls_fetched_concurrently(guest: Callable[[str], Path], origin: int) -> None:
    app = guest("http-fetch-py")
    base = f"http://127.0.0.1:{origin}"
    query = "&".join(f"url={base}/{name}" for name in ("a", "b", "c"))
    with running({"/...": app}, policy=Policy(Grants(outbound=(base,)))) as server:
        status, _, body = request(server, "GET", f"/?{query}")
    assert status == 200, body
    assert body.decode().splitlines() == [
        f"200 /{name} with {WANTED} in flight" for name in ("a", "b", "c")
    ]
