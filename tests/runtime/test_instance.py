"""Instances under limits: deadlines, memory limits, fuel, traps, unsatisfied imports."""

from __future__ import annotations

import pytest

from tests.support.wat import wat_component
from wasmesh.engine.loader import load_component
from wasmesh.errors import GuestOutOfMemory, GuestTimeout, GuestTrap, LinkError
from wasmesh.policy import Limits, Policy, parse_size
from wasmesh.runtime.exports import resolve_export
from wasmesh.runtime.instance import Instance, Runner

GUEST = """
(component
  (core module $m
    (memory 1)
    (func (export "spin") (loop br 0))
    (func (export "boom") unreachable)
    (func (export "grow") (result i32)
      (loop $again
        (br_if $again (i32.ne (memory.grow (i32.const 16)) (i32.const -1))))
      (memory.size))
    (func (export "one") (result i32) i32.const 1))
  (core instance $i (instantiate $m))
  (func (export "spin") (canon lift (core func $i "spin")))
  (func (export "boom") (canon lift (core func $i "boom")))
  (func (export "grow") (result u32) (canon lift (core func $i "grow")))
  (func (export "one") (result u32) (canon lift (core func $i "one"))))
"""

IMPORTS_UNKNOWN = """
(component
  (import "demo:log/sink@0.1.0" (instance $sink (export "write" (func (param "msg" string)))))
)
"""


def call(instance: Instance, name: str, timeout: float | None = None) -> object:
    target = resolve_export(instance.runner.loaded.world, name)
    return instance.call(target, (), timeout)


def test_infinite_loop_is_stopped_by_the_deadline() -> None:
    runner = Runner(load_component(wat_component(GUEST)), Policy(limits=Limits(timeout=0.2)))
    instance = runner.instantiate()
    with pytest.raises(GuestTimeout, match="time limit"):
        call(instance, "spin")
    # The runner stays usable: a new instance answers.
    assert call(runner.instantiate(), "one") == 1


def test_trap_carries_backtrace() -> None:
    instance = Runner(load_component(wat_component(GUEST))).instantiate()
    with pytest.raises(GuestTrap, match="unreachable") as info:
        call(instance, "boom")
    assert "wasm function" in info.value.backtrace


def test_memory_growth_stops_at_the_limit() -> None:
    limit = parse_size("4MiB")
    runner = Runner(load_component(wat_component(GUEST)), Policy(limits=Limits(memory_bytes=limit)))
    pages = call(runner.instantiate(), "grow")
    assert isinstance(pages, int)
    assert pages * 65536 <= limit
    roomy = Policy(limits=Limits(memory_bytes=1 << 27))
    unlimited = Runner(load_component(wat_component(GUEST)), roomy)
    assert call(unlimited.instantiate(), "grow") * 65536 > limit  # type: ignore[operator]


def test_memory_limit_below_initial_memory_fails_cleanly() -> None:
    runner = Runner(load_component(wat_component(GUEST)), Policy(limits=Limits(memory_bytes=1000)))
    with pytest.raises(GuestOutOfMemory):
        runner.instantiate()


def test_fuel_stops_a_loop() -> None:
    loaded = load_component(wat_component(GUEST), fuel=True)
    runner = Runner(loaded, Policy(limits=Limits(fuel=100_000)))
    with pytest.raises(GuestTimeout, match="fuel"):
        call(runner.instantiate(), "spin")


def test_fuel_is_a_budget_per_call() -> None:
    loaded = load_component(wat_component(GUEST), fuel=True)
    instance = Runner(loaded, Policy(limits=Limits(fuel=1_000))).instantiate()
    for _ in range(50):  # far more than 1,000 units of fuel in all, each call well under it
        assert call(instance, "one") == 1


def test_a_call_deadline_shorter_than_the_policy_wins() -> None:
    runner = Runner(load_component(wat_component(GUEST)), Policy(limits=Limits(timeout=30)))
    with pytest.raises(GuestTimeout, match="time limit"):
        call(runner.instantiate(), "spin", timeout=0.2)


def test_unsatisfied_import_names_it_and_the_fix() -> None:
    with pytest.raises(LinkError, match=r"imports `demo:log/sink@0\.1\.0`, which nothing provides"):
        Runner(load_component(wat_component(IMPORTS_UNKNOWN)))


SPINS_AT_START = """
(component
  (core module $m
    (func $spin (loop br 0))
    (start $spin))
  (core instance $i (instantiate $m)))
"""

COUNTER = """
(component
  (core module $m
    (global $n (mut i32) (i32.const 0))
    (func (export "bump") (result i32)
      (global.set $n (i32.add (global.get $n) (i32.const 1)))
      (global.get $n)))
  (core instance $i (instantiate $m))
  (func (export "bump") (result u32) (canon lift (core func $i "bump"))))
"""


def test_a_start_function_runs_under_the_policy_deadline() -> None:
    runner = Runner(
        load_component(wat_component(SPINS_AT_START)), Policy(limits=Limits(timeout=0.2))
    )
    with pytest.raises(GuestTimeout, match="time limit"):
        runner.instantiate()


def test_a_start_function_runs_under_the_given_deadline() -> None:
    runner = Runner(load_component(wat_component(SPINS_AT_START)))  # no policy timeout
    with pytest.raises(GuestTimeout, match="time limit"):
        runner.instantiate(timeout=0.2)


def test_a_start_function_runs_under_the_fuel_limit() -> None:
    loaded = load_component(wat_component(SPINS_AT_START), fuel=True)
    with pytest.raises(GuestTimeout, match="fuel"):
        Runner(loaded, Policy(limits=Limits(fuel=100_000))).instantiate()


def test_fresh_instances_share_export_lookups_but_no_state() -> None:
    runner = Runner(load_component(wat_component(COUNTER)))
    kept = runner.instantiate()
    assert [call(kept, "bump") for _ in range(3)] == [1, 2, 3]
    for _ in range(20):  # a fresh instance per call, each closed after it, as a lattice unit does
        instance = runner.instantiate()
        try:
            assert call(instance, "bump") == 1
        finally:
            instance.close()
    assert call(kept, "bump") == 4
