"""Per-instance WASI state: the objects it holds, grants, where stdio goes and the deadline.

Host functions find the `WasiContext` of the instance they serve through `current()`: the
host sets it (`with ctx.active():`) on the thread that calls into the guest, and wasm calls
its imports on that same thread.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from wasmesh.capabilities.wasi._table import HostObject
from wasmesh.errors import GuestTimeout
from wasmesh.policy import DirGrant

_local = threading.local()
_loggers: dict[str, logging.Logger] = {}


class DeadlinePassed(GuestTimeout):
    """The request deadline passed while the guest waited in a host call."""


@dataclass
class WasiContext:
    """What one instance may see: environment, arguments, grants and the objects it holds.

    The defaults suit an HTTP component: stdout/stderr become log records, stdin is empty,
    no files and no sockets. A command sets `real_stdio` (its output is the host's) and
    whatever its grants allow.
    """

    name: str = "component"
    env: list[tuple[str, str]] = field(default_factory=list)
    args: list[str] = field(default_factory=list)
    deadline: float | None = None  # time.monotonic() after which host waits give up
    allow_outbound: tuple[str, ...] = ()
    real_stdio: bool = False  # stdout/stderr to the host's streams instead of the logger
    stdin: bool = False  # read the host's standard input
    dirs: tuple[DirGrant, ...] = ()  # preopened directories
    network: bool = False  # TCP sockets and name lookup
    created: list[HostObject] = field(default_factory=list)  # handed to the instance
    logger: logging.Logger = field(init=False)
    failure: BaseException | None = field(default=None, init=False)  # last host-call error

    def __post_init__(self) -> None:
        logger = _loggers.get(self.name)  # one lookup per name, not per instance
        if logger is None:
            logger = _loggers[self.name] = logging.getLogger(f"wasmesh.guest.{self.name}")
        self.logger = logger

    @contextmanager
    def active(self) -> Iterator[WasiContext]:
        """Make this the context of host calls made on this thread."""
        previous = getattr(_local, "ctx", None)
        _local.ctx = self
        try:
            yield self
        finally:
            _local.ctx = previous

    def remaining(self) -> float | None:
        """Seconds left before the deadline (None when there is none)."""
        if self.deadline is None:
            return None
        return self.deadline - time.monotonic()

    def check_deadline(self) -> None:
        left = self.remaining()
        if left is not None and left <= 0:
            raise DeadlinePassed("the guest ran past its time limit while waiting on the host")


def swap_context(ctx: WasiContext | None) -> WasiContext | None:
    """Make `ctx` the context of host calls on this thread; returns the one it replaces.

    The same as `with ctx.active():` for callers on a hot path, which restore the previous
    context themselves (in a `finally`).
    """
    previous: WasiContext | None = getattr(_local, "ctx", None)
    _local.ctx = ctx
    return previous


def active_context() -> WasiContext | None:
    """The context of the instance calling the host on this thread, if any."""
    ctx: WasiContext | None = getattr(_local, "ctx", None)
    return ctx


def current() -> WasiContext:
    """The context of the instance calling the host on this thread."""
    ctx: WasiContext | None = getattr(_local, "ctx", None)
    if ctx is None:
        raise RuntimeError("a WASI host function ran outside WasiContext.active()")
    return ctx
