"""Serving on every core: worker processes forked around one listening socket.

The parent binds the socket, then forks `count` workers before any engine exists; each worker
builds its own engine, instance pools and threads (sharing the AOT cache on disk) and accepts
on the inherited socket, so the kernel spreads connections across them. The first worker starts
alone (it fills the build and AOT caches; it may also hold what must run once, such as an app's
messaging and cron triggers), the others once it serves. SIGINT/SIGTERM to the parent are
passed on: every worker stops accepting and lets its in-flight requests finish. A worker that
dies unexpectedly is replaced in its role; one that fails to start stops the whole server.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import socket
import struct
import sys
import time
from collections.abc import Callable
from typing import Any

from wasmesh.errors import WasmeshError, listen_error
from wasmesh.triggers.base import DRAINING

log = logging.getLogger("wasmesh.http")

Start = Callable[[socket.socket, Callable[[], None]], None]
"""Runs one worker on the listening socket until told to stop; calls `ready()` once serving."""


def listen_socket(listen: str) -> socket.socket:
    """The bound, listening socket for `HOST:PORT` (`[::1]:8080` for IPv6)."""
    host, _, port = listen.rpartition(":")
    try:
        return socket.create_server((host.strip("[]") or "127.0.0.1", int(port)), backlog=1024)
    except OSError as e:
        raise listen_error("--listen", listen, e) from None
    except ValueError:
        raise WasmeshError(f"--listen `{listen}` is not HOST:PORT; e.g. `--listen "
                           "127.0.0.1:8080`.") from None  # fmt: skip


WORKERS_VARIABLE = "WEB_CONCURRENCY"
"""Sets the default worker count, as it does for gunicorn and uvicorn."""


def default_workers() -> int:
    """Worker processes when `--workers` is not given: `$WEB_CONCURRENCY` if set (gunicorn's
    and uvicorn's variable), else one per core this process may run on.

    Raises `WasmeshError` if the variable is set but not a whole number ≥ 1.
    """
    value = os.environ.get(WORKERS_VARIABLE, "").strip()
    if value:
        if not value.isdigit() or int(value) < 1:
            raise WasmeshError(
                f"{WORKERS_VARIABLE}={value!r} is not a worker count; set it to a whole number "
                "of at least 1, or unset it for one worker per core."
            )
        return int(value)
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def run_workers(
    sock: socket.socket,
    count: int,
    start: Start,
    on_ready: Callable[[], None],
    first: Start | None = None,
) -> None:
    """Serve with `count` forked workers until SIGINT/SIGTERM; returns once all have drained.

    The first worker runs `first` (default `start`) and is serving before the others fork.
    `on_ready` runs in the parent once every worker is serving. Raises `WasmeshError` when a
    worker fails before it is ready: the first one's own message, or naming a later one's.
    """
    stopping = False
    children: dict[int, int] = {}  # pid -> read end of its readiness pipe
    roles: dict[int, Start] = {}

    def spawn(role: Start) -> None:
        ready_r, ready_w = os.pipe()
        # Signals wait until the fork is done: a child must not run the parent's handler (it
        # would take the SIGTERM meant for it and serve on), and the parent must know a child
        # before it is told to stop.
        signal.pthread_sigmask(signal.SIG_BLOCK, _STOP)
        pid = os.fork()
        if pid == 0:  # the worker
            os.close(ready_r)
            # Ctrl-C reaches the whole process group: the parent alone takes SIGINT and passes
            # SIGTERM on once (twice to stop at once), so a worker ignores SIGINT
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP)
            reporter = Reporter(ready_w)
            os._exit(run_child(lambda: role(sock, reporter.ready), reporter))
        os.close(ready_w)
        children[pid] = ready_r
        roles[pid] = role
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP)
        if stopping:  # signalled while it forked: it must hear it too
            tell_all()

    told: set[int] = set()

    def tell_all() -> None:
        """SIGTERM to every worker not yet told (once: a second one stops a worker at once)."""
        for pid in list(children):
            if pid not in told:
                told.add(pid)
                _kill(pid, signal.SIGTERM)

    def on_signal(signum: int, frame: Any) -> None:
        nonlocal stopping
        if stopping and frame is not None:  # a second signal: stop now (two SIGTERMs sent
            for pid in list(children):  # close together would reach a worker as one)
                _kill(pid, signal.SIGKILL)
            os._exit(128 + signum)
        if frame is not None and children:
            with contextlib.suppress(OSError):
                os.write(2, DRAINING.encode())
        stopping = True
        tell_all()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        spawn(first or start)
        n = 0
        while n < len(children):
            answer = _read_all(list(children.values())[n])
            if answer != b"1" and not stopping:
                on_signal(signal.SIGTERM, None)
                _reap(children)
                reason = answer[1:].decode(errors="replace") or "it exited before serving"
                raise WasmeshError(reason if n == 0 else f"a worker failed to start: {reason}")
            if n == 0:
                for _ in range(count - 1):
                    if stopping:  # no worker is started after the signal to stop
                        break
                    spawn(start)
            n += 1
        if not stopping:
            on_ready()
        _supervise(children, lambda pid: spawn(roles.pop(pid)), lambda: stopping)
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        for fd in children.values():
            os.close(fd)
        sock.close()


_STOP = {signal.SIGINT, signal.SIGTERM}


def _supervise(
    children: dict[int, int], respawn: Callable[[int], None], stopping: Callable[[], bool]
) -> None:
    """Wait for workers; replace those that die while the server is not stopping."""
    while children:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            return
        except InterruptedError:
            continue
        fd = children.pop(pid, None)
        if fd is None:
            continue
        os.close(fd)
        if not stopping():
            code = os.waitstatus_to_exitcode(status)
            log.warning("worker %d ended unexpectedly (exit %d); starting another", pid, code)
            print(f"worker {pid} ended unexpectedly (exit {code}); starting another",
                  file=sys.stderr, flush=True)  # fmt: skip
            time.sleep(0.1)  # a worker crashing at once must not fork in a tight loop
            respawn(pid)


def _reap(children: dict[int, int]) -> None:
    for pid in list(children):
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)
        os.close(children.pop(pid))


class Reporter:
    """A forked child's one message to its parent: `1` (ready) or `E<why it failed>`."""

    def __init__(self, fd: int) -> None:
        self.fd: int | None = fd

    def ready(self) -> None:
        self.tell(b"1")

    def tell(self, message: bytes) -> None:
        fd, self.fd = self.fd, None
        if fd is not None:
            _tell(fd, message)


def run_child(work: Callable[[], None], reporter: Reporter) -> int:
    """In a forked process: run `work`; a failure before `ready` goes to the parent (which
    raises it; the child's own stderr may be a test runner's buffer). Returns the exit status."""
    try:
        work()
        return 0
    except BaseException as e:
        if reporter.fd is None:  # serving already: only the log can tell
            print(f"error: {e}", file=sys.stderr)
        with contextlib.suppress(OSError):
            reporter.tell(b"E" + str(e).encode())
        return 2 if isinstance(e, WasmeshError) else 1
    finally:
        sys.stdout.flush()
        sys.stderr.flush()


def _read_all(fd: int) -> bytes:
    data = b""
    while chunk := os.read(fd, 65536):
        data += chunk
        if data == b"1":
            break
    return data


def _tell(fd: int, message: bytes) -> None:
    try:
        os.write(fd, message)
    finally:
        os.close(fd)


def _kill(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signum)


# A classic BPF program of one instruction, `ret #0`: every packet dropped (linux/filter.h).
_DROP_ALL = struct.pack("HBBI", 0x06, 0, 0, 0)
_SO_ATTACH_FILTER = getattr(socket, "SO_ATTACH_FILTER", 26)


def close_door(sock: socket.socket) -> None:
    """Let no new connection reach `sock`'s accept queue, in every process sharing it.

    A listening socket closed with connections queued resets them, unanswered, though their
    clients connected and sent a request; shutting it down does the same. Dropping every
    packet that reaches it instead (a socket filter) leaves the queue to be accepted and
    served, while a new client's SYN goes unanswered until the socket is closed and then
    gets a reset: connection refused, the request never sent. Linux only; elsewhere a no-op.
    """
    if sys.platform != "linux":
        return
    code = ctypes.create_string_buffer(_DROP_ALL)
    program = struct.pack("HL", 1, ctypes.addressof(code))  # struct sock_fprog
    try:
        sock.setsockopt(socket.SOL_SOCKET, _SO_ATTACH_FILTER, program)
    except OSError as e:
        log.debug("cannot close the listening socket's door: %s", e)
