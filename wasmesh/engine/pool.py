"""Sizing the pooling allocator from the host and the workload.

A pooled linear memory reserves its whole slot of address space up front (the engine's 4 GiB
memory reservation plus its guard region), whether or not the instance in it ever touches a
page; everything else a slot holds is small. wasmtime maps all memory slots of an engine as
one contiguous reservation (measured on wasmtime 49: 4 GiB + 32 MiB a memory, 0.8 MiB a table,
plus 2 GiB of fiber stacks per pooled engine), and the engine aborts the process when that
mapping fails. So what bounds a pool is the largest hole in the process's address space (below
a PIE executable loaded at 0x5555_5555_4000, about 85 TiB of the 128 TiB a 47-bit user
address space holds, so about 21,000 slots) and RLIMIT_AS, not its memory. Each pooled engine
takes half of that when it is built (the first, without fuel, about 10,000 instances), leaving
the rest to the next engine and to on-demand allocation, which serves instances once a pool is
full (`wasmesh.runtime.instance.Runner`); where not even one slot fits (a low `ulimit -v`),
there is no pool and every instance is allocated on demand.

The workload sets the ratios: measured on the test guests, a C component has 4 core instances,
one memory and one table; componentize-js 4, one and two; componentize-py 14, one and two. Core
instance slots cost no address space, so there are `CORE_PER_INSTANCE` of them per component
instance; tables cost ~0.8 MiB of address space each.

Overrides, strongest first: `configure_pool(instances=N)` (the CLI's `--pool-instances`), then
`$WASMESH_POOL_INSTANCES`; `0` turns pooling off (every instance allocated on demand).
"""

from __future__ import annotations

import logging
import os
import resource
from dataclasses import dataclass

from wasmesh.errors import WasmeshError

POOL_ENV = "WASMESH_POOL_INSTANCES"
log = logging.getLogger("wasmesh.engine")
CORE_PER_INSTANCE = 16  # componentize-py needs 14
MEMORIES_PER_INSTANCE = 1
TABLES_PER_INSTANCE = 2
MEMORY_SLOT_BYTES = (4 << 30) + (64 << 20)  # the 4 GiB reservation, guard and pool padding
TABLE_SLOT_BYTES = 800 << 10
MIN_INSTANCE_BYTES = 16 << 10  # the smallest live instance measured (C): more slots than
# the host's memory could hold at this size are never used
USER_ADDRESS_SPACE = 1 << 47  # x86-64 and aarch64 Linux with 4-level page tables
POOL_FIXED_BYTES = 2 << 30  # an engine's pool of 1,000 fiber stacks (measured)
POOL_MARGIN_BYTES = 1 << 30  # for what else gets mapped between sizing and building a pool


@dataclass(frozen=True)
class PoolLimits:
    """Slots of one engine's pooling allocator (counts, not bytes)."""

    instances: int  # component instances
    core_instances: int
    memories: int
    tables: int

    @classmethod
    def for_instances(cls, instances: int) -> PoolLimits:
        """Slots for `instances` component instances of the measured workload's shape."""
        return cls(
            instances,
            instances * CORE_PER_INSTANCE,
            instances * MEMORIES_PER_INSTANCE,
            instances * TABLES_PER_INSTANCE,
        )

    @property
    def address_space(self) -> int:
        """Bytes of address space the pool reserves."""
        return self.memories * MEMORY_SLOT_BYTES + self.tables * TABLE_SLOT_BYTES


_override: int | None = None


def configure_pool(instances: int | None) -> None:
    """Pool `instances` component instances per engine instead of sizing from the host
    (`None`: from the host again; `0`: no pool). Takes effect for engines built afterwards."""
    if instances is not None and (
        isinstance(instances, bool) or not isinstance(instances, int) or instances < 0
    ):
        raise WasmeshError(f"the pool size must be 0 or more instances, got {instances!r}.")
    if instances:
        _check_fits(instances)
    global _override
    _override = instances


def _check_fits(instances: int) -> None:
    """One sentence when pools of `instances` cannot be reserved in this process's address
    space for both engines it may build (with and without fuel); the engine would otherwise
    abort the process while mapping one."""
    free = address_space_free()
    # the largest hole differs by up to ~1.3% between runs (address space layout
    # randomisation): accept up to 98% of half of it, and promise only 95%, so that a size the
    # sentence allows is accepted by the next run too
    most = fitting_instances(free * 95 // 200)
    if instances > fitting_instances(free * 98 // 200):
        need = _reserved(instances)
        raise WasmeshError(
            f"a pool of {instances} instances needs {_size(need)} of address space per "
            f"engine and this process can map {_size(free)} in one piece, enough for two "
            f"engines of at most {most} instances: ask for fewer (0 turns pooling off), or "
            "leave the pool size out to size it from the host."
        )


def check_requested() -> None:
    """Raise `WasmeshError` now for a pool size (`configure_pool`, `$WASMESH_POOL_INSTANCES`)
    an engine built later would refuse; commands call it before they start serving."""
    asked = requested_instances()
    if asked:
        _check_fits(asked)


def fitting_instances(free: int) -> int:
    """The most instances one engine's pool may have within `free` bytes of address space
    (0: not even one; the engine then allocates every instance on demand)."""
    per_instance = PoolLimits.for_instances(1).address_space
    return max(0, (free - POOL_FIXED_BYTES - POOL_MARGIN_BYTES) // per_instance)


def _reserved(instances: int) -> int:
    return PoolLimits.for_instances(instances).address_space + POOL_FIXED_BYTES


def _size(n: int) -> str:
    return f"{n / 2**40:.1f} TiB" if n >= 1 << 40 else f"{n / 2**30:.1f} GiB"


def requested_instances() -> int | None:
    """The pool size asked for (`configure_pool`, else `$WASMESH_POOL_INSTANCES`), if any."""
    if _override is not None:
        return _override
    text = os.environ.get(POOL_ENV, "").strip()
    if not text:
        return None
    if not text.isdigit():
        raise WasmeshError(
            f"${POOL_ENV} must be a number of instances (0 turns pooling off), got `{text}`."
        )
    return int(text)


def address_space_free() -> int:
    """Bytes of address space one new mapping of this process may take: the largest hole
    between its mappings below `USER_ADDRESS_SPACE` (`/proc/self/maps`), or, when lower,
    RLIMIT_AS less what is mapped now (VmSize)."""
    free = largest_hole()
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    if soft != resource.RLIM_INFINITY:
        free = min(free, soft - _mapped_bytes())
    return max(0, free)


def largest_hole() -> int:
    """Bytes of the largest unmapped range below `USER_ADDRESS_SPACE` (the whole space when
    `/proc/self/maps` cannot be read)."""
    try:
        with open("/proc/self/maps") as f:
            lines = f.readlines()
    except OSError:
        return USER_ADDRESS_SPACE - _mapped_bytes()
    largest, end = 0, 1 << 16  # vm.mmap_min_addr
    for line in lines:
        lo, _, hi = line.split(" ", 1)[0].partition("-")
        start = int(lo, 16)
        if start >= USER_ADDRESS_SPACE:
            break
        largest = max(largest, start - end)
        end = max(end, int(hi, 16))
    return max(largest, USER_ADDRESS_SPACE - end)


def host_memory() -> int:
    """Bytes of memory this process may use: physical memory, or its cgroup's limit."""
    total = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    try:
        with open("/sys/fs/cgroup/memory.max") as f:
            text = f.read().strip()
        if text.isdigit():
            total = min(total, int(text))
    except OSError:
        pass
    return total


def host_pool(address_space: int, memory: int) -> PoolLimits | None:
    """The pool for a host with `address_space` bytes free (in one piece) and `memory` bytes of
    memory: half the free address space, at most as many instances as the memory holds at
    their smallest; None (no pool) when not even one instance fits."""
    instances = min(fitting_instances(address_space // 2), memory // MIN_INSTANCE_BYTES)
    return PoolLimits.for_instances(instances) if instances > 0 else None


def pool_for_new_engine() -> PoolLimits | None:
    """The pool of an engine built now (None: no pool, allocate on demand)."""
    asked = requested_instances()
    if asked == 0:
        return None
    free = address_space_free()
    if asked is not None:
        _check_fits(asked)
        fits = fitting_instances(free)
        if asked > fits:  # checked at start for two engines; never let the engine abort
            log.warning("a pool of %d instances no longer fits in this process's address "
                        "space; pooling %d, the rest allocated on demand", asked, fits)  # fmt: skip
            return PoolLimits.for_instances(fits) if fits else None
        return PoolLimits.for_instances(asked)
    return host_pool(free, host_memory())


def _mapped_bytes() -> int:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0
