"""A WAT component that echoes a value of any WIT type, for comparing with `wasmtime run`.

Each `echo<i>` takes `(x: T, pad: tuple<u32 x 16>)` and returns `tuple<T, u32>`. The padding
pushes the parameters past 16 flat values, so the canonical ABI passes them in memory; the
result's layout is a prefix of that memory, so the core function just returns its argument
pointer. One tiny core module thus echoes every type.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.support.wat import wat_component
from wasmesh.engine.types import WitType

WASMTIME = Path(sys.executable).parent / "wasmtime"
PAD = "(" + ", ".join(["0"] * 16) + ")"

_CORE = """
  (core module $m
    (memory (export "mem") 1)
    (global $bump (mut i32) (i32.const 1024))
    (func (export "realloc") (param i32 i32 i32 i32) (result i32)
      (local $p i32)
      (local.set $p (i32.and (i32.sub (i32.add (global.get $bump) (local.get 2)) (i32.const 1))
                             (i32.sub (i32.const 0) (local.get 2))))
      (global.set $bump (i32.add (local.get $p) (local.get 3)))
      (block $done
        (loop $grow
          (br_if $done (i32.le_u (global.get $bump) (i32.mul (memory.size) (i32.const 65536))))
          (drop (memory.grow (i32.const 1)))
          (br $grow)))
      (local.get $p))
    (func (export "id") (param i32) (result i32) (local.get 0)))
  (core instance $i (instantiate $m))
  (type $pad (tuple u32 u32 u32 u32 u32 u32 u32 u32 u32 u32 u32 u32 u32 u32 u32 u32))
"""
_LIFT = (
    '(canon lift (core func $i "id") (memory (core memory $i "mem")) '
    '(realloc (core func $i "realloc")) string-encoding=utf8)'
)


class _Types:
    """WAT type references; nominal types are defined and exported once each."""

    def __init__(self) -> None:
        self.defs: list[str] = []

    def ref(self, ty: WitType) -> str:
        kind = ty.kind
        if ty.element is not None and kind in ("list", "option"):
            return f"({kind} {self.ref(ty.element)})"
        if kind == "tuple":
            return "(tuple " + " ".join(self.ref(t) for t in ty.elements) + ")"
        if kind == "result":
            ok = self.ref(ty.ok) if ty.ok else ""
            err = f"(error {self.ref(ty.err)})" if ty.err else ""
            return f"(result {ok} {err})"
        if kind == "record":
            body = " ".join(f'(field "{n}" {self.ref(t)})' for n, t in ty.fields)
        elif kind == "variant":
            body = " ".join(
                f'(case "{n}" {self.ref(t)})' if t else f'(case "{n}")' for n, t in ty.cases
            )
        elif kind in ("enum", "flags"):
            body = " ".join(f'"{n}"' for n in ty.names)
        else:
            return kind
        index = len(self.defs)
        self.defs.append(f"(type $t{index} ({kind} {body}))")
        self.defs.append(f'(export $e{index} "t{index}" (type $t{index}))')
        return f"$e{index}"


def echo_component(types: list[WitType]) -> Path:
    """A component exporting `echo<i>` for each type; built once, cached by its text."""
    wat_types = _Types()
    funcs = []
    for i, ty in enumerate(types):
        ref = wat_types.ref(ty)
        funcs.append(
            f'(func (export "echo{i}") (param "x" {ref}) (param "pad" $pad) '
            f"(result (tuple {ref} u32)) {_LIFT})"
        )
    wasm = wat_component("(component\n" + _CORE + "\n".join(wat_types.defs + funcs) + ")")
    compiled = wasm.with_suffix(".cwasm")  # compiled once, not on every `wasmtime run`
    if not compiled.exists():
        tmp = compiled.with_suffix(".tmp")
        subprocess.run([str(WASMTIME), "compile", str(wasm), "-o", str(tmp)], check=True)
        tmp.replace(compiled)
    return compiled


def wasmtime_echo(component: Path, index: int, argument: str) -> str:
    """What `wasmtime run --invoke` prints for echo<index>(argument): the WAVE of the value."""
    call = f"echo{index}({argument}, {PAD})"
    proc = subprocess.run(
        [str(WASMTIME), "run", "--allow-precompiled", "--invoke", call, str(component)],
        capture_output=True,
        text=True,
        env={"RUST_BACKTRACE": "0"},
    )
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout.removesuffix("\n")
    assert out.startswith("(") and out.endswith(", 0)"), out
    return out[1 : -len(", 0)")]
