"""A unit with several entries: a *shell* component that re-exports each entry's interfaces.

`wasm-compose` exports what its root component exports, so a unit whose members are not all
reached from one component (two HTTP handlers, a handler and a consumer) gets a generated
root: it imports every exported interface of the entries and exports it again, each function
forwarding its core arguments to the import. Both sides use the same canonical ABI layout in
the shell's memory, so forwarding is one core call; strings and lists are copied into the
shell and out again. Handles of imported resources (e.g. `wasi:http` requests) forward as
they are; interfaces defining their own resources cannot be re-exported and are refused.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from wasmesh.compose._tools import component_from_wat, run_wasm_tools
from wasmesh.compose.flat import core_signatures
from wasmesh.engine.world import InterfaceItem, World
from wasmesh.errors import LinkError
from wasmesh.names import InterfaceName

_RETAREA = 16
_RETAREA_SIZE = 4096
_HEAP = _RETAREA + _RETAREA_SIZE

_PACKAGE = re.compile(r"^package (\S+) \{$")
_INTERFACE = re.compile(r"^  interface (\S+) \{$")
_USE = re.compile(r"^\s+use ([^.{\s]+(?:@[^.{\s]+(?:\.[^.{\s]+)*)?)\.\{")


@dataclass(frozen=True)
class Shell:
    path: Path
    # import name of the shell → the entry whose export of the same name serves it
    imports: tuple[tuple[str, str], ...]


def exported_interfaces(world: World) -> list[InterfaceItem]:
    """The exports a shell can carry: named interfaces (`pkg:ns/iface`) of functions only."""
    return [e for e in world.exports if isinstance(e, InterfaceItem) and ":" in e.name]


def build_shell(entries: Sequence[tuple[str, Path, World]], cache: Path) -> Shell:
    """The shell re-exporting the interfaces of `entries` (name, component file, world)."""
    exports: list[tuple[str, InterfaceItem]] = []
    texts: dict[tuple[str, str], str] = {}
    for name, path, world in entries:
        bare = [e.name for e in world.exports if not isinstance(e, InterfaceItem)]
        if bare:
            raise LinkError(
                f"`{name}` exports the function `{bare[0]}` outside any interface, which a unit "
                "with several entries cannot re-export; give it a unit of its own"
            )
        printed = dict(_interfaces(run_wasm_tools(["component", "wit", path], "reading a world")))
        for item in exported_interfaces(world):
            block = printed.get(_package_of(InterfaceName.parse(item.name)), "")
            # resources `use`d from imports forward as handles; ones defined here cannot
            if re.search(r"^    resource ", block, re.MULTILINE):
                raise LinkError(
                    f"`{name}` exports `{item.name}` with resources of its own, which a unit "
                    "with several entries cannot re-export; give it a unit of its own"
                )
            for other_name, other in exports:
                if item.name == other.name:
                    raise LinkError(
                        f"`{other_name}` and `{name}` both export `{item.name}` from one unit; "
                        'give each a unit of its own (`[deploy]` `strategy = "per-component"`)'
                    )
            exports.append((name, item))
        for key, text in printed.items():
            texts.setdefault(key, text)
    wit = _wit([item.name for _, item in exports], texts)
    wat = _wat([item for _, item in exports])
    out = component_from_wat(wit, wat, "shell", cache / "shells", "a unit shell")
    return Shell(out, tuple((item.name, name) for name, item in exports))


def _interfaces(printed: str) -> list[tuple[tuple[str, str], str]]:
    """((package, interface), text) of every interface in `wasm-tools component wit` output."""
    found: list[tuple[tuple[str, str], str]] = []
    package: str | None = None
    current: list[str] | None = None
    name = ""
    for line in printed.splitlines():
        if (m := _PACKAGE.match(line)) is not None:
            package = m[1]
        elif package is not None and (m := _INTERFACE.match(line)) is not None:
            name, current = m[1], [line]
        elif current is not None:
            current.append(line)
            if line == "  }":
                assert package is not None
                found.append(((package, name), "\n".join(current)))
                current = None
        elif line == "}":
            package = None
    return found


def _package_of(name: InterfaceName) -> tuple[str, str]:
    package, _, interface = name.unversioned.partition("/")
    return (f"{package}@{name.version}" if name.version else package), interface


def _wit(names: list[str], texts: dict[tuple[str, str], str]) -> str:
    """A WIT document whose world `shell` imports and exports each of `names`."""
    wanted: list[tuple[str, str]] = []
    pending = [_package_of(InterfaceName.parse(n)) for n in names]
    while pending:
        key = pending.pop()
        if key in wanted:
            continue
        if key not in texts:
            raise LinkError(f"the WIT of `{key[0]}/{key[1]}` could not be read back; rebuild it")
        wanted.append(key)
        for line in texts[key].splitlines():
            if (m := _USE.match(line)) is not None:
                used = m[1]
                pending.append(_package_of(InterfaceName.parse(used)) if ":" in used
                               else (key[0], used))  # fmt: skip
    world = ["package wasmesh:unit-shell;", "", "world shell {"]
    world += [f"  import {n};\n  export {n};" for n in names]
    world.append("}")
    blocks = []
    for package in dict.fromkeys(p for p, _ in wanted):
        inner = "\n".join(texts[(p, i)] for p, i in wanted if p == package)
        blocks.append(f"package {package} {{\n{inner}\n}}")
    return "\n".join([*world, *blocks]) + "\n"


def _wat(items: list[InterfaceItem]) -> str:
    """Core forwarders: each export calls the import of the same name with its own arguments."""
    imports, funcs = [], []
    for n, item in enumerate(items):
        for m, func in enumerate(item.funcs):
            sigs = core_signatures(func.sig)
            low_params, low_results = sigs.lowered
            params, results = sigs.lifted
            target = f"$f{n}_{m}"
            imports.append(
                f'  (import "{item.name}" "{func.name}" (func {target}'
                f"{_decl('param', low_params)}{_decl('result', low_results)}))"
            )
            args = "".join(f" local.get {i}" for i in range(len(params)))
            spill = f" i32.const {_RETAREA}" if sigs.results_in_memory else ""
            ret = f" i32.const {_RETAREA}" if sigs.results_in_memory else ""
            export = f"{item.name}#{func.name}"
            funcs.append(
                f'  (func (export "{export}"){_decl("param", params)}{_decl("result", results)}'
                f"{args}{spill} call {target}{ret})"
            )
            funcs.append(f'  (func (export "cabi_post_{export}") (param i32) call $reset)'
                         if results else "")  # fmt: skip
    return "\n".join([
        "(module",
        *imports,
        '  (memory (export "memory") 1)',
        f"  (global $top (mut i32) (i32.const {_HEAP}))",
        f"  (func $reset i32.const {_HEAP} global.set $top)",
        _REALLOC,
        *[f for f in funcs if f],
        ")",
    ]) + "\n"  # fmt: skip


def _decl(kind: str, types: Sequence[str]) -> str:
    return f" ({kind} {' '.join(types)})" if types else ""


# A bump allocator: everything a call allocates dies at its post-return.
_REALLOC = """  (func (export "cabi_realloc") (param $old i32) (param $old_size i32)
      (param $align i32) (param $size i32) (result i32)
    (local $p i32) (local $end i32)
    global.get $top local.get $align i32.add i32.const 1 i32.sub
    i32.const 0 local.get $align i32.sub i32.and local.set $p
    local.get $p local.get $size i32.add local.tee $end
    memory.size i32.const 16 i32.shl i32.gt_u
    if
      local.get $end memory.size i32.const 16 i32.shl i32.sub
      i32.const 65535 i32.add i32.const 16 i32.shr_u memory.grow
      i32.const -1 i32.eq if unreachable end
    end
    local.get $end global.set $top
    local.get $old if
      local.get $p local.get $old local.get $old_size local.get $size
      local.get $old_size local.get $size i32.lt_u select memory.copy
    end
    local.get $p)"""
