"""HTTP requests and responses as single NATS messages, and serving one from a local pool.

A message is a JSON head, a newline, then the raw body. Header values travel as latin-1
text, so any byte string survives. Bodies are whole: streaming does not cross hosts.
"""

from __future__ import annotations

import json
import socket
from typing import Any, cast

import h11

from wasmesh.capabilities.wasi import IncomingRequest
from wasmesh.capabilities.wasi.io import Pollable
from wasmesh.observe import tracing
from wasmesh.triggers.http import exchange
from wasmesh.triggers.http.bodies import RequestBody, ResponseWriter
from wasmesh.triggers.http.instances import InstancePool

Headers = list[tuple[str, bytes]]

HEAD_MARGIN = 64 * 1024  # room left in a NATS message for the head and NATS's own headers
HOP_BY_HOP = frozenset({"connection", "keep-alive", "transfer-encoding", "content-length"})


def encode(head: dict[str, Any], headers: Headers, body: bytes) -> bytes:
    """One message: `head` plus `headers`, then `body`."""
    doc = {**head, "headers": [[n, v.decode("latin-1")] for n, v in headers]}
    return json.dumps(doc, separators=(",", ":")).encode() + b"\n" + body


def decode(data: bytes) -> tuple[dict[str, Any], Headers, bytes]:
    """(head, headers, body) of a message made by `encode`."""
    line, _, body = data.partition(b"\n")
    head = json.loads(line)
    headers = [(str(n), str(v).encode("latin-1")) for n, v in head.pop("headers", [])]
    return head, headers, body


def end_to_end(headers: Headers) -> Headers:
    """`headers` without those that describe one connection's framing."""
    return [(n, v) for n, v in headers if n.lower() not in HOP_BY_HOP]


class BufferedBody(RequestBody):
    """A request body already in memory (it came over NATS)."""

    def __init__(self, data: bytes) -> None:  # no connection: nothing of the parent is used
        self.buffer = bytearray(data)
        self.done = True
        self.too_large = False
        self.failure = None
        self.received = len(data)
        self.trailers = None

    def read(self, size: int, block: bool) -> bytes | None:
        if not self.buffer:
            return None
        out = bytes(self.buffer[:size])
        del self.buffer[:size]
        return out

    def ready(self) -> bool:
        return True

    def pollable(self) -> Pollable:
        return Pollable(self.ready)

    def drain(self, limit: int) -> bool:
        self.buffer.clear()
        return True


class CollectingWriter(ResponseWriter):
    """A response written to memory instead of a connection."""

    def __init__(self) -> None:
        super().__init__(h11.Connection(h11.SERVER), cast(socket.socket, None), head_only=False)
        self.status_out = 0
        self.headers_out: Headers = []
        self.chunks: list[bytes] = []

    def _send(self, event: Any, flush: bool = True) -> None:
        if isinstance(event, h11.Response):
            self.status_out = event.status_code
            self.headers_out = [(n.decode("latin-1"), bytes(v)) for n, v in event.headers]
        elif isinstance(event, h11.Data):
            self.chunks.append(bytes(event.data))


def serve_buffered(
    pool: InstancePool, head: dict[str, Any], headers: Headers, body: bytes, timeout: float
) -> tuple[int, Headers, bytes]:
    """(status, headers, body) of the request `head`/`headers`/`body` served by `pool`."""
    source = BufferedBody(body)
    request = IncomingRequest(
        str(head["method"]), str(head["target"]), "http", head.get("authority"), headers, source
    )
    writer = CollectingWriter()
    with tracing.http_server(str(head["method"]), str(head["target"]), headers, None, writer):
        exchange.run(pool, request, source, writer, timeout)
    if writer.aborted is not None:
        return 502, [("content-type", b"text/plain")], b"the component cut its response short\n"
    if not writer.finished:
        writer.finish(None)
    return writer.status_out, end_to_end(writer.headers_out), b"".join(writer.chunks)
