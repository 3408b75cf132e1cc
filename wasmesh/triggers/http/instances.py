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
from wasmesh.engine.config import serving_keep_resident
from wasmesh.engine.footprint import TRIAL_INSTANCES, Probe, Trial, probing
from wasmesh.engine.loader import on_demand_twin, resident_twin
from wasmesh.errors import ComponentError
from wasmesh.policy import Policy
from wasmesh.runtime.instance import Instance, Runner
from wasmesh.triggers.http.reaper import REAPER

HANDLER = "wasi:http/incoming-handler"
# a pool's keep-resident sizing (`wasmesh.engine.footprint`)
SIZE_DUE, SIZE_PROBING, SIZE_TRIAL, SIZE_DONE = "due", "probing", "trial", "done"

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

    def __init__(
        self, pool: InstancePool, probe: bool = False, arm: tuple[int, Runner] | None = None
    ) -> None:
        """`probe`: an instance allocated on demand whose memory is measured once its
        request is done; `arm`: a choice of a keep-resident trial (its index and runner),
        whose CPU time is counted (`InstancePool.release`, `wasmesh.engine.footprint`)."""
        self.pool = pool
        self.uses = 0
        self.idle_since = 0.0
        self.broken = False
        self.unanswered = False  # its last request ended without a response
        self.probe: Probe | None = None
        self.arm = arm[0] if arm is not None else None
        self.cpu = 0.0  # seconds of CPU its threads spent on it (counted in a trial only)
        started = time.thread_time()
        if probe:
            runner = pool.runner.twin(on_demand_twin(pool.runner.loaded))
            with probing() as self.probe:
                self.instance: Instance = runner.instantiate()
        else:
            self.instance = (arm[1] if arm is not None else pool.runner).instantiate()
        self.cpu += time.thread_time() - started
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
        started = time.thread_time() if self.arm is not None else 0.0
        try:
            self.func(self.store, request, outparam)
        except BaseException as e:
            self.broken = True
            if ctx.failure is None and isinstance(e.__cause__, Exception):
                ctx.failure = e.__cause__  # the host function's exception behind a trap
            raise
        finally:
            swap_context(previous)
            if self.arm is not None:
                self.cpu += time.thread_time() - started
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
        # fresh instances in an engine keeping slots resident: size that per component
        sized = self.max_reuse == 1 and serving_keep_resident() > 0
        self._sizing = SIZE_DUE if sized else SIZE_DONE
        self._trial: Trial[Runner] | None = None
        self._keeps = (0, 0)  # bytes kept resident by the trial's choices
        self.slots = Slots(self.settings.max_concurrent)
        self.idle: deque[Lease] = deque()
        self.lock = threading.Lock()

    def acquire(self, wait: float | None = None, fresh: bool = False) -> Lease | None:
        """A ready instance (a new one if `fresh`), or None when no slot frees up within
        `wait` seconds."""
        if not self.slots.acquire(timeout=wait):
            return None
        try:
            with self.lock:
                now = time.monotonic()
                while self.idle and not fresh:
                    lease = self.idle.pop()
                    if now - lease.idle_since < self.settings.idle_timeout:
                        return lease
                    lease.discard()
            return self._new_lease()
        except BaseException:
            self.slots.release()
            raise

    def _new_lease(self) -> Lease:
        """A lease on a new instance: the first of a fresh-instance pool is a probe, the next
        ones take turns in the keep-resident trial while it runs."""
        with self.lock:
            state, trial = self._sizing, self._trial
            if state == SIZE_DUE:
                self._sizing = SIZE_PROBING
        if state == SIZE_DUE:
            try:
                return Lease(self, probe=True)
            except BaseException:
                self._sizing = SIZE_DUE  # measured nothing: the next instance tries
                raise
        if trial is not None:
            return Lease(self, arm=trial.next())
        return Lease(self)

    def _probed(self, lease: Lease) -> None:
        """Start the keep-resident trial with the candidate the probe `lease` found
        (`wasmesh.engine.footprint`); a probe that trapped or did not answer measured
        nothing, and the next new instance probes again."""
        probe, lease.probe = lease.probe, None
        assert probe is not None
        if lease.broken or lease.unanswered:
            self._sizing = SIZE_DUE
            return
        found = probe.footprint()
        default = serving_keep_resident()
        keep = found.candidate(default) if found is not None else None
        if found is None or keep is None:
            self._sizing = SIZE_DONE
            return
        log.debug("%s: an instance wrote %d and read %d pages of %d KiB accessible; trying "
                  "%d KiB kept resident against %d KiB", self.name, len(found.written),
                  len(found.read), found.accessible >> 10, keep >> 10, default >> 10)  # fmt: skip
        small = self.runner.twin(resident_twin(self.runner.loaded, keep))
        with self.lock:
            self._trial = Trial([self.runner, small])
            self._keeps = (default, keep)
            self._sizing = SIZE_TRIAL

    def _timed_discard(self, lease: Lease) -> None:
        """Discard `lease`, counting its reset in the trial it took part in."""
        if lease.arm is None or lease.broken or lease.unanswered:
            lease.discard()
            return
        started = time.thread_time()
        lease.discard()
        trial = self._trial
        if trial is None:
            return
        trial.record(lease.arm, lease.cpu + time.thread_time() - started)
        winner = trial.winner()
        if winner is None:
            return
        with self.lock:
            if self._trial is not trial:
                return
            self._trial, self._sizing = None, SIZE_DONE
            runner = trial.choices[winner]
            link = wasi_link(runner)
            assert link is not None
            self.runner, self.link = runner, link
        medians = trial.medians()
        log.info("%s: freed instance slots keep %d KiB of its memory resident (CPU per "
                 "instance, median of %d: %.2f ms keeping %d KiB, %.2f ms keeping %d KiB)",
                 self.name, self._keeps[winner] >> 10, TRIAL_INSTANCES,
                 medians[0] * 1e3, self._keeps[0] >> 10,
                 medians[1] * 1e3, self._keeps[1] >> 10)  # fmt: skip

    def release(self, lease: Lease) -> None:
        """Return `lease` after a request; reused only if healthy (no trap, a response set)
        and under its reuse count."""
        try:
            if lease.probe is not None:
                self._probed(lease)
            if lease.unanswered and lease.uses > 1 and self.max_reuse > 1:
                self._single_use()
            if lease.broken or lease.unanswered or lease.uses >= self.max_reuse:
                self._timed_discard(lease)
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
