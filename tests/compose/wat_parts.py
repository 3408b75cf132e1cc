"""Small components in WebAssembly text: providers and consumers of one `add`-like function.

`provider("t:x/calc@1.0.0")` exports an interface whose `add(a, b)` returns `a + b + bias`;
`consumer("app", ["t:x/calc@1.0.0"])` imports interfaces and exports `app:c/run@0.1.0` with
`twice(x)` = `add(x, x)` through its first import.
"""

from __future__ import annotations

from pathlib import Path

from tests.support.wat import wat_component


def provider(interface: str, *, param: str = "u32", bias: int = 0, imports: str = "") -> Path:
    """A component exporting `interface` with `add: func(a: P, b: P) -> P`."""
    core = "i64" if param in ("u64", "s64") else "i32"
    return wat_component(f"""
(component
  {imports}
  (core module $m
    (func (export "add") (param {core} {core}) (result {core})
      local.get 0 local.get 1 {core}.add {core}.const {bias} {core}.add))
  (core instance $i (instantiate $m))
  (func $add (param "a" {param}) (param "b" {param}) (result {param})
    (canon lift (core func $i "add")))
  (instance $calc (export "add" (func $add)))
  (export "{interface}" (instance $calc))
)""")


def consumer(exported: str, imported: str, *, param: str = "u32") -> Path:
    """A component importing `imported` (with `add`) and exporting `exported` with `twice`."""
    return wat_component(f"""
(component
  (import "{imported}" (instance $calc
    (export "add" (func (param "a" {param}) (param "b" {param}) (result {param})))))
  (core func $add (canon lower (func $calc "add")))
  (core module $m
    (import "calc" "add" (func $add (param i32 i32) (result i32)))
    (func (export "twice") (param i32) (result i32) local.get 0 local.get 0 call $add))
  (core instance $i (instantiate $m (with "calc" (instance (export "add" (func $add))))))
  (func $twice (param "x" u32) (result u32) (canon lift (core func $i "twice")))
  (instance $run (export "twice" (func $twice)))
  (export "{exported}" (instance $run))
)""")


def both(exported: str, imported: str) -> Path:
    """A component exporting `exported` (with `add`) and importing `imported` (with `add`)."""
    importer = f"""(import "{imported}" (instance $dep
    (export "add" (func (param "a" u32) (param "b" u32) (result u32)))))"""
    return provider(exported, imports=importer)
