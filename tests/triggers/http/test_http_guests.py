"""The HTTP guests the serving benchmarks use answer their routes correctly when served."""

from __future__ import annotations

import json

import pytest

from tests.support.httpguests import build_http_guest
from tests.triggers.http.servers import request, running


def test_hello_py() -> None:
    with running({"/...": build_http_guest("http-hello-py")}) as server:
        status, headers, body = request(server, "GET", "/anything")
        assert (status, body) == (200, b"hello from python\n")
        assert headers["content-type"] == "text/plain"


@pytest.mark.parametrize("name", ["http-router-py", "http-api-js"])
def test_json_api(name: str) -> None:
    with running({"/...": build_http_guest(name)}) as server:
        status, _, body = request(server, "GET", "/items/2")
        assert (status, json.loads(body)) == (200, {"id": 2, "name": "cake", "cents": 300})
        assert request(server, "GET", "/items/9")[0] == 404
        status, _, body = request(server, "POST", "/items", b'{"name": "jam"}')
        assert (status, json.loads(body)) == (201, {"id": 3, "name": "jam"})
        assert request(server, "POST", "/items", b"{not json")[0] == 400
        status, headers, body = request(
            server, "POST", "/echo", b"short post", {"content-type": "text/x-note"}
        )
        assert (status, body, headers["content-type"]) == (200, b"short post", "text/x-note")
        assert json.loads(request(server, "GET", "/sum?a=40&b=2")[2]) == {"sum": 42}
        assert request(server, "GET", "/upper/tea")[2] == b"TEA"
        assert json.loads(request(server, "GET", "/fib/90")[2])["fib"] in (
            2880067194370816120,
            "2880067194370816120",
        )
        assert request(server, "PUT", "/reverse", b"abc")[2] == b"cba"
        assert json.loads(request(server, "GET", "/headers", headers={"x-a": "1"})[2]) == {
            "x-a": "1"
        }
        assert request(server, "GET", "/nope")[0] == 404
