"""The one configured wasmtime engine.

Pooling allocator (instances come from preallocated slots with copy-on-write memory images,
so instantiation costs microseconds; sized from the host, see `wasmesh.engine.pool`, with a
twin engine allocating on demand for when the pool is full), epoch interruption (a native
thread ticks the epoch, see `ticker`, so a store deadline stops a guest that loops forever),
optional fuel. wasmtime-py
exposes the pooling allocator only through its `_ffi` bindings.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace

import wasmtime
from wasmtime import _ffi as ffi

from wasmesh.engine.pool import PoolLimits, pool_for_new_engine
from wasmesh.engine.resident import RELEASE, mappings

EPOCH_TICK_SECONDS = 0.010
"""How often the shared engines' epoch advances; deadlines are counted in these ticks."""


@dataclass(frozen=True)
class EngineSettings:
    """Everything that changes compiled code; part of the AOT cache key."""

    fuel: bool = False
    pooling: bool = True
    # Slots in the pool; None: sized from the host when the engine is built (`engine.pool`).
    pool: PoolLimits | None = None
    max_memory_bytes: int = 4 << 30
    max_core_instances_per_component: int = 64
    max_memories_per_component: int = 64
    max_tables_per_component: int = 64
    table_elements: int = 100_000
    max_core_instance_size: int = 16 << 20
    max_component_instance_size: int = 16 << 20
    # Memory a freed slot keeps resident (reset on reuse) instead of re-faulting its pages in
    # from the image. A server making a fresh instance per request wants it (see
    # `tune_for_serving`); nothing else does: every slot that ever held an instance keeps it,
    # and an instance later made in the slot carries it (measured: 13.7 MiB instead of 0.5 MiB
    # for a componentize-py instance), which a dense or scaled-to-zero host cannot afford.
    keep_resident_bytes: int = 0
    max_unused_warm_slots: int = 32

    def cache_tag(self) -> str:
        """Settings that affect compiled artifacts (pooling limits don't)."""
        return f"fuel={int(self.fuel)};epoch=1"


def _pooling_strategy(config: wasmtime.Config, s: EngineSettings, limits: PoolLimits) -> None:
    pool = ffi.wasmtime_pooling_allocation_config_new()
    try:
        ffi.wasmtime_pooling_allocation_config_total_component_instances_set(
            pool, limits.instances
        )
        ffi.wasmtime_pooling_allocation_config_total_core_instances_set(
            pool, limits.core_instances
        )
        ffi.wasmtime_pooling_allocation_config_total_memories_set(pool, limits.memories)
        ffi.wasmtime_pooling_allocation_config_total_tables_set(pool, limits.tables)
        ffi.wasmtime_pooling_allocation_config_max_memory_size_set(pool, s.max_memory_bytes)
        ffi.wasmtime_pooling_allocation_config_max_core_instances_per_component_set(
            pool, s.max_core_instances_per_component
        )
        ffi.wasmtime_pooling_allocation_config_max_memories_per_component_set(
            pool, s.max_memories_per_component
        )
        ffi.wasmtime_pooling_allocation_config_max_tables_per_component_set(
            pool, s.max_tables_per_component
        )
        ffi.wasmtime_pooling_allocation_config_table_elements_set(pool, s.table_elements)
        ffi.wasmtime_pooling_allocation_config_max_core_instance_size_set(
            pool, s.max_core_instance_size
        )
        ffi.wasmtime_pooling_allocation_config_max_component_instance_size_set(
            pool, s.max_component_instance_size
        )
        ffi.wasmtime_pooling_allocation_config_linear_memory_keep_resident_set(
            pool, s.keep_resident_bytes
        )
        ffi.wasmtime_pooling_allocation_config_table_keep_resident_set(pool, s.keep_resident_bytes)
        ffi.wasmtime_pooling_allocation_config_max_unused_warm_slots_set(
            pool, s.max_unused_warm_slots
        )
        ffi.wasmtime_pooling_allocation_strategy_set(config.ptr(), pool)
    finally:
        ffi.wasmtime_pooling_allocation_config_delete(pool)


def build_engine(settings: EngineSettings, released_when_idle: bool = True) -> wasmtime.Engine:
    """A new engine with `settings`; most callers want `shared_engine()`. `released_when_idle`:
    what its pool keeps resident is handed back when the process is quiet
    (`wasmesh.engine.resident`); only for an engine built before serving starts, whose pool
    mappings are told apart from what other threads map at the same time.

    Pooling and its limits change no compiled code: an artifact compiled by one engine loads
    into another with the same `cache_tag`."""
    config = wasmtime.Config()
    config.wasm_component_model = True
    config.epoch_interruption = True
    config.consume_fuel = settings.fuel
    config.cranelift_opt_level = "speed"
    limits = (settings.pool or pool_for_new_engine()) if settings.pooling else None
    if limits is not None:
        _pooling_strategy(config, settings, limits)
    kept = limits is not None and settings.keep_resident_bytes > 0 and released_when_idle
    before = mappings() if kept else set()
    engine = wasmtime.Engine(config)
    if limits is not None:
        POOLS[id(engine)] = limits
    if kept:  # what its freed slots keep resident is handed back when the process is quiet
        RELEASE.watch(engine, before)
    return engine


POOLS: dict[int, PoolLimits] = {}
"""The pool each pooled engine was built with, by `id(engine)`."""

_ENGINES: dict[tuple[bool, bool, int | None], wasmtime.Engine] = {}
_LOCK = threading.Lock()
_DEFAULTS = EngineSettings()

SERVING_KEEP_RESIDENT = 16 << 20
"""Under concurrent load, page faults and cross-core TLB shootdowns were most of a fresh HTTP
instance's cost (Python echo 300 -> 430 req/s with this); 16 MiB is the smallest that removed
every fault for a componentize-py instance. The default: a server sizes it per component
(`wasmesh.engine.footprint`, `wasmesh.triggers.http.instances`)."""


def tune_for_serving(fresh_instances: bool = True, idle_timeout: float = 30.0) -> None:
    """Configure the process's engines for a server that makes a fresh instance per request
    (`fresh_instances`): freed slots keep `SERVING_KEEP_RESIDENT` bytes resident, and once no
    instance has been live for `idle_timeout` seconds the pools' pages are handed back
    (`wasmesh.engine.resident`). A server keeping warm instances, or holding many apps, should
    not (`fresh_instances=False`: no change).

    Takes effect only before the first engine is built; a process that already runs
    components keeps its engine.
    """
    global _DEFAULTS
    if not fresh_instances:
        return
    with _LOCK:
        if not _ENGINES:
            _DEFAULTS = replace(_DEFAULTS, keep_resident_bytes=SERVING_KEEP_RESIDENT)
            RELEASE.enable(idle_timeout)


def shared_engine(
    fuel: bool = False, pooled: bool = True, keep_resident: int | None = None
) -> wasmtime.Engine:
    """The process-wide engine (one per fuel setting), its epoch ticking in the background.

    `pooled=False` is its twin allocating every instance on demand (same compiled code), which
    serves instances when the pool is full; `keep_resident` (bytes) a pooled twin whose freed
    slots keep that much resident instead of the default (components sized by
    `wasmesh.engine.footprint`). Twins are built on first use."""
    if not pooled or keep_resident == _DEFAULTS.keep_resident_bytes:
        keep_resident = None
    key = (fuel, pooled, keep_resident)
    engine = _ENGINES.get(key)
    if engine is not None:
        return engine
    with _LOCK:
        engine = _ENGINES.get(key)
        if engine is None:
            settings = replace(_DEFAULTS, fuel=fuel, pooling=pooled)
            if keep_resident is not None:
                settings = replace(settings, keep_resident_bytes=keep_resident)
            # A sized twin is built while serving: a malloc arena another thread maps beside
            # its pool at that moment would be taken for the pool and released with it.
            engine = build_engine(settings, released_when_idle=keep_resident is None)
            _start_ticker(engine)
            _ENGINES[key] = engine
    return engine


def engines_built() -> bool:
    """Whether this process has built an engine (after which it must not fork workers)."""
    return bool(_ENGINES)


def pool_of(engine: wasmtime.Engine) -> PoolLimits | None:
    """The pool `engine` allocates from (None: it allocates on demand)."""
    return POOLS.get(id(engine))


def is_fuel_engine(engine: wasmtime.Engine) -> bool:
    """Whether `engine` is a shared engine that counts fuel."""
    return any(e is engine for (fuel, _, _), e in _ENGINES.items() if fuel)


def serving_keep_resident() -> int:
    """Bytes a freed pool slot keeps resident by default (0 unless `tune_for_serving`)."""
    return _DEFAULTS.keep_resident_bytes


def settings_for(fuel: bool) -> EngineSettings:
    return EngineSettings(fuel=fuel)


def _start_ticker(engine: wasmtime.Engine) -> None:
    from wasmesh.engine.ticker import start_ticker

    start_ticker(engine, EPOCH_TICK_SECONDS)


def deadline_ticks(seconds: float) -> int:
    """Epoch ticks that cover `seconds` (at least one)."""
    return max(1, round(seconds / EPOCH_TICK_SECONDS))
