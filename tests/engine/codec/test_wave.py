"""WAVE text: parsing, errors, and byte-for-byte agreement with `wasmtime run --invoke`."""

from __future__ import annotations

import random
import struct

import pytest

from tests.engine.codec.codec_samples import (
    POINT,
    SHAPE,
    TYPES,
    W,
    enum,
    flags,
    list_of,
    option,
    random_value,
    record,
    result,
    same,
    tuple_of,
    variant,
)
from tests.engine.codec.echo_component import echo_component, wasmtime_echo
from wasmesh.engine.codec._wave_escapes import ENDS, STARTS
from wasmesh.engine.codec.wave import (
    WaveSyntaxError,
    format_wave,
    parse_arguments,
    parse_call,
    parse_wave,
)
from wasmesh.engine.types import Param
from wasmesh.engine.values import Err, Ok, Record, Some, Variant
from wasmesh.errors import WitValueError

KEYWORDY = variant(("ok", None), ("err", W("string")), ("none", None), ("plain", W("u8")))
OPTIONAL = record(("a", option(W("u8"))), ("b", option(option(W("string")))))

# Powers of two have lopsided rounding intervals, where the shortest digits are hardest.
F32_SPECIALS = [0.1, 1 / 3, 1e-45, 1.17549435e-38, 3.4028235e38, 16777217.0, 1e10, -0.0, 2.5] + [
    2.0**k for k in range(-149, 128)
]
F64_SPECIALS = [0.1, 1 / 3, 5e-324, 1.7976931348623157e308, 1e21, 1e22, 2.0**53 + 2, -0.0] + [
    2.0**k for k in range(-1074, 1024, 7)
]

# (type, extra spellings of element values the CLI must read and print as we do)
CLI_CASES: list[tuple[W, list[str]]] = [
    *((ty, []) for ty in TYPES),
    (W("f32"), ["1e-3", "-inf", "nan", "0.30000001192092896", "6.022e+23", "1e39", "7"]),
    # Just above / exactly at an f32 midpoint: reading through a double would round twice.
    (W("f32"), ["1.00000005960464477539062500001", "1.000000059604644775390625", "-1e-46"]),
    (W("f64"), ["1E5", "-1.5e-10", "123456789012345678901234567890", "nan"]),
    (W("char"), ["'\\u{1F600}'", "'\\''", "'\"'", "'\\\"'", "'☃'"]),
    (W("string"), ['"a\\u{0}b"', '"tab\\there"', '""', '"\\u{ffff}"']),
    (KEYWORDY, ["%ok", '%err("x")', "%none", "plain(1)", "%plain(2)"]),
    (enum("ok", "some", "nan", "x-y"), ["%ok", "%some", "%nan", "x-y", "%x-y"]),
    (OPTIONAL, ["{:}", "{a: 1}", "{b: some(none)}", '{b: some(some("x")), a: none,}']),
    (option(W("u8")), ["7", "some(7)", "none"]),
    (result(W("string"), W("u8")), ['"flat"', 'ok("x")', "err(3)"]),
    (flags("read", "write", "exec"), ["{exec, read}", "{}", "{write,}"]),
    (list_of(tuple_of(W("s8"), W("bool"))), ["[(1, true), (-128, false),]", "[]"]),
]


CHAR_LIST_INDEX = next(i for i, (ty, _) in enumerate(CLI_CASES) if ty.kind == "char")


@pytest.fixture(scope="module")
def echo() -> object:
    return echo_component([list_of(ty) for ty, _ in CLI_CASES])


@pytest.mark.parametrize("index", range(len(CLI_CASES)), ids=lambda i: CLI_CASES[i][0].kind)
def test_output_matches_wasmtime_cli(echo: object, index: int) -> None:
    ty, spellings = CLI_CASES[index]
    rng = random.Random(index)
    values = [random_value(ty, rng) for _ in range(40)]
    if ty.kind == "f32":
        values += F32_SPECIALS + [struct.unpack("<f", rng.randbytes(4))[0] for _ in range(300)]
        values = [struct.unpack("<f", struct.pack("<f", v))[0] for v in values]
    if ty.kind == "f64":
        values += F64_SPECIALS + [struct.unpack("<d", rng.randbytes(8))[0] for _ in range(300)]
    list_ty = list_of(ty)
    ours = [format_wave(v, ty) for v in values] + spellings
    argument = "[" + ", ".join(ours) + "]"
    printed = wasmtime_echo(echo, index, argument)  # type: ignore[arg-type]
    assert format_wave(parse_wave(argument, list_ty), list_ty) == printed
    assert all(same(a, b) for a, b in zip(parse_wave(printed, list_ty), values, strict=False))


def test_character_escapes_match_wasmtime_at_every_range_boundary(echo: object) -> None:
    around = {
        c + d for lo, hi in zip(STARTS, ENDS, strict=True) for c in (lo, hi) for d in (-1, 0, 1)
    }
    codes = sorted(c for c in around if 0 <= c <= 0x10FFFF and not 0xD800 <= c <= 0xDFFF)
    index = CHAR_LIST_INDEX
    for start in range(0, len(codes), 3000):
        chunk = [chr(c) for c in codes[start : start + 3000]]
        argument = "[" + ", ".join(f"'\\u{{{ord(c):x}}}'" for c in chunk) + "]"
        printed = wasmtime_echo(echo, index, argument)  # type: ignore[arg-type]
        assert format_wave(chunk, list_of(W("char"))) == printed


def test_records_omit_none_fields_and_parse_them_back() -> None:
    assert format_wave({"a": None, "b": None}, OPTIONAL) == "{:}"
    assert format_wave({"a": 1, "b": Some(None)}, OPTIONAL) == "{a: some(1), b: some(none)}"
    assert parse_wave("{b: some(none)}", OPTIONAL) == Record(a=None, b=Some(None))
    assert parse_wave('{ b : some(some("x")) , }', OPTIONAL) == Record(a=None, b=Some("x"))


def test_flat_forms_and_keywords() -> None:
    assert parse_wave("5", option(W("u8"))) == 5
    assert parse_wave("some(5)", option(W("u8"))) == 5
    assert parse_wave('"yes"', result(W("string"))) == Ok("yes")
    assert parse_wave("ok", result(None, W("string"))) == Ok(None)
    assert parse_wave("err", result()) == Err(None)
    assert parse_wave("%none", KEYWORDY) == Variant("none")
    assert format_wave(Variant("err", "x"), KEYWORDY) == '%err("x")'
    with pytest.raises(WaveSyntaxError, match=r"expected some\(...\) or none"):
        parse_wave("5", option(option(W("u8"))))
    with pytest.raises(WaveSyntaxError, match="expected a variant case"):
        parse_wave("none", KEYWORDY)


def test_scalars_and_escapes() -> None:
    assert parse_wave("'\\u{1F600}'", W("char")) == "😀"
    assert parse_wave('"a\\n\\t\\\\\\"\\\'"', W("string")) == "a\n\t\\\"'"
    assert parse_wave("-inf", W("f64")) == float("-inf")
    assert parse_wave("18446744073709551615", W("u64")) == 2**64 - 1
    assert parse_wave("[1, 2, 255]", list_of(W("u8"))) == b"\x01\x02\xff"
    assert format_wave(b"\x00\xff", list_of(W("u8"))) == "[0, 255]"
    assert format_wave(0.1, W("f32")) == "0.1"
    assert format_wave(1e21, W("f64")) == "1000000000000000000000"
    assert format_wave(frozenset({"exec", "read"}), flags("read", "write", "exec")) == (
        "{read, exec}"
    )


def test_multiline_strings_and_comments() -> None:
    text = '// greeting\n"""\n    Hello,\n      world \\u{1F600}\n  """ // done'
    assert parse_wave(text, W("string")) == "  Hello,\n    world 😀"


@pytest.mark.parametrize(
    ("text", "ty", "message"),
    [
        ("300", W("u8"), "column 1: 300 is out of range for u8"),
        ("1.5", W("s32"), r"column 1: expected an integer \(s32\), found '1.5'"),
        ("{x: 1}", POINT, "column 1: the record needs field 'y'"),
        ("{x: 1, z: 2}", POINT, "column 8: the record has no field 'z'"),
        ("{x: 1 y: 2}", POINT, "column 7: expected ',' or '}', found 'y'"),
        ("rect({x: 1, y: 2}", SHAPE, "column 18: expected '\\)', found the end"),
        ("square", SHAPE, "expected a variant case \\(circle, rect, empty\\)"),
        ("(1, 2)", tuple_of(W("u8")), "column 5: expected '\\)' after 1 elements"),
        ("'ab'", W("char"), 'column 1: unexpected "\'"'),
        ('"\\u{d800}"', W("string"), "is not a Unicode scalar value"),
        ("[1, 2]\n  3", list_of(W("u8")), "line 2, column 3: expected the end of the value"),
        ("{read, fly}", flags("read"), "column 8: no flag 'fly'"),
    ],
)
def test_parse_errors_name_position_and_expectation(text: str, ty: W, message: str) -> None:
    with pytest.raises(WaveSyntaxError, match=message):
        parse_wave(text, ty)


def test_format_checks_the_value_first() -> None:
    with pytest.raises(WitValueError, match='field "x": expected s32'):
        format_wave({"x": "1", "y": 2}, POINT)
    with pytest.raises(
        WitValueError, match="own<counter> is a resource handle type, which has no text form"
    ):
        parse_wave("1", W("own", resource="counter"))


def test_parse_call_splits_top_level_arguments() -> None:
    assert parse_call("add(1, 2)") == ("add", ["1", "2"])
    assert parse_call(' greet( "a, b" , {x: 1, y: [2, 3]}, ) ') == (
        "greet",
        ['"a, b"', "{x: 1, y: [2, 3]}"],
    )
    assert parse_call("now()") == ("now", [])
    assert parse_call("pkg:ns/iface#run('(')") == ("pkg:ns/iface#run", ["'('"])
    with pytest.raises(WitValueError, match="is not a call"):
        parse_call("add 1 2")
    with pytest.raises(WaveSyntaxError, match="expected an argument"):
        parse_call("add(1, , 2)")


def test_parse_arguments_per_parameter() -> None:
    params = [Param("a", W("u32")), Param("b", option(W("string"))), Param("c", option(W("u8")))]
    assert parse_arguments(["1", '"x"'], params) == [1, "x", None]
    assert parse_arguments(["1"], params) == [1, None, None]
    with pytest.raises(WitValueError, match=r"add takes 3 arguments \(a, b, c\); a missing"):
        parse_arguments([], params, "add")
    with pytest.raises(WitValueError, match=r"takes 3 arguments \(a, b, c\), got 4"):
        parse_arguments(["1", "2", "3", "4"], params)
    with pytest.raises(WitValueError, match='argument "a": invalid WAVE value at column 1: -1 is'):
        parse_arguments(["-1"], params)
