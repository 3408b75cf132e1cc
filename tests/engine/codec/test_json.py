"""The JSON mapping: documented shapes, round trips through json text, errors with paths."""

from __future__ import annotations

import json
import math
import random

import pytest

from tests.engine.codec.codec_samples import (
    POINT,
    SHAPE,
    TYPES,
    W,
    flags,
    list_of,
    option,
    random_value,
    record,
    result,
    same,
)
from wasmesh.engine.codec.json import from_json, to_json
from wasmesh.engine.values import Err, Ok, Record, Some, Variant
from wasmesh.errors import WitValueError


@pytest.mark.parametrize("ty", TYPES, ids=lambda t: t.kind)
def test_random_values_round_trip_through_json_text(ty: W) -> None:
    rng = random.Random(7)
    for _ in range(100):
        value = random_value(ty, rng)
        text = json.dumps(to_json(value, ty), allow_nan=False)
        assert same(from_json(json.loads(text), ty), value)


def test_documented_shapes() -> None:
    assert to_json(Variant("rect", Record(x=1, y=2)), SHAPE) == {
        "tag": "rect",
        "value": {"x": 1, "y": 2},
    }
    assert to_json(Variant("empty"), SHAPE) == {"tag": "empty"}
    assert to_json(b"\x00\xff", list_of(W("u8"))) == "AP8="
    assert to_json(frozenset({"c", "a"}), flags("a", "b", "c")) == ["a", "c"]
    assert to_json(None, option(option(W("u8")))) is None
    assert to_json(Some(None), option(option(W("u8")))) == {"some": None}
    assert to_json(5, option(W("u8"))) == 5
    assert to_json(Ok(None), result(None, W("string"))) == {"ok": None}
    assert to_json(Err("no"), result(None, W("string"))) == {"err": "no"}
    assert [to_json(x, W("f64")) for x in (math.nan, math.inf, -math.inf, 1.5)] == [
        "nan",
        "inf",
        "-inf",
        1.5,
    ]
    assert to_json(2**64 - 1, W("u64")) == 2**64 - 1


def test_lenient_input_forms() -> None:
    assert from_json("empty", SHAPE) == Variant("empty")
    assert from_json([1, 2], list_of(W("u8"))) == b"\x01\x02"
    assert from_json("18446744073709551615", W("u64")) == 2**64 - 1
    assert from_json(
        {"name": "a", "tags": []},
        record(("name", W("string")), ("tags", list_of(W("string"))), ("age", option(W("u8")))),
    ) == Record(name="a", tags=[], age=None)


@pytest.mark.parametrize(
    ("obj", "ty", "message"),
    [
        ({"x": 1, "y": 300000000000}, POINT, 'where, field "y": 300000000000 is out of range'),
        ({"x": 1}, POINT, "where: the record needs field 'y'"),
        ({"tag": "rect", "value": {"x": 1, "y": "2"}}, SHAPE, 'case "rect", field "y"'),
        ({"tag": "blob"}, SHAPE, "has no case 'blob'"),
        ("!!", list_of(W("u8")), "expected base64"),
        ({"maybe": 1}, result(W("u8")), r'expected \{"ok": ...\}'),
        (5, option(option(W("u8"))), r'expected null or \{"some": ...\}'),
        ([1, "x"], list_of(W("u32")), "where, element 1: expected u32"),
    ],
)
def test_errors_name_the_path(obj: object, ty: W, message: str) -> None:
    with pytest.raises(WitValueError, match=message):
        from_json(obj, ty, "where")


def test_handles_have_no_json_form() -> None:
    with pytest.raises(
        WitValueError, match="own<counter> is a resource handle type, which has no JSON form"
    ):
        from_json(1, W("own", resource="counter"))
