"""The HTTP server: accepts connections, parses HTTP/1.1 with h11, routes each request to an
app's instance pool, and shuts down gracefully (in-flight requests finish) on SIGINT/SIGTERM.

Each connection has its own thread; wasm runs with the GIL released, and each pool caps how
many of its instances run at once.
"""

from __future__ import annotations

import contextlib
import logging
import re
import signal
import socket
import sys
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import h11

from wasmesh.capabilities.wasi import IncomingRequest
from wasmesh.engine.config import tune_for_serving
from wasmesh.errors import WasmeshError
from wasmesh.policy import Grants, Policy
from wasmesh.policy import Limits as PolicyLimits
from wasmesh.triggers.http import exchange
from wasmesh.triggers.http.bodies import RequestBody, ResponseWriter
from wasmesh.triggers.http.instances import InstancePool, PoolSettings, RouteTarget
from wasmesh.triggers.http.routing import Router

_ABSOLUTE_FORM = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://([^/?#]*)(.*)$", re.DOTALL)

log = logging.getLogger("wasmesh.http")


@dataclass(frozen=True)
class ServerLimits:
    """What the server accepts from clients, and the request deadline when a route's policy
    sets none (a component's own limits are its `wasmesh.policy.Limits`)."""

    request_timeout: float = 30.0  # seconds the component may run for one request
    max_header_bytes: int = 64 * 1024
    max_body_bytes: int = 64 * 1024 * 1024
    client_timeout: float = 30.0  # seconds a client may stay silent mid-request or idle
    max_connections: int = 1024  # open connections; more are answered 503 and closed


class RouteHandler(Protocol):
    """A route served by something other than a local instance pool (a lattice host
    forwards it to another host); the server calls it on the connection's thread."""

    def handle(
        self, request: IncomingRequest, body: RequestBody, writer: ResponseWriter, timeout: float
    ) -> None: ...


@dataclass(eq=False)
class _Connection:
    sock: socket.socket
    busy: bool = False
    thread: threading.Thread | None = field(default=None, repr=False)


class Server:
    """Serves `wasi:http/proxy` components on one address.

    `routes` maps route patterns (`/...`, `/api/...`, `/users/:id`) to component paths, served
    under `policy` with the `pool` settings, or to `RouteTarget`s carrying their own.
    """

    def __init__(
        self,
        routes: Mapping[str, str | Path | RouteTarget],
        listen: str = "127.0.0.1:8080",
        *,
        limits: ServerLimits | None = None,
        pool: PoolSettings | None = None,
        policy: Policy | None = None,
    ) -> None:
        self.limits = limits or ServerLimits()
        settings = pool or PoolSettings()
        pools: dict[tuple[object, ...], InstancePool] = {}
        targets: dict[str, InstancePool | RouteHandler] = {}
        for pattern, route in routes.items():
            if not isinstance(route, RouteTarget):
                route = RouteTarget(Path(route), policy or Policy(), settings)
            # Routes to the same component under the same policy and settings share instances.
            caps = tuple(id(c) for c in route.capabilities)
            key = (str(route.path.resolve()), route.policy, route.settings, caps)
            if key not in pools:
                pools[key] = InstancePool(
                    route.path, route.policy, route.settings, route.capabilities
                )
            targets[pattern] = pools[key]
        self.pools = list(pools.values())
        # replaceable as a whole while serving (one assignment): a lattice host does so
        self.router: Router[InstancePool | RouteHandler] = Router(targets)
        host, _, port = listen.rpartition(":")
        try:
            self.sock = socket.create_server((host.strip("[]") or "127.0.0.1", int(port)),
                                             backlog=256, reuse_port=False)  # fmt: skip
        except (OSError, ValueError) as e:
            raise WasmeshError(f"cannot listen on {listen} ({e}); pick another address.") from e
        self.address = self.sock.getsockname()[:2]
        self.stopping = threading.Event()
        self.connections: set[_Connection] = set()
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://{self.address[0]}:{self.address[1]}"

    def serve_forever(self) -> None:
        """Accept connections until `shutdown()`."""
        while not self.stopping.is_set():
            try:
                client, _ = self.sock.accept()
            except OSError:
                break
            client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if len(self.connections) >= self.limits.max_connections:
                _refuse(client)
                continue
            conn = _Connection(client)
            conn.thread = threading.Thread(target=self._serve_connection, args=(conn,),
                                           name="wasmesh-http", daemon=True)  # fmt: skip
            with self.lock:
                self.connections.add(conn)
            conn.thread.start()

    def shutdown(self, grace: float = 30.0) -> None:
        """Stop accepting, close idle connections, let in-flight requests finish."""
        self.stopping.set()
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()
        with self.lock:
            conns = list(self.connections)
        for conn in conns:
            if not conn.busy:
                _hang_up(conn.sock)
        for conn in conns:
            if conn.thread is not None and conn.thread is not threading.current_thread():
                conn.thread.join(grace)
        for pool in self.pools:
            pool.close()

    def run(self) -> None:
        """Serve until SIGINT/SIGTERM (or `shutdown()`), then let in-flight requests finish.

        Must be called on the main thread, which owns signal handlers.
        """
        stop = threading.Thread(target=self.shutdown, name="wasmesh-shutdown", daemon=True)

        def on_signal(signum: int, frame: Any) -> None:
            if not stop.is_alive() and not self.stopping.is_set():
                stop.start()

        previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
        # Guests call back into Python dozens of times per request; a thread coming back from
        # wasm should not wait the default 5 ms for the GIL.
        sys.setswitchinterval(0.0002)
        try:
            self.serve_forever()
            if stop.is_alive():
                stop.join()
        finally:
            for s, handler in previous.items():
                signal.signal(s, handler)

    # -- one connection ------------------------------------------------------------------------

    def _serve_connection(self, conn: _Connection) -> None:
        sock = conn.sock
        sock.settimeout(self.limits.client_timeout)
        h = h11.Connection(h11.SERVER, max_incomplete_event_size=self.limits.max_header_bytes)
        try:
            while not self.stopping.is_set() or conn.busy:
                event = _next_event(h, sock)
                if not isinstance(event, h11.Request):
                    break
                conn.busy = True
                keep = self._serve_request(h, sock, event)
                conn.busy = False
                if not keep or h.our_state is not h11.DONE or h.their_state is not h11.DONE:
                    break
                if self.stopping.is_set():
                    break
                h.start_next_cycle()
        except h11.RemoteProtocolError as e:
            _reject(h, sock, e.error_status_hint, str(e))
        except (OSError, TimeoutError):
            pass
        finally:
            conn.busy = False
            _hang_up(sock)
            with self.lock:
                self.connections.discard(conn)

    def _serve_request(self, h: h11.Connection, sock: socket.socket, req: h11.Request) -> bool:
        method = req.method.decode("ascii", "replace")
        target = req.target.decode("latin-1")
        # Absolute form (`GET http://host/path`): route by its path; its authority replaces
        # the Host field (RFC 9112 3.2.2).
        absolute = _ABSOLUTE_FORM.match(target)
        if absolute is not None:
            rest = absolute.group(2)
            target = rest if rest.startswith("/") else "/" + rest
        writer = ResponseWriter(h, sock, head_only=method == "HEAD")
        writer.close_after = self.stopping.is_set()
        headers = [(n.decode("latin-1").lower(), bytes(v)) for n, v in req.headers]
        # Routing facts travel as wasmesh-* headers; a client must not be able to forge them.
        headers = [(n, v) for n, v in headers if not n.startswith("wasmesh-")]
        body = RequestBody(h, sock, self.limits.max_body_bytes, self.limits.client_timeout)
        length = next((v for n, v in headers if n == "content-length"), None)
        match = self.router.match(target) if target.startswith("/") else None
        head_size = len(req.target) + sum(len(n) + len(v) + 4 for n, v in req.headers)
        if head_size > self.limits.max_header_bytes:
            writer.close_after = True
            writer.simple(431, b"the request headers are larger than the server accepts\n")
            return False
        if match is None:
            writer.simple(404, b"no route matches this path\n")
        elif length is not None and int(length) > self.limits.max_body_bytes:
            writer.close_after = True
            writer.simple(413, b"the request body is larger than the server accepts\n")
            return False
        else:
            authority = next((v.decode("latin-1") for n, v in headers if n == "host"), None)
            if absolute is not None:
                authority = absolute.group(1)
            extra = [(f"wasmesh-path-param-{k}", v.encode()) for k, v in match.params.items()]
            if match.route.prefix:
                extra.append(("wasmesh-path-info", match.rest.encode()))
            request = IncomingRequest(method, target, "http", authority, headers + extra, body)
            if isinstance(match.target, InstancePool):
                timeout = match.target.request_timeout or self.limits.request_timeout
                exchange.run(match.target, request, body, writer, timeout)
            else:
                match.target.handle(request, body, writer, self.limits.request_timeout)
        if writer.aborted is not None:
            # A client hanging up is routine; a component cutting its response short is not.
            client = writer.aborted.startswith("the client")
            log.log(logging.INFO if client else logging.WARNING,
                    "%s %s: response cut short: %s", method, target, writer.aborted)  # fmt: skip
            return False
        if not writer.finished:
            writer.finish(None)
        if not body.done and not body.drain(self.limits.max_body_bytes):
            return False
        return not writer.close_after


def _next_event(h: h11.Connection, sock: socket.socket) -> Any:
    while True:
        event = h.next_event()
        if event is not h11.NEED_DATA:
            return event
        data = sock.recv(65536)
        h.receive_data(data)
        if not data and h.their_state is h11.IDLE:
            return h11.ConnectionClosed()


def _reject(h: h11.Connection, sock: socket.socket, status: int, reason: str) -> None:
    """A 4xx for a request h11 could not parse; it never reaches a component."""
    if h.our_state not in (h11.IDLE, h11.SEND_RESPONSE):
        return
    body = f"bad request: {reason}\n".encode()
    headers = [(b"content-type", b"text/plain"), (b"content-length", str(len(body)).encode()),
               (b"connection", b"close")]  # fmt: skip
    try:
        sock.sendall(h.send(h11.Response(status_code=status, headers=headers)) or b"")
        sock.sendall(h.send(h11.Data(data=body)) or b"")
        sock.sendall(h.send(h11.EndOfMessage()) or b"")
    except (OSError, h11.LocalProtocolError):
        pass


def _refuse(sock: socket.socket) -> None:
    body = b"the server has too many open connections; try again\n"
    head = b"HTTP/1.1 503 Service Unavailable\r\nconnection: close\r\ncontent-length: %d\r\n\r\n"
    with contextlib.suppress(OSError):
        sock.settimeout(1.0)
        sock.sendall(head % len(body) + body)
    _hang_up(sock)


def _hang_up(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()


def serve(
    component_path: str | Path,
    listen: str = "127.0.0.1:8080",
    *,
    request_timeout: float = 30.0,
    memory_limit: int | None = None,
    allow_outbound: list[str] | tuple[str, ...] = (),
    max_reuse: int = 1,
    max_concurrent: int | None = None,
    idle_timeout: float = 30.0,
    routes: Mapping[str, str | Path] | None = None,
    env: Mapping[str, str] | None = None,
    policy: Policy | None = None,
) -> None:
    """Serve a component (or `routes` of components) until SIGINT/SIGTERM.

    Like `wasmtime serve`: prints the address once accepting; in-flight requests finish.
    `max_reuse` > 1 keeps warm instances (up to `max_concurrent` at once, each dropped after
    `idle_timeout` seconds unused); `allow_outbound` lists `scheme://host:port` patterns
    (`*` wildcards) the components may call; `env` is what `wasi:cli/environment` returns.
    A whole `policy` may be given instead of `memory_limit`, `allow_outbound` and `env`.
    """
    tune_for_serving()
    if policy is None:
        grants = Grants(env=tuple((env or {}).items()), outbound=tuple(allow_outbound))
        policy = Policy(grants, PolicyLimits(memory_bytes=memory_limit))
    pool = PoolSettings(
        max_reuse=max_reuse,
        idle_timeout=idle_timeout,
        max_concurrent=max_concurrent or PoolSettings().max_concurrent,
    )
    server = Server(routes or {"/...": component_path}, listen, policy=policy,
                    limits=ServerLimits(request_timeout=request_timeout), pool=pool)  # fmt: skip
    print(f"Serving HTTP on {server.url}/", flush=True, file=sys.stdout)
    server.run()
