"""Spans of the paths inside one process, recorded with the SDK's in-memory exporter: an HTTP
request continuing its caller's trace, a guest's outbound request carrying `traceparent`, a
malformed `traceparent` starting a new trace, and calls between units of one app."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from tests.triggers.http.servers import request, running
from wasmesh.observe import tracing
from wasmesh.policy import Grants, Policy
from wasmesh.runtime.app import App
from wasmesh.triggers.http import Server, ServerLimits

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
CALLER = "00f067aa0ba902b7"


@pytest.fixture
def provider() -> Iterator[tuple[TracerProvider, InMemorySpanExporter]]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.install(provider)
    try:
        yield provider, exporter
    finally:
        tracing.install(None)
        provider.shutdown()


@pytest.fixture
def exporter(provider: tuple[TracerProvider, InMemorySpanExporter]) -> InMemorySpanExporter:
    return provider[1]


def finished(
    exporter: InMemorySpanExporter, done: Callable[[Sequence[ReadableSpan]], bool]
) -> list[ReadableSpan]:
    """The finished spans once `done` holds of them (a server span ends after its answer)."""
    deadline = time.monotonic() + 20
    while not done(spans := list(exporter.get_finished_spans())):
        assert time.monotonic() < deadline, spans
        time.sleep(0.02)
    return spans


def one(spans: Sequence[ReadableSpan], kind: SpanKind, name: str | None = None) -> ReadableSpan:
    (found,) = (s for s in spans if s.kind == kind and name in (None, s.name))
    return found


class Origin(BaseHTTPRequestHandler):
    """An origin for guests to call: keeps the `traceparent` of each request."""

    seen: list[str | None] = []

    def do_GET(self) -> None:
        type(self).seen.append(self.headers.get("traceparent"))
        self.send_response(200)
        self.send_header("content-length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def origin() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Origin)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def fetcher(guest: Callable[[str], Path], origin: str) -> Iterator[Server]:
    """A server whose component fetches `?url=...` and answers `<status> <body>`."""
    with running({"/...": guest("http-fetch-py")}, policy=Policy(Grants(outbound=(origin,)))) as s:
        yield s


def test_a_request_continues_its_callers_trace_and_passes_it_on(
    fetcher: Server, origin: str, exporter: InMemorySpanExporter
) -> None:
    Origin.seen.clear()
    status, _, body = request(fetcher, "GET", f"/fetch?url={origin}/x",
                              headers={"traceparent": f"00-{TRACE}-{CALLER}-01"})  # fmt: skip
    assert (status, body.strip()) == (200, b"200 ok"), body
    spans = finished(exporter, lambda s: any(x.kind == SpanKind.SERVER for x in s))
    server = one(spans, SpanKind.SERVER)
    assert server.name == "GET /..."
    assert server.context is not None and server.parent is not None
    assert f"{server.context.trace_id:032x}" == TRACE
    assert f"{server.parent.span_id:016x}" == CALLER and server.parent.is_remote
    assert dict(server.attributes or {}) == {
        "http.request.method": "GET", "url.path": "/fetch", "url.query": f"url={origin}/x",
        "url.scheme": "http", "http.route": "/...", "http.response.status_code": 200,
    }  # fmt: skip

    client = one(spans, SpanKind.CLIENT, "GET")
    assert client.parent is not None and client.parent.span_id == server.context.span_id
    assert client.context is not None and client.context.trace_id == server.context.trace_id
    attrs = dict(client.attributes or {})
    assert attrs["url.full"] == f"{origin}/x" and attrs["http.response.status_code"] == 200
    assert attrs["server.address"] == "127.0.0.1"
    # what the origin saw: the guest's request as a child of the request the guest served
    assert Origin.seen == [f"00-{TRACE}-{client.context.span_id:016x}-01"]

    made = one(spans, SpanKind.INTERNAL, "instantiate http-fetch-py")
    assert made.parent is not None and made.parent.span_id == server.context.span_id


@pytest.mark.parametrize(
    "traceparent",
    ["garbage", f"00-{'0' * 32}-{CALLER}-01", f"00-{TRACE}-{CALLER}", f"ff-{TRACE}-{CALLER}-01",
     f"00-{TRACE.upper()}-{CALLER}-01"],
)  # fmt: skip
def test_a_malformed_traceparent_starts_a_new_trace(
    fetcher: Server, origin: str, exporter: InMemorySpanExporter, traceparent: str
) -> None:
    status, _, body = request(fetcher, "GET", f"/?url={origin}/y",
                              headers={"traceparent": traceparent})  # fmt: skip
    assert status == 200, body
    server = one(finished(exporter, lambda s: any(x.kind == SpanKind.SERVER for x in s)),
                 SpanKind.SERVER)  # fmt: skip
    assert server.parent is None
    assert server.context is not None and f"{server.context.trace_id:032x}" != TRACE


def test_a_request_the_component_fails_is_an_error_span(
    guest: Callable[[str], Path], exporter: InMemorySpanExporter
) -> None:
    limits = ServerLimits(request_timeout=1.0)
    with running({"/loop": guest("http-hostile-py")}, limits=limits) as server:
        status, _, _ = request(server, "GET", "/loop")
    assert status == 504
    server_span = one(finished(exporter, lambda s: any(x.kind == SpanKind.SERVER for x in s)),
                      SpanKind.SERVER)  # fmt: skip
    assert server_span.name == "GET /loop"
    assert server_span.status.status_code == StatusCode.ERROR
    attrs = dict(server_span.attributes or {})
    assert (attrs["http.response.status_code"], attrs["error.type"]) == (504, "504")


def test_calls_between_units_are_client_spans_named_by_interface_and_function(
    guest: Callable[[str], Path],
    provider: tuple[TracerProvider, InMemorySpanExporter],
    tmp_path: Path,
) -> None:
    manifest = tmp_path / "wasmesh.toml"
    manifest.write_text(f"""
[app]
name = "calc"

[components.front]
source = "{guest("lattice-front")}"

[components.math]
source = "{guest("lattice-math")}"

[deploy]
strategy = "per-component"
""")
    tracer_provider, exporter = provider
    app = App.load(manifest, cache=tmp_path / "build")
    try:
        with tracer_provider.get_tracer("test").start_as_current_span("test") as caller:
            assert app.call("wasmesh:lattice-test/front#sum3", 1, 2, 3) == 6
    finally:
        app.close()
    spans = exporter.get_finished_spans()
    calls = [s for s in spans if s.kind == SpanKind.CLIENT]
    assert [s.name for s in calls] == ["wasmesh:lattice-test/math/add"] * 2
    for span in calls:
        assert span.parent is not None and span.parent.span_id == caller.get_span_context().span_id
        assert dict(span.attributes or {}) == {
            "rpc.system": "wasmesh", "rpc.service": "wasmesh:lattice-test/math",
            "rpc.method": "add", "wasmesh.transport": "in-process",
        }  # fmt: skip
        assert span.status.status_code == StatusCode.UNSET
