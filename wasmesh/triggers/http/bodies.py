"""Request and response bodies on an h11 connection, streamed in both directions.

`RequestBody` feeds the component's `incoming-body` stream straight from the socket;
`ResponseWriter` sends what the component writes, holding back only the first 64 KiB so a
small response goes out with a Content-Length and a large one streams chunked.
"""

from __future__ import annotations

import select
import socket
import time
from http import HTTPStatus
from typing import Any

import h11

from wasmesh.capabilities.wasi import Pollable, StreamClosed
from wasmesh.capabilities.wasi.context import active_context
from wasmesh.capabilities.wasi.io import waiting

HOLD_BACK = 64 * 1024
RECV_SIZE = 64 * 1024
SEND_BUFFER = 1 << 20
"""Response bytes a client may leave unread before the guest writing them has to wait."""
REASONS = {int(s): s.phrase.encode() for s in HTTPStatus}
"""The reason phrase of each status RFC 9110 names (a status line's text, by status)."""


class BodyTooLarge(OSError):
    """The client sent more body than the server accepts (the guest's read fails)."""


class BodyIncomplete(OSError):
    """The request body ended early or was malformed: the client hung up before its
    declared length or last chunk, sent a bad chunk, or went silent (RFC 9112 §6.3, §7.1).
    The guest's read fails with `last-operation-failed`, never a clean end of stream."""


class RequestBody:
    """The body of the request being served, read on demand from the connection.

    `prefetch` buffers its start before an instance is taken, so a slow client sends that part
    without holding an instance slot.
    """

    def __init__(
        self, conn: h11.Connection, sock: socket.socket, max_bytes: int, client_timeout: float
    ) -> None:
        self.conn = conn
        self.sock = sock
        self.client_timeout = client_timeout
        self.max_bytes = max_bytes
        self.buffer = bytearray()
        self.received = 0
        self.done = False
        self.too_large = False
        self.failure: OSError | None = None  # why the body cannot be read to its end
        self.trailers: list[tuple[str, bytes]] | None = None

    def _pump(self, block: bool) -> None:
        """Move at least one event from the socket into the buffer (or return if none)."""
        if self.failure is not None:
            raise self.failure
        try:
            while not self.buffer and not self.done:
                self._step(block, self.client_timeout)
                if not block and not self.buffer and not self.done and not self._readable():
                    return
        except OSError as e:
            self.failure = e if isinstance(e, (BodyTooLarge, BodyIncomplete)) else BodyIncomplete(
                f"the request body could not be read ({e or type(e).__name__})"
            )
            raise self.failure from None

    def _readable(self) -> bool:
        return bool(select.select([self.sock], [], [], 0)[0])

    def _step(self, block: bool, timeout: float | None) -> None:
        """Handle one h11 event, reading from the socket when h11 needs data."""
        try:
            event = self.conn.next_event()
        except h11.RemoteProtocolError as e:
            raise BodyIncomplete(f"the request body is malformed or cut short ({e})") from None
        if event is h11.NEED_DATA:
            if self.conn.they_are_waiting_for_100_continue:
                self.sock.sendall(
                    self.conn.send(h11.InformationalResponse(status_code=100, headers=[]))
                )
            if not block and not self._readable():
                return
            data = self._recv(timeout)
            self.conn.receive_data(data)
            if not data:
                raise BodyIncomplete("the client closed the connection before the body ended")
        elif isinstance(event, h11.Data):
            self.received += len(event.data)
            if self.received > self.max_bytes:
                self.too_large = True
                raise BodyTooLarge("the request body is larger than the server accepts")
            self.buffer += event.data
        elif isinstance(event, h11.EndOfMessage):
            self.done = True
            if event.headers:
                self.trailers = [(n.decode("latin-1"), bytes(v)) for n, v in event.headers]
        else:
            raise BodyIncomplete("the request body ended unexpectedly")

    def prefetch(self, limit: int, deadline: float) -> None:
        """Buffer the body until it ends or `limit` bytes are held, by `deadline` (monotonic).

        Raises `BodyTooLarge`, `BodyIncomplete`, or `TimeoutError` when the client is too slow.
        """
        try:
            while not self.done and len(self.buffer) < limit:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError("the client sent the request body too slowly")
                self._step(True, left)
        except TimeoutError:
            self.failure = BodyIncomplete("the client sent the request body too slowly")
            raise
        except OSError as e:
            self.failure = e
            raise

    def _recv(self, timeout: float | None = None) -> bytes:
        """Bytes from the client, waiting no longer than `timeout` (default: the slow-client
        timeout) nor past the deadline of the request being served."""
        wait = self.client_timeout if timeout is None else timeout
        ctx = active_context()
        left = ctx.remaining() if ctx is not None else None
        if left is not None and left < wait:
            if left <= 0:
                ctx.check_deadline()  # type: ignore[union-attr]
            wait = left
        self.sock.settimeout(wait)
        try:
            if self._readable():
                return self.sock.recv(RECV_SIZE)
            with waiting():  # the client is slow: another request may use the slot meanwhile
                return self.sock.recv(RECV_SIZE)
        except TimeoutError:
            if ctx is not None and left is not None and left <= wait:
                ctx.check_deadline()
            raise
        finally:
            self.sock.settimeout(self.client_timeout)

    def read(self, size: int, block: bool) -> bytes | None:
        self._pump(block)
        if self.buffer:
            out = bytes(self.buffer[:size])
            del self.buffer[:size]
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
                self.buffer.clear()
                if self.received > limit:
                    return False
                self._pump(True)
            return True
        except (StreamClosed, OSError):
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
        # Sent bytes the client has not taken yet; the guest waits only beyond SEND_BUFFER, and
        # the connection finishes sending after the instance is released.
        self.backlog = bytearray()
        self.sent = 0  # body bytes framed
        self.record: Any = None  # what the request log and metrics learn of this exchange

    def _send(self, event: Any, flush: bool = True) -> None:
        """Frame `event`; with `flush`, put everything framed so far on the wire at once."""
        if self.aborted is not None:
            raise StreamClosed()
        try:
            data = self.conn.send(event)
            if data:
                self.out.append(data)
            if flush and self.out:
                self.backlog += b"".join(self.out)
                self.out.clear()
                self._push()
                if len(self.backlog) > SEND_BUFFER:
                    with waiting():  # the client reads slowly: lend the slot meanwhile
                        self.sock.sendall(self.backlog)
                    self.backlog.clear()
        except (OSError, h11.LocalProtocolError) as e:
            # The client went away (or h11 refused): the response cannot continue.
            self.finished = True
            self.aborted = f"the client connection failed ({e})"
            raise StreamClosed() from None

    def _push(self) -> None:
        """Send what the socket takes without waiting."""
        poller = select.poll()
        poller.register(self.sock, select.POLLOUT)
        while self.backlog and poller.poll(0):
            sent = self.sock.send(self.backlog)
            del self.backlog[:sent]

    def drain_backlog(self) -> None:
        """Send what a slow client left unread (the instance is released by now); a client
        that stops reading for the slow-client timeout is cut off."""
        if not self.backlog or self.aborted is not None:
            return
        try:
            self.sock.sendall(self.backlog)
        except OSError as e:
            self.aborted = f"the client connection failed ({e})"
        self.backlog.clear()

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
        reason = REASONS.get(self.status, b"")
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
            self.sent += len(data)
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
