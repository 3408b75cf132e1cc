"""Sizing the pooling allocator from the host's address space and memory, and overrides."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.cli import wasmesh_process
from wasmesh.engine import pool
from wasmesh.engine.pool import (
    MEMORY_SLOT_BYTES,
    MIN_INSTANCE_BYTES,
    POOL_ENV,
    PoolLimits,
    configure_pool,
    host_pool,
    pool_for_new_engine,
    requested_instances,
)
from wasmesh.errors import WasmeshError

TiB = 1 << 40
GiB = 1 << 30


@pytest.fixture(autouse=True)
def no_override(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv(POOL_ENV, raising=False)
    configure_pool(None)
    yield
    configure_pool(None)


def test_a_64_bit_host_pools_over_ten_thousand_instances() -> None:
    limits = host_pool(128 * TiB, 24 * GiB)
    assert limits is not None
    assert limits.instances > 15_000
    assert limits.address_space <= 64 * TiB  # half of what is free, the rest for the others
    assert limits.core_instances == 16 * limits.instances  # componentize-py needs 14
    assert limits.memories == limits.instances
    assert limits.tables == 2 * limits.instances


def test_the_pool_shrinks_with_the_address_space_left() -> None:
    first = host_pool(128 * TiB, 24 * GiB)
    assert first is not None
    second = host_pool(128 * TiB - first.address_space, 24 * GiB)
    assert second is not None
    assert second.instances == pytest.approx(first.instances / 2, rel=0.01)
    small = host_pool(40 * GiB, 24 * GiB)  # no floor: what does not fit is made on demand
    assert small is not None and small.address_space <= 20 * GiB
    assert host_pool(8 * GiB, 24 * GiB) is None  # not even one slot: no pool at all


def test_a_small_memory_bounds_the_pool() -> None:
    limits = host_pool(128 * TiB, 128 << 20)
    assert limits is not None and limits.instances == (128 << 20) // MIN_INSTANCE_BYTES


def test_the_pool_of_a_new_engine_follows_the_host() -> None:
    limits = pool_for_new_engine()
    assert limits is not None
    assert limits.memories * MEMORY_SLOT_BYTES <= pool.address_space_free()


def test_the_size_can_be_set_by_api_or_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(POOL_ENV, "300")
    assert pool_for_new_engine() == PoolLimits.for_instances(300)
    configure_pool(20)  # the API (and the CLI's --pool-instances) wins
    assert requested_instances() == 20
    configure_pool(0)
    assert pool_for_new_engine() is None  # no pool: every instance on demand


def test_a_bad_size_is_one_sentence(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(POOL_ENV, "lots")
    with pytest.raises(WasmeshError, match=r"WASMESH_POOL_INSTANCES must be a number"):
        requested_instances()
    with pytest.raises(WasmeshError, match="0 or more"):
        configure_pool(-1)
    with pytest.raises(WasmeshError, match="0 or more"):
        configure_pool("abc")  # type: ignore[arg-type]


def test_the_cli_refuses_a_bad_pool_size(guest: Callable[[str], Path]) -> None:
    env = {**os.environ, POOL_ENV: "-3"}
    out = wasmesh_process("invoke", guest("calc-c"), "add", "1", "2", env=env)
    assert out.code == 2, out.err
    assert "WASMESH_POOL_INSTANCES must be a number" in out.err
    assert "Traceback" not in out.err


def test_without_a_pool_every_instance_is_made_on_demand(guest: Callable[[str], Path]) -> None:
    env = {**os.environ, POOL_ENV: "0"}
    out = wasmesh_process("invoke", guest("calc-c"), "add", "1", "2", env=env)
    assert (out.code, out.out.strip()) == (0, "3"), out.err


def test_a_pool_larger_than_the_address_space_is_one_sentence() -> None:
    import pytest

    from wasmesh.engine.pool import configure_pool
    from wasmesh.errors import WasmeshError

    with pytest.raises(WasmeshError, match=r"needs .* TiB of address space") as info:
        configure_pool(100_000_000)
    assert "\n" not in str(info.value)
