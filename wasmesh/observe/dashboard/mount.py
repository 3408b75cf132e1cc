"""The dashboard on a lattice host's admin listener: `admin.add_route("/", AdminPage(host,
loop))` serves the same page, script, style, `/api/state` and `/events` as `wasmesh
dashboard`, reading the lattice through the host's own NATS connection (no second one).

The admin listener answers on its own threads (`http.server`); the lattice is read on the
host's event loop `loop`, from the first request on.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Coroutine
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any, TypeVar

from wasmesh.lattice.client import LatticeClient
from wasmesh.observe.dashboard.server import Documents, asset, event
from wasmesh.observe.dashboard.stats import STATS_S
from wasmesh.observe.dashboard.view import LatticeView

if TYPE_CHECKING:
    from wasmesh.lattice.host import Host

T = TypeVar("T")
READ_TIMEOUT_S = 10.0


class AdminPage:
    """An admin-listener route (a callable taking the request) serving the dashboard."""

    def __init__(self, host: Host, loop: asyncio.AbstractEventLoop) -> None:
        self.host = host
        self.loop = loop
        self._documents: Documents | None = None
        self._lock = threading.Lock()

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(READ_TIMEOUT_S)

    def documents(self) -> Documents:
        """The document source, started on first use."""
        with self._lock:
            if self._documents is None:
                host = self.host
                client = LatticeClient.sharing(host.nc, host.store, host.options)
                view = LatticeView(host.options, host.subjects.lattice, client=client)
                self._run(view.start())
                self._documents = Documents(view)
            return self._documents

    def __call__(self, request: BaseHTTPRequestHandler) -> None:
        path = request.path.split("?", 1)[0]
        if path == "/events":
            self._events(request)
        elif path == "/api/state":
            _write(request, 200, self._run(self.documents().current()), "application/json")
        elif (found := asset(path)) is not None:
            _write(request, 200, *found)
        else:
            _write(request, 404, f"no page at {path}\n".encode(), "text/plain")

    def _events(self, request: BaseHTTPRequestHandler) -> None:
        documents = self.documents()
        request.close_connection = True  # the stream ends with the connection
        request.send_response(200)
        request.send_header("Content-Type", "text/event-stream")
        request.send_header("Cache-Control", "no-store")
        request.send_header("Connection", "close")
        request.end_headers()
        if request.command == "HEAD":
            return
        try:
            while True:
                request.wfile.write(event(self._run(documents.current())))
                request.wfile.flush()
                time.sleep(STATS_S)
        except (OSError, TimeoutError, RuntimeError):
            return  # the page went away, or the host is stopping


def _write(request: BaseHTTPRequestHandler, status: int, body: bytes, kind: str) -> None:
    request.send_response(status)
    request.send_header("Content-Type", kind)
    request.send_header("Content-Length", str(len(body)))
    request.send_header("Cache-Control", "no-store")
    request.end_headers()
    request.wfile.write(body)
