"""The cost of crossing a boundary between two components, fused into one unit or linked
through the host (two units, one process), measured on this machine.

A composed call is a wasm-to-wasm call (nanoseconds, plus copying its payload between linear
memories); a host-linked call leaves the guest for a host function that calls the other unit
(microseconds); a request takes micro- to milliseconds, so no request-level measurement
resolves either. Both are measured as `bench/calls.py` does: a caller component loops `n`
times in wasm over an imported `add(u32, u32) -> u32` that a provider component exports; the
figure per call is (t(2n) - t(n)) / n, so entering the guest from Python cancels out.
"""

from __future__ import annotations

import hashlib
import time

from wasmesh.compose._tools import run_wasm_tools, write_atomically
from wasmesh.engine.cache import cache_dir
from wasmesh.observe.stats import Figure
from wasmesh.runtime.app import App

RUN = "wasmesh:probe/run@0.1.0#loop"

LOOP = """
    (func (export "loop") (param $n i32) (result i32)
      (local $acc i32)
      (block $done
        (loop $next
          local.get $n i32.eqz br_if $done
          local.get $acc local.get $n call $add local.set $acc
          local.get $n i32.const 1 i32.sub local.set $n
          br $next))
      local.get $acc)"""

CALLER = f"""(component
  (import "wasmesh:probe/math@0.1.0" (instance $math
    (export "add" (func (param "a" u32) (param "b" u32) (result u32)))))
  (core func $add (canon lower (func $math "add")))
  (core module $m
    (import "math" "add" (func $add (param i32 i32) (result i32))){LOOP})
  (core instance $i (instantiate $m (with "math" (instance (export "add" (func $add))))))
  (func $loop (param "n" u32) (result u32) (canon lift (core func $i "loop")))
  (instance $run (export "loop" (func $loop)))
  (export "wasmesh:probe/run@0.1.0" (instance $run))
)"""

PROVIDER = """(component
  (core module $m (func (export "add") (param i32 i32) (result i32)
    local.get 0 local.get 1 i32.add local.get 0 i32.xor))
  (core instance $i (instantiate $m))
  (func $add (param "a" u32) (param "b" u32) (result u32) (canon lift (core func $i "add")))
  (instance $math (export "add" (func $add)))
  (export "wasmesh:probe/math@0.1.0" (instance $math))
)"""


def fused_call(n: int = 1_000_000, repeat: int = 7) -> Figure:
    """Seconds per composed call: the median and spread of `repeat` runs of (t(2n)-t(n))/n."""
    return _per_call("monolith", n, repeat)


def host_linked_call(n: int = 2_000, repeat: int = 7) -> Figure:
    """Seconds per call through the host, caller and provider in units of their own in one
    process (`strategy = "per-component"`): the median and spread of `repeat` runs of
    (t(2n)-t(n))/n (a run the machine's load made negative counts as 0)."""
    return _per_call("per-component", n, repeat)


def _per_call(strategy: str, n: int, repeat: int) -> Figure:
    app = App.load(_probe_app(), strategy=strategy)
    try:
        app.call(RUN, 1)  # instantiate
        samples = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            app.call(RUN, n)
            t1 = time.perf_counter()
            app.call(RUN, 2 * n)
            t2 = time.perf_counter()
            samples.append(max(0.0, ((t2 - t1) - (t1 - t0)) / n))
        return Figure.of(samples)
    finally:
        app.close()


def _probe_app() -> str:
    """The probe's app directory (built once into the cache)."""
    key = hashlib.sha256((CALLER + PROVIDER).encode()).hexdigest()[:16]
    root = cache_dir() / "plan-probe" / key
    manifest = root / "wasmesh.toml"
    if not manifest.exists():
        for name, text in (("caller", CALLER), ("math", PROVIDER)):
            wat = root / f"{name}.wat"
            write_atomically(wat, text.encode())
            out = root / f"{name}.wasm"
            run_wasm_tools(["parse", wat, "-o", out], f"building the {name} probe")
        write_atomically(
            manifest,
            b'[app]\nname = "probe"\n\n[components.caller]\nsource = "caller.wasm"\n\n'
            b'[components.math]\nsource = "math.wasm"\n',
        )
    return str(root)
