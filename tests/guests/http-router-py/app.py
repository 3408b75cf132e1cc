"""A small JSON API as a `wasi:http/proxy` app: a route table with path parameters.

    GET  /                 service index (JSON)
    GET  /health           "ok"
    GET  /items            every item (JSON list)
    GET  /items/<id>       one item, 404 when unknown
    POST /items            echo of the posted JSON item with an id (201)
    POST /echo             the request body back, same content type
    GET  /sum?a=1&b=2      {"sum": 3}
    GET  /upper/<word>     the word in upper case
    GET  /headers          the x-* request headers as JSON
    GET  /time             the wall clock in seconds (JSON)
    GET  /fib/<n>          the n-th Fibonacci number (n <= 90)
    PUT  /reverse          the body reversed
    anything else          404 JSON
"""

import json
from urllib.parse import parse_qs

from componentize_py_types import Err, Ok
from wit_world import exports
from wit_world.imports import streams, wall_clock
from wit_world.imports.types import (
    Fields,
    IncomingRequest,
    OutgoingBody,
    OutgoingResponse,
    ResponseOutparam,
)

ITEMS = {1: {"id": 1, "name": "tea", "cents": 450}, 2: {"id": 2, "name": "cake", "cents": 300}}


def read_body(request: IncomingRequest) -> bytes:
    body = request.consume()
    stream = body.stream()
    data = bytearray()
    while True:
        try:
            data += stream.blocking_read(65536)
        except Err as e:
            if isinstance(e.value, streams.StreamError_Closed):
                break
            raise
    stream.__exit__(None, None, None)
    return bytes(data)


def send(out: ResponseOutparam, status: int, body: bytes, content_type: bytes) -> None:
    headers = Fields.from_list(
        [("content-type", content_type), ("content-length", str(len(body)).encode())]
    )
    response = OutgoingResponse(headers)
    response.set_status_code(status)
    outgoing = response.body()
    ResponseOutparam.set(out, Ok(response))
    stream = outgoing.write()
    for offset in range(0, len(body), 4096):
        stream.blocking_write_and_flush(body[offset : offset + 4096])
    stream.__exit__(None, None, None)
    OutgoingBody.finish(outgoing, None)


def send_json(out: ResponseOutparam, status: int, value: object) -> None:
    send(out, status, json.dumps(value).encode(), b"application/json")


def fib(n: int) -> int:
    a, b = 0, 1
    for _ in range(n):
        a, b = b, a + b
    return a


def route(
    method: str, path: str, query: str, request: IncomingRequest, out: ResponseOutparam
) -> None:
    parts = [p for p in path.split("/") if p]
    if method == "GET" and not parts:
        send_json(out, 200, {"service": "router", "routes": 12})
    elif method == "GET" and parts == ["health"]:
        send(out, 200, b"ok", b"text/plain")
    elif parts[:1] == ["items"] and len(parts) == 1 and method == "GET":
        send_json(out, 200, list(ITEMS.values()))
    elif parts[:1] == ["items"] and len(parts) == 2 and method == "GET":
        item = ITEMS.get(int(parts[1])) if parts[1].isdigit() else None
        if item is None:
            send_json(out, 404, {"error": f"no item {parts[1]}"})
        else:
            send_json(out, 200, item)
    elif parts == ["items"] and method == "POST":
        try:
            item = json.loads(read_body(request) or b"{}")
        except ValueError:
            send_json(out, 400, {"error": "body is not JSON"})
            return
        send_json(out, 201, {"id": len(ITEMS) + 1, **item})
    elif parts == ["echo"] and method == "POST":
        types = request.headers().get("content-type") or [b"application/octet-stream"]
        send(out, 200, read_body(request), types[0])
    elif parts == ["sum"]:
        args = parse_qs(query)
        total = sum(int(v) for key in ("a", "b") for v in args.get(key, []))
        send_json(out, 200, {"sum": total})
    elif parts[:1] == ["upper"] and len(parts) == 2:
        send(out, 200, parts[1].upper().encode(), b"text/plain")
    elif parts == ["headers"]:
        entries = request.headers().entries()
        send_json(out, 200, {k: v.decode() for k, v in entries if k.startswith("x-")})
    elif parts == ["time"]:
        now = wall_clock.now()
        send_json(out, 200, {"seconds": now.seconds})
    elif parts[:1] == ["fib"] and len(parts) == 2 and parts[1].isdigit() and int(parts[1]) <= 90:
        send_json(out, 200, {"n": int(parts[1]), "fib": fib(int(parts[1]))})
    elif parts == ["reverse"] and method == "PUT":
        send(out, 200, read_body(request)[::-1], b"application/octet-stream")
    else:
        send_json(out, 404, {"error": f"no route {method} {path}"})


class IncomingHandler(exports.IncomingHandler):
    def handle(self, request: IncomingRequest, response_out: ResponseOutparam) -> None:
        target = request.path_with_query() or "/"
        path, _, query = target.partition("?")
        method = type(request.method()).__name__.removeprefix("Method_").upper()
        route(method, path, query, request, response_out)
