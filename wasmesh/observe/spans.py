"""The OpenTelemetry side of `wasmesh.observe.tracing`, imported only once tracing is on.

Span names and attributes follow OpenTelemetry's semantic conventions: HTTP server and client
spans (`http.request.method`, `url.path`, `url.full`, `http.route`,
`http.response.status_code`, `error.type`; 5xx is an error on the server, 4xx and 5xx on the
client) and RPC spans named `{rpc.service}/{rpc.method}`. Trace context is read and written by
the SDK's configured propagator (`OTEL_PROPAGATORS`, W3C `traceparent` by default).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any, TypeVar

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.sdk.resources import SERVICE_INSTANCE_ID, SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider as SdkTracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter
from opentelemetry.trace import Span, SpanKind, Status, StatusCode

import wasmesh

F = TypeVar("F", bound=Callable[..., Any])
Headers = list[tuple[str, bytes]]

# RFC 9110's methods and PATCH; any other is `_OTHER` (the conventions' bound on cardinality)
KNOWN_METHODS = frozenset(
    {"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"}
)
_NULL: AbstractContextManager[None] = nullcontext()


def provider_from_env(
    exporters: Sequence[str], service: str, instance: str | None
) -> SdkTracerProvider:
    """An SDK provider batching spans to each of `exporters` (`otlp`: OTLP/HTTP, configured
    by the `OTEL_EXPORTER_OTLP_*` variables; `console`: stdout), its resource named `service`
    unless the environment names it."""
    from_env = Resource.create()  # OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES
    attrs: dict[str, str] = {}
    if str(from_env.attributes.get(SERVICE_NAME, "")).startswith("unknown_service"):
        attrs[SERVICE_NAME] = service
    if instance is not None and f"{SERVICE_INSTANCE_ID}=" not in _resource_env():
        attrs[SERVICE_INSTANCE_ID] = instance
    # shut down by `tracing.shutdown`, within its bound: not again at exit, unbounded
    provider = SdkTracerProvider(resource=Resource.create(attrs), shutdown_on_exit=False)
    for name in exporters:
        provider.add_span_processor(BatchSpanProcessor(_exporter(name)))
    return provider


def _resource_env() -> str:
    return os.environ.get("OTEL_RESOURCE_ATTRIBUTES", "").replace(" ", "")


def _exporter(name: str) -> SpanExporter:
    if name == "console":
        return ConsoleSpanExporter()
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    from wasmesh.observe.exporting import ReportingExporter

    inner = OTLPSpanExporter()
    return ReportingExporter(inner, str(getattr(inner, "_endpoint", "the OTLP endpoint")))


def method_attributes(method: str) -> dict[str, str]:
    """`http.request.method` (and `http.request.method_original` for an unknown one)."""
    upper = method.upper()
    if upper in KNOWN_METHODS:
        return {"http.request.method": upper}
    return {"http.request.method": "_OTHER", "http.request.method_original": method}


class Spans:
    """Makes wasmesh's spans with one tracer of `provider`."""

    def __init__(self, provider: trace.TracerProvider) -> None:
        self.tracer = provider.get_tracer("wasmesh", wasmesh.__version__)
        self.propagator = propagate.get_global_textmap()
        self.fields = frozenset(self.propagator.fields)

    # -- trace context ------------------------------------------------------------------------

    def _extract(self, headers: Headers) -> otel_context.Context:
        carrier = {n.lower(): v.decode("latin-1") for n, v in headers if n.lower() in self.fields}
        return self.propagator.extract(carrier)

    def headers(self) -> dict[str, str]:
        carrier: dict[str, str] = {}
        self.propagator.inject(carrier)
        return carrier

    def replace_context(self, headers: Headers, span: Span | None) -> Headers:
        """`headers` without trace context fields, plus those of `span` (or the current)."""
        carrier: dict[str, str] = {}
        ctx = trace.set_span_in_context(span) if span is not None else None
        self.propagator.inject(carrier, context=ctx)
        kept = [(n, v) for n, v in headers if n.lower() not in self.fields]
        return kept + [(n, v.encode("latin-1")) for n, v in carrier.items()]

    def in_context(self, func: F) -> F:
        ctx = otel_context.get_current()

        @functools.wraps(func)
        def within(*args: Any, **kwargs: Any) -> Any:
            token = otel_context.attach(ctx)
            try:
                return func(*args, **kwargs)
            finally:
                otel_context.detach(token)

        return within  # type: ignore[return-value]

    # -- spans --------------------------------------------------------------------------------

    @contextmanager
    def http_server(
        self, method: str, target: str, headers: Headers, route: str | None, response: Any
    ) -> Iterator[None]:
        path, _, query = target.partition("?")
        attrs: dict[str, str] = {**method_attributes(method), "url.path": path,
                                 "url.scheme": "http"}  # fmt: skip
        if query:
            attrs["url.query"] = query
        if route:
            attrs["http.route"] = route
        shown = method.upper() if method.upper() in KNOWN_METHODS else "HTTP"
        name = f"{shown} {route}" if route else shown
        with self.tracer.start_as_current_span(
            name, context=self._extract(headers), kind=SpanKind.SERVER, attributes=attrs
        ) as span:
            try:
                yield
            finally:
                status = int(response.status)
                if status:
                    span.set_attribute("http.response.status_code", status)
                if status >= 500:
                    span.set_attribute("error.type", str(status))
                    span.set_status(Status(StatusCode.ERROR))

    def call(self, func: F, interface: str, function: str, transport: str) -> F:
        name = f"{interface}/{function}" if function else interface
        attrs = _rpc_attributes(interface, function)
        attrs["wasmesh.transport"] = transport
        start = self.tracer.start_as_current_span

        @functools.wraps(func)
        def traced(*args: Any) -> Any:
            with start(name, kind=SpanKind.CLIENT, attributes=attrs):
                return func(*args)

        return traced  # type: ignore[return-value]

    def rpc_server(
        self, headers: Mapping[str, str] | None, interface: str, function: str
    ) -> AbstractContextManager[object]:
        carrier = {k.lower(): v for k, v in (headers or {}).items() if k.lower() in self.fields}
        return self.tracer.start_as_current_span(
            f"{interface}/{function}" if function else interface,
            context=self.propagator.extract(carrier),
            kind=SpanKind.SERVER,
            attributes=_rpc_attributes(interface, function),
        )

    def outgoing(self, method: str, url: str, host: str, port: int) -> Span:
        attrs: dict[str, str | int] = {**method_attributes(method), "url.full": url,
                                       "server.address": host, "server.port": port}  # fmt: skip
        shown = method.upper() if method.upper() in KNOWN_METHODS else "HTTP"
        return self.tracer.start_span(shown, kind=SpanKind.CLIENT, attributes=attrs)

    def instantiation(self, component: str) -> AbstractContextManager[object]:
        if not trace.get_current_span().get_span_context().is_valid:
            return _NULL  # no trace wants it: a pool filling up, an app loading
        return self.tracer.start_as_current_span(
            f"instantiate {component}", attributes={"wasmesh.component": component}
        )


def end_outgoing(span: Span, status: int | None, error: BaseException | None) -> None:
    """End an outbound request's span with its response status or the error that stopped it."""
    if status is not None:
        span.set_attribute("http.response.status_code", status)
        if status >= 400:
            span.set_attribute("error.type", str(status))
            span.set_status(Status(StatusCode.ERROR))
    if error is not None:
        span.set_attribute("error.type", type(error).__name__)
        span.set_status(Status(StatusCode.ERROR, str(error)))
    span.end()


def _rpc_attributes(interface: str, function: str) -> dict[str, str]:
    return {"rpc.system": "wasmesh", "rpc.service": interface,
            "rpc.method": function or interface}  # fmt: skip
