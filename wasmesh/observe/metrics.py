"""Prometheus metrics of one wasmesh process, with the official `prometheus_client`.

A `Metrics` holds its own `prometheus_client.CollectorRegistry` (never the library's global
one), so a test can make a fresh one and find exactly the counts it caused. The process's
metrics are on once `enable()` has installed one (the CLI's `--admin`, a lattice host, or a
test); the hooks in the hot paths read `ACTIVE` and do nothing more when it is None. Paths that
link once (cross-unit imports) decide when they link: enable metrics before an app loads.
Other parts of wasmesh (the admin page, the dashboard) read a metric by its name from
`active().registry`.

Every name carries the `wasmesh_` prefix and follows Prometheus's naming rules (base units:
seconds, bytes; counters end in `_total`; no `_created` series):

- `wasmesh_http_requests_total{route,method,status}`: HTTP requests answered (`route` is
  the matched pattern, `NO_ROUTE` (`(none)`) when none matched, a fixed value as Micrometer's
  `uri="NOT_FOUND"` is, so unmatched paths cannot grow the label set; `status` 0: cut before
  a response head);
- `wasmesh_http_request_duration_seconds{route}` (histogram), from a request's head to the
  end of its response; `wasmesh_http_response_bytes_total{route}`;
  `wasmesh_http_requests_in_flight`;
- `wasmesh_instances_live{app,component}`, `wasmesh_instances_created_total{app,component}`,
  `wasmesh_instances_reused_total{app,component}` (a warm HTTP instance taken again),
  `wasmesh_instantiate_duration_seconds{app,component}` (histogram);
- `wasmesh_guest_traps_total{app,component,kind}`: calls into a live instance stopped,
  `kind` one of `trap`, `timeout`, `fuel`, `memory-limit`;
- `wasmesh_instantiation_failures_total{app,component,kind}`: instances that could not be
  made (the start function stopped as above, or `link`: the engine refused to instantiate);
  not traps, which count calls.

Readiness probes (`/readyz` making an instance of each unit, in `unmetered()`) count nowhere:
a probe is neither a request nor an instance the app made.
- `wasmesh_calls_total{app,caller,interface,placement,outcome}` (`caller` the calling unit,
  `outcome` `ok` or `error`) and
  `wasmesh_call_duration_seconds{app,caller,interface,placement}` (histogram), cross-unit
  calls as their caller saw them;
- `wasmesh_rpc_errors_total{subject,kind}`: lattice calls over NATS that failed (`kind`:
  `no-responders`, `timeout`, `remote-trap`, `remote-error`);
- `wasmesh_keyvalue_operations_total{app,component,operation}`,
  `wasmesh_messaging_operations_total{app,component,operation}` (`publish`, `request`,
  `deliver`);
- `wasmesh_pool_slots` (component instance slots of the engines' pooling allocators),
  `wasmesh_pool_slots_used` (live instances in them);
- `wasmesh_process_resident_memory_bytes` and the rest of `prometheus_client`'s
  `ProcessCollector` (CPU seconds, open file descriptors), prefixed.

`app` is the app a unit belongs to (its manifest's name; for `serve`, the component file's
stem), so two apps' units of one name (a lattice host may run both) count apart; `component`
is the unit (or the served component). `placement` is `host-linked` (another unit in this
process, through a host function) or `lattice` (a unit on another host, over NATS). Calls
between components fused into one unit are plain wasm calls that never pass the host: they
are not counted, and cost nothing to watch.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    disable_created_metrics,
)

from wasmesh.errors import GuestOutOfFuel, GuestOutOfMemory, GuestTimeout

NAMESPACE = "wasmesh"
FAST_BUCKETS = (0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)  # fmt: skip
"""Seconds: instantiation and cross-unit calls take microseconds to milliseconds."""
HTTP_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
                5.0, 10.0, 30.0)  # fmt: skip
NO_ROUTE = "(none)"
"""The `route` label of a request no route matched (answered 404 by the server itself)."""
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "CONNECT",
                     "TRACE"})  # fmt: skip
"""Methods counted by name; any other is `other`, so clients cannot grow the label set."""


def trap_kind(error: BaseException) -> str:
    """The `kind` label of a guest failure (a `wasmesh.errors.GuestError`)."""
    if isinstance(error, GuestOutOfFuel):
        return "fuel"
    if isinstance(error, GuestTimeout):
        return "timeout"
    if isinstance(error, GuestOutOfMemory):
        return "memory-limit"
    return "trap"


class Metrics:
    """The metrics of one process, in `registry`; the methods are the hot paths' hooks."""

    def __init__(self, process: bool = True) -> None:
        """`process`: also export the process's memory, CPU and file descriptors.

        No `_created` series are exported (`wasmesh_instances_created_created` and the like:
        a timestamp per label set, which Prometheus does not ingest from the text format); the
        switch is `prometheus_client`'s own, and process-wide."""
        disable_created_metrics()  # type: ignore[no-untyped-call]
        self.registry = CollectorRegistry()
        r = self.registry
        self.http_requests = Counter("wasmesh_http_requests_total", "HTTP requests answered.",
                                     ("route", "method", "status"), registry=r)  # fmt: skip
        self.http_duration = Histogram(
            "wasmesh_http_request_duration_seconds",
            "Seconds from a request's head to the end of its response.",
            ("route",), buckets=HTTP_BUCKETS, registry=r,
        )  # fmt: skip
        self.http_bytes = Counter("wasmesh_http_response_bytes_total",
                                  "Response body bytes sent.", ("route",), registry=r)  # fmt: skip
        self.http_in_flight = Gauge("wasmesh_http_requests_in_flight",
                                    "HTTP requests being answered.", registry=r)  # fmt: skip
        self.instances_live = Gauge("wasmesh_instances_live", "Component instances alive.",
                                    ("app", "component"), registry=r)  # fmt: skip
        self.instances_created = Counter("wasmesh_instances_created_total",
                                         "Component instances made.", ("app", "component"),
                                         registry=r)  # fmt: skip
        self.instances_reused = Counter("wasmesh_instances_reused_total",
                                        "Requests served by a warm instance.",
                                        ("app", "component"),
                                        registry=r)  # fmt: skip
        self.instantiate_duration = Histogram(
            "wasmesh_instantiate_duration_seconds", "Seconds to make an instance.",
            ("app", "component"), buckets=FAST_BUCKETS, registry=r,
        )  # fmt: skip
        self.traps = Counter("wasmesh_guest_traps_total",
                             "Guest calls stopped by a trap, a deadline, fuel or the memory "
                             "limit.", ("app", "component", "kind"), registry=r)  # fmt: skip
        self.instantiation_failures = Counter(
            "wasmesh_instantiation_failures_total",
            "Instances that could not be made: their start trapped, ran out of time, fuel or "
            "memory, or the engine refused to instantiate.",
            ("app", "component", "kind"), registry=r,
        )  # fmt: skip
        self.calls = Counter("wasmesh_calls_total", "Calls from one unit into another's export.",
                             ("app", "caller", "interface", "placement", "outcome"),
                             registry=r)  # fmt: skip
        self.call_duration = Histogram(
            "wasmesh_call_duration_seconds", "Seconds a cross-unit call took, as its caller saw.",
            ("app", "caller", "interface", "placement"), buckets=FAST_BUCKETS, registry=r,
        )  # fmt: skip
        self.rpc_errors = Counter("wasmesh_rpc_errors_total",
                                  "Lattice calls over NATS that failed.", ("subject", "kind"),
                                  registry=r)  # fmt: skip
        self.keyvalue_ops = Counter("wasmesh_keyvalue_operations_total",
                                    "wasi:keyvalue operations guests made.",
                                    ("app", "component", "operation"), registry=r)  # fmt: skip
        self.messaging_ops = Counter("wasmesh_messaging_operations_total",
                                     "Messages guests sent and were handed.",
                                     ("app", "component", "operation"), registry=r)  # fmt: skip
        self.pool_slots = Gauge("wasmesh_pool_slots",
                                "Component instance slots of the pooling allocators.",
                                registry=r)  # fmt: skip
        self.pool_slots.set_function(_pool_capacity)
        self.pool_used = Gauge("wasmesh_pool_slots_used", "Live instances in pool slots.",
                               registry=r)  # fmt: skip
        if process:
            ProcessCollector(namespace=NAMESPACE, registry=r)
        # label children by their values: `labels()` costs a lock and a tuple each time
        self._children: dict[tuple[Any, ...], Any] = {}
        self._lock = threading.Lock()
        # the children one hook updates, found with one lookup per call
        self._answered: dict[tuple[str, str, int], tuple[Any, Any, Any]] = {}
        self._made: dict[tuple[str, str], tuple[Any, Any, Any]] = {}

    def _child(self, metric: Any, *values: str) -> Any:
        key = (id(metric), *values)
        child = self._children.get(key)
        if child is None:
            with self._lock:
                child = self._children[key] = metric.labels(*values)
        return child

    # -- hooks ---------------------------------------------------------------------------------

    def http_answered(self, route: str, method: str, status: int, seconds: float,
                      sent: int) -> None:  # fmt: skip
        """One HTTP request answered (`status` 0: the connection was cut before a head)."""
        method = method if method in METHODS else "other"  # keys stay few, whatever is sent
        found = self._answered.get((route, method, status))
        if found is None:
            label = route or NO_ROUTE
            found = (self._child(self.http_requests, label, method, str(status)),
                     self._child(self.http_duration, label), self._child(self.http_bytes, label))
            self._answered[(route, method, status)] = found  # fmt: skip
        requests, duration, sent_bytes = found
        requests.inc()
        duration.observe(seconds)
        if sent:
            sent_bytes.inc(sent)

    def instance_made(self, app: str, component: str, seconds: float,
                      pooled: bool) -> Callable[[], None]:  # fmt: skip
        """An instance of `component` (of `app`) made in `seconds` (in a pool slot if
        `pooled`); call what this returns once when it is closed."""
        found = self._made.get((app, component))
        if found is None:
            found = self._made[(app, component)] = (
                self._child(self.instances_live, app, component),
                self._child(self.instances_created, app, component),
                self._child(self.instantiate_duration, app, component),
            )
        live, created, duration = found
        created.inc()
        live.inc()
        duration.observe(seconds)
        if pooled:
            self.pool_used.inc()

        def closed() -> None:
            live.dec()
            if pooled:
                self.pool_used.dec()

        return closed

    def instance_reused(self, app: str, component: str) -> None:
        self._child(self.instances_reused, app, component).inc()

    def guest_failed(self, app: str, component: str, error: BaseException) -> None:
        """A guest call failed with `error` (a `GuestError`)."""
        self._child(self.traps, app, component, trap_kind(error)).inc()

    def instantiation_failed(self, app: str, component: str, error: BaseException | None) -> None:
        """An instance of `component` could not be made: `error` (a `GuestError`), or None
        when the engine refused to instantiate it (`kind` `link`)."""
        kind = "link" if error is None else trap_kind(error)
        self._child(self.instantiation_failures, app, component, kind).inc()

    def rpc_failed(self, subject: str, kind: str) -> None:
        self._child(self.rpc_errors, subject, kind).inc()

    def keyvalue(self, app: str, component: str, operation: str) -> None:
        self._child(self.keyvalue_ops, app, component, operation).inc()

    def messaging(self, app: str, component: str, operation: str) -> None:
        self._child(self.messaging_ops, app, component, operation).inc()

    def counted(self, impls: dict[str, Callable[..., Any]], app: str, component: str,
                family: str) -> dict[str, Callable[..., Any]]:  # fmt: skip
        """`impls` (host functions by WIT name) each counted as an operation of `family`
        (`keyvalue`, `messaging`) by `component` of `app` when called."""
        counter = self.keyvalue_ops if family == "keyvalue" else self.messaging_ops
        return {name: _counting(impl, self._child(counter, app, component, name))
                for name, impl in impls.items()}  # fmt: skip

    def metered_host(self, host: object, app: str, component: str, family: str) -> object:
        """`host` (an object implementing a WIT interface, `wasmesh.capabilities.python_host`)
        with each method's calls counted as an operation named after it (`bucket_list_keys`:
        `list-keys`); resource drops are not operations."""
        return _MeteredHost(host, self, app, component, family)

    def metered_call(
        self, impl: Callable[..., Any], app: str, caller: str, interface: str, placement: str
    ) -> Callable[..., Any]:
        """`impl` (a forwarded import's implementation) counted and timed on every call."""
        ok = self._child(self.calls, app, caller, interface, placement, "ok")
        failed = self._child(self.calls, app, caller, interface, placement, "error")
        duration = self._child(self.call_duration, app, caller, interface, placement)
        clock = time.perf_counter

        def call(*args: Any) -> Any:
            started = clock()
            try:
                result = impl(*args)
            except BaseException:
                failed.inc()
                duration.observe(clock() - started)
                raise
            ok.inc()
            duration.observe(clock() - started)
            return result

        return call


def _counting(impl: Callable[..., Any], child: Any) -> Callable[..., Any]:
    def call(*args: Any) -> Any:
        child.inc()
        return impl(*args)

    return call


class _MeteredHost:
    def __init__(self, host: object, metrics: Metrics, app: str, component: str,
                 family: str) -> None:  # fmt: skip
        self._host, self._metrics = host, metrics
        self._app, self._component, self._family = app, component, family

    def __getattr__(self, name: str) -> Any:
        found = getattr(self._host, name)
        if name.startswith("_") or name.endswith("_drop") or not callable(found):
            return found
        operation = name.removeprefix("bucket_").replace("_", "-")
        counted = self._metrics.counted({operation: found}, self._app, self._component,
                                        self._family)  # fmt: skip
        return counted[operation]


ACTIVE: Metrics | None = None
"""The process's metrics while enabled; hooks test it against None and do nothing else."""


def enable(metrics: Metrics | None = None) -> Metrics:
    """Install `metrics` (default: a fresh `Metrics`) as the process's; returns it."""
    global ACTIVE
    ACTIVE = metrics if metrics is not None else Metrics()
    return ACTIVE


def disable() -> None:
    """Stop counting (hooks already linked with a `Metrics` keep counting into it)."""
    global ACTIVE
    ACTIVE = None


def active() -> Metrics | None:
    """The process's metrics, if enabled."""
    return ACTIVE


_quiet = threading.local()


@contextlib.contextmanager
def unmetered() -> Iterator[None]:
    """Instances made on this thread inside the block count nowhere (a readiness probe)."""
    _quiet.on = True
    try:
        yield
    finally:
        _quiet.on = False


def metering() -> Metrics | None:
    """The process's metrics, unless this thread is inside `unmetered()`."""
    return None if getattr(_quiet, "on", False) else ACTIVE


def _pool_capacity() -> float:
    from wasmesh.engine.config import POOLS  # read when scraped; the engine layer sits below

    return float(sum(p.instances for p in list(POOLS.values())))
