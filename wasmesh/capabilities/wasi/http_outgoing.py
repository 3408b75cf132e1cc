"""wasi:http/outgoing-handler: requests from components to the outside, behind a grant.

Only origins matching one of the context's `allow_outbound` patterns (`scheme://host:port`,
`*` wildcards; parsed, see `http_authority`) are reached; anything else gets
`HTTP-request-denied` and a log line, a malformed authority `HTTP-request-URI-invalid`. Each
granted request runs on its own thread so the component can stream the request body while
the host sends it (a write fails once the origin stops taking it), and wait on the response
with `poll`.
"""

from __future__ import annotations

import contextlib
import http.client
import queue
import re
import socket
import threading
from typing import TYPE_CHECKING, Any

from wasmesh.capabilities.wasi._table import HostObject
from wasmesh.capabilities.wasi.context import current
from wasmesh.capabilities.wasi.http_authority import origin_allowed, parse_origin
from wasmesh.capabilities.wasi.http_fields import Fields
from wasmesh.capabilities.wasi.http_types import (
    IncomingBody,
    OutgoingBody,
    declared_length,
    method_name,
    scheme_name,
)
from wasmesh.capabilities.wasi.io import Pollable, waiting
from wasmesh.engine.values import Err, Ok, Record, Variant
from wasmesh.observe import tracing

if TYPE_CHECKING:
    from opentelemetry.trace import Span

DEFAULT_TIMEOUT = 30.0
_PATH = re.compile(r"[!-~]*")  # visible ASCII (RFC 9112 §3.2)


class RequestOptions(HostObject):
    resource = "request-options"

    def __init__(self) -> None:
        self.timeouts: dict[str, int | None] = {"connect": None, "first": None, "between": None}

    def connect_timeout(self) -> int | None:
        return self.timeouts["connect"]

    def set_connect_timeout(self, duration: int | None) -> Ok:
        self.timeouts["connect"] = duration
        return Ok(None)

    def first_byte_timeout(self) -> int | None:
        return self.timeouts["first"]

    def set_first_byte_timeout(self, duration: int | None) -> Ok:
        self.timeouts["first"] = duration
        return Ok(None)

    def between_bytes_timeout(self) -> int | None:
        return self.timeouts["between"]

    def set_between_bytes_timeout(self, duration: int | None) -> Ok:
        self.timeouts["between"] = duration
        return Ok(None)


class OutgoingRequest(HostObject):
    resource = "outgoing-request"

    def __init__(self, headers: Fields) -> None:
        self._headers = headers
        headers.mutable = False
        self._method: Variant = Variant("get")
        self._path: str | None = None
        self._scheme: Variant | None = None
        self._authority: str | None = None
        self._body: OutgoingBody | None = None

    def body(self) -> Ok | Err:
        if self._body is not None:
            return Err(None)
        self._body = OutgoingBody(declared_length(self._headers), "HTTP-request-body-size")
        return Ok(self._body)

    def method(self) -> Variant:
        return self._method

    def set_method(self, method: Variant) -> Ok:
        self._method = method
        return Ok(None)

    def path_with_query(self) -> str | None:
        return self._path

    def set_path_with_query(self, path: str | None) -> Ok | Err:
        if path is not None and not _PATH.fullmatch(path):
            return Err(None)  # control characters, spaces or non-ASCII: not a request target
        self._path = path
        return Ok(None)

    def scheme(self) -> Variant | None:
        return self._scheme

    def set_scheme(self, scheme: Variant | None) -> Ok:
        self._scheme = scheme
        return Ok(None)

    def authority(self) -> str | None:
        return self._authority

    def set_authority(self, authority: str | None) -> Ok | Err:
        if authority is not None and parse_origin("http", authority) is None:
            return Err(None)
        self._authority = authority
        return Ok(None)

    def headers(self) -> Fields:
        return self._headers


class _ResponseSource:
    """The body of a response from the outside, read as the component asks."""

    def __init__(self, response: http.client.HTTPResponse, conn: http.client.HTTPConnection):
        self.response = response
        self.conn = conn

    def read(self, size: int, block: bool) -> bytes | None:
        with waiting():
            data = self.response.read1(size)
        if not data:
            self.conn.close()
            return None
        return data

    def pollable(self) -> Pollable:
        return Pollable.always()


class IncomingResponse(HostObject):
    resource = "incoming-response"

    def __init__(self, status: int, headers: list[tuple[str, bytes]], source: Any) -> None:
        self._status = status
        self._headers = Fields(headers, mutable=False)
        self._body: IncomingBody | None = IncomingBody(source)

    def status(self) -> int:
        return self._status

    def headers(self) -> Fields:
        return self._headers

    def consume(self) -> Ok | Err:
        body, self._body = self._body, None
        return Err(None) if body is None else Ok(body)


class FutureIncomingResponse(HostObject):
    resource = "future-incoming-response"

    def __init__(self) -> None:
        self.done = threading.Event()
        self.result: Ok | Err | None = None
        self.taken = False

    def subscribe(self) -> Pollable:
        return Pollable(self.done.is_set, event=self.done)

    def get(self) -> Ok | Err | None:
        if not self.done.is_set():
            return None
        if self.taken:
            return Err(None)
        self.taken = True
        return Ok(self.result)


class _BodyPipe:
    """Request body chunks from the component to the sending thread.

    Once the sender has stopped (the origin closed the connection, or the request failed),
    writes fail at once instead of waiting for room that never comes.
    """

    def __init__(self) -> None:
        self.chunks: queue.Queue[bytes | Exception | None] = queue.Queue(maxsize=64)
        self.stopped: str | None = None

    def _put(self, item: bytes | Exception | None) -> None:
        while self.stopped is None:
            try:
                self.chunks.put(item, timeout=0.05)
                return
            except queue.Full:
                continue
        raise ConnectionError(f"the outgoing request body cannot be sent: {self.stopped}")

    def write(self, data: bytes) -> None:
        self._put(bytes(data))

    def finish(self, trailers: list[tuple[str, bytes]] | None) -> None:
        with contextlib.suppress(ConnectionError):
            self._put(None)

    def abort(self, reason: str) -> None:
        with contextlib.suppress(ConnectionError):
            self._put(ConnectionAbortedError(reason))


def _error_code(exc: BaseException) -> Variant:
    if isinstance(exc, ConnectionRefusedError):
        return Variant("connection-refused")
    if isinstance(exc, socket.gaierror):
        return Variant("DNS-error", Record({"rcode": str(exc), "info-code": None}))
    if isinstance(exc, (TimeoutError, queue.Empty)):
        return Variant("connection-timeout")
    return Variant("internal-error", str(exc))


def _send(request: OutgoingRequest, host: str, port: int, scheme: str, timeout: float,
          pipe: _BodyPipe | None, future: FutureIncomingResponse,
          span: Span | None = None) -> None:  # fmt: skip
    cls = http.client.HTTPSConnection if scheme == "https" else http.client.HTTPConnection
    conn: http.client.HTTPConnection | None = None
    try:  # whatever happens here, the future completes: the guest never waits for nothing
        conn = cls(host, port, timeout=timeout)
        conn.putrequest(method_name(request.method()), request.path_with_query() or "/",
                        skip_host=True, skip_accept_encoding=True)  # fmt: skip
        conn.putheader("Host", request.authority() or host)
        entries = tracing.outgoing_headers(span, request.headers().entries())
        for name, value in entries:
            conn.putheader(name, value)
        sized = any(n == "content-length" for n, _ in entries)
        if pipe is None:
            conn.endheaders()
        else:
            if not sized:
                conn.putheader("Transfer-Encoding", "chunked")
            conn.endheaders()
            # A component that never finishes its request body must not pin this thread.
            while (chunk := pipe.chunks.get(timeout=timeout)) is not None:
                if isinstance(chunk, Exception):
                    raise chunk
                conn.send(chunk if sized else b"%x\r\n%s\r\n" % (len(chunk), chunk))
            if not sized:
                conn.send(b"0\r\n\r\n")
        response = conn.getresponse()
        tracing.outgoing_done(span, response.status, None)
        headers = [(k.lower(), v.encode("latin-1")) for k, v in response.getheaders()]
        future.result = Ok(
            IncomingResponse(response.status, headers, _ResponseSource(response, conn))
        )
    except Exception as e:
        if conn is not None:
            conn.close()
        future.result = Err(_error_code(e))
        tracing.outgoing_done(span, None, e)
    finally:
        if pipe is not None:
            pipe.stopped = "the request ended"
        future.done.set()


def handle(request: OutgoingRequest, options: RequestOptions | None) -> Ok | Err:
    """Send `request` if the component's grants allow its origin."""
    ctx = current()
    origin = parse_origin(scheme_name(request.scheme()) or "http", request.authority() or "")
    if origin is None:
        return Err(Variant("HTTP-request-URI-invalid"))
    if not origin_allowed(origin, ctx.allow_outbound):
        ctx.logger.warning("denied an outbound request to %s: no allow_outbound grant", origin)
        return Err(Variant("HTTP-request-denied"))
    timeout = DEFAULT_TIMEOUT
    if options is not None and options.timeouts["connect"]:
        timeout = options.timeouts["connect"] / 1e9
    pipe = None
    body = request._body
    if body is not None:
        pipe = _BodyPipe()
        body.attach(pipe)
    future = FutureIncomingResponse()
    url = f"{origin}{request.path_with_query() or '/'}"
    span = tracing.outgoing(method_name(request.method()), url, origin.host, origin.port)
    args = (request, origin.host, origin.port, origin.scheme, timeout, pipe, future, span)
    threading.Thread(target=_send, args=args, name="wasmesh-outgoing", daemon=True).start()
    return Ok(future)


def http_error_code(err: HostObject) -> Variant | None:
    return None
