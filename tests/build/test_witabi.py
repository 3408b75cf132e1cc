"""Canonical ABI layout of WIT types, as the Go glue generator sees them (CanonicalABI.md)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.conftest import GUESTS
from wasmesh.build.embed import wasm_tools
from wasmesh.build.witabi import Resolve, WitError

MIXED = """package demo:mixed;
interface m {
  variant num { small(f32), big(u64), none }
  flags wide { %s }
  take: func(n: num, w: wide);
}
world mixed { export m; }
"""


def resolve(wit_dir: Path) -> Resolve:
    out = subprocess.run([wasm_tools(), "component", "wit", "--json", str(wit_dir)],
                         capture_output=True, text=True, check=True)  # fmt: skip
    return Resolve.from_json(out.stdout)


@pytest.fixture(scope="module")
def kinds() -> tuple[Resolve, dict[str, int]]:
    r = resolve(GUESTS / "kinds-py" / "wit")
    return r, r.data["interfaces"][0]["types"]


def test_record_and_variant_layout(kinds: tuple[Resolve, dict[str, int]]) -> None:
    r, types = kinds
    shape = types["shape"]  # string, point, list<string>, option<string>
    assert (r.size(shape), r.align(shape), r.field_offsets(shape)) == (36, 4, [0, 8, 16, 24])
    assert r.flat(shape) == ["i32"] * 9
    event = types["event"]  # none | click(point) | key(char) | text(string)
    assert (r.size(event), r.payload_offset(event), r.flat(event)) == (12, 4, ["i32"] * 3)
    assert (r.size(types["color"]), r.size(types["perms"])) == (1, 1)


def test_functions_flatten_their_signatures(kinds: tuple[Resolve, dict[str, int]]) -> None:
    r, _ = kinds
    world = r.world("kinds")
    (iface,) = r.interfaces(world, "exports")
    funcs = {f.name: f for f in iface.functions}
    nested = funcs["echo-nested-option"].params[0].type
    assert (r.flat(nested), r.size(nested)) == (["i32", "i32", "i32"], 12)
    lookup = funcs["lookup"].result
    assert lookup is not None and r.flat(lookup) == ["i32", "i32", "i32"]
    assert r.flat("f64") == ["f64"] and r.flat("s64") == ["i64"]


def test_variant_slots_join_floats_and_integers(tmp_path: Path) -> None:
    (tmp_path / "m.wit").write_text(MIXED % "a, b")
    r = resolve(tmp_path)
    num = r.data["interfaces"][0]["types"]["num"]
    assert r.flat(num) == ["i32", "i64"]  # f32 and u64 share one i64 slot
    assert (r.size(num), r.align(num)) == (16, 8)


def test_unknown_world_names_the_ones_there(kinds: tuple[Resolve, dict[str, int]]) -> None:
    with pytest.raises(WitError, match="no world 'nope'; it has kinds"):
        kinds[0].world("nope")
