"""Host functions receiving several borrowed handles in one call.

`wasi:io/poll.poll` (a list of pollables), `output-stream.splice` (two streams) and
`tcp-socket.start-connect` (a socket and a network) all take more than one borrow. wasmtime-py
50.0.1 traps before such a host function runs ("BUG: deferred host scope has no call context",
crates/wasmtime/src/runtime/vm/component/resources.rs); 49.0.0, the pinned engine, does not.
These tests fail if the pinned engine has the defect, on wasmesh's call path and on
wasmtime-py's own `add_func` alike.
"""

from __future__ import annotations

from typing import Any

import pytest
import wasmtime
import wasmtime.component as wc

from wasmesh.engine.calls import define_func, define_resource
from wasmesh.engine.types import ResourceNames, sig_from_wasmtime

# The guest makes `n` host objects, then hands them back as borrows in one call.
WAT = """
(component
  (import "host" (instance $host
    (export "r" (type $r (sub resource)))
    (export "make" (func (param "n" u32) (result (own $r))))
    (export "one" (func (param "a" (borrow $r)) (result u32)))
    (export "two" (func (param "a" (borrow $r)) (param "b" (borrow $r)) (result u32)))
    (export "many" (func (param "a" (list (borrow $r))) (result u32)))))
  (alias export $host "r" (type $r))
  (core module $mem (memory (export "m") 1))
  (core instance $mi (instantiate $mem))
  (alias core export $mi "m" (core memory $m))
  (core func $make (canon lower (func $host "make")))
  (core func $one (canon lower (func $host "one")))
  (core func $two (canon lower (func $host "two")))
  (core func $many (canon lower (func $host "many") (memory $m)))
  (core module $main
    (import "h" "m" (memory 1))
    (import "h" "make" (func $make (param i32) (result i32)))
    (import "h" "one" (func $one (param i32) (result i32)))
    (import "h" "two" (func $two (param i32 i32) (result i32)))
    (import "h" "many" (func $many (param i32 i32) (result i32)))
    (func (export "one") (result i32) (call $one (call $make (i32.const 1))))
    (func (export "two") (result i32)
      (call $two (call $make (i32.const 1)) (call $make (i32.const 2))))
    (func (export "many") (param $n i32) (result i32) (local $i i32)
      (block $done (loop $l
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (i32.store (i32.shl (local.get $i) (i32.const 2))
                   (call $make (i32.add (local.get $i) (i32.const 1))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $l)))
      (call $many (i32.const 0) (local.get $n))))
  (core instance $i (instantiate $main (with "h" (instance
     (export "m" (memory $m)) (export "make" (func $make)) (export "one" (func $one))
     (export "two" (func $two)) (export "many" (func $many))))))
  (func (export "one") (result u32) (canon lift (core func $i "one")))
  (func (export "two") (result u32) (canon lift (core func $i "two")))
  (func (export "many") (param "n" u32) (result u32) (canon lift (core func $i "many"))))
"""


class Thing:
    def __init__(self, n: int) -> None:
        self.n = n


@pytest.fixture(scope="module")
def component(engine: wasmtime.Engine) -> wc.Component:
    return wc.Component(engine, WAT)


def _wasmesh_linker(engine: wasmtime.Engine, component: wc.Component) -> wc.Linker:
    host = component.type.imports(engine)["host"].ty
    assert isinstance(host, wc.ComponentInstanceType)
    items: dict[str, Any] = dict(host.exports(engine))
    names = ResourceNames()
    names.add(items["r"].ty, "r")
    linker = wc.Linker(engine)
    with linker.root() as root, root.add_instance("host") as inst:
        things = define_resource(inst, "r")
        scope = {"r": things}

        def sig(name: str) -> Any:
            return sig_from_wasmtime(items[name].ty, names)

        define_func(inst, "make", sig("make"), Thing, resources=scope)
        define_func(inst, "one", sig("one"), lambda a: a.n, resources=scope)
        define_func(inst, "two", sig("two"), lambda a, b: a.n * 10 + b.n, resources=scope)
        define_func(inst, "many", sig("many"), lambda xs: sum(x.n for x in xs), resources=scope)
    return linker


def _plain_linker(engine: wasmtime.Engine) -> wc.Linker:
    linker = wc.Linker(engine)
    with linker.root() as root, root.add_instance("host") as inst:
        inst.add_resource("r", wc.ResourceType.host(0x7E57), lambda store, rep: None)
        inst.add_func("make", lambda store, n: wc.ResourceHost.own(n, 0x7E57))

        def rep(store: Any, h: wc.ResourceAny) -> int:
            return int(h.to_host(store).rep)

        inst.add_func("one", lambda store, a: rep(store, a))
        inst.add_func("two", lambda store, a, b: rep(store, a) * 10 + rep(store, b))
        inst.add_func("many", lambda store, xs: sum(rep(store, x) for x in xs))
    return linker


@pytest.mark.parametrize("path", ["wasmesh", "wasmtime-py"])
def test_one_two_and_a_list_of_borrows(
    engine: wasmtime.Engine, component: wc.Component, path: str
) -> None:
    linker = _wasmesh_linker(engine, component) if path == "wasmesh" else _plain_linker(engine)
    calls: list[tuple[str, list[int], int]] = [
        ("one", [], 1), ("two", [], 12), ("many", [1], 1), ("many", [2], 3), ("many", [5], 15),
    ]  # fmt: skip
    for name, args, expected in calls:
        store = wasmtime.Store(engine)
        instance = linker.instantiate(store, component)
        func = instance.get_func(store, name)
        assert func is not None
        assert func(store, *args) == expected, (name, args)
