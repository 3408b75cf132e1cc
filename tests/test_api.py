"""The Python API: `wasmesh.load` and exports as callables, on real guests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

import wasmesh
from tests.support.wat import wat_component
from wasmesh.api import Function, Interface
from wasmesh.errors import ExportNotFound, GuestTimeout, GuestTrap, WitValueError

Guest = Callable[[str], Path]


def interface(component: wasmesh.Component, name: str) -> Interface:
    """The exported interface `name` of `component`."""
    found = component.exports[name]
    assert isinstance(found, Interface), found
    return found

FLAKY = """
(component
  (core module $m
    (global $n (mut i32) (i32.const 0))
    (func (export "bump") (result i32)
      (global.set $n (i32.add (global.get $n) (i32.const 1)))
      (if (i32.eq (global.get $n) (i32.const 3)) (then unreachable))
      (global.get $n))
    (func (export "spin") (loop br 0)))
  (core instance $i (instantiate $m))
  (func (export "bump") (result u32) (canon lift (core func $i "bump")))
  (func (export "spin") (canon lift (core func $i "spin"))))
"""


def test_exports_are_callables(guest: Guest) -> None:
    calc = wasmesh.load(guest("calc-c"))
    math = interface(calc, "demo:calc/math")
    assert math.add(1, 2) == 3
    assert math["mul-u64"](2**40, 3) == 3 * 2**40
    assert math.mul_u64(5, 6) == 30
    assert math.greet("wasm") == "Hello, wasm!"
    assert math.checksum(b"abc") == 38600999
    version = calc.exports["version"]
    assert isinstance(version, Function) and version() == "calc 0.1.0"
    assert calc.call("demo:calc/math@0.1.0#div", 1.0, 4.0) == 0.25
    assert calc.call("math#add", 2, 2) == 4


def test_bad_arguments_are_clear(guest: Guest) -> None:
    math = interface(wasmesh.load(guest("calc-c")), "demo:calc/math")
    with pytest.raises(WitValueError, match="takes 2 arguments"):
        math.add(1)
    with pytest.raises(WitValueError, match="out of range for s32"):
        math.add(1, 2**31)
    with pytest.raises(WitValueError):
        math.greet(5)
    with pytest.raises(ExportNotFound, match="no function `sub`"):
        math.sub(1, 2)


def test_instance_state_persists_and_a_trap_resets_it() -> None:
    comp = wasmesh.load(wat_component(FLAKY))
    assert [comp.call("bump"), comp.call("bump")] == [1, 2]
    with pytest.raises(GuestTrap):
        comp.call("bump")
    assert comp.call("bump") == 1  # a fresh instance after the failure


def test_timeout_then_usable() -> None:
    comp = wasmesh.load(wat_component(FLAKY), limits=wasmesh.Limits(timeout=0.1))
    with pytest.raises(GuestTimeout):
        comp.call("spin")
    assert comp.call("bump") == 1


def test_resources_live_across_calls(guest: Guest) -> None:
    kinds = wasmesh.load(guest("kinds-py"))
    rt = interface(kinds, "demo:kinds/roundtrip")
    counter = rt["[constructor]counter"](5)
    assert rt["[method]counter.incr"](counter, 3) == 8
    assert rt.peek(counter) == 8  # borrowed, still ours
    zero = rt["[static]counter.zero"]()
    assert rt["[method]counter.get"](zero) == 0


def test_every_kind_through_the_api(guest: Guest) -> None:
    rt = interface(wasmesh.load(guest("kinds-py")), "demo:kinds/roundtrip")
    shape = wasmesh.Record(name="s", origin={"x": 1, "y": 2}, tags=["t"], label=None)
    assert rt.echo_shape(shape) == shape
    assert rt.echo_shape(shape).origin.x == 1
    assert rt.echo_event(wasmesh.Variant("key", "k")) == wasmesh.Variant("key", "k")
    assert rt.echo_event("none") == wasmesh.Variant("none")
    assert rt.echo_perms({"read", "exec"}) == frozenset({"read", "exec"})
    assert rt.echo_nested_option(wasmesh.Some(None)) == wasmesh.Some(None)
    assert rt.echo_nested_option(None) is None
    assert rt.lookup("root") == wasmesh.Err("denied")
    assert rt.check(False) == wasmesh.Ok(None)
    assert rt.echo_bytes(bytearray(b"\x00\xff")) == b"\x00\xff"
    assert rt.echo_tuple((1, "a")) == (1, "a")
    assert rt.echo_char("é") == "é"


HOSTED = """
(component
  (import "demo:math/host@0.1.0" (instance $host
    (export "double" (func (param "x" u32) (result u32)))))
  (alias export $host "double" (func $double))
  (core func $double_lowered (canon lower (func $double)))
  (core module $m
    (import "host" "double" (func $d (param i32) (result i32)))
    (func (export "quad") (param i32) (result i32)
      (call $d (call $d (local.get 0)))))
  (core instance $h (export "double" (func $double_lowered)))
  (core instance $i (instantiate $m (with "host" (instance $h))))
  (func (export "quad") (param "x" u32) (result u32) (canon lift (core func $i "quad"))))
"""


class Doubler:
    def __init__(self) -> None:
        self.calls = 0

    def double(self, x: int) -> int:
        self.calls += 1
        return 2 * x


def test_a_python_class_implements_an_import() -> None:
    host = Doubler()
    comp = wasmesh.load(wat_component(HOSTED), hosts={"demo:math/host": host})
    assert comp.call("quad", 5) == 20
    assert host.calls == 2


@pytest.mark.parametrize(
    "key", ["demo:math/host@0.1.0", "demo:math/host@0.1.9", "demo:math/host", "host"]
)
def test_a_hosts_key_is_matched_by_the_one_interface_rule(key: str) -> None:
    """Exact, semver-compatible, without version, without package: one rule everywhere."""
    comp = wasmesh.load(wat_component(HOSTED), hosts={key: Doubler()})
    assert comp.call("quad", 1) == 4


@pytest.mark.parametrize("key", ["demo:math/host@0.2.0", "demo:other/host", "double"])
def test_a_hosts_key_for_another_interface_is_refused(key: str) -> None:
    with pytest.raises(wasmesh.WasmeshError, match=r"demo:math/host@0\.1\.0"):
        wasmesh.load(wat_component(HOSTED), hosts={key: Doubler()})


def test_a_missing_host_is_a_link_error() -> None:
    with pytest.raises(wasmesh.WasmeshError, match=r"demo:math/host@0\.1\.0"):
        wasmesh.load(wat_component(HOSTED))
