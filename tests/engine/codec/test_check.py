"""The checker: normalization of lenient input, range checks, messages with paths."""

from __future__ import annotations

import math
from dataclasses import dataclass

import pytest

from tests.engine.codec.codec_samples import (
    POINT,
    SHAPE,
    W,
    enum,
    flags,
    list_of,
    option,
    record,
    result,
    tuple_of,
)
from wasmesh.engine.codec.check import check
from wasmesh.engine.types import INT_RANGES
from wasmesh.engine.values import Err, Ok, Record, Some, Variant
from wasmesh.errors import WitValueError


@dataclass
class Pt:
    x: int
    y: int


OPT = record(("first-name", W("string")), ("age", option(W("u8"))))


def test_records_from_mappings_and_objects() -> None:
    assert check({"x": 1, "y": 2}, POINT) == Record(x=1, y=2)
    assert type(check(Pt(1, 2), POINT)) is Record
    assert check(Pt(1, 2), POINT).y == 2
    assert check({"first_name": "a"}, OPT) == Record({"first-name": "a", "age": None})
    with pytest.raises(WitValueError, match="record point has no field 'z'"):
        check({"x": 1, "y": 2, "z": 3}, POINT)
    with pytest.raises(WitValueError, match="record point needs field 'y'"):
        check({"x": 1}, POINT)


def test_variants_enums_flags() -> None:
    assert check("empty", SHAPE) == Variant("empty")
    assert check(Variant("circle", 2), SHAPE) == Variant("circle", 2.0)
    assert check("b", enum("a", "b")) == "b"
    assert check(["read"], flags("read", "write")) == frozenset({"read"})
    assert check("write", flags("read", "write")) == frozenset({"write"})
    with pytest.raises(WitValueError, match="case 'empty' of variant shape takes no payload"):
        check(Variant("empty", 1), SHAPE)
    with pytest.raises(WitValueError, match=r"has no case 'c' \(cases: a, b\)"):
        check("c", enum("a", "b"))
    with pytest.raises(WitValueError, match="has no flag 'x'"):
        check({"x"}, flags("read"))


def test_bytes_lists_tuples() -> None:
    assert check([1, 2], list_of(W("u8"))) == b"\x01\x02"
    assert check(bytearray(b"ab"), list_of(W("u8"))) == b"ab"
    assert check((1, 2), list_of(W("u32"))) == [1, 2]
    assert check([1, "a"], tuple_of(W("u8"), W("string"))) == (1, "a")
    with pytest.raises(WitValueError, match="element 1: 256 is not a u8"):
        check([1, 256], list_of(W("u8")))
    with pytest.raises(WitValueError, match="expected a tuple of 2, got 1 elements"):
        check([1], tuple_of(W("u8"), W("string")))


@pytest.mark.parametrize("kind", sorted(INT_RANGES))
def test_every_integer_width_is_range_checked(kind: str) -> None:
    lo, hi = INT_RANGES[kind]
    assert check(lo, W(kind)) == lo  # type: ignore[arg-type]
    assert check(hi, W(kind)) == hi  # type: ignore[arg-type]
    for bad in (lo - 1, hi + 1):
        with pytest.raises(WitValueError, match=f"{bad} is out of range for {kind}"):
            check(bad, W(kind))  # type: ignore[arg-type]
    with pytest.raises(WitValueError, match=rf"expected {kind} \(an integer\), got True"):
        check(True, W(kind))  # type: ignore[arg-type]


def test_floats_chars_strings() -> None:
    assert check(3, W("f64")) == 3.0 and type(check(3, W("f64"))) is float
    assert math.isnan(check(math.nan, W("f32")))
    with pytest.raises(WitValueError, match="out of range for f32"):
        check(1e39, W("f32"))
    with pytest.raises(WitValueError, match="expected f64"):
        check(False, W("f64"))
    assert check("😀", W("char")) == "😀"
    with pytest.raises(WitValueError, match="one-character"):
        check("ab", W("char"))
    with pytest.raises(WitValueError, match="surrogate"):
        check("\ud800", W("char"))
    with pytest.raises(WitValueError, match="lone surrogate at index 1"):
        check("a\udc00", W("string"))


def test_options_and_results() -> None:
    nested = option(option(W("u8")))
    assert check(None, nested) is None
    assert check(Some(None), nested) == Some(None)
    assert check(5, nested) == Some(5)
    assert check(Some(5), option(W("u8"))) == 5
    assert check(Ok(1), result(W("u8"))) == Ok(1)
    assert check(Err(None), result(W("u8"))) == Err(None)
    with pytest.raises(WitValueError, match="err of this result takes no payload"):
        check(Err("x"), result(W("u8")))
    with pytest.raises(WitValueError, match=r"expected a result \(Ok"):
        check(1, result(W("u8")))


def test_handles_pass_through_untouched() -> None:
    handle = object()
    assert check([handle], list_of(W("own", resource="counter"))) == [handle]


def test_message_carries_the_full_path() -> None:
    ty = record(("items", list_of(SHAPE)))
    value = {"items": ["empty", Variant("rect", {"x": 1, "y": 2**40})]}
    with pytest.raises(WitValueError) as info:
        check(value, ty, 'argument "p"')
    assert str(info.value) == (
        'argument "p", field "items", element 1, case "rect", field "y": '
        "1099511627776 is out of range for s32 (-2147483648..2147483647)"
    )


def test_lists_of_scalars_are_checked_in_bulk() -> None:
    floats = [float(i) for i in range(1000)]
    assert check(floats, list_of(W("f64"))) is floats
    assert check([1, 2.5], list_of(W("f64"))) == [1.0, 2.5]
    with pytest.raises(WitValueError, match="element 2: 70000 is out of range for u16"):
        check([1, 2, 70000], list_of(W("u16")))
    with pytest.raises(WitValueError, match=r"element 1: expected s32 \(an integer\), got True"):
        check([1, True], list_of(W("s32")))
