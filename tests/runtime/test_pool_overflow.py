"""A full instance pool: instances are allocated on demand, with a warning, never refused."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import pytest
import wasmtime
from wasmtime import component as wc

from wasmesh.engine.config import EngineSettings, build_engine, pool_of, shared_engine
from wasmesh.engine.loader import LoadedComponent, load_component
from wasmesh.engine.pool import PoolLimits
from wasmesh.runtime.exports import resolve_export
from wasmesh.runtime.instance import Runner


@pytest.fixture(scope="module")
def small_pool_calc(guest: Callable[[str], Path]) -> LoadedComponent:
    """The C calc component in an engine whose pool holds two instances."""
    shared = load_component(guest("calc-c"))
    engine = build_engine(EngineSettings(pool=PoolLimits.for_instances(2)))
    component = wc.Component.deserialize(engine, shared.component.serialize())
    return LoadedComponent(component, shared.digest, engine, shared.path)


def test_a_full_pool_allocates_on_demand_with_a_warning(
    small_pool_calc: LoadedComponent, caplog: pytest.LogCaptureFixture
) -> None:
    assert pool_of(small_pool_calc.engine) == PoolLimits.for_instances(2)
    runner = Runner(small_pool_calc, program="calc")  # as a unit or a served component is named
    add = resolve_export(small_pool_calc.world, "add")
    with caplog.at_level(logging.WARNING, logger="wasmesh.engine"):
        live = [runner.instantiate() for _ in range(2)]
        assert not caplog.records
        live += [runner.instantiate() for _ in range(3)]
    engines = [i.runner.loaded.engine for i in live]
    assert engines[:2] == [small_pool_calc.engine] * 2
    assert engines[2:] == [shared_engine(pooled=False)] * 3
    assert [i.call(add, [n, 1]) for n, i in enumerate(live)] == [1, 2, 3, 4, 5]
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 1  # once, not once per instance
    assert "instance pool is full" in warnings[0]
    assert "maximum concurrent limit of 2 for component instances" in warnings[0]
    assert "--pool-instances" in warnings[0]
    assert "instances of calc are allocated on demand" in warnings[0]  # not a cache file
    for instance in live:
        instance.close()
    # freed slots serve from the pool again
    again = runner.instantiate()
    assert again.runner is runner
    assert again.call(add, [40, 2]) == 42
    again.close()


def test_an_on_demand_instance_keeps_the_policy(small_pool_calc: LoadedComponent) -> None:
    from wasmesh.policy import Limits, Policy

    runner = Runner(small_pool_calc, Policy(limits=Limits(memory_bytes=2 << 20)))
    live = [runner.instantiate() for _ in range(3)]
    try:
        twin = live[2].runner
        assert twin is not runner
        assert twin.policy == runner.policy
        assert isinstance(live[2].store, wasmtime.Store)
        greet = resolve_export(small_pool_calc.world, "greet")
        assert live[2].call(greet, ["pool"]) == "Hello, pool!"
    finally:
        for instance in live:
            instance.close()
