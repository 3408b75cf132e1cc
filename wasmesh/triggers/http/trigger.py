"""The HTTP trigger: an app's `[[triggers.http]]` routes on one server, as a `Trigger`.

Each route is served by the unit holding its component, under that unit's policy, its calls
into other units forwarded (`wasmesh.triggers.http.apps`). The lattice side of HTTP (hosts
serving every deployed app's routes, forwarding to the host running a unit) is
`wasmesh.lattice.ingress`.
"""

from __future__ import annotations

import threading
from collections.abc import Collection
from typing import TYPE_CHECKING

from wasmesh.triggers.base import TriggerOptions
from wasmesh.triggers.http.apps import AppRoute, app_routes
from wasmesh.triggers.http.instances import InstancePool, PoolSettings
from wasmesh.triggers.http.routing import Router
from wasmesh.triggers.http.server import RouteHandler, Server

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
        routes = {r.route: r.target for r in self.routes}
        self.server = Server(routes, options.listen, sock=options.sock)
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
        workers = f" ({self.options.workers} workers)" if self.options.workers > 1 else ""
        return [*lines, f"Serving HTTP on {self.server.url}/{workers}"]

    def reload(self, app: App, units: Collection[str]) -> None:
        """Serve the routes of `app` (the same app's next version), with new pools for `units`.

        Routes added to the manifest are served, removed ones dropped. Pools for `units` (and
        for units no route went to before) are made first (an error leaves everything as it
        was), then the route table is replaced in one assignment: a request already running
        finishes on the pool it took; the next one gets the new version. Pools no route uses
        any more are closed (their idle instances dropped).
        """
        fresh = app_routes(app, self.options.request_timeout, self.settings)
        current = {r.route: r.unit for r in self.routes}
        kept: dict[str, InstancePool | RouteHandler] = {}
        for old in self.server.router.routes:
            unit = current.get(old.pattern)
            if unit is not None and unit not in units:
                kept.setdefault(unit, old.target)
        pools: dict[str, InstancePool] = {}
        for route in fresh:
            if route.unit not in kept and route.unit not in pools:
                t = route.target
                pools[route.unit] = InstancePool(t.path, t.policy, t.settings, t.capabilities,
                                                 t.name, t.app)  # fmt: skip
        targets: list[tuple[str, InstancePool | RouteHandler]] = [
            (r.route, kept.get(r.unit) or pools[r.unit]) for r in fresh
        ]
        try:
            router = Router(targets)
        except Exception:
            for pool in pools.values():
                pool.close()
            raise
        serving = {id(target) for _, target in targets}
        retired = [p for p in self.server.pools if id(p) not in serving]
        self.server.router = router
        still = [p for p in self.server.pools if id(p) in serving]
        self.server.pools = [*still, *pools.values()]
        self.routes = list(fresh)
        for pool in retired:
            pool.close()

    def drain(self, grace: float) -> None:
        """Stop accepting; requests in flight finish within `grace` seconds."""
        if not self.server.stopping.is_set():
            self.server.shutdown(grace)

    def stop(self) -> None:
        self.drain(0.0)
        if self._thread is not None:
            self._thread.join(5)
