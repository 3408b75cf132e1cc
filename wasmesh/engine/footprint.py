"""How much of a freed pool slot to keep resident for one component: from what an instance of
it touches, confirmed by what each choice costs it.

When a pooled instance is freed, wasmtime resets the first `keep` bytes of its memory slot in
place (copying the memory image back over its pages, zeroing the others: wasmtime's
`MemoryImageSlot::clear_and_remain_ready`, without the `pagemap_scan` its C API does not
offer) and hands every page beyond them back with `madvise(MADV_DONTNEED)`, so the next
instance faults in what it touches there. Which is cheaper depends on the component, and a
page model does not predict it: measured at one worker, `http-echo-js` (9.1 MiB accessible,
77 pages written and 917 read by a request) spent ~0.5 ms less CPU per request keeping
1 MiB than 16 MiB, and `http-echo-py` (12.3 MiB, 224 written, 1,316 read) ~0.7 ms more.

So a server sizes it per component in two steps:

1. `probing()`: one real instance, made by the engine that allocates on demand (a fresh
   mapping whose pages nothing touched before), has its memory found as the new ≥ 4 GiB
   reservation in `/proc/self/maps`; once its request is done, `/proc/self/pagemap` says
   which pages it touched and which of them are still the memory image's file pages (bits
   63 "present" and 61 "file-page"; Linux Documentation/admin-guide/mm/pagemap.rst). The
   candidate is the zeroed prefix before the image (`Footprint.candidate`): resetting it is a
   `memset`, not a copy of the image.
2. `Trial`: the next instances alternate between the default and the candidate, each
   timed in CPU seconds of its own threads (instantiate, requests, reset); the one with the
   lower median serves from then on.

Elsewhere (no `/proc`), or for a component with several memories, nothing is measured and the
default keeps.
"""

from __future__ import annotations

import logging
import os
import statistics
import threading
from array import array
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Generic, TypeVar

log = logging.getLogger("wasmesh.engine")

PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
RESERVATION_BYTES = 4 << 30  # a 32-bit memory's reservation (wasmtime's default on 64-bit)
KEEP_CLASSES = (0, 1 << 20, 2 << 20, 4 << 20, 8 << 20, 16 << 20)
"""Keep-resident sizes a candidate may take (one pooled engine per size in use)."""
SCAN_BYTES = 256 << 20  # how much of a memory is scanned (more is never kept resident)
TRIAL_INSTANCES = 24  # instances timed per choice before one is picked
_PRESENT = 1 << 63
_FILE = 1 << 61

_LOCK = threading.Lock()  # one probe at a time maps and is found

T = TypeVar("T")


@dataclass(frozen=True)
class Memory:
    """One linear memory's mapping: `start` address, `accessible` bytes (read-write)."""

    start: int
    accessible: int


@dataclass(frozen=True)
class Footprint:
    """What one instance touched of its memory, in pages from its start."""

    accessible: int  # bytes
    written: tuple[int, ...]  # pages no longer the image's (written, or zero pages touched)
    read: tuple[int, ...]  # pages of the memory image read and left unchanged

    @property
    def image_start(self) -> int | None:
        """Bytes before the first page of the memory image it read (None: none read)."""
        return min(self.read) * PAGE if self.read else None

    def candidate(self, default: int) -> int | None:
        """The largest of `KEEP_CLASSES` below `default` that ends before the memory image
        (None: no smaller size to try)."""
        bound = min(self.image_start or self.accessible, self.accessible)
        smaller = [k for k in KEEP_CLASSES if k < default and k <= bound]
        return max(smaller) if smaller else None


def vmas() -> list[tuple[int, int, str]]:
    """(start, end, permissions) of every mapping of this process (empty without /proc)."""
    try:
        with open("/proc/self/maps") as f:
            lines = f.read().splitlines()
    except OSError:
        return []
    out = []
    for line in lines:
        span, perms = line.split(maxsplit=2)[:2]
        start, _, end = span.partition("-")
        out.append((int(start, 16), int(end, 16), perms))
    return out


def new_memories(before: set[tuple[int, int]]) -> list[Memory]:
    """The memory reservations mapped since `before` (the (start, end) of every mapping then):
    runs of adjacent new mappings covering at least `RESERVATION_BYTES`; each memory starts
    at the run's first read-write mapping (after wasmtime's guard region) and is accessible
    as far as read-write mappings follow it."""
    fresh = sorted(v for v in vmas() if (v[0], v[1]) not in before)
    runs: list[list[tuple[int, int, str]]] = []
    for vma in fresh:
        if runs and runs[-1][-1][1] == vma[0]:
            runs[-1].append(vma)
        else:
            runs.append([vma])
    found = []
    for run in runs:
        if run[-1][1] - run[0][0] < RESERVATION_BYTES:
            continue
        while run and not run[0][2].startswith("rw"):  # the guard region before the memory
            run = run[1:]
        if not run:
            continue
        start = end = run[0][0]
        for lo, hi, perms in run:
            if lo != end or not perms.startswith("rw"):
                break
            end = hi
        found.append(Memory(start, end - start))
    return found


def footprint(memory: Memory) -> Footprint:
    """The pages of `memory` present now (up to `SCAN_BYTES`), split by whether they are
    still the image file's. Raises `OSError` without `/proc/self/pagemap`."""
    count = min(memory.accessible, SCAN_BYTES) // PAGE
    entries = array("Q")
    if count:
        with open("/proc/self/pagemap", "rb") as f:
            f.seek(memory.start // PAGE * 8)
            entries.frombytes(f.read(count * 8))
    written = tuple(i for i, e in enumerate(entries) if e & _PRESENT and not e & _FILE)
    read = tuple(i for i, e in enumerate(entries) if e & _PRESENT and e & _FILE)
    return Footprint(memory.accessible, written, read)


@dataclass
class Probe:
    """The memories one instance mapped; `footprint()` once its work is done."""

    memories: list[Memory]

    def footprint(self) -> Footprint | None:
        """What the instance touched (None: not exactly one memory found, or no /proc)."""
        if len(self.memories) != 1 or self.memories[0].accessible == 0:
            return None
        try:
            return footprint(self.memories[0])
        except OSError:
            return None


@contextmanager
def probing() -> Iterator[Probe]:
    """`with probing() as probe: instance = make()` records the memories `make` mapped (one
    probe at a time, so another's mappings are not taken for its own)."""
    with _LOCK:
        before = {(lo, hi) for lo, hi, _ in vmas()}
        probe = Probe([])
        yield probe
        probe.memories = new_memories(before)


@dataclass
class Trial(Generic[T]):
    """Choices timed in turn: `next()` hands out the choice the next instance uses,
    `record(i, seconds)` takes its CPU time, and `winner()` is the index of the lowest median
    once every choice has `TRIAL_INSTANCES` samples (None before)."""

    choices: list[T]
    samples: list[list[float]] = field(default_factory=list)
    _turn: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.samples = [[] for _ in self.choices]

    def next(self) -> tuple[int, T]:
        with self._lock:
            index = self._turn % len(self.choices)
            self._turn += 1
        return index, self.choices[index]

    def record(self, index: int, seconds: float) -> None:
        with self._lock:
            self.samples[index].append(seconds)

    def medians(self) -> list[float]:
        """Each choice's median so far (seconds; 0 for none yet)."""
        with self._lock:
            return [statistics.median(s) if s else 0.0 for s in self.samples]

    def winner(self) -> int | None:
        with self._lock:
            if any(len(s) < TRIAL_INSTANCES for s in self.samples):
                return None
        medians = self.medians()
        return medians.index(min(medians))
