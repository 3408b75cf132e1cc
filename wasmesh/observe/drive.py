"""Sending a load to an app embedded in this process, and timing each request.

HTTP requests go over loopback to the app's routes, served by the HTTP trigger `wasmesh up`
starts (on a free port, instances reused so the figures are the steady state, not
instantiation); invocations call the export in the unit that has it, as `wasmesh invoke --app`
does. A request answered 5xx (or a trap) stops the measurement: the figures would be of errors;
so does a run whose HTTP requests were mostly answered outside 2xx (a load of wrong paths,
all 404, measures the router, not the app).
"""

from __future__ import annotations

import http.client
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from wasmesh.api import Component
from wasmesh.errors import ExportNotFound, WasmeshError
from wasmesh.observe.load import HttpRequest, Invocation, LoadError, Request
from wasmesh.runtime.app import App
from wasmesh.runtime.exports import resolve_export
from wasmesh.triggers.base import TriggerOptions
from wasmesh.triggers.http.trigger import HttpTrigger

WARM_REUSE = 1_000_000  # requests per instance: warm, as `up --max-reuse`
HTTP_TIMEOUT_S = 60.0


@dataclass
class Sample:
    """Per-request wall times (seconds) of one run and the CPU seconds the app spent on them
    (this process's CPU time, less the sending thread's own)."""

    latencies: list[float] = field(default_factory=list)
    cpu: float = 0.0

    def add(self, other: Sample) -> None:
        self.latencies += other.latencies
        self.cpu += other.cpu

    @property
    def cpu_per_request(self) -> float:
        return self.cpu / max(1, len(self.latencies))


class Driver:
    """Sends requests to one app: `send(request)`; `close()` stops its HTTP listener."""

    def __init__(self, app: App, requests: Sequence[Request]) -> None:
        self.app = app
        self._calls: dict[Invocation, Callable[[], Any]] = {}
        self._trigger: HttpTrigger | None = None
        self._conn: http.client.HTTPConnection | None = None
        for request in requests:
            if isinstance(request, Invocation) and request not in self._calls:
                self._calls[request] = _bind(app, request)
        if any(isinstance(r, HttpRequest) for r in requests):
            if not app.manifest.http_triggers:
                raise LoadError(
                    f"the load sends HTTP requests but app `{app.manifest.name}` has no "
                    "[[triggers.http]] route; call an export instead (`name(args)`)"
                )
            options = TriggerOptions("127.0.0.1:0", max_reuse=WARM_REUSE, idle_timeout=3600.0)
            decls = app.manifest.http_triggers
            self._trigger = HttpTrigger(app, decls, options)
            self._trigger.start()
            where = urlsplit(self._trigger.url)
            assert where.hostname is not None and where.port is not None
            self._conn = http.client.HTTPConnection(where.hostname, where.port, HTTP_TIMEOUT_S)

    def send(self, request: Request) -> int:
        """Send one request and wait for its whole answer; its HTTP status (0: an invocation)."""
        if isinstance(request, Invocation):
            self._calls[request]()
            return 0
        assert self._conn is not None
        headers = {"Content-Length": str(len(request.body))} if request.body else {}
        for attempt in (1, 2):  # the server closes a kept-alive connection idle for 15 s
            try:
                self._conn.request(request.method, request.path, request.body or None, headers)
                response = self._conn.getresponse()
                body = response.read()
                break
            except (OSError, http.client.HTTPException) as exc:
                self._conn.close()
                if attempt == 2:
                    raise WasmeshError(f"`{request}` got no answer from the app ({exc})") from None
        if response.status >= 500:
            text = body[:200].decode("utf-8", "replace")
            raise WasmeshError(
                f"`{request}` was answered {response.status} ({text!r}); fix the app or the "
                "load, the cost of failing requests is not the app's"
            )
        return response.status

    def run(self, requests: Sequence[Request], count: int, first: int = 0) -> Sample:
        """Send `count` requests, cycling through `requests` from index `first`, timing each."""
        sample = Sample()
        refused: dict[Request, int] = {}  # requests answered outside 2xx, and the status
        sent = 0
        cpu0, own0 = time.process_time(), time.thread_time()
        for n in range(first, first + count):
            request = requests[n % len(requests)]
            t0 = time.perf_counter()
            status = self.send(request)
            sample.latencies.append(time.perf_counter() - t0)
            if status:
                sent += 1
                if not 200 <= status < 300:
                    refused[request] = status
        own = time.thread_time() - own0
        _check_answers(refused, sent, sum(1 for r in requests if isinstance(r, HttpRequest)))
        # an invocation runs the guest on this thread: all of it is the app's
        sample.cpu = time.process_time() - cpu0 - (own if self._trigger is not None else 0.0)
        return sample

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
        if self._trigger is not None:
            self._trigger.stop()
        self.app.close()


def _check_answers(refused: dict[Request, int], sent: int, distinct: int) -> None:
    """Refuse a run whose HTTP requests were mostly answered outside 2xx: more than half of
    the `distinct` HTTP requests of the load, or of the `sent` ones (one sentence naming a
    refused request and its status)."""
    if not refused or not sent:
        return
    if 2 * len(refused) <= distinct:
        return
    request, status = next(iter(refused.items()))
    raise LoadError(
        f"{len(refused)} of the load's {distinct} HTTP requests were answered outside 2xx "
        f"(`{request}`: {status}); fix their paths or bodies so the app answers them 2xx, "
        "the cost of refused requests is not the app's"
    )


def _bind(app: App, call: Invocation) -> Callable[[], Any]:
    """The call `call` names, its arguments parsed once; a `LoadError` if the app has no such
    export or the arguments do not fit."""
    from wasmesh.cli.component import parse_args

    found: list[tuple[Component, Any]] = []
    for unit in app.units.values():
        try:
            found.append((unit, resolve_export(unit.world, call.export, unit.loaded.label)))
        except ExportNotFound:
            continue
    if len(found) != 1:
        names = ", ".join(f"`{n}`" for n in app.exports)
        how = "has no" if not found else "has more than one"
        raise LoadError(f"app `{app.manifest.name}` {how} export `{call.export}`; it has {names}")
    unit, target = found[0]
    try:
        args = parse_args(target, list(call.args))
    except WasmeshError as exc:
        raise LoadError(f"`{call}`: {exc}") from None
    return lambda: unit.call(target, *args)
