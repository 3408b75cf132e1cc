"""The admin listener: `/metrics`, `/healthz`, `/readyz`, and routes other parts add.

`--admin HOST:PORT` starts one per process (off by default for `serve` and `up`; a lattice host
starts one on a loopback ephemeral port). It is a small threaded server from the standard
library (`http.server`), apart from the data plane, answering:

- `GET /metrics`: the process's `Metrics` in the Prometheus text exposition format, as
  `prometheus_client.generate_latest` renders it;
- `GET /healthz`: 200 `ok` while the process serves;
- `GET /`: 200, the paths above (the URL `serve` and `up` print), unless a route takes it;
- `GET /readyz`: 200 `ready` once every readiness check passes (each unit instantiable), else
  503 with one line per reason.

`HEAD` on any route answers as `GET` would, without the body (a handler writes as for GET).

**Adding a route** (the dashboard mounts its page at `/`): `admin.add_route(path, handler)`.
A path ending in `/` serves every path under it (the longest such prefix wins; `/metrics`,
`/healthz` and `/readyz` come first); any other path only itself. The handler gets the
request (`http.server.BaseHTTPRequestHandler`: `.path`, `.headers`, `.command`, `.rfile`) and
writes the whole response itself (`send_response`, `send_header`, `end_headers`,
`wfile.write`), so it may stream (server-sent events): each request has its own thread.
`AdminServer.text(request, status, body)` writes a small plain-text answer.
"""

from __future__ import annotations

import contextlib
import socket
import socketserver
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from wasmesh.errors import WasmeshError, listen_error
from wasmesh.observe.metrics import Metrics

Handler = Callable[[BaseHTTPRequestHandler], None]
ReadyCheck = Callable[[], list[str]]
"""Reasons the process is not ready yet; empty when it is."""


def parse_address(text: str, option: str = "--admin") -> tuple[str, int]:
    """`HOST:PORT` (`[::1]:PORT` for IPv6; port 0: any free one) as (host, port); raises
    `WasmeshError` naming `option` and the fix."""
    host, sep, port = text.rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    if not sep or not host or not port.isdigit() or int(port) > 65535:
        raise WasmeshError(
            f"{option} `{text}` is not HOST:PORT; e.g. `{option} 127.0.0.1:9090`."
        )
    return host, int(port)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    admin: AdminServer

    def __init__(self, address: tuple[str, int], family: socket.AddressFamily) -> None:
        self.address_family = family
        super().__init__(address, _Request)

    def server_bind(self) -> None:
        # HTTPServer's own looks the host's name up in DNS, which may stall; no need here.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = str(self.server_address[0]), self.server_address[1]


class _Request(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def do_HEAD(self) -> None:
        """GET's status and headers, without the body (RFC 9110 §9.3.2)."""
        wfile = self.wfile
        try:
            self.do_GET()
        finally:
            self.wfile = wfile  # the connection's next request writes its body again

    def end_headers(self) -> None:
        super().end_headers()
        if self.command == "HEAD":
            self.wfile = _Discarding(self.wfile)  # type: ignore[assignment]

    def do_GET(self) -> None:
        admin = self.server.admin
        path = self.path.split("?", 1)[0]
        handler = admin.route_for(path)
        if handler is None and path == "/":  # the URL `serve` prints: say what is here
            AdminServer.text(self, 200, "wasmesh admin: /metrics, /healthz, /readyz\n")
            return
        if handler is None:
            AdminServer.text(self, 404, "no such admin path; try /metrics, /healthz or /readyz\n")
            return
        handler(self)

    def log_message(self, format: str, *args: object) -> None:
        pass  # scrapes every few seconds are not worth a log line


class _Discarding:
    """A response body stream that drops what it is given (HEAD), flushing what came before."""

    def __init__(self, inner: object) -> None:
        self._inner = inner

    def write(self, data: bytes) -> int:
        return len(data)

    def flush(self) -> None:
        self._inner.flush()  # type: ignore[attr-defined]


class AdminServer:
    """Serves `metrics` (and added routes) on `address` (`HOST:PORT`) in a daemon thread.

    Raises `WasmeshError` for a malformed address, one that is in use, or one this machine
    does not have. `url` is where it listens (the port chosen when 0 was asked for).
    """

    def __init__(self, address: str, metrics: Metrics, option: str = "--admin") -> None:
        host, port = parse_address(address, option)
        self.metrics = metrics
        self.checks: list[ReadyCheck] = []
        self._routes: dict[str, Handler] = {}
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        try:
            self._server = _Server((host, port), family)
        except OSError as e:
            raise listen_error(option, address, e) from None
        self._server.admin = self
        self.address = self._server.server_address[:2]
        self._thread: threading.Thread | None = None
        self.add_route("/metrics", self._metrics)
        self.add_route("/healthz", lambda r: self.text(r, 200, "ok\n"))
        self.add_route("/readyz", self._ready)

    @property
    def url(self) -> str:
        host, port = str(self.address[0]), self.address[1]
        return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"

    def add_route(self, path: str, handler: Handler) -> None:
        """Serve `path` (every path under it when it ends in `/`) with `handler`."""
        if not path.startswith("/"):
            raise ValueError(f"admin route {path!r} must start with `/`")
        self._routes[path] = handler

    def add_ready_check(self, check: ReadyCheck) -> None:
        """`/readyz` answers 503 while `check()` names a reason."""
        self.checks.append(check)

    def route_for(self, path: str) -> Handler | None:
        found = self._routes.get(path)
        if found is not None:
            return found
        prefixes = [p for p in self._routes if p.endswith("/") and path.startswith(p)]
        return self._routes[max(prefixes, key=len)] if prefixes else None

    def start(self) -> AdminServer:
        self._thread = threading.Thread(target=self._server.serve_forever, name="wasmesh-admin",
                                        daemon=True)  # fmt: skip
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop serving and release the port."""
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(5)
            self._thread = None
        with contextlib.suppress(OSError):
            self._server.server_close()

    def __enter__(self) -> AdminServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def not_ready(self) -> list[str]:
        """Every reason the process is not ready (a check that raises is one)."""
        reasons: list[str] = []
        for check in self.checks:
            try:
                reasons += check()
            except Exception as e:  # a readiness probe must answer, whatever broke
                reasons.append(f"a readiness check failed: {e}")
        return reasons

    @staticmethod
    def text(request: BaseHTTPRequestHandler, status: int, body: str) -> None:
        """Write a whole plain-text response."""
        data = body.encode()
        request.send_response(status)
        request.send_header("Content-Type", "text/plain; charset=utf-8")
        request.send_header("Content-Length", str(len(data)))
        request.end_headers()
        if request.command != "HEAD":
            request.wfile.write(data)

    def _metrics(self, request: BaseHTTPRequestHandler) -> None:
        data = generate_latest(self.metrics.registry)
        request.send_response(200)
        request.send_header("Content-Type", CONTENT_TYPE_LATEST)
        request.send_header("Content-Length", str(len(data)))
        request.end_headers()
        request.wfile.write(data)

    def _ready(self, request: BaseHTTPRequestHandler) -> None:
        reasons = self.not_ready()
        if reasons:
            self.text(request, 503, "".join(f"not ready: {r}\n" for r in reasons))
        else:
            self.text(request, 200, "ready\n")
