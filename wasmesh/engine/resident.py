"""Handing back what a quiet process keeps resident: pool pages kept by freed slots, and the
C heap's free pages.

A server making a fresh instance per request has its engines keep `SERVING_KEEP_RESIDENT`
bytes of every pool slot resident after the slot's instance is freed
(`wasmesh.engine.config.tune_for_serving`): wasmtime resets those pages in place instead of
releasing them, so the next instance in the slot takes no page faults. wasmtime never releases
them later (its C API has no call for it, and `max_unused_warm_slots` only chooses between a
warm and a never-used slot for a new instance), so every slot a burst of concurrent requests
used stayed resident: measured, 12.2 MiB per slot for `http-echo-py` (its whole memory image
and the zeroed pages before it), and RSS went from 131 to 153 MiB after 320 requests on 64
connections, for good.

So the stores of those engines are counted (`new_store`), and once none has been live for the
idle timeout, `IdleRelease` hands the pools' pages back with `madvise(MADV_DONTNEED)`, the call
wasmtime itself makes for a freed slot's pages beyond the kept bytes, then the C heap's free
pages with glibc's `malloc_trim`. With no store live every slot is free and reset: its memory
image is a private mapping of the compiled file, which reads back from the file after
`MADV_DONTNEED`, and every other page reads back as zeros, which is what wasmtime reset it to.
The next instance in a slot faults its pages in again, as the first one did. A store made while
pages are released waits until they are (one lock, taken when a counted store is made and
freed).
"""

from __future__ import annotations

import ctypes
import logging
import os
import threading
import time
from collections.abc import Callable
from typing import Any

import wasmtime

from wasmesh.engine.footprint import vmas

log = logging.getLogger("wasmesh.engine")

MADV_DONTNEED = 4  # Linux, every architecture
POOL_MAPPING_BYTES = 1 << 30  # an engine's memory pool (4 GiB a slot) and the table pool of
# more than ~650 instances are this large; nothing else the process maps is (fiber stacks,
# thread stacks and malloc's arenas are mapped a few MiB at a time), so no other thread's
# mapping made while the engine is built is taken for a pool

Range = tuple[int, int]


def mappings() -> set[Range]:
    """The address ranges this process maps now (`/proc/self/maps`; empty elsewhere)."""
    return {(lo, hi) for lo, hi, _ in vmas()}


def _merged(ranges: set[Range]) -> list[Range]:
    out: list[Range] = []
    for start, end in sorted(ranges):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def new_addresses(before: set[Range], after: set[Range]) -> list[Range]:
    """The parts of each mapping in `after` (one `/proc/self/maps` line each) that no range in
    `before` covered, mapping by mapping.

    Not the `after` ranges absent from `before`: the kernel merges a new mapping with an
    adjacent one of the same kind (a pool's inaccessible reservation beside another
    reservation, or beside a malloc arena's unused tail), and the merged range is new while
    half of it is not the pool's. Released as the pool's, that other half (an instance's
    memory unmapped later, an arena's heap grown into it) lost its pages: the process
    crashed in malloc, then deadlocked. Nor are adjacent new mappings joined: the table pool
    is mapped between allocations the engine's build made and freed again, and Python's heap
    that later took their place, released with the pool, crashed the interpreter."""
    old = _merged(before)
    found: list[Range] = []
    for start, end in sorted(after):
        cursor = start
        for o_start, o_end in old:
            if o_end <= cursor or o_start >= end:
                continue
            if o_start > cursor:
                found.append((cursor, o_start))
            cursor = max(cursor, o_end)
        if cursor < end:
            found.append((cursor, end))
    return found


def _libc_function(name: str) -> Callable[..., int] | None:
    try:
        func: Callable[..., int] = getattr(ctypes.CDLL(None, use_errno=True), name)
    except (OSError, AttributeError):  # not Linux, or not glibc
        return None
    return func


_TRIM = _libc_function("malloc_trim")
_MADVISE = _libc_function("madvise")
if _MADVISE is not None:
    _MADVISE.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]  # type: ignore[attr-defined]


def release_free_memory() -> None:
    """Return the C heap's free pages to the system, where the C library can (glibc)."""
    if _TRIM is not None:
        _TRIM(0)


class _CountedStore(wasmtime.Store):
    """A store of an engine whose pool keeps pages resident; counted while it is live."""

    def __init__(self, engine: wasmtime.Engine, release: IdleRelease) -> None:
        super().__init__(engine)
        self._release = release
        release.opened()

    def _delete(self, ptr: Any) -> None:
        super()._delete(ptr)  # frees the store's instances: their slots are reset now
        self._release.closed()


class IdleRelease:
    """Counts the live stores of the engines it watches, and releases their pools' pages (and
    the C heap's free pages) once none has been live for `idle` seconds (None: never)."""

    def __init__(self) -> None:
        self.idle: float | None = None
        self.pools: dict[int, list[Range]] = {}  # by id(engine): its pool mappings
        self._engines: list[wasmtime.Engine] = []  # kept: their mappings must stay theirs
        self.live = 0
        self.used = False  # a store was made since the last release
        self.quiet_since = 0.0
        self.releases = 0
        self._cond = threading.Condition(threading.RLock())
        self._asleep = False  # the thread waits for a store to be made
        self._thread: threading.Thread | None = None

    def watch(self, engine: wasmtime.Engine, before: set[Range]) -> None:
        """Watch `engine`, just built; `before` is `mappings()` from just before it was (its
        pools are the large mappings it made). A watched engine is never freed: its pools stay
        mapped, and no other mapping can take their place."""
        pools = [r for r in new_addresses(before, mappings()) if r[1] - r[0] >= POOL_MAPPING_BYTES]
        with self._cond:
            self._engines.append(engine)
            self.pools[id(engine)] = pools

    def store(self, engine: wasmtime.Engine) -> wasmtime.Store:
        """A new store of `engine`: counted while live when `engine` is watched."""
        if id(engine) in self.pools:
            return _CountedStore(engine, self)
        return wasmtime.Store(engine)

    def enable(self, idle: float) -> None:
        """Release after `idle` seconds without a live store, from now on."""
        with self._cond:
            self.idle = idle
            self._cond.notify()

    def opened(self) -> None:
        with self._cond:
            self.live += 1
            if not self.used:  # the first store since the last release
                self.used = True
                if self.idle is not None:
                    if self._thread is None:
                        self._start()
                    elif self._asleep:
                        self._cond.notify()

    def closed(self, clock: Callable[[], float] = time.monotonic) -> None:
        # `clock` is bound now: a store may be freed while the interpreter shuts down
        with self._cond:
            self.live -= 1
            if self.live == 0:
                self.quiet_since = clock()

    def release_if_quiet(self) -> bool:
        """Release the watched pools' pages now if no store of theirs is live (and the C
        heap's free pages); whether it did."""
        with self._cond:
            released = self._release_pools_if_quiet()
        if released:
            release_free_memory()
        return released

    def _release_pools_if_quiet(self) -> bool:
        if self.live:
            return False
        self._release_pools()
        self.used = False
        self.releases += 1
        return True

    def _release_pools(self) -> None:
        if _MADVISE is None:
            return
        for pools in self.pools.values():
            for start, end in pools:
                if _MADVISE(start, end - start, MADV_DONTNEED) != 0:
                    log.debug("madvise(%#x, %d): %s", start, end - start,
                              os.strerror(ctypes.get_errno()))  # fmt: skip

    def _start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="wasmesh-idle-release",
                                        daemon=True)  # fmt: skip
        self._thread.start()

    def _run(self) -> None:
        while True:
            with self._cond:
                idle = self.idle
                if idle is None or not self.used:
                    self._asleep = True
                    self._cond.wait()
                    self._asleep = False
                elif self.live:
                    self._cond.wait(idle)  # look again later: stores are made and freed
                else:
                    due = self.quiet_since + idle - time.monotonic()
                    if due > 0:
                        self._cond.wait(due)
                    else:
                        self._release_pools_if_quiet()
            # No malloc_trim here: from this thread, while other threads (the admin listener's)
            # own arenas, glibc's malloc_trim crashed the process (SIGSEGV inside it).

    def _after_fork(self) -> None:
        self._cond = threading.Condition(threading.RLock())
        self._thread = None
        self._asleep = False


RELEASE = IdleRelease()
"""The process's one `IdleRelease` (each forked worker starts its own thread on first use)."""
os.register_at_fork(after_in_child=RELEASE._after_fork)


def new_store(engine: wasmtime.Engine) -> wasmtime.Store:
    """A new store of `engine`; every store wasmesh makes comes from here."""
    return RELEASE.store(engine)
