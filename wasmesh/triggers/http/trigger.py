"""The HTTP trigger: an app's `[[triggers.http]]` routes on one server, as a `Trigger`.

Each route is served by the unit holding its component, under that unit's policy, its calls
into other units forwarded (`wasmesh.triggers.http.apps`). The lattice side of HTTP (hosts
serving every deployed app's routes, forwarding to the host running a unit) is
`wasmesh.lattice.ingress`.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from wasmesh.triggers.base import TriggerOptions
from wasmesh.triggers.http.apps import AppRoute, app_routes
from wasmesh.triggers.http.instances import PoolSettings
from wasmesh.triggers.http.server import Server

if TYPE_CHECKING:
    from wasmesh.compose.manifest import TriggerDecl
    from wasmesh.runtime.app import App


class HttpTrigger:
    """Serves the routes of one app over HTTP/1.1 on `options.listen`."""

    kind = "http"

    def __init__(self, app: App, decls: tuple[TriggerDecl, ...], options: TriggerOptions):
        self.options = options
        self.settings = PoolSettings(
            max_reuse=options.max_reuse,
            max_concurrent=options.max_concurrent or PoolSettings().max_concurrent,
            idle_timeout=options.idle_timeout,
        )
        self.routes: list[AppRoute] = app_routes(app, options.request_timeout, self.settings)
        self.server = Server({r.route: r.target for r in self.routes}, options.listen)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return self.server.url

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self.server.serve_forever, name="wasmesh-http-accept", daemon=True
        )
        self._thread.start()

    def describe(self) -> list[str]:
        width = max(len(r.route) for r in self.routes)
        lines = [f"  {r.route:<{width}}  -> {r.component} (unit {r.unit})" for r in self.routes]
        return [*lines, f"Serving HTTP on {self.server.url}/"]

    def drain(self, grace: float) -> None:
        """Stop accepting; requests in flight finish within `grace` seconds."""
        if not self.server.stopping.is_set():
            self.server.shutdown(grace)

    def stop(self) -> None:
        self.drain(0.0)
        if self._thread is not None:
            self._thread.join(5)
