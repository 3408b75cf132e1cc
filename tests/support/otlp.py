"""An OTLP/HTTP trace receiver on loopback: what a collector (Jaeger, the OpenTelemetry
Collector) does with `POST /v1/traces`, decoding each `ExportTraceServiceRequest` with
opentelemetry-proto, so tests see the spans processes really exported."""

from __future__ import annotations

import gzip
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue

KIND = {1: "internal", 2: "server", 3: "client", 4: "producer", 5: "consumer"}


@dataclass(frozen=True)
class Received:
    """One exported span, ids in hex as `traceparent` writes them."""

    trace_id: str
    span_id: str
    parent_id: str  # "" for a root span
    name: str
    kind: str
    service: str  # the resource's service.name
    resource: dict[str, Any] = field(repr=False)
    attributes: dict[str, Any] = field(repr=False)
    error: bool = False


def _value(value: AnyValue) -> Any:
    which = value.WhichOneof("value")
    return getattr(value, which) if which else None


class Receiver:
    """Collects spans posted to `url + "/v1/traces"`."""

    def __init__(self) -> None:
        self.spans: list[Received] = []
        self.lock = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                if self.headers.get("content-encoding") == "gzip":
                    body = gzip.decompress(body)
                if self.path != "/v1/traces":
                    self.send_response(404)
                    self.end_headers()
                    return
                receiver._collect(ExportTraceServiceRequest.FromString(body))
                out = ExportTraceServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("content-type", "application/x-protobuf")
                self.send_header("content-length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def _collect(self, request: ExportTraceServiceRequest) -> None:
        got: list[Received] = []
        for rs in request.resource_spans:
            resource = {kv.key: _value(kv.value) for kv in rs.resource.attributes}
            for ss in rs.scope_spans:
                for span in ss.spans:
                    got.append(Received(
                        span.trace_id.hex(), span.span_id.hex(), span.parent_span_id.hex(),
                        span.name, KIND.get(span.kind, str(span.kind)),
                        str(resource.get("service.name", "")), resource,
                        {kv.key: _value(kv.value) for kv in span.attributes},
                        span.status.code == 2,
                    ))  # fmt: skip
        with self.lock:
            self.spans += got
            self.lock.notify_all()

    def wait_for(self, found: Callable[[list[Received]], bool], timeout: float = 30.0) -> None:
        """Wait until `found(spans)` holds; AssertionError with what came after `timeout`."""
        deadline = time.monotonic() + timeout
        with self.lock:
            while not found(self.spans):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"spans not received in time; got {self.spans}")
                self.lock.wait(left)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


@contextmanager
def receiving() -> Iterator[Receiver]:
    """A running `Receiver`, stopped afterwards."""
    receiver = Receiver()
    try:
        yield receiver
    finally:
        receiver.close()
