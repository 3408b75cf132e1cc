"""Isolation inside a composed unit: adapters that stand in for the host's WASI.

`wasm-tools compose` merges identical imports of the components it fuses, so two components
importing `wasi:cli/environment` would share one environment: the union of their grants. wasmesh
composes an *isolation adapter* onto each component whose grants differ from what the host
serves the unit: a tiny component exporting `wasi:cli/environment` (the component's own
`env` values baked in, or nothing) and `wasi:filesystem/preopens` (no directories). The
adapter's exports are wired to that component's imports only; its neighbours still reach the
host.

Why adapters and not renamed imports: the runtime serves WASI with wasmtime's native
`add_wasip2()` and one `WasiConfig` per store, which only answers the standard names; an
adapter needs nothing from the host and costs nothing per call (a composed call). Grants that
an adapter cannot stand in for (inherited variables, different directories, stdin, network,
outbound hosts) must be equal for every component of a unit that uses them, or the plan is
refused with the advice to split the unit.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

from wasmesh.compose._tools import component_from_wat
from wasmesh.names import InterfaceName

ENVIRONMENT = "wasi:cli/environment"
PREOPENS = "wasi:filesystem/preopens"

_RETAREA = 16  # where (pointer, length) of the environment list lives
_EMPTY = 8  # eight zero bytes: an empty list, or `none`
_TABLE = 1024  # the (key, value) string pairs of the baked environment


@dataclass(frozen=True)
class AdapterRequest:
    """What one component must see instead of the host: `env` (None: the host's), no dirs."""

    env: tuple[tuple[str, str], ...] | None
    deny_dirs: bool


@dataclass(frozen=True)
class Adapter:
    path: Path
    # import name of the component → export name of the adapter that serves it
    serves: tuple[tuple[str, str], ...]


def build_adapter(imports: tuple[str, ...], request: AdapterRequest, cache: Path) -> Adapter | None:
    """The adapter for a component importing `imports`, or None when nothing needs standing in."""
    env_import = _find(imports, ENVIRONMENT) if request.env is not None else None
    dirs_import = _find(imports, PREOPENS) if request.deny_dirs else None
    if env_import is None and dirs_import is None:
        return None
    wit = _wit(env_import, dirs_import)
    wat = _wat(env_import, dirs_import, request.env or ())
    out = component_from_wat(wit, wat, "adapter", cache / "isolation", "an isolation adapter")
    serves = tuple((name, name) for name in (env_import, dirs_import) if name is not None)
    return Adapter(out, serves)


def _find(imports: tuple[str, ...], unversioned: str) -> str | None:
    return next((i for i in imports if InterfaceName.parse(i).unversioned == unversioned), None)


def _wit(env_import: str | None, dirs_import: str | None) -> str:
    world = ["package wasmesh:isolation;", "", "world adapter {"]
    packages: list[str] = []
    if env_import is not None:
        world.append(f"  export {env_import};")
        version = InterfaceName.parse(env_import).version
        packages.append(
            f"package wasi:cli{'@' + version if version else ''} {{\n"
            "  interface environment {\n"
            "    get-environment: func() -> list<tuple<string, string>>;\n"
            "    get-arguments: func() -> list<string>;\n"
            "    initial-cwd: func() -> option<string>;\n"
            "  }\n}"
        )
    if dirs_import is not None:
        world.append(f"  export {dirs_import};")
        version = InterfaceName.parse(dirs_import).version
        packages.append(
            f"package wasi:filesystem{'@' + version if version else ''} {{\n"
            "  interface types {\n    resource descriptor;\n  }\n"
            "  interface preopens {\n    use types.{descriptor};\n"
            "    get-directories: func() -> list<tuple<descriptor, string>>;\n  }\n}"
        )
    world.append("}")
    return "\n".join([*world, *packages]) + "\n"


def _wat(env_import: str | None, dirs_import: str | None, env: tuple[tuple[str, str], ...]) -> str:
    """A core module answering with constants laid out in its memory (canonical ABI)."""
    table = bytearray()
    strings = bytearray()
    strings_at = _TABLE + 16 * len(env)
    for key, value in env:
        for text in (key, value):
            raw = text.encode()
            table += struct.pack("<II", strings_at + len(strings), len(raw))
            strings += raw
    header = struct.pack("<II", _TABLE, len(env))
    pages = (strings_at + len(strings)) // 65536 + 1
    lines = [
        "(module",
        f'  (memory (export "memory") {pages})',
        f'  (data (i32.const {_RETAREA}) "{_escape(header)}")',
        f'  (data (i32.const {_TABLE}) "{_escape(bytes(table + strings))}")',
    ]
    if env_import is not None:
        lines += [
            f'  (func (export "{env_import}#get-environment") (result i32) i32.const {_RETAREA})',
            f'  (func (export "{env_import}#get-arguments") (result i32) i32.const {_EMPTY})',
            f'  (func (export "{env_import}#initial-cwd") (result i32) i32.const {_EMPTY})',
        ]
    if dirs_import is not None:
        lines.append(
            f'  (func (export "{dirs_import}#get-directories") (result i32) i32.const {_EMPTY})'
        )
    return "\n".join([*lines, ")"]) + "\n"


def _escape(data: bytes) -> str:
    return "".join(f"\\{b:02x}" for b in data)
