"""A `wasi:http/proxy` app for wasmesh's HTTP tests, written against the plain WASI bindings.

Routes: /echo streams the request body (and trailers) back; /headers (at any depth)
returns the x-* and wasmesh-* request headers as response headers; /status/<code>;
/fetch?url=... makes an outbound request; /wasi probes clocks, files and sockets; /trap,
/loop, /oom and /silent misbehave on purpose.
"""

from componentize_py_types import Err, Ok
from wit_world import exports
from wit_world.imports import (
    monotonic_clock,
    outgoing_handler,
    preopens,
    streams,
    tcp_create_socket,
)
from wit_world.imports.network import IpAddressFamily
from wit_world.imports.wasi_http_types import (
    Fields,
    IncomingBody,
    IncomingRequest,
    Method_Get,
    OutgoingBody,
    OutgoingRequest,
    OutgoingResponse,
    ResponseOutparam,
    Scheme_Http,
)

CHUNK = 16 * 1024


def respond(
    out: ResponseOutparam, status: int, body: bytes, headers: list[tuple[str, bytes]]
) -> None:
    response = OutgoingResponse(Fields.from_list(headers))
    response.set_status_code(status)
    outgoing = response.body()
    ResponseOutparam.set(out, Ok(response))
    stream = outgoing.write()
    offset = 0
    while offset < len(body):
        stream.blocking_write_and_flush(body[offset : offset + 4096])
        offset += 4096
    stream.__exit__(None, None, None)
    OutgoingBody.finish(outgoing, None)


def echo(request: IncomingRequest, out: ResponseOutparam) -> None:
    content_type = request.headers().get("content-type") or [b"application/octet-stream"]
    response = OutgoingResponse(Fields.from_list([("content-type", content_type[0])]))
    outgoing = response.body()
    ResponseOutparam.set(out, Ok(response))
    body = request.consume()
    source = body.stream()
    sink = outgoing.write()
    while True:
        try:
            chunk = source.blocking_read(CHUNK)
        except Err as e:
            if isinstance(e.value, streams.StreamError_Closed):
                break
            raise
        if chunk:
            sink.blocking_write_and_flush(chunk)
    source.__exit__(None, None, None)
    sink.__exit__(None, None, None)
    # Request trailers come back as response trailers.
    future = IncomingBody.finish(body)
    future.subscribe().block()
    got = future.get()
    trailers = got.value.value if got is not None and isinstance(got.value, Ok) else None
    OutgoingBody.finish(outgoing, trailers)


def fetch(url: str, out: ResponseOutparam) -> None:
    rest = url.split("://", 1)[1]
    authority, _, path = rest.partition("/")
    request = OutgoingRequest(Fields())
    request.set_method(Method_Get())
    request.set_scheme(Scheme_Http())
    request.set_authority(authority)
    request.set_path_with_query("/" + path)
    try:
        future = outgoing_handler.handle(request, None)
    except Err as e:
        respond(out, 502, f"denied: {type(e.value).__name__}".encode(), [])
        return
    future.subscribe().block()
    result = future.get()
    assert result is not None
    inner = result.value
    if isinstance(inner, Err):
        respond(out, 502, f"error: {type(inner.value).__name__}".encode(), [])
        return
    incoming = inner.value
    stream = incoming.consume().stream()
    data = b""
    while True:
        try:
            data += stream.blocking_read(CHUNK)
        except Err:
            break
    respond(out, 200, f"{incoming.status()} ".encode() + data, [])


def probe_wasi(out: ResponseOutparam) -> None:
    start = monotonic_clock.now()
    monotonic_clock.subscribe_duration(50_000_000).block()
    waited_ms = (monotonic_clock.now() - start) // 1_000_000
    dirs = len(preopens.get_directories())
    try:
        tcp_create_socket.create_tcp_socket(IpAddressFamily.IPV4)
        socket = "created"
    except Err as e:
        socket = e.value.name.lower()
    print("wasi probe ran")
    body = f"waited_ms={waited_ms} preopens={dirs} socket={socket}"
    respond(out, 200, body.encode(), [])


class IncomingHandler(exports.IncomingHandler):
    def handle(self, request: IncomingRequest, response_out: ResponseOutparam) -> None:
        path = request.path_with_query() or "/"
        route, _, query = path.partition("?")
        if route == "/echo":
            echo(request, response_out)
        elif route.endswith("/headers"):
            entries = request.headers().entries()
            headers = [(k, v) for k, v in entries if k.startswith(("x-", "wasmesh-"))]
            respond(response_out, 200, b"", headers)
        elif route.startswith("/status/"):
            respond(response_out, int(route[len("/status/") :]), b"status", [])
        elif route == "/fetch":
            fetch(query.removeprefix("url="), response_out)
        elif route == "/wasi":
            probe_wasi(response_out)
        elif route == "/trap":
            raise RuntimeError("this route fails on purpose")
        elif route == "/loop":
            while True:
                pass
        elif route == "/oom":
            hog = []
            while True:
                hog.append(bytearray(16 * 1024 * 1024))
        elif route == "/silent":
            return
        else:
            method = type(request.method()).__name__.removeprefix("Method_").upper()
            respond(
                response_out,
                200,
                f"hello {method} {path}".encode(),
                [("content-type", b"text/plain")],
            )
