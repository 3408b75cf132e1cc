"""Loopback peers the multi-borrow guest calls: an HTTP server and a TCP server answering "pong"."""

from __future__ import annotations

import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType


class _Hello(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = f"upstream {self.path}".encode()
        self.send_response(200)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


class Upstreams:
    """`http_port` answers any GET with 200; `tcp_port` answers "pong" to anything it reads."""

    def __init__(self) -> None:
        self._http = ThreadingHTTPServer(("127.0.0.1", 0), _Hello)
        self._http.daemon_threads = True
        self._tcp = socket.create_server(("127.0.0.1", 0))
        self.http_port = int(self._http.server_address[1])
        self.tcp_port = int(self._tcp.getsockname()[1])
        self._tcp.settimeout(0.2)  # so the accept loop sees `_stop`
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._http.serve_forever, daemon=True),
            threading.Thread(target=self._pong, daemon=True),
        ]

    def _pong(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._tcp.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with conn:
                conn.settimeout(5)
                try:
                    conn.recv(64)
                    conn.sendall(b"pong")
                except OSError:
                    pass

    def __enter__(self) -> Upstreams:
        for t in self._threads:
            t.start()
        return self

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        self._http.shutdown()
        self._http.server_close()
        for t in self._threads:
            t.join(5)
        self._tcp.close()
