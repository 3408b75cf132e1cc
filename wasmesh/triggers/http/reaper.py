"""Dropping warm instances left idle: one daemon thread for every instance pool of a process.

A pool with warm instances (`PoolSettings.max_reuse` > 1) registers with `watch()` whenever it
parks one; the thread sleeps until the earliest idle deadline among the pools it watches, then
asks each to `sweep()` what has idled past its `idle_timeout`. An app without traffic so ends
up holding no instance (its compiled component stays loaded); with nothing idle the thread
sleeps until a pool parks an instance again. After dropping instances it hands the C heap's
free pages back to the system (glibc's `malloc_trim`, `wasmesh.engine.resident`): the engine's
per-instance structures are allocated there, and freed chunks otherwise stay resident.
"""

from __future__ import annotations

import os
import threading
import time
import weakref
from typing import Protocol

from wasmesh.engine.resident import release_free_memory


class Sweepable(Protocol):
    """A pool of warm instances."""

    def idle_count(self) -> int:
        """Instances waiting for a request."""
        ...

    def sweep(self, now: float) -> float | None:
        """Drop instances idle past their timeout at `now` (monotonic seconds); the time the
        next one will have idled too long, or None when none is idle."""
        ...


class Reaper:
    """Sweeps the pools it watches when their next idle instance runs out of time."""

    def __init__(self) -> None:
        self._pools: weakref.WeakSet[Sweepable] = weakref.WeakSet()
        self._wake = threading.Condition()
        self._parked = 0  # counts `watch` calls, so none is missed while sweeping
        self._thread: threading.Thread | None = None

    def watch(self, pool: Sweepable) -> None:
        """Sweep `pool` from now on (it has just parked an idle instance)."""
        with self._wake:
            self._pools.add(pool)
            self._parked += 1
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="wasmesh-idle-reaper", daemon=True
                )
                self._thread.start()
            self._wake.notify()

    def _run(self) -> None:
        while True:
            with self._wake:
                pools = list(self._pools)
                seen = self._parked
            due: float | None = None
            dropped = False
            for pool in pools:
                idle_before = pool.idle_count()
                next_due = pool.sweep(time.monotonic())
                dropped = dropped or pool.idle_count() < idle_before
                if next_due is not None and (due is None or next_due < due):
                    due = next_due
            del pools
            if dropped:
                release_free_memory()  # a closed pool may be collected while the thread sleeps
            with self._wake:
                if self._parked != seen:
                    continue
                if due is None:
                    self._wake.wait()
                else:
                    self._wake.wait(max(0.0, due - time.monotonic()) + 0.001)

    def _after_fork(self) -> None:
        self._pools = weakref.WeakSet()
        self._wake = threading.Condition()
        self._thread = None


REAPER = Reaper()
"""The process's reaper (each forked worker starts its own thread on first use)."""
os.register_at_fork(after_in_child=REAPER._after_fork)
