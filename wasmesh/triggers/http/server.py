"""The HTTP server: accepts connections, parses HTTP/1.1 with h11, routes each request to an
app's instance pool, and shuts down gracefully (in-flight requests finish) on SIGINT/SIGTERM.

Each connection has its own thread; wasm runs with the GIL released, and each pool caps how
many of its instances run at once. What h11 lets through but RFC 9112 or a hostile client
demands is checked here (`Limits`): versions, conflicting framing, header count, deadlines for
heads and bodies, idle connections, running out of descriptors. The start of a request body is
read before an instance is taken (`RequestBody.prefetch`), so slow clients cost a thread and a
buffer, not an instance slot. `workers` runs several such servers on one socket.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import re
import select
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import h11

from wasmesh.capabilities.wasi import IncomingRequest
from wasmesh.engine.config import tune_for_serving
from wasmesh.observe import requestlog, tracing
from wasmesh.policy import Grants, Policy
from wasmesh.policy import Limits as PolicyLimits
from wasmesh.triggers.base import on_stop_signal, stop_signals
from wasmesh.triggers.http import exchange
from wasmesh.triggers.http.bodies import REASONS, BodyTooLarge, RequestBody, ResponseWriter
from wasmesh.triggers.http.instances import InstancePool, PoolSettings, RouteTarget
from wasmesh.triggers.http.routing import Router
from wasmesh.triggers.http.workers import close_door, listen_socket, run_workers

_ABSOLUTE_FORM = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://([^/?#]*)(.*)$", re.DOTALL)

log = logging.getLogger("wasmesh.http")


@dataclass(frozen=True)
class ServerLimits:
    """What one client may cost the server (seconds, bytes, counts), and the request deadline
    when a route's policy sets none (a component's own limits are its `wasmesh.policy.Limits`).

    A request whose head breaks a limit gets 4xx and its connection closed; so does one with
    conflicting framing (RFC 9112 §6.1: Content-Length with Transfer-Encoding) or an HTTP
    version other than 1.0/1.1 (505).
    """

    request_timeout: float = 30.0  # seconds the component may run for one request
    max_header_bytes: int = 64 * 1024
    max_header_count: int = 100  # header fields per request head; more get 431
    max_body_bytes: int = 64 * 1024 * 1024
    client_timeout: float = 30.0  # seconds a client may stay silent mid-request
    header_timeout: float = 10.0  # seconds from a request's first byte to the end of its head
    idle_timeout: float = 15.0  # seconds a kept-alive connection may wait for its next request
    body_buffer_bytes: int = 1 << 20  # body bytes read before an instance is taken
    body_timeout: float = 30.0  # seconds the client has to send those buffered bytes
    max_connections: int = 1024  # open connections; more are answered 503 and closed
    queue_timeout: float = 30.0  # seconds a request waits for an instance slot; then 503


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
    fresh: bool = True  # no request read yet
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
        sock: socket.socket | None = None,
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
                    route.path, route.policy, route.settings, route.capabilities, route.name,
                    route.app or route.path.stem,
                )
            targets[pattern] = pools[key]
        self.pools = list(pools.values())
        # replaceable as a whole while serving (one assignment): a lattice host does so
        self.router: Router[InstancePool | RouteHandler] = Router(targets)
        # Accept with a timeout, so that shutdown need not touch the socket (a socket handed
        # in is shared with other worker processes: shutting it down would stop them all).
        self.shared = sock is not None
        self.sock = sock if sock is not None else listen_socket(listen)
        self.sock.settimeout(_SHARED_ACCEPT_POLL)
        self.address = self.sock.getsockname()[:2]
        self.stopping = threading.Event()
        self._not_accepting = threading.Event()  # clear while `serve_forever` runs
        self._not_accepting.set()
        self.connections: set[_Connection] = set()
        self.lock = threading.Lock()
        self.observer = requestlog.observer()  # None: no request log, no metrics

    @property
    def url(self) -> str:
        return f"http://{self.address[0]}:{self.address[1]}"

    def serve_forever(self) -> None:
        """Accept connections until `shutdown()`.

        Out of file descriptors (EMFILE/ENFILE) or kernel memory, the server logs a warning and
        backs off (up to a second) rather than stopping; open connections keep being served.
        """
        self._not_accepting.clear()
        try:
            self._accept_until_stopped()
        finally:
            self._not_accepting.set()

    def _accept_until_stopped(self) -> None:
        backoff = 0.0
        while True:
            if self.stopping.is_set():
                # the door is shut (`close_door`): connections already queued are served
                self.sock.settimeout(0)
                with contextlib.suppress(OSError):
                    while True:
                        self._take(self.sock.accept()[0])
                return
            try:
                client, _ = self.sock.accept()
            except TimeoutError:
                continue  # look at `stopping` now and then
            except OSError as e:
                if self.stopping.is_set():
                    continue
                if e.errno not in _ACCEPT_RESOURCE_ERRORS and e.errno not in _ACCEPT_TRANSIENT:
                    raise
                if e.errno in _ACCEPT_RESOURCE_ERRORS:
                    backoff = min(1.0, backoff * 2 or 0.01)
                    log.warning("cannot accept a connection (%s); retrying in %.2f s with %d "
                                "open", e.strerror, backoff, len(self.connections))  # fmt: skip
                    self.stopping.wait(backoff)
                continue
            backoff = 0.0
            self._take(client)

    def _take(self, client: socket.socket) -> None:
        """Serve an accepted connection on a thread of its own (503 beyond the limit)."""
        client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if len(self.connections) >= self.limits.max_connections:
            _refuse(client)
            return
        conn = _Connection(client)
        conn.thread = threading.Thread(target=self._serve_connection, args=(conn,),
                                       name="wasmesh-http", daemon=True)  # fmt: skip
        with self.lock:
            self.connections.add(conn)
        try:
            conn.thread.start()
        except RuntimeError:  # no thread to be had: like too many connections
            with self.lock:
                self.connections.discard(conn)
            _refuse(client)

    def shutdown(self, grace: float = 30.0) -> None:
        """Stop accepting, close idle connections, let in-flight requests finish.

        New connections are refused from here on (in every process sharing the socket), and
        those the kernel had already queued are served, so no client that got a connection
        sees it reset unanswered.
        """
        close_door(self.sock)
        self.stopping.set()
        # `serve_forever` serves what was queued, then returns
        self._not_accepting.wait(2 * _SHARED_ACCEPT_POLL + 1.0)
        if not self.shared:
            with contextlib.suppress(OSError):
                self.sock.shutdown(socket.SHUT_RDWR)
            self.sock.close()
        with self.lock:
            conns = list(self.connections)
        # Idle connections are closed; a new one gets a moment for its first request, and
        # one with a request arriving is left to be served (its response says close).
        deadline = time.monotonic() + _FIRST_REQUEST_GRACE
        waiting = [conn for conn in conns if not conn.busy]
        while waiting:
            later = []
            for conn in waiting:
                if conn.busy or _pending(conn.sock):
                    continue
                if conn.fresh and time.monotonic() < deadline:
                    later.append(conn)
                else:
                    _hang_up(conn.sock)
            waiting = later
            if waiting:
                time.sleep(0.01)
        for conn in conns:
            if conn.thread is not None and conn.thread is not threading.current_thread():
                conn.thread.join(grace)
        for pool in self.pools:
            pool.close()

    def run(self) -> None:
        """Serve until SIGINT/SIGTERM (or `shutdown()`), then let in-flight requests finish.

        Must be called on the main thread, which owns signal handlers.
        """
        # The drain runs on a thread started here, not from the signal handler: starting a
        # thread inside a handler can interrupt the main thread's own `Thread.start()` and
        # corrupt the threading module's bookkeeping (a `KeyError` at exit).
        signalled = threading.Event()
        done = False

        def drain() -> None:
            signalled.wait()
            if not done:
                self.shutdown()

        stop = threading.Thread(target=drain, name="wasmesh-shutdown", daemon=True)
        stop.start()
        signals = stop_signals()

        def first() -> None:
            if signal.SIGINT in signals:  # said once, by the process Ctrl-C reaches
                busy = sum(1 for conn in list(self.connections) if conn.busy)
                with contextlib.suppress(OSError):
                    os.write(2, f"draining {busy} in-flight request(s); press Ctrl-C again to "
                                "stop now\n".encode())  # fmt: skip
            signalled.set()

        handler = on_stop_signal(first, None)
        previous = {s: signal.signal(s, handler) for s in signals}
        # Guests call back into Python dozens of times per request; a thread coming back from
        # wasm should not wait the default 5 ms for the GIL.
        sys.setswitchinterval(0.0002)
        try:
            self.serve_forever()
            if signalled.is_set():
                stop.join()
        finally:
            done = True
            signalled.set()
            for s, previous_handler in previous.items():
                signal.signal(s, previous_handler)

    # -- one connection ------------------------------------------------------------------------

    def _serve_connection(self, conn: _Connection) -> None:
        sock = conn.sock
        limits = self.limits
        sock.settimeout(limits.client_timeout)
        h = h11.Connection(h11.SERVER, max_incomplete_event_size=limits.max_header_bytes)
        first = True
        try:
            while first or not self.stopping.is_set() or conn.busy:  # the first is served
                try:
                    event = _next_request(h, sock, limits, first)
                except h11.RemoteProtocolError as e:  # no request to speak of: logged as `-`
                    if self.observer is not None:
                        unparsed = self.observer.begin(b"-", b"-")
                        unparsed.status = e.error_status_hint
                        self.observer.end(unparsed)
                    raise
                first = False
                if not isinstance(event, h11.Request):
                    break
                conn.busy = True
                conn.fresh = False
                record = self.observer.begin(event.method, event.target) if self.observer else None
                try:
                    keep = self._serve_request(h, sock, event, record)
                except _Refused as e:  # answered below; logged and counted with its status
                    if record is not None:
                        record.status = e.status
                    raise
                finally:
                    if record is not None:
                        self.observer.end(record)  # type: ignore[union-attr]
                conn.busy = False
                if not keep or h.our_state is not h11.DONE or h.their_state is not h11.DONE:
                    break
                if self.stopping.is_set():
                    break
                h.start_next_cycle()
        except h11.RemoteProtocolError as e:
            _reject(h, sock, e.error_status_hint, _plain(e, limits))
        except _Refused as e:
            _reject(h, sock, e.status, e.reason)
        except (OSError, TimeoutError):
            pass
        finally:
            conn.busy = False
            _hang_up(sock)
            with self.lock:
                self.connections.discard(conn)

    def _serve_request(
        self, h: h11.Connection, sock: socket.socket, req: h11.Request, record: Any = None
    ) -> bool:
        _check_head(req, self.limits)
        method = req.method.decode("ascii", "replace")
        target = req.target.decode("latin-1")
        # Absolute form (`GET http://host/path`): route by its path; its authority replaces
        # the Host field (RFC 9112 3.2.2).
        absolute = _ABSOLUTE_FORM.match(target)
        if absolute is not None:
            rest = absolute.group(2)
            target = rest if rest.startswith("/") else "/" + rest
        writer = ResponseWriter(h, sock, head_only=method == "HEAD")
        writer.close_after = self.stopping.is_set() or req.http_version == b"1.0"
        writer.record = record
        headers = [(n.decode("latin-1").lower(), bytes(v)) for n, v in req.headers]
        # Routing facts travel as wasmesh-* headers; a client must not be able to forge them.
        headers = [(n, v) for n, v in headers if not n.startswith("wasmesh-")]
        body = RequestBody(h, sock, self.limits.max_body_bytes, self.limits.client_timeout)
        length = next((v for n, v in headers if n == "content-length"), None)
        match = self.router.match(target) if target.startswith("/") else None
        if record is not None:
            record.writer = writer
        head_size = len(req.target) + sum(len(n) + len(v) + 4 for n, v in req.headers)
        if head_size > self.limits.max_header_bytes:  # refused before routing: no route
            writer.close_after = True
            writer.simple(431, b"the request headers are larger than the server accepts\n")
            return False
        if record is not None and match is not None:
            record.route = match.route.pattern
        if match is None:
            writer.simple(404, b"no route matches this path\n")
        elif length is not None and int(length) > self.limits.max_body_bytes:
            writer.close_after = True
            writer.simple(413, b"the request body is larger than the server accepts\n")
            return False
        elif not self._prefetch(body, writer):
            return False
        else:
            authority = next((v.decode("latin-1") for n, v in headers if n == "host"), None)
            if authority is None:  # HTTP/1.0 without Host: this server's own address, as
                host, port = sock.getsockname()[:2]  # RFC 9112 §3.3 lets it
                authority = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
            if absolute is not None:
                authority = absolute.group(1)
            extra = [(f"wasmesh-path-param-{k}", v.encode()) for k, v in match.params.items()]
            if match.route.prefix:
                extra.append(("wasmesh-path-info", match.rest.encode()))
            request = IncomingRequest(method, target, "http", authority, headers + extra, body)
            with tracing.http_server(method, target, headers, match.route.pattern, writer):
                if isinstance(match.target, InstancePool):
                    timeout = match.target.request_timeout or self.limits.request_timeout
                    exchange.run(match.target, request, body, writer, timeout,
                                 queue_wait=self.limits.queue_timeout)  # fmt: skip
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
        writer.drain_backlog()
        if writer.aborted is not None or body.failure is not None:
            return False
        if not body.done and not body.drain(self.limits.max_body_bytes):
            return False
        return not writer.close_after

    def _prefetch(self, body: RequestBody, writer: ResponseWriter) -> bool:
        """Read the start of the body before an instance is taken, so that a slow client
        does not hold one; False (with the response sent) when the body is refused."""
        limits = self.limits
        try:
            body.prefetch(limits.body_buffer_bytes, time.monotonic() + limits.body_timeout)
        except BodyTooLarge:
            writer.close_after = True
            writer.simple(413, b"the request body is larger than the server accepts\n")
            return False
        except TimeoutError:
            writer.close_after = True
            writer.simple(408, b"the request body did not arrive in time\n")
            return False
        except OSError as e:  # malformed, or the client hung up (then nobody reads this)
            writer.close_after = True
            writer.simple(400, f"bad request: {e}\n".encode())
            return False
        return True


_SHARED_ACCEPT_POLL = 0.25
_FIRST_REQUEST_GRACE = 0.25  # shutting down: how long a new connection may take to send a request
_ACCEPT_RESOURCE_ERRORS = {errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM}
_ACCEPT_TRANSIENT = {errno.ECONNABORTED, errno.EPROTO, errno.EINTR, errno.EAGAIN, errno.EPERM}
_VERSIONS = (b"1.1", b"1.0")


class _Refused(Exception):
    """A request head the server will not serve: answered `status` and closed."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def _check_head(req: h11.Request, limits: ServerLimits) -> None:
    """Refuse what h11 lets through but a hardened server must not (RFC 9112)."""
    if req.http_version not in _VERSIONS:
        raise _Refused(505, f"HTTP/{req.http_version.decode()} is not supported; use HTTP/1.1")
    if req.method == b"CONNECT":  # a tunnel: this is no proxy (RFC 9110 §9.3.6)
        raise _Refused(501, "CONNECT is not supported: this server is not a proxy")
    names = [n for n, _ in req.headers]
    if len(names) > limits.max_header_count:
        raise _Refused(431, f"more than {limits.max_header_count} header fields")
    if b"transfer-encoding" in names and b"content-length" in names:
        # RFC 9112 §6.1: a smuggling attempt or a broken intermediary; never guess the framing.
        raise _Refused(400, "both Content-Length and Transfer-Encoding are present")


def _next_request(h: h11.Connection, sock: socket.socket, limits: ServerLimits, first: bool) -> Any:
    """The next request head: idle for at most `idle_timeout` between requests (the slow-
    client timeout before the first), then at most `header_timeout` from its first byte."""
    event = h.next_event()
    if event is not h11.NEED_DATA:
        return event
    wait = limits.client_timeout if first else limits.idle_timeout
    deadline: float | None = None
    while True:
        if deadline is not None:
            wait = min(deadline - time.monotonic(), limits.client_timeout)
            if wait <= 0:
                raise _Refused(408, "the request head did not arrive in time")
        sock.settimeout(wait)
        try:
            data = sock.recv(65536)
        except TimeoutError:
            if deadline is None:
                return h11.ConnectionClosed()  # idle: just hang up
            raise _Refused(408, "the request head did not arrive in time") from None
        if deadline is None:
            deadline = time.monotonic() + limits.header_timeout
        h.receive_data(data)
        event = h.next_event()
        if event is not h11.NEED_DATA:
            sock.settimeout(limits.client_timeout)
            return event
        if not data:
            return h11.ConnectionClosed()


def _plain(error: h11.RemoteProtocolError, limits: ServerLimits) -> str:
    """h11's complaint as a sentence for the client: without the Python repr of the bytes it
    could not parse (`illegal header line: bytearray(b'...')`)."""
    if error.error_status_hint == 431:
        return f"the request head is over {limits.max_header_bytes} bytes"
    return re.sub(r":?\s*bytearray\(.*\)$", "", str(error), flags=re.S) or "malformed request"


def _reject(h: h11.Connection, sock: socket.socket, status: int, reason: str) -> None:
    """A 4xx/5xx for a request the server refuses (h11 could not parse it, or `_check_head`
    refused it); it never reaches a component."""
    if h.our_state not in (h11.IDLE, h11.SEND_RESPONSE):
        return
    body = f"{reason}\n".encode()
    headers = [(b"content-type", b"text/plain"), (b"content-length", str(len(body)).encode()),
               (b"connection", b"close")]  # fmt: skip
    try:
        response = h11.Response(status_code=status, headers=headers,
                                reason=REASONS.get(status, b""))  # fmt: skip
        sock.sendall(h.send(response) or b"")
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


def _pending(sock: socket.socket) -> bool:
    """Whether the client has sent bytes not read yet (False once it closed its side)."""
    poller = select.poll()  # not recv(): a socket with a timeout would wait for data
    try:
        poller.register(sock, select.POLLIN)
        if not poller.poll(0):
            return False
        return bool(sock.recv(1, socket.MSG_PEEK))
    except (OSError, ValueError):  # the connection is gone
        return False


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
    workers: int = 1,
    made: Callable[[Server], None] | None = None,
) -> None:
    """Serve a component (or `routes` of components) until SIGINT/SIGTERM.

    Like `wasmtime serve`: prints the address once accepting; in-flight requests finish.
    `max_reuse` > 1 keeps warm instances (up to `max_concurrent` at once, each dropped after
    `idle_timeout` seconds unused); `workers` > 1 forks that many processes sharing the
    socket (see `workers`), each with its own engine and pools; `allow_outbound` lists
    `scheme://host:port` patterns (`*` wildcards) the components may call; `env` is what
    `wasi:cli/environment` returns. A whole `policy` may be given instead of `memory_limit`,
    `allow_outbound` and `env`. `made` is told each server made (before it accepts).
    """
    tune_for_serving(fresh_instances=max_reuse == 1, idle_timeout=idle_timeout)
    if policy is None:
        grants = Grants(env=tuple((env or {}).items()), outbound=tuple(allow_outbound))
        policy = Policy(grants, PolicyLimits(memory_bytes=memory_limit))
    pool = PoolSettings(
        max_reuse=max_reuse,
        idle_timeout=idle_timeout,
        max_concurrent=max_concurrent or PoolSettings().max_concurrent,
    )
    routes = routes or {"/...": component_path}
    limits = ServerLimits(request_timeout=request_timeout)
    if workers <= 1:
        with tracing.session():
            server = Server(routes, listen, limits=limits, pool=pool, policy=policy)
            if made is not None:
                made(server)
            print(f"Serving HTTP on {server.url}/", flush=True, file=sys.stdout)
            server.run()
        return
    sock = listen_socket(listen)
    host, port = sock.getsockname()[:2]

    def start(shared: socket.socket, ready: Callable[[], None]) -> None:
        with tracing.session():
            server = Server(routes, listen, limits=limits, pool=pool, policy=policy, sock=shared)
            if made is not None:
                made(server)
            ready()
            server.run()

    def announce() -> None:
        print(f"Serving HTTP on http://{host}:{port}/ ({workers} workers)", flush=True)

    run_workers(sock, workers, start, announce)
