"""wasi:sockets/{tcp,tcp-create-socket}: TCP clients and servers on non-blocking host sockets.

A `TcpSocket` follows WASI's state machine (bind, connect and listen each start and finish);
`finish-connect` and `accept` answer `would-block` until the host socket is ready, and the
socket's pollable waits on it in `select`. A connection's streams read and write the socket.
"""

from __future__ import annotations

import errno
import select
import socket
from collections.abc import Callable
from typing import Any

from wasmesh.capabilities.wasi._spec import Interface, methods
from wasmesh.capabilities.wasi._table import HostObject
from wasmesh.capabilities.wasi.io import InputStream, OutputStream, Pollable, StreamClosed, poll
from wasmesh.capabilities.wasi.sockets import (
    FAMILIES,
    Network,
    SocketError,
    denied,
    from_host,
    granted,
    socket_error_code,
    to_host,
)
from wasmesh.engine.values import Err, Ok, Variant

_SHUTDOWN = {"receive": socket.SHUT_RD, "send": socket.SHUT_WR, "both": socket.SHUT_RDWR}


def _readable(sock: socket.socket) -> bool:
    return sock.fileno() < 0 or bool(select.select([sock], [], [], 0)[0])


def _writable(sock: socket.socket) -> bool:
    return sock.fileno() < 0 or bool(select.select([], [sock], [], 0)[1])


def result(fn: Callable[..., Any]) -> Callable[..., Ok | Err]:
    """`fn`'s value as `ok`, its `SocketError`/`OSError` as `err(error-code)`."""

    def call(*args: Any) -> Ok | Err:
        try:
            return Ok(fn(*args))
        except SocketError as e:
            return Err(e.code)
        except OSError as e:
            return Err(socket_error_code(e))

    call.__name__ = fn.__name__
    call.__doc__ = fn.__doc__
    return call


class SocketSource:
    """A connected socket's incoming bytes."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock

    def read(self, size: int, block: bool) -> bytes | None:
        if block:
            poll([self.pollable()])
        try:
            data = self.sock.recv(size)
        except BlockingIOError:
            return b""
        return data or None

    def pollable(self) -> Pollable:
        return Pollable(lambda: _readable(self.sock), fd=self.sock)


class SocketSink:
    """A connected socket's outgoing bytes; a write waits until all of them are sent."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock

    def write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            try:
                view = view[self.sock.send(view) :]
            except BlockingIOError:
                poll([Pollable(lambda: _writable(self.sock), write_fd=self.sock)])
            except BrokenPipeError:
                raise StreamClosed from None

    def flush(self) -> None:
        """Bytes are handed to the kernel as they are written."""


class TcpSocket(HostObject):
    """wasi:sockets `tcp-socket`."""

    resource = "tcp-socket"

    def __init__(self, sock: socket.socket, family: str, state: str = "unbound") -> None:
        sock.setblocking(False)
        self.sock = sock
        self.family = family
        self.state = state
        self.backlog = 128

    def on_drop(self) -> None:
        self.sock.close()

    def _expect(self, *states: str) -> None:
        if self.state not in states:
            raise SocketError("invalid-state")

    def _finish(self, started: str, done: str) -> None:
        if self.state != started:
            raise SocketError("not-in-progress")
        self.state = done

    def _address(self, address: Variant) -> tuple[Any, ...]:
        family, sockaddr = to_host(address)
        if family != FAMILIES[self.family]:
            raise SocketError("invalid-argument")
        return sockaddr

    def _streams(self) -> tuple[InputStream, OutputStream]:
        return InputStream(SocketSource(self.sock)), OutputStream(SocketSink(self.sock))

    @result
    def start_bind(self, network: Network, local_address: Variant) -> None:
        self._expect("unbound")
        sockaddr = self._address(local_address)
        # As wasmtime does: a listener may bind again right after a previous one closed.
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(sockaddr)
        self.state = "bind-started"

    @result
    def finish_bind(self) -> None:
        self._finish("bind-started", "bound")

    @result
    def start_connect(self, network: Network, remote_address: Variant) -> None:
        self._expect("unbound", "bound")
        sockaddr = self._address(remote_address)
        if sockaddr[1] == 0:
            raise SocketError("invalid-argument")
        code = self.sock.connect_ex(sockaddr)
        if code not in (0, errno.EINPROGRESS, errno.EAGAIN):  # finishes later
            raise OSError(code, "connect failed")
        self.state = "connecting"

    @result
    def finish_connect(self) -> tuple[InputStream, OutputStream]:
        if self.state != "connecting":
            raise SocketError("not-in-progress")
        if not _writable(self.sock):
            raise SocketError("would-block")
        code = self.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if code:
            self.state = "closed"
            raise OSError(code, "connect failed")
        self.state = "connected"
        return self._streams()

    @result
    def start_listen(self) -> None:
        self._expect("bound")
        self.sock.listen(self.backlog)
        self.state = "listen-started"

    @result
    def finish_listen(self) -> None:
        self._finish("listen-started", "listening")

    @result
    def accept(self) -> tuple[TcpSocket, InputStream, OutputStream]:
        self._expect("listening")
        try:
            conn, _ = self.sock.accept()
        except BlockingIOError:
            raise SocketError("would-block") from None
        client = TcpSocket(conn, self.family, "connected")
        return (client, *client._streams())

    @result
    def local_address(self) -> Variant:
        if self.state in ("unbound", "bind-started"):
            raise SocketError("invalid-state")
        return from_host(self.sock.getsockname())

    @result
    def remote_address(self) -> Variant:
        self._expect("connected")
        return from_host(self.sock.getpeername())

    def is_listening(self) -> bool:
        return self.state == "listening"

    def address_family(self) -> str:
        return self.family

    @result
    def set_listen_backlog_size(self, value: int) -> None:
        if value == 0:
            raise SocketError("invalid-argument")
        self.backlog = min(value, 4096)
        if self.state == "listening":
            self.sock.listen(self.backlog)

    def _get(self, level: int, option: int) -> int:
        return self.sock.getsockopt(level, option)

    def _set(self, level: int, option: int, value: int) -> None:
        if value <= 0 and option not in (socket.SO_KEEPALIVE,):
            raise SocketError("invalid-argument")
        self.sock.setsockopt(level, option, value)

    @result
    def keep_alive_enabled(self) -> bool:
        return bool(self._get(socket.SOL_SOCKET, socket.SO_KEEPALIVE))

    @result
    def set_keep_alive_enabled(self, value: bool) -> None:
        self._set(socket.SOL_SOCKET, socket.SO_KEEPALIVE, int(value))

    @result
    def keep_alive_idle_time(self) -> int:
        return self._get(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE) * 1_000_000_000

    @result
    def set_keep_alive_idle_time(self, value: int) -> None:
        self._set(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, max(1, value // 1_000_000_000))

    @result
    def keep_alive_interval(self) -> int:
        return self._get(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL) * 1_000_000_000

    @result
    def set_keep_alive_interval(self, value: int) -> None:
        self._set(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, max(1, value // 1_000_000_000))

    @result
    def keep_alive_count(self) -> int:
        return self._get(socket.IPPROTO_TCP, socket.TCP_KEEPCNT)

    @result
    def set_keep_alive_count(self, value: int) -> None:
        self._set(socket.IPPROTO_TCP, socket.TCP_KEEPCNT, value)

    def _hop_option(self) -> tuple[int, int]:
        if self.family == "ipv4":
            return socket.IPPROTO_IP, socket.IP_TTL
        return socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS

    @result
    def hop_limit(self) -> int:
        return self._get(*self._hop_option())

    @result
    def set_hop_limit(self, value: int) -> None:
        self._set(*self._hop_option(), value)

    @result
    def receive_buffer_size(self) -> int:
        return self._get(socket.SOL_SOCKET, socket.SO_RCVBUF)

    @result
    def set_receive_buffer_size(self, value: int) -> None:
        self._set(socket.SOL_SOCKET, socket.SO_RCVBUF, min(value, 1 << 30))

    @result
    def send_buffer_size(self) -> int:
        return self._get(socket.SOL_SOCKET, socket.SO_SNDBUF)

    @result
    def set_send_buffer_size(self, value: int) -> None:
        self._set(socket.SOL_SOCKET, socket.SO_SNDBUF, min(value, 1 << 30))

    def subscribe(self) -> Pollable:
        if self.state == "connecting":
            return Pollable(lambda: _writable(self.sock), write_fd=self.sock)
        if self.state == "listening":
            return Pollable(lambda: _readable(self.sock), fd=self.sock)
        return Pollable.always()

    @result
    def shutdown(self, shutdown_type: str) -> None:
        self._expect("connected")
        self.sock.shutdown(_SHUTDOWN[shutdown_type])


def create_tcp_socket(address_family: str) -> Ok | Err:
    if not granted():
        return denied()
    try:
        sock = socket.socket(FAMILIES[address_family], socket.SOCK_STREAM)
    except OSError as e:
        return Err(socket_error_code(e))
    if address_family == "ipv6":
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)  # WASI sockets are v6-only
    return Ok(TcpSocket(sock, address_family))


_METHODS = (
    "start-bind", "finish-bind", "start-connect", "finish-connect", "start-listen",
    "finish-listen", "accept", "local-address", "remote-address", "is-listening",
    "address-family", "set-listen-backlog-size", "keep-alive-enabled", "set-keep-alive-enabled",
    "keep-alive-idle-time", "set-keep-alive-idle-time", "keep-alive-interval",
    "set-keep-alive-interval", "keep-alive-count", "set-keep-alive-count", "hop-limit",
    "set-hop-limit", "receive-buffer-size", "set-receive-buffer-size", "send-buffer-size",
    "set-send-buffer-size", "subscribe", "shutdown",
)  # fmt: skip

INTERFACES = {
    "wasi:sockets/tcp": Interface(
        (TcpSocket,),
        methods(TcpSocket, *_METHODS),
    ),
    "wasi:sockets/tcp-create-socket": Interface((), {"create-tcp-socket": create_tcp_socket}),
}
