"""Compiled lowerers and lifters on engine values, without a component in between.

Each value is lowered into a `wasmtime_component_val_t` (allocated by the engine), lifted
back, then deleted with `wasmtime_component_val_delete`, exactly as the call path does.
"""

from __future__ import annotations

import contextlib
import ctypes
from typing import Any

import pytest

from tests.engine.calls.memory import heap_in_use, rss
from wasmesh.engine.calls import _capi as capi
from wasmesh.engine.calls import compile_lift, compile_lower
from wasmesh.engine.types import WitType
from wasmesh.engine.values import Err, Ok, Record, Some, Variant
from wasmesh.errors import WitValueError

S32, STR, U8 = WitType("s32"), WitType("string"), WitType("u8")
POINT = WitType("record", fields=(("x", S32), ("full-name", STR), ("tags", WitType("list", STR))))
SHAPE = WitType(
    "variant",
    cases=(("circle", WitType("f64")), ("rect", WitType("tuple", elements=(S32, S32))),
           ("empty", None)),
)  # fmt: skip
NESTED = WitType(
    "tuple",
    elements=(
        WitType("list", POINT),
        WitType("option", WitType("option", SHAPE)),
        WitType("result", ok=WitType("list", U8), err=WitType("enum", names=("a", "b"))),
        WitType("flags", names=("r", "w", "x")),
        WitType("char"),
        WitType("u64"),
    ),
)


def roundtrip(ty: WitType, x: Any) -> Any:
    v = capi.VAL()
    compile_lower(ty)(v, x, 0)
    try:
        return compile_lift(ty)(v, 0)
    finally:
        capi.val_delete(ctypes.addressof(v))


NESTED_VALUE = (
    [
        Record({"x": 1, "full-name": "ä", "tags": ["t", ""]}),
        Record({"x": -2, "full-name": "", "tags": []}),
    ],
    Some(Variant("rect", (1, -1))),
    Ok(b"\x00\xff"),
    frozenset({"r", "x"}),
    "\U0010ffff",
    2**64 - 1,
)  # fmt: skip


@pytest.mark.parametrize(
    ("ty", "value"),
    [
        (NESTED, NESTED_VALUE),
        (NESTED, ([], None, Err("b"), frozenset(), "a", 0)),
        (WitType("option", WitType("option", S32)), Some(None)),
        (WitType("list", WitType("list", U8)), [b"", b"abc", bytes(1000)]),
        (WitType("result"), Ok()),
        (SHAPE, Variant("empty")),
    ],
)
def test_values_round_trip_through_engine_values(ty: WitType, value: Any) -> None:
    assert roundtrip(ty, value) == value


def test_records_accept_attribute_objects_and_snake_case_keys() -> None:
    class P:
        x = 3
        full_name = "obj"
        tags = ("a",)

    expected = Record({"x": 3, "full-name": "obj", "tags": ["a"]})
    assert roundtrip(POINT, P()) == expected
    assert roundtrip(POINT, {"x": 3, "full_name": "obj", "tags": ["a"]}) == expected
    assert roundtrip(POINT, P()).full_name == "obj"


def test_a_failure_deep_inside_frees_what_was_built() -> None:
    bad = [Record({"x": 1, "full-name": "n", "tags": ["ok", 5]})]
    v = capi.VAL()
    with pytest.raises(WitValueError, match="element 0: field tags: element 1: expected a str"):
        compile_lower(WitType("list", POINT))(v, bad, 0)
    assert v.kind == 0  # the target is untouched: still a plain bool, nothing to delete


def test_lowering_and_lifting_does_not_leak() -> None:
    for _ in range(2000):
        roundtrip(NESTED, NESTED_VALUE)
    before, heap_before = rss(), heap_in_use()
    for _ in range(20_000):
        roundtrip(NESTED, NESTED_VALUE)
    grown, heap_grown = rss() - before, heap_in_use() - heap_before
    assert grown < 4 * 2**20, f"RSS grew by {grown / 2**20:.1f} MB"
    assert heap_grown < 20_000, f"the C heap grew by {heap_grown} bytes"  # < 1 byte a value


def test_failed_lowerings_do_not_leak() -> None:
    bad = (*NESTED_VALUE[:3], frozenset({"nope"}), *NESTED_VALUE[4:])
    low = compile_lower(NESTED)
    for _ in range(2000):
        with pytest.raises(WitValueError):
            low(capi.VAL(), bad, 0)
    before, heap_before = rss(), heap_in_use()
    for _ in range(20_000):
        with contextlib.suppress(WitValueError):
            low(capi.VAL(), bad, 0)
    assert rss() - before < 4 * 2**20
    assert heap_in_use() - heap_before < 20_000
