"""Instances of one `wasi:http/proxy` component: a fresh one per request by default, or warm
instances reused up to a count, with a cap on how many run at once and an idle timeout.
"""

from __future__ import annotations

import os
import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import wasmtime
import wasmtime.component as wc

from wasmesh.capabilities.base import Capability
from wasmesh.capabilities.wasi import WasiContext, link_wasi
from wasmesh.capabilities.wasi.context import swap_context
from wasmesh.engine import deadline_ticks, load_component, shared_engine
from wasmesh.engine.calls import ExportFunc
from wasmesh.errors import ComponentError
from wasmesh.runtime.grants import DirGrant, Grants

HANDLER = "wasi:http/incoming-handler"


@dataclass(frozen=True)
class PoolSettings:
    """How instances are made and reused."""

    memory_limit: int | None = None  # bytes per instance
    max_reuse: int = 1  # requests per instance; 1 = a fresh instance per request
    # Wasm runs without the GIL, but every host call takes it back: more instances at once
    # than cores only queue on the GIL (measured: fewer is faster under wrk on 2 cores).
    max_concurrent: int = os.cpu_count() or 1
    idle_timeout: float = 30.0  # seconds a warm instance waits before it is discarded
    allow_outbound: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    request_timeout: float | None = None  # seconds per request; None = the server's limit
    dirs: tuple[DirGrant, ...] = ()  # preopened directories
    fuel: int | None = None  # instruction budget per request; None = unmetered


@dataclass(frozen=True)
class RouteTarget:
    """What one route serves: a component, how its instances are made, and the capabilities
    serving its imports besides WASI (routes of one app may each have their own grants)."""

    path: Path
    settings: PoolSettings = PoolSettings()
    capabilities: tuple[Capability, ...] = ()


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
        self.ctx = WasiContext(
            name=pool.name, env=list(pool.settings.env),
            allow_outbound=pool.settings.allow_outbound, dirs=pool.settings.dirs,
        )  # fmt: skip
        self.store = wasmtime.Store(pool.engine)
        if pool.settings.memory_limit is not None:
            self.store.set_limits(memory_size=pool.settings.memory_limit)
        self.uses = 0
        self.idle_since = 0.0
        self.broken = False
        self.store.set_epoch_deadline(deadline_ticks(pool.instantiate_timeout))
        if pool.settings.fuel is not None:
            self.store.set_fuel(pool.settings.fuel)
        try:
            for cap in pool.capabilities:
                cap.prepare(self.store, pool.grants)
            with self.ctx.active():
                instance = pool.linker.instantiate(self.store, pool.component)
            first = pool.handler
            if first is None:
                self.func = ExportFunc(self.store, instance, f"{pool.handler_name}#handle",
                                       resources=pool.link.resources)  # fmt: skip
                pool.handler = self.func
            else:  # the first instance's lookups and converters serve every later one
                self.func = first.for_instance(self.store, instance)
        except BaseException:
            self.discard()
            raise

    def discard(self) -> None:
        """Free the instance now: its pooled memory slot goes back for the next one."""
        self.pool.link.release(self.ctx.created)
        self.ctx.created = []
        self.store.close()

    def handle(self, request: Any, outparam: Any, timeout: float) -> None:
        """Call the component's handler; raises what the guest or the host call raised."""
        self.uses += 1
        ctx = self.ctx
        ctx.failure = None
        ctx.deadline = time.monotonic() + timeout
        self.store.set_epoch_deadline(deadline_ticks(timeout))
        if self.pool.settings.fuel is not None:  # the budget is per request
            self.store.set_fuel(self.pool.settings.fuel)
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
            ctx.created = self.pool.link.live(ctx.created)  # forget what the guest dropped


class InstancePool:
    """Makes and recycles instances of one component.

    WASI (with `wasi:http`) comes from the Python WASI layer; `capabilities` serve the other
    imports (such as `wasmesh.compose.crossunit.CrossUnitLinks` for calls to other units).
    """

    instantiate_timeout = 10.0

    def __init__(
        self,
        path: str | Path,
        settings: PoolSettings | None = None,
        capabilities: Sequence[Capability] = (),
    ) -> None:
        self.settings = settings or PoolSettings()
        self.capabilities = tuple(capabilities)
        self.grants = Grants(
            env=self.settings.env, outbound=self.settings.allow_outbound, dirs=self.settings.dirs
        )
        metered = self.settings.fuel is not None
        self.engine = shared_engine(fuel=metered)
        loaded = load_component(path, fuel=metered)
        self.component = loaded.component
        self.name = Path(path).stem
        names = [n for n in self.component.type.exports(self.engine) if n.startswith(HANDLER)]
        if not names:
            raise ComponentError(
                f"{path} does not export {HANDLER}; build it for the wasi:http/proxy world."
            )
        self.handler_name = names[0]
        self.handler: ExportFunc | None = None  # the first instance's, a template for others
        self.linker = wc.Linker(self.engine)
        # Before WASI: link_wasi ends by turning every import still undefined into a trap.
        imports = list(self.component.type.imports(self.engine))
        for cap in self.capabilities:
            if names := [n for n in imports if cap.provides(n)]:
                cap.link(self.linker, names)
                imports = [n for n in imports if n not in names]
        self.link = link_wasi(self.linker, self.component, self.engine)
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
        """Return `lease` after a request; reused only if healthy and under its reuse count."""
        try:
            if lease.broken or lease.uses >= self.settings.max_reuse:
                lease.discard()
                return
            lease.idle_since = time.monotonic()
            with self.lock:
                self.idle.append(lease)
        finally:
            self.slots.release()

    def close(self) -> None:
        with self.lock:
            while self.idle:
                self.idle.pop().discard()
