"""Sizing the pooling allocator from the host and the workload.

A pooled linear memory reserves its whole slot of address space up front (the engine's 4 GiB
memory reservation plus its guard region), whether or not the instance in it ever touches a
page; everything else a slot holds is small. So what bounds a pool is the process's address
space, not its memory: a 47-bit user address space holds about 31,000 such slots in all, shared
by every engine of the process and by instances allocated on demand. Each pooled engine takes
half of the address space still free when it is built (the first, without fuel, about 16,000
memories), leaving the rest to the next engine and to on-demand allocation, which serves
instances once a pool is full (`wasmesh.runtime.instance.Runner`).

The workload sets the ratios: measured on the test guests, a C component has 4 core instances,
one memory and one table; componentize-js 4, one and two; componentize-py 14, one and two. Core
instance slots cost no address space, so there are `CORE_PER_INSTANCE` of them per component
instance; tables cost ~0.8 MiB of address space each.

Overrides, strongest first: `configure_pool(instances=N)` (the CLI's `--pool-instances`), then
`$WASMESH_POOL_INSTANCES`; `0` turns pooling off (every instance allocated on demand).
"""

from __future__ import annotations

import os
import resource
from dataclasses import dataclass

from wasmesh.errors import WasmeshError

POOL_ENV = "WASMESH_POOL_INSTANCES"
CORE_PER_INSTANCE = 16  # componentize-py needs 14
MEMORIES_PER_INSTANCE = 1
TABLES_PER_INSTANCE = 2
MEMORY_SLOT_BYTES = (4 << 30) + (64 << 20)  # the 4 GiB reservation, guard and pool padding
TABLE_SLOT_BYTES = 800 << 10
MIN_INSTANCE_BYTES = 16 << 10  # the smallest live instance measured (C): more slots than
# the host's memory could hold at this size are never used
USER_ADDRESS_SPACE = 1 << 47  # x86-64 and aarch64 Linux with 4-level page tables
MIN_POOL = 100


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
    if instances is not None and instances < 0:
        raise WasmeshError(f"the pool size must be 0 or more instances, got {instances}.")
    if instances:
        _check_fits(instances)
    global _override
    _override = instances


def _check_fits(instances: int) -> None:
    """One sentence when a pool of `instances` cannot be reserved in this process's address
    space (the engine would otherwise abort the process while mapping it)."""
    need, free = PoolLimits.for_instances(instances).address_space, address_space_free()
    if need > free:
        most = free // PoolLimits.for_instances(1).address_space
        raise WasmeshError(
            f"a pool of {instances} instances needs {need / 2**40:.0f} TiB of address space; "
            f"this process has {free / 2**40:.0f} TiB free (at most about {most} instances): "
            "ask for fewer, or leave the pool size out to size it from the host."
        )


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
    """Bytes of address space this process may still map: the user address space (or
    RLIMIT_AS when lower) less what is mapped now (VmSize)."""
    limit = USER_ADDRESS_SPACE
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    if soft != resource.RLIM_INFINITY:
        limit = min(limit, soft)
    return max(0, limit - _mapped_bytes())


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


def host_pool(address_space: int, memory: int) -> PoolLimits:
    """The pool for a host with `address_space` bytes free and `memory` bytes of memory: half
    the free address space, at most as many instances as the memory holds at their smallest."""
    per_instance = PoolLimits.for_instances(1).address_space
    instances = min(address_space // 2 // per_instance, memory // MIN_INSTANCE_BYTES)
    return PoolLimits.for_instances(max(MIN_POOL, instances))


def pool_for_new_engine() -> PoolLimits | None:
    """The pool of an engine built now (None: no pool, allocate on demand)."""
    asked = requested_instances()
    if asked == 0:
        return None
    if asked is not None:
        _check_fits(asked)
        return PoolLimits.for_instances(asked)
    return host_pool(address_space_free(), host_memory())


def _mapped_bytes() -> int:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0
