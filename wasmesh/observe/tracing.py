"""Traces of what wasmesh runs, as OpenTelemetry spans, with W3C trace context between hosts.

Off unless the standard OpenTelemetry environment turns it on (`configure`, which `serve`,
`up` and `host` call): `OTEL_TRACES_EXPORTER` (`otlp`, `console`, `none`, or a comma list) or
an OTLP endpoint (`OTEL_EXPORTER_OTLP_ENDPOINT`, `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`), unless
`OTEL_SDK_DISABLED=true`. Spans go through a batch processor to the official SDK's OTLP/HTTP
(protobuf) exporter, which reads the rest of the environment itself (`OTEL_SERVICE_NAME`,
`OTEL_RESOURCE_ATTRIBUTES`, `OTEL_EXPORTER_OTLP_HEADERS`, `OTEL_TRACES_SAMPLER`, `OTEL_BSP_*`,
`OTEL_PROPAGATORS`, ...); a number among them that is not a whole number (`OTEL_BSP_*`, the
OTLP timeouts) is refused with one sentence, as the SDK would only log a traceback and go on
with its default. `shutdown` (on SIGTERM, after draining) ends the batch processor, so spans
still queued are sent, for at most `SHUTDOWN_FLUSH_S` seconds: a collector that does not
answer does not hold the process up. While the collector is down, one warning per outage is
logged (`wasmesh.observe.exporting`).

While off, nothing imports opentelemetry: each hook below reads one module global and returns
a shared no-op (a null context manager, the function or headers it was given, None). Hooks
that wrap a function (`call`, `in_context`) decide when they are called, so a unit linked
before tracing was turned on stays untraced.

Spans, after OpenTelemetry's semantic conventions for HTTP and RPC (`wasmesh.observe.spans`):

- `http_server`: server span `{method} {http.route}` per request a component answers, with
  `http.request.method`, `url.path`, `url.query`, `url.scheme`, `http.route` and
  `http.response.status_code` (5xx is an error);
- `call`: client span `{interface}/{function}` per call from one unit to another, with
  `rpc.system` (`wasmesh`), `rpc.service`, `rpc.method` and `wasmesh.transport`
  (`in-process` or `nats`); `rpc_server`: the server span of the same name on the host that
  answers a call over NATS;
- `outgoing`: client span `{method}` per outbound HTTP request from a guest, until its
  response head, with `url.full`, `server.address`, `server.port`,
  `http.response.status_code` and `error.type`;
- `instantiation`: `instantiate {component}`, when an instance is made for a traced request
  or call.

Trace context crosses processes as W3C `traceparent` (and `tracestate`): in the NATS headers
of a call to a unit on another host (`headers`, read back by `rpc_server`), and in the head of
an HTTP request forwarded to another host (`forwarded_headers`) or sent by a guest
(`outgoing_headers`), replacing any the guest set. A malformed incoming `traceparent` is
ignored and the request starts a new trace (W3C Trace Context, §3.2 and §4.3).
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from wasmesh.errors import WasmeshError

if TYPE_CHECKING:
    from opentelemetry.trace import Span, TracerProvider

    from wasmesh.observe.spans import Spans

F = TypeVar("F", bound=Callable[..., Any])
Headers = list[tuple[str, bytes]]  # (lower-case name, value) as the HTTP layer carries them

EXPORTERS = ("otlp", "console")
"""What `OTEL_TRACES_EXPORTER` may name (besides `none`)."""
SHUTDOWN_FLUSH_S = 1.0
"""Seconds `shutdown` waits for queued spans to be sent before it drops them."""
NUMBERS = {
    "OTEL_BSP_SCHEDULE_DELAY": "milliseconds, e.g. 5000",
    "OTEL_BSP_EXPORT_TIMEOUT": "milliseconds, e.g. 30000",
    "OTEL_BSP_MAX_QUEUE_SIZE": "spans, e.g. 2048",
    "OTEL_BSP_MAX_EXPORT_BATCH_SIZE": "spans, e.g. 512",
    "OTEL_EXPORTER_OTLP_TIMEOUT": "seconds, e.g. 10",
    "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT": "seconds, e.g. 10",
}
"""The numeric OTEL_* settings of the batch processor and the OTLP exporter, and their unit."""

log = logging.getLogger("wasmesh.observe")


class Answered(Protocol):
    """A response being written: its status is known once the head is set (0 before)."""

    status: int


_spans: Spans | None = None  # None: tracing is off
_owned: Any = None  # the SDK TracerProvider `configure` made, shut down by `shutdown`
_NULL: AbstractContextManager[None] = contextlib.nullcontext()


def enabled() -> bool:
    """Whether spans are being recorded in this process."""
    return _spans is not None


def exporters_from_env() -> tuple[str, ...]:
    """The span exporters the environment asks for (`otlp`, `console`); () when tracing is
    off. Raises `WasmeshError` naming the variable for an exporter, protocol or endpoint
    wasmesh cannot use."""
    env = os.environ
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return ()
    named = env.get("OTEL_TRACES_EXPORTER", "").strip()
    endpoint_var = next(
        (v for v in ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")
         if env.get(v, "").strip()), None,
    )  # fmt: skip
    if named:
        names = tuple(n.strip().lower() for n in named.split(",") if n.strip())
        for name in names:
            if name not in (*EXPORTERS, "none"):
                raise WasmeshError(
                    f"OTEL_TRACES_EXPORTER names `{name}`, which wasmesh cannot export spans "
                    "to; use `otlp` (OTLP over HTTP), `console` or `none`."
                )
        names = tuple(dict.fromkeys(n for n in names if n != "none"))
    elif endpoint_var is not None:
        names = ("otlp",)
    else:
        return ()
    if "otlp" in names:
        _check_otlp(endpoint_var)
    _check_numbers(names)
    return names


def _check_numbers(names: tuple[str, ...]) -> None:
    for var, unit in NUMBERS.items():
        if var.startswith("OTEL_EXPORTER_OTLP") and "otlp" not in names:
            continue
        text = os.environ.get(var, "").strip()
        if text and not text.isdigit():
            raise WasmeshError(f"{var} is `{text}`, not a whole number of {unit}; fix or unset it.")


def _check_otlp(endpoint_var: str | None) -> None:
    env = os.environ
    for var in ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"):
        protocol = env.get(var, "").strip()
        if protocol and protocol != "http/protobuf":
            raise WasmeshError(
                f"{var} is `{protocol}`, but wasmesh sends spans over OTLP/HTTP with protobuf "
                "only; set it to `http/protobuf` (collectors such as Jaeger take it on port "
                "4318)."
            )
        if protocol:
            break
    if endpoint_var is not None:
        url = env[endpoint_var].strip()
        if not url.startswith(("http://", "https://")):
            raise WasmeshError(
                f"{endpoint_var} `{url}` is not an http:// or https:// URL; "
                "e.g. `http://127.0.0.1:4318`."
            )


def configure(service: str = "wasmesh", instance: str | None = None) -> bool:
    """Turn tracing on if the environment asks for it (see the module's docstring); returns
    whether it is on. `service` is the `service.name` unless `OTEL_SERVICE_NAME` (or
    `service.name` in `OTEL_RESOURCE_ATTRIBUTES`) sets one; `instance` is the
    `service.instance.id` (a lattice host's id). Raises `WasmeshError` for an environment
    wasmesh cannot export with."""
    exporters = exporters_from_env()
    if not exporters:
        return False
    try:  # the SDK reads the other OTEL_* variables itself and raises ValueError for a bad one
        from wasmesh.observe.spans import provider_from_env

        provider = provider_from_env(exporters, service, instance)
        shutdown()
        global _owned
        _owned = provider
        install(provider)
    except ValueError as exc:
        raise WasmeshError(
            f"OpenTelemetry cannot trace with this environment: {exc}; fix or unset the OTEL_* "
            "variable it names (OTEL_PROPAGATORS takes tracecontext, baggage, ...)."
        ) from None
    return True


def install(provider: TracerProvider | None) -> None:
    """Record spans with `provider` (any OpenTelemetry `TracerProvider`: the SDK's with an
    in-memory exporter, an embedding application's own, which it keeps owning), or stop
    recording with None."""
    global _spans
    if provider is None:
        _spans = None
        return
    from wasmesh.observe.spans import Spans

    _spans = Spans(provider)


def shutdown() -> None:
    """Stop recording with the provider `configure` made, sending the spans it still holds
    (a provider given to `install` is its owner's to shut down)."""
    global _owned, _spans
    provider, _owned = _owned, None
    if provider is not None:
        _spans = None
        flushing = threading.Thread(target=provider.shutdown, name="wasmesh-spans", daemon=True)
        flushing.start()
        flushing.join(SHUTDOWN_FLUSH_S)
        if flushing.is_alive():
            log.warning("spans still queued %.0f s after stopping were dropped: the collector "
                        "did not take them in time", SHUTDOWN_FLUSH_S)  # fmt: skip


@contextlib.contextmanager
def session(service: str = "wasmesh", instance: str | None = None) -> Iterator[bool]:
    """`configure` on entry, `shutdown` on exit (a server's lifetime); yields whether on."""
    on = configure(service, instance)
    try:
        yield on
    finally:
        if on:
            shutdown()


# -- hooks --------------------------------------------------------------------------------------


def http_server(
    method: str, target: str, headers: Headers, route: str | None, response: Answered
) -> AbstractContextManager[object]:
    """Around serving one HTTP request (`target` is its path and query, `route` the route
    pattern that matched): a server span continuing the trace of the request's `traceparent`,
    given `response.status` when it ends."""
    spans = _spans
    if spans is None:
        return _NULL
    return spans.http_server(method, target, headers, route, response)


def call(func: F, interface: str, function: str, transport: str) -> F:
    """`func`, the implementation of an import satisfied by another unit, traced as a client
    span per call (`transport`: `in-process` or `nats`)."""
    spans = _spans
    if spans is None:
        return func
    return spans.call(func, interface, function, transport)


def headers() -> dict[str, str] | None:
    """The current trace context as message headers (`traceparent`, `tracestate`), or None."""
    spans = _spans
    if spans is None:
        return None
    return spans.headers()


def rpc_server(
    headers: Mapping[str, str] | None, interface: str, function: str
) -> AbstractContextManager[object]:
    """Around answering a call that came over NATS with `headers`: a server span continuing
    the caller's trace."""
    spans = _spans
    if spans is None:
        return _NULL
    return spans.rpc_server(headers, interface, function)


def in_context(func: F) -> F:
    """`func` to run on another thread (an executor) inside the current trace context."""
    spans = _spans
    if spans is None:
        return func
    return spans.in_context(func)


def forwarded_headers(headers: Headers) -> Headers:
    """`headers` of a request forwarded to another host, carrying the current trace context
    in place of the client's."""
    spans = _spans
    if spans is None:
        return headers
    return spans.replace_context(headers, None)


def outgoing(method: str, url: str, host: str, port: int) -> Span | None:
    """A started client span for an outbound request from a guest, or None when off."""
    spans = _spans
    if spans is None:
        return None
    return spans.outgoing(method, url, host, port)


def outgoing_headers(span: Span | None, headers: Headers) -> Headers:
    """`headers` of the outbound request of `span`, carrying its trace context."""
    if span is None or _spans is None:
        return headers
    return _spans.replace_context(headers, span)


def outgoing_done(span: Span | None, status: int | None, error: BaseException | None) -> None:
    """End `span` with the response's `status`, or the `error` that stopped the request."""
    if span is not None:
        from wasmesh.observe.spans import end_outgoing

        end_outgoing(span, status, error)


def instantiation(component: str) -> AbstractContextManager[object]:
    """Around making an instance of `component`: a span, when a traced request or call is
    what needs the instance."""
    spans = _spans
    if spans is None:
        return _NULL
    return spans.instantiation(component)
