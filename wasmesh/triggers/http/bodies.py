"""Request and response bodies on an h11 connection, streamed in both directions.

`RequestBody` feeds the component's `incoming-body` stream straight from the socket;
`ResponseWriter` sends what the component writes, holding back only the first 64 KiB so a
small response goes out with a Content-Length and a large one streams chunked.
"""

from __future__ import annotations

import select
import socket
from http import HTTPStatus
from typing import Any

import h11

from wasmesh.capabilities.wasi import Pollable, StreamClosed
from wasmesh.capabilities.wasi.context import active_context

HOLD_BACK = 64 * 1024
RECV_SIZE = 64 * 1024
_REASONS = {int(s): s.phrase.encode() for s in HTTPStatus}


class BodyTooLarge(Exception):
    """The client sent more body than the server accepts."""


class RequestBody:
    """The body of the request being served, read on demand from the connection."""

    def __init__(
        self, conn: h11.Connection, sock: socket.socket, max_bytes: int, client_timeout: float
    ) -> None:
        self.conn = conn
        self.sock = sock
        self.client_timeout = client_timeout
        self.max_bytes = max_bytes
        self.buffer = b""
        self.received = 0
        self.done = False
        self.too_large = False
        self.trailers: list[tuple[str, bytes]] | None = None

    def _pump(self, block: bool) -> None:
        """Move at least one event from the socket into the buffer (or return if none)."""
        while not self.buffer and not self.done:
            event = self.conn.next_event()
            if event is h11.NEED_DATA:
                if self.conn.they_are_waiting_for_100_continue:
                    self.sock.sendall(
                        self.conn.send(h11.InformationalResponse(status_code=100, headers=[]))
                    )
                if not block and not select.select([self.sock], [], [], 0)[0]:
                    return
                data = self._recv()
                self.conn.receive_data(data)
                if not data:
                    raise StreamClosed()
            elif isinstance(event, h11.Data):
                self.received += len(event.data)
                if self.received > self.max_bytes:
                    self.too_large = True
                    raise BodyTooLarge()
                self.buffer = bytes(event.data)
            elif isinstance(event, h11.EndOfMessage):
                self.done = True
                if event.headers:
                    self.trailers = [(n.decode("latin-1"), bytes(v)) for n, v in event.headers]
            else:
                raise StreamClosed()

    def _recv(self) -> bytes:
        """Bytes from the client, waiting no longer than the slow-client timeout allows nor
        past the deadline of the request being served."""
        ctx = active_context()
        left = ctx.remaining() if ctx is not None else None
        if left is not None and left < self.client_timeout:
            if left <= 0:
                ctx.check_deadline()  # type: ignore[union-attr]
            self.sock.settimeout(left)
            try:
                return self.sock.recv(RECV_SIZE)
            except TimeoutError:
                ctx.check_deadline()  # type: ignore[union-attr]
                raise
            finally:
                self.sock.settimeout(self.client_timeout)
        return self.sock.recv(RECV_SIZE)

    def read(self, size: int, block: bool) -> bytes | None:
        try:
            self._pump(block)
        except BodyTooLarge:
            raise StreamClosed() from None
        except (h11.RemoteProtocolError, TimeoutError):
            raise StreamClosed() from None
        if self.buffer:
            out, self.buffer = self.buffer[:size], self.buffer[size:]
            return out
        return None if self.done else b""

    def ready(self) -> bool:
        # h11 may already hold body bytes that came with the head: look there first.
        try:
            self._pump(False)
        except Exception:
            return True  # the next read reports the problem
        return bool(self.buffer) or self.done

    def pollable(self) -> Pollable:
        return Pollable(self.ready, fd=self.sock)

    def drain(self, limit: int) -> bool:
        """Read and discard the rest of the body; False when it is too long to bother."""
        try:
            while not self.done:
                self.buffer = b""
                if self.received > limit:
                    return False
                self._pump(True)
            return True
        except (StreamClosed, BodyTooLarge, h11.RemoteProtocolError, OSError):
            return False


class ResponseWriter:
    """The response on the wire: headers once known, then the body as it is written."""

    def __init__(self, conn: h11.Connection, sock: socket.socket, head_only: bool) -> None:
        self.conn = conn
        self.sock = sock
        self.head_only = head_only
        self.status = 0
        self.headers: list[tuple[bytes, bytes]] = []
        self.held: list[bytes] = []
        self.held_size = 0
        self.started = False  # headers are on the wire
        self.finished = False
        self.aborted: str | None = None
        self.close_after = False
        self.sized = False  # the head carried a Content-Length (so no trailers)
        self.out: list[bytes] = []  # framed bytes not yet sent: one send per write

    def _send(self, event: Any, flush: bool = True) -> None:
        """Frame `event`; with `flush`, put everything framed so far on the wire at once."""
        if self.aborted is not None:
            raise StreamClosed()
        try:
            data = self.conn.send(event)
            if data:
                self.out.append(data)
            if flush and self.out:
                payload = b"".join(self.out)
                self.out.clear()
                self.sock.sendall(payload)
        except (OSError, h11.LocalProtocolError) as e:
            # The client went away (or h11 refused): the response cannot continue.
            self.finished = True
            self.aborted = f"the client connection failed ({e})"
            raise StreamClosed() from None

    def begin(self, status: int, headers: list[tuple[str, bytes]]) -> None:
        self.status = status
        self.headers = [(n.encode("latin-1"), v) for n, v in headers]

    def _start(self, length: int | None) -> None:
        headers = self.headers  # not used again once the head is framed
        has_length = any(n.lower() == b"content-length" for n, _ in headers)
        # 1xx, 204 and 304 responses carry no content-length of the host's and no body
        # (RFC 9110 6.4.1, 8.6): what the component writes is dropped, as hyper does.
        bodiless = self.status < 200 or self.status in (204, 304)
        if bodiless:
            self.head_only = True
        if length is not None and not has_length and not bodiless:
            headers.append((b"content-length", str(length).encode()))
        self.sized = has_length or length is not None
        if self.close_after:
            headers.append((b"connection", b"close"))
        reason = _REASONS.get(self.status, b"")
        self._send(
            h11.Response(status_code=self.status, headers=headers, reason=reason), flush=False
        )
        self.started = True

    def write(self, data: bytes) -> None:
        if self.finished:
            raise StreamClosed()
        if not self.started:
            if self.held_size + len(data) <= HOLD_BACK:
                self.held.append(bytes(data))
                self.held_size += len(data)
                return
            self._start(None)
            for chunk in self.held:
                self._data(chunk, flush=False)
            self.held.clear()
        self._data(data)

    def _data(self, data: bytes, flush: bool = True) -> None:
        if data and not self.head_only:
            self._send(h11.Data(data=data), flush)

    def finish(self, trailers: list[tuple[str, bytes]] | None) -> None:
        """End the response; never raises (a failure is recorded in `aborted`)."""
        if self.finished:
            return
        try:
            if not self.started:
                # Trailers need chunked framing; otherwise the whole body is known: size it.
                self._start(None if trailers else self.held_size)
                for chunk in self.held:
                    self._data(chunk, flush=False)
                self.held.clear()
            self.finished = True
            sendable = trailers and not self.sized and not self.head_only
            headers = [(n.encode("latin-1"), v) for n, v in trailers or ()] if sendable else []
            self._send(h11.EndOfMessage(headers=headers))
        except StreamClosed:
            self.finished = True  # `aborted` says why

    def abort(self, reason: str) -> None:
        self.finished = True
        self.aborted = reason

    def simple(self, status: int, body: bytes) -> None:
        """A whole response from the host itself (errors); only before the head went out."""
        if self.started:
            if not self.finished:  # cut short: the client must see the connection drop
                self.abort("the response failed after it had started")
            return
        if self.aborted is not None:
            return
        self.finished = False
        self.held.clear()
        self.held_size = 0
        self.begin(status, [("content-type", b"text/plain; charset=utf-8")])
        self.write(body)
        self.finish(None)
