"""The dashboard's HTTP side: the page, its script and style, the lattice document as JSON and
as server-sent events, over HTTP/1.1 parsed by h11.

| path | answer |
|---|---|
| `/` | the page (`static/index.html`) |
| `/dashboard.js`, `/dashboard.css` | its script and style |
| `/api/state` | the document (`wasmesh.observe.dashboard.view`), JSON |
| `/events` | `text/event-stream`: a `state` event with the document every `STATS_S` s |

Events follow the HTML Living Standard's server-sent events. Anything else is 404, a method
but GET or HEAD 405. The page's assets are package data; it loads nothing from anywhere else.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import time
from collections.abc import Callable
from importlib import resources
from typing import Any

import h11

from wasmesh.errors import WasmeshError
from wasmesh.lattice.connection import NatsOptions
from wasmesh.observe.dashboard.stats import STATS_S
from wasmesh.observe.dashboard.view import LatticeView

log = logging.getLogger("wasmesh.observe.dashboard")

ASSETS = {
    "/": ("index.html", "text/html; charset=utf-8"),
    "/dashboard.js": ("dashboard.js", "text/javascript; charset=utf-8"),
    "/dashboard.css": ("dashboard.css", "text/css; charset=utf-8"),
}
MAX_HEAD = 16 * 1024
IDLE_S = 30.0  # a connection silent this long (between or inside requests) is closed


def asset(path: str) -> tuple[bytes, str] | None:
    """(body, content type) of the page's asset at URL `path`, or None when it is not one."""
    found = ASSETS.get(path)
    if found is None:
        return None
    name, kind = found
    return resources.files(__package__).joinpath("static", name).read_bytes(), kind


class Documents:
    """The document as JSON bytes, computed at most once per half `STATS_S` however many pages
    watch it; nothing runs while no one asks."""

    def __init__(self, view: LatticeView) -> None:
        self.view = view
        self._latest = b""
        self._at = -math.inf
        self._lock = asyncio.Lock()

    async def current(self) -> bytes:
        async with self._lock:
            if time.monotonic() - self._at >= STATS_S / 2:
                doc = await self.view.snapshot()
                self._latest = json.dumps(doc, separators=(",", ":")).encode()
                self._at = time.monotonic()
            return self._latest


def event(body: bytes) -> bytes:
    """One server-sent `state` event carrying `body` (JSON has no raw newline in it)."""
    return b"event: state\ndata: " + body + b"\n\n"


class DashboardServer:
    """Serves the dashboard of `view` on `host:port` (port 0 picks one); `await start()`,
    then `url`, then `await close()`."""

    def __init__(self, view: LatticeView, host: str = "127.0.0.1", port: int = 0) -> None:
        self.view = view
        self.documents = Documents(view)
        self.host, self.port = host, port
        self._server: asyncio.Server | None = None
        self._clients: set[asyncio.Task[Any]] = set()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._connection, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._clients):
            task.cancel()
        if self._clients:
            await asyncio.wait(self._clients, timeout=5)

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._clients.add(task)
        conn = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_HEAD)
        try:
            while await self._one_request(conn, reader, writer):
                conn.start_next_cycle()
        except h11.RemoteProtocolError as exc:  # malformed: 400 when a response may still go
            if conn.our_state in (h11.IDLE, h11.SEND_RESPONSE):
                with contextlib.suppress(Exception):
                    await _send(conn, writer, exc.error_status_hint, b"bad request\n", "text/plain")
        except (ConnectionError, TimeoutError, asyncio.CancelledError):
            pass
        except Exception as exc:  # the lattice could not be read: the page's EventSource retries
            log.warning("dashboard: %s", exc)
        finally:
            self._clients.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _one_request(
        self, conn: h11.Connection, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bool:
        """Serve one request; whether the connection may carry another. Only GET and HEAD
        are served, so a request with a body is answered before it is read, and closed."""
        request: h11.Request | None = None
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                data = await asyncio.wait_for(reader.read(65536), IDLE_S)
                conn.receive_data(data)
                if not data and request is None:
                    return False
            elif isinstance(event, h11.Request):
                request = event
                if request.method not in (b"GET", b"HEAD"):
                    await _send(conn, writer, 405, b"only GET and HEAD are served here\n",
                                "text/plain", [(b"allow", b"GET, HEAD")])  # fmt: skip
                    return False
            elif isinstance(event, h11.Data):
                return False  # a GET with a body: not one of ours
            elif isinstance(event, h11.EndOfMessage):
                break
            elif isinstance(event, h11.ConnectionClosed):
                return False
        assert request is not None
        head_only = request.method == b"HEAD"
        path = request.target.decode("latin-1").split("?", 1)[0]
        if path == "/events":
            await self._events(conn, writer)
            return False
        if path == "/api/state":
            body = await self.documents.current()
            await _send(conn, writer, 200, body, "application/json", head_only=head_only)
        elif (found := asset(path)) is not None:
            await _send(conn, writer, 200, found[0], found[1], head_only=head_only)
        else:
            await _send(conn, writer, 404, f"no page at {path}\n".encode(), "text/plain")
        return conn.our_state is h11.DONE and conn.their_state is h11.DONE

    async def _events(self, conn: h11.Connection, writer: asyncio.StreamWriter) -> None:
        headers = [(b"content-type", b"text/event-stream"), (b"cache-control", b"no-store")]
        writer.write(conn.send(h11.Response(status_code=200, headers=headers)))
        while True:
            writer.write(conn.send(h11.Data(data=event(await self.documents.current()))))
            await writer.drain()
            await asyncio.sleep(STATS_S)


async def _send(
    conn: h11.Connection,
    writer: asyncio.StreamWriter,
    status: int,
    body: bytes,
    kind: str,
    extra: list[tuple[bytes, bytes]] | None = None,
    head_only: bool = False,
) -> None:
    headers = [(b"content-type", kind.encode()), (b"content-length", str(len(body)).encode()),
               (b"cache-control", b"no-store"), *(extra or [])]  # fmt: skip
    writer.write(conn.send(h11.Response(status_code=status, headers=headers)))
    if not head_only:
        writer.write(conn.send(h11.Data(data=body)))
    writer.write(conn.send(h11.EndOfMessage()))
    await writer.drain()


async def serve_dashboard(
    nats: str | NatsOptions,
    lattice: str,
    host: str,
    port: int,
    ready: Callable[[str], None] | None = None,
) -> None:
    """Serve the dashboard of `lattice` until cancelled; `ready(url)` is called once it
    listens. Raises `WasmeshError` when the lattice cannot be read (no such lattice on that
    server, or credentials not its own) or the address cannot be listened on."""
    view = LatticeView(nats, lattice)
    try:
        await view.start()
    except WasmeshError:  # no NATS there: the connection's own sentence
        raise
    except Exception as exc:  # nats-py: a timeout, a permissions violation, a missing store
        detail = f" ({exc})" if str(exc) else ""
        raise WasmeshError(
            f"lattice `{lattice}` cannot be reached at {NatsOptions.of(nats).url}: it has no "
            f"hosts or store there, or these credentials are not its{detail}; check --lattice "
            "(the name its hosts were started with) and --creds."
        ) from None
    server = DashboardServer(view, host, port)
    try:
        try:
            await server.start()
        except OSError as exc:
            where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
            raise WasmeshError(
                f"--listen {where}: cannot listen there ({exc.strerror or exc}); pick a free "
                "port (0 for any) of this machine."
            ) from None
        if ready is not None:
            ready(server.url)
        await asyncio.Event().wait()
    finally:
        await server.close()
        await view.close()
