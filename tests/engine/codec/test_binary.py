"""The binary codec: round trips over every kind, lenient input, corrupt input."""

from __future__ import annotations

import contextlib
import random
import time

import pytest

from tests.engine.codec.codec_samples import (
    POINT,
    SHAPE,
    TYPES,
    W,
    list_of,
    option,
    random_value,
    record,
    same,
)
from wasmesh.engine.codec.binary import compile_decoder, compile_encoder
from wasmesh.engine.values import Record, Some, Variant
from wasmesh.errors import WitValueError


@pytest.mark.parametrize("ty", TYPES, ids=lambda t: t.kind)
def test_random_values_round_trip(ty: W) -> None:
    rng = random.Random(hash(repr(ty)) & 0xFFFF)
    encode, decode = compile_encoder([ty, W("u32")]), compile_decoder([ty, W("u32")])
    for _ in range(200):
        value = random_value(ty, rng)
        data = encode([value, 7])
        back = decode(data)
        assert same(back[0], value), (value, back[0])
        assert back[1] == 7


def test_signature_of_scalars_packs_into_fixed_width() -> None:
    types = [W("u32"), W("s64"), W("f64"), W("bool")]
    encode = compile_encoder(types)
    assert len(encode([1, -2, 0.5, True])) == 4 + 8 + 8 + 1
    assert compile_decoder(types)(encode([1, -2, 0.5, True])) == [1, -2, 0.5, True]


def test_strings_and_lists_use_leb128_lengths() -> None:
    encode = compile_encoder([W("string"), list_of(W("u8"))])
    assert encode(["hé", b"\x01\x02"]) == b"\x03h\xc3\xa9\x02\x01\x02"
    long = compile_encoder([W("string")])(["x" * 300])
    assert long[:2] == b"\xac\x02"


def test_lenient_input_is_normalized_before_encoding() -> None:
    encode = compile_encoder([POINT, SHAPE, list_of(W("u8")), W("flags", names=("a", "b"))])
    decode = compile_decoder([POINT, SHAPE, list_of(W("u8")), W("flags", names=("a", "b"))])
    values = decode(encode([{"x": 1, "y": 2}, "empty", [1, 2, 3], ["b"]]))
    assert values == [Record(x=1, y=2), Variant("empty"), b"\x01\x02\x03", frozenset({"b"})]


def test_nested_option_keeps_some_none_apart() -> None:
    ty = option(option(W("u8")))
    codec = compile_encoder([ty, ty, ty]), compile_decoder([ty, ty, ty])
    assert codec[1](codec[0]([None, Some(None), Some(5)])) == [None, Some(None), Some(5)]


def test_bad_values_get_the_checker_message_with_argument_name() -> None:
    encode = compile_encoder([record(("x", W("u8")))], names=["p"])
    with pytest.raises(WitValueError, match=r'argument "p", field "x": 300 is out of range'):
        encode([{"x": 300}])
    with pytest.raises(WitValueError, match="expected 1 values, got 2"):
        encode([{"x": 1}, 2])


def test_handles_are_refused_when_compiling() -> None:
    with pytest.raises(WitValueError, match="resource handle"):
        compile_encoder([list_of(W("own", resource="counter"))])
    with pytest.raises(WitValueError, match="resource handle"):
        compile_decoder([W("borrow")])


@pytest.mark.parametrize("ty", TYPES, ids=lambda t: t.kind)
def test_truncated_and_garbage_input_raise_wit_value_error(ty: W) -> None:
    rng = random.Random(1)
    encode, decode = compile_encoder([ty]), compile_decoder([ty])
    for _ in range(50):
        data = encode([random_value(ty, rng)])
        for cut in range(len(data)):
            with pytest.raises(WitValueError):
                decode(data[:cut])
        with pytest.raises(WitValueError):
            decode(data + b"\x00")
        garbage = bytes(rng.randint(0, 255) for _ in range(rng.randint(0, 40)))
        with contextlib.suppress(WitValueError):
            decode(garbage)


def test_corrupt_tags_are_named() -> None:
    with pytest.raises(WitValueError, match="neither 0 nor 1"):
        compile_decoder([option(W("u8"))])(b"\x05\x00")
    with pytest.raises(WitValueError, match="not one of the 3 cases"):
        compile_decoder([SHAPE])(b"\x09")
    with pytest.raises(WitValueError, match="runs past the end"):
        compile_decoder([W("string")])(b"\x7fab")


def test_bulk_scalars_are_fast() -> None:
    ty = [list_of(W("f64")), record(("x", W("s32")), ("y", W("s32")))]
    encode, decode = compile_encoder(ty), compile_decoder(ty)
    values = [[float(i) for i in range(10_000)], Record(x=1, y=2)]
    start = time.perf_counter()
    for _ in range(20):
        assert decode(encode(values))[1] == Record(x=1, y=2)
    assert (time.perf_counter() - start) / 20 < 0.02


def test_fixed_signature_fast_path_still_checks() -> None:
    encode = compile_encoder([W("bool"), W("u8"), W("f32")], names=["on", "n", "x"])
    assert compile_decoder([W("bool"), W("u8"), W("f32")])(encode([True, 3, 2])) == [True, 3, 2.0]
    with pytest.raises(WitValueError, match=r'argument "on": expected bool \(True or False\)'):
        encode(["yes", 3, 2.0])
    with pytest.raises(WitValueError, match='argument "n": 256 is out of range for u8'):
        encode([True, 256, 2.0])
    with pytest.raises(WitValueError, match="expected 3 values, got 2"):
        encode([True, 1])
