"""wasi:io/{error,poll,streams}: byte streams over host sources and sinks, and pollables.

Streams wrap a `ByteSource` / `ByteSink` that the owner (an HTTP body, stdio) implements.
Pollables really wait: `poll` sleeps in `select` on sockets, on events or until a clock
deadline, bounded by the instance's request deadline.
"""

from __future__ import annotations

import contextlib
import select
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

from wasmesh.capabilities.wasi._table import HostObject
from wasmesh.capabilities.wasi.context import current
from wasmesh.engine.values import Err, Ok, Variant

CLOSED = Variant("closed")
MAX_WRITE = 1 << 20  # the permit check-write grants; writers flush to the socket as they go
MAX_READ = 1 << 20
"""The most one read hands back, whatever the guest asks for (a u64: up to 2^64-1 bytes):
the host never allocates what the guest merely requests. Like wasmtime, a shorter read is
not the end of the stream."""


class _Blocking(threading.local):
    """Per thread: what to do around a wait on the outside world (an HTTP server lends its
    instance slot to another request meanwhile); None: nothing."""

    hook: Callable[[], contextlib.AbstractContextManager[None]] | None = None


blocking = _Blocking()


def waiting() -> contextlib.AbstractContextManager[None]:
    """Wrap a wait on sockets, events or clocks made on behalf of the running guest."""
    hook = blocking.hook
    return hook() if hook is not None else contextlib.nullcontext()


class StreamClosed(Exception):
    """The other end went away; reported to the guest as `stream-error::closed`."""


class IoError(HostObject):
    """wasi:io/error `error`: a message for the guest's diagnostics."""

    resource = "error"

    def __init__(self, message: str) -> None:
        self.message = message

    def to_debug_string(self) -> str:
        return self.message


def failed(message: str) -> Err:
    return Err(Variant("last-operation-failed", IoError(message)))


class Pollable(HostObject):
    """Readiness of one source: a predicate plus what to wait on (socket, event, instant)."""

    resource = "pollable"

    def __init__(
        self,
        ready: Callable[[], bool],
        *,
        fd: Any = None,
        write_fd: Any = None,
        event: threading.Event | None = None,
        at_ns: int | None = None,
    ) -> None:
        self.is_ready = ready
        self.fd = fd  # ready when readable (or any event on it)
        self.write_fd = write_fd  # ready when writable (a connecting socket)
        self.event = event
        self.at_ns = at_ns

    @classmethod
    def always(cls) -> Pollable:
        return cls(lambda: True)

    @classmethod
    def at(cls, instant_ns: int) -> Pollable:
        return cls(lambda: time.monotonic_ns() >= instant_ns, at_ns=instant_ns)

    def ready(self) -> bool:
        return self.is_ready()

    def block(self) -> None:
        poll([self])


def poll(pollables: list[Pollable]) -> list[int]:
    """Indices of the ready pollables, waiting until at least one is ready."""
    if not pollables:
        raise ValueError("poll needs at least one pollable")
    ctx = current()
    while True:
        ready = [i for i, p in enumerate(pollables) if p.is_ready()]
        if ready:
            return ready
        ctx.check_deadline()
        now = time.monotonic_ns()
        timeouts = [(p.at_ns - now) / 1e9 for p in pollables if p.at_ns is not None]
        left = ctx.remaining()
        if left is not None:
            timeouts.append(left)
        timeout = max(0.0, min(timeouts)) if timeouts else None
        fds = [p.fd for p in pollables if p.fd is not None]
        wfds = [p.write_fd for p in pollables if p.write_fd is not None]
        events = [p.event for p in pollables if p.event is not None]
        with waiting():
            if fds or wfds:
                # With events too, wake up now and then to look at them.
                wait = 0.005 if events else timeout
                if timeout is not None and wait is not None:
                    wait = min(wait, timeout)
                select.select(fds, wfds, [], wait)
            elif len(events) == 1:
                events[0].wait(timeout)
            else:
                time.sleep(min(timeout, 0.002) if timeout is not None else 0.002)


class ByteSource(Protocol):
    """Where an input stream's bytes come from."""

    def read(self, size: int, block: bool) -> bytes | None:
        """Up to `size` bytes; b"" when none are ready (never when blocking); None at the end."""
        ...

    def pollable(self) -> Pollable: ...


class ByteSink(Protocol):
    """Where an output stream's bytes go; `write` may block (back pressure)."""

    def write(self, data: bytes) -> None: ...

    def flush(self) -> None: ...


class InputStream(HostObject):
    """wasi:io/streams `input-stream`."""

    resource = "input-stream"

    def __init__(self, source: ByteSource) -> None:
        self.source = source
        self.dropped = False

    def on_drop(self) -> None:
        self.dropped = True

    def read(self, size: int) -> Ok | Err:
        return self._read(size, block=False)

    def blocking_read(self, size: int) -> Ok | Err:
        return self._read(size, block=True)

    def _read(self, size: int, block: bool) -> Ok | Err:
        try:
            data = self.source.read(min(size, MAX_READ), block) if size else b""
        except StreamClosed:
            return Err(CLOSED)
        except OSError as e:
            return failed(str(e))
        return Err(CLOSED) if data is None else Ok(data)

    def skip(self, size: int) -> Ok | Err:
        result = self.read(size)
        return Ok(len(result.value)) if isinstance(result, Ok) else result

    def blocking_skip(self, size: int) -> Ok | Err:
        result = self.blocking_read(size)
        return Ok(len(result.value)) if isinstance(result, Ok) else result

    def subscribe(self) -> Pollable:
        return self.source.pollable()


class OutputStream(HostObject):
    """wasi:io/streams `output-stream`."""

    resource = "output-stream"

    def __init__(self, sink: ByteSink) -> None:
        self.sink = sink
        self.error: str | None = None
        self.dropped = False

    def on_drop(self) -> None:
        self.dropped = True

    def check_write(self) -> Ok | Err:
        return failed(self.error) if self.error else Ok(MAX_WRITE)

    def write(self, contents: bytes) -> Ok | Err:
        if self.error:
            return failed(self.error)
        try:
            self.sink.write(contents)
        except StreamClosed:
            return Err(CLOSED)
        except OSError as e:
            self.error = str(e)
            return failed(self.error)
        return Ok(None)

    def blocking_write_and_flush(self, contents: bytes) -> Ok | Err:
        result = self.write(contents)
        return self.flush() if isinstance(result, Ok) else result

    def flush(self) -> Ok | Err:
        if self.error:
            return failed(self.error)
        try:
            self.sink.flush()
        except StreamClosed:
            return Err(CLOSED)
        except OSError as e:
            self.error = str(e)
            return failed(self.error)
        return Ok(None)

    def blocking_flush(self) -> Ok | Err:
        return self.flush()

    def subscribe(self) -> Pollable:
        return Pollable.always()

    def write_zeroes(self, size: int) -> Ok | Err:
        if size > MAX_WRITE:
            return failed(f"write-zeroes of {size} bytes exceeds the check-write permit")
        return self.write(bytes(size))

    def blocking_write_zeroes_and_flush(self, size: int) -> Ok | Err:
        if size > MAX_WRITE:
            return failed(f"write-zeroes of {size} bytes exceeds the check-write permit")
        return self.blocking_write_and_flush(bytes(size))

    def splice(self, src: InputStream, size: int) -> Ok | Err:
        return self._splice(src, size, block=False)

    def blocking_splice(self, src: InputStream, size: int) -> Ok | Err:
        return self._splice(src, size, block=True)

    def _splice(self, src: InputStream, size: int, block: bool) -> Ok | Err:
        got = src._read(min(size, MAX_WRITE), block)
        if isinstance(got, Err):
            return got
        written = self.write(got.value)
        return Ok(len(got.value)) if isinstance(written, Ok) else written
