"""Instances of one `wasi:http/proxy` component: a fresh one per request by default, or warm
instances reused up to a count, with a cap on how many run at once and an idle timeout.

Instances come from the one runner (`wasmesh.runtime.instance.Runner`) in serving mode, under
the route's `Policy`: its grants (env, dirs, outbound, network) reach the Python WASI layer,
its limits (memory, timeout, fuel) every instance and request.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wasmesh.capabilities.base import Capability
from wasmesh.capabilities.wasi import WasiContext, WasiLink
from wasmesh.capabilities.wasi.context import swap_context
from wasmesh.capabilities.wasi.versions import check_wasi_02
from wasmesh.engine import load_component
from wasmesh.errors import ComponentError
from wasmesh.policy import Policy
from wasmesh.runtime.instance import Instance, Runner
from wasmesh.triggers.http.reaper import REAPER

HANDLER = "wasi:http/incoming-handler"

log = logging.getLogger("wasmesh.http")


@dataclass(frozen=True)
class PoolSettings:
    """How instances are reused (what they may do is the route's `Policy`)."""

    max_reuse: int = 1  # requests per instance; 1 = a fresh instance per request
    # Wasm runs without the GIL, but every host call takes it back: more instances at once
    # than cores only queue on the GIL (measured: fewer is faster under wrk on 2 cores).
    max_concurrent: int = os.cpu_count() or 1
    idle_timeout: float = 30.0  # seconds a warm instance waits before it is discarded


@dataclass(frozen=True)
class RouteTarget:
    """What one route serves: a component, its policy, how its instances are reused, and the
    capabilities serving its imports besides the listed plug-ins' (imports forwarded to other
    units); routes of one app may each have their own policy."""

    path: Path
    policy: Policy = field(default_factory=Policy)
    settings: PoolSettings = PoolSettings()
    capabilities: tuple[Capability, ...] = ()
    name: str | None = None  # what its instances go by in logs (default: the file's stem)
    app: str = ""  # the app it belongs to (metrics' `app` label; default: the file's stem)


class Slots:
    """A counting semaphore that serves waiters first come, first served (bounded tail
    latency: a request never loses its turn to one that arrived later)."""

    def __init__(self, count: int) -> None:
        self.free = count
        self.waiters: deque[threading.Event] = deque()
        self.lock = threading.Lock()

    def acquire(self, timeout: float | None = None) -> bool:
        with self.lock:
            if self.free > 0 and not self.waiters:
                self.free -= 1
                return True
            turn = threading.Event()
            self.waiters.append(turn)
        if turn.wait(timeout):
            return True
        with self.lock:
            if turn.is_set():  # handed over just as the wait ran out
                return True
            self.waiters.remove(turn)
            return False

    def release(self) -> None:
        with self.lock:
            if self.waiters:
                self.waiters.popleft().set()  # the slot passes straight to the oldest waiter
            else:
                self.free += 1


class Lease:
    """One instance, lent to one request at a time."""

    def __init__(self, pool: InstancePool) -> None:
        self.pool = pool
        self.uses = 0
        self.idle_since = 0.0
        self.broken = False
        self.unanswered = False  # its last request ended without a response
        self.instance: Instance = pool.runner.instantiate()
        # the pool's runner, or its on-demand twin when the pool was full
        self.runner = self.instance.runner
        link = pool.link if self.runner is pool.runner else wasi_link(self.runner)
        assert link is not None  # the twin links what the pool's runner links
        self.link = link
        self.store = self.instance.store
        ctx = self.instance.state("wasi-python")
        assert isinstance(ctx, WasiContext)
        self.ctx = ctx
        try:
            self.func = self.runner.export(
                self.instance, f"{pool.handler_name}#handle", resources=self.link.resources
            )
        except BaseException:
            self.discard()
            raise

    def discard(self) -> None:
        """Free the instance now: its pooled memory slot goes back for the next one."""
        self.instance.close()

    def handle(self, request: Any, outparam: Any, timeout: float) -> None:
        """Call the component's handler; raises what the guest or the host call raised."""
        self.uses += 1
        ctx = self.ctx
        ctx.failure = None
        ctx.deadline = time.monotonic() + timeout
        self.runner.arm(self.store, timeout)  # the deadline and fuel of one request
        ctx.created += (request, outparam)
        previous = swap_context(ctx)  # what `with ctx.active()` does, without a generator
        try:
            self.func(self.store, request, outparam)
        except BaseException as e:
            self.broken = True
            if ctx.failure is None and isinstance(e.__cause__, Exception):
                ctx.failure = e.__cause__  # the host function's exception behind a trap
            raise
        finally:
            swap_context(previous)
        if self.pool.settings.max_reuse > 1:
            ctx.created = self.link.live(ctx.created)  # forget what the guest dropped


def wasi_link(runner: Runner) -> WasiLink | None:
    """The wasi:http resources `runner` linked (what requests and responses are made of)."""
    link = getattr(runner.capability("wasi-python"), "link_", None)
    return link if isinstance(link, WasiLink) else None


class InstancePool:
    """Makes and recycles instances of one component under one policy.

    `capabilities` serve imports before the listed plug-ins' (such as
    `wasmesh.capabilities.forwarding.ForwardedImports` for calls to other units).
    """

    def __init__(
        self,
        path: str | Path,
        policy: Policy | None = None,
        settings: PoolSettings | None = None,
        capabilities: Sequence[Capability] = (),
        name: str | None = None,
        app: str = "",
    ) -> None:
        """`name` and `app`: the unit (default: the file's stem) and the app it belongs to,
        as logs and metrics name them."""
        self.policy = policy or Policy()
        self.settings = settings or PoolSettings()
        self.request_timeout = self.policy.limits.timeout  # None: the server's limit
        loaded = load_component(path, fuel=self.policy.limits.fuel is not None)
        self.name = name or Path(path).stem
        world = loaded.world
        check_wasi_02([*(e.name for e in world.exports), *(i.name for i in world.imports)],
                      str(path))  # fmt: skip
        names = [e.name for e in world.exports if e.name.startswith(HANDLER)]
        if not names:
            raise ComponentError(
                f"{path} does not export {HANDLER}; build it for the wasi:http/proxy world."
            )
        self.handler_name = names[0]
        self.runner = Runner(loaded, self.policy, capabilities=tuple(capabilities),
                             program=self.name, serving=True, app=app)  # fmt: skip
        link = wasi_link(self.runner)
        if link is None:
            raise ComponentError(f"{path} imports no wasi:http types; it cannot be served.")
        self.link = link
        self.max_reuse = self.settings.max_reuse  # 1 once the component proved it cannot
        self.slots = Slots(self.settings.max_concurrent)
        self.idle: deque[Lease] = deque()
        self.lock = threading.Lock()

    def acquire(self, wait: float | None = None) -> Lease | None:
        """A ready instance, or None when none frees up within `wait` seconds."""
        if not self.slots.acquire(timeout=wait):
            return None
        try:
            with self.lock:
                now = time.monotonic()
                while self.idle:
                    lease = self.idle.pop()
                    if now - lease.idle_since < self.settings.idle_timeout:
                        return lease
                    lease.discard()
            return Lease(self)
        except BaseException:
            self.slots.release()
            raise

    def release(self, lease: Lease) -> None:
        """Return `lease` after a request; reused only if healthy (no trap, a response set)
        and under its reuse count."""
        try:
            if lease.unanswered and lease.uses > 1 and self.max_reuse > 1:
                self._single_use()
            if lease.broken or lease.unanswered or lease.uses >= self.max_reuse:
                lease.discard()
                return
            lease.idle_since = time.monotonic()
            with self.lock:
                self.idle.append(lease)
        finally:
            self.slots.release()
        REAPER.watch(self)

    def _single_use(self) -> None:
        """Serve the component with a fresh instance per request from now on: an instance of
        it answered its first request and not a later one (componentize-js components answer
        one fetch event per instance, under `wasmtime serve` too)."""
        with self.lock:
            if self.max_reuse == 1:
                return
            self.max_reuse = 1
            idle, self.idle = list(self.idle), deque()
        log.warning("%s cannot serve two requests in one instance; serving it with a fresh "
                    "instance per request", self.name)  # fmt: skip
        for lease in idle:
            lease.discard()

    def idle_count(self) -> int:
        """Instances waiting for a request."""
        return len(self.idle)

    def sweep(self, now: float) -> float | None:
        """Drop the instances idle for `idle_timeout` seconds at `now`; when the next one
        will have (None: no instance is idle). Called by the process's `REAPER`."""
        timeout = self.settings.idle_timeout
        expired = []
        with self.lock:
            while self.idle and now - self.idle[0].idle_since >= timeout:
                expired.append(self.idle.popleft())
            due = self.idle[0].idle_since + timeout if self.idle else None
        for lease in expired:
            lease.discard()
        return due

    def close(self) -> None:
        with self.lock:
            while self.idle:
                self.idle.pop().discard()
