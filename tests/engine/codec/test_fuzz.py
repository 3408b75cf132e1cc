"""Random argument text and JSON: every one is decoded or refused in one sentence."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import example, given, settings
from hypothesis import strategies as st

from tests.engine.codec.codec_samples import TYPES, flags, list_of
from wasmesh.cli.component import parse_arg
from wasmesh.engine.codec import from_json, parse_wave
from wasmesh.engine.types import WitType
from wasmesh.errors import WasmeshError

WAVE_PIECES = [
    "[", "]", "(", ")", "{", "}", ",", ":", '"', "'", "\\", "\\u{0}", "\\u{110000}", "some(",
    "none", "ok(", "err(", "nan", "-inf", "1e999", "-0", "0x10", "18446744073709551616", "x: ",
    "\0", "é", "true", "\n", " ",
]  # fmt: skip


def one_sentence(error: WasmeshError) -> None:
    message = str(error)
    assert message and "\n" not in message and "Traceback" not in message, message


def wave_texts() -> st.SearchStrategy[str]:
    pieces = st.one_of(st.sampled_from(WAVE_PIECES), st.text(max_size=6))
    return st.lists(pieces, max_size=12).map("".join)


json_values: st.SearchStrategy[Any] = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner),
    max_leaves=12,
)


@settings(max_examples=250, deadline=None)
@given(ty=st.sampled_from(TYPES), text=wave_texts())
def test_random_wave_text_parses_or_is_refused(ty: WitType, text: str) -> None:
    try:
        parse_wave(text, ty)
    except WasmeshError as error:
        one_sentence(error)


@settings(max_examples=250, deadline=None)
@given(ty=st.sampled_from(TYPES), data=json_values)
@example(ty=flags("read", "write"), data=[[]])
def test_random_json_decodes_or_is_refused(ty: WitType, data: Any) -> None:
    try:
        from_json(data, ty)
    except WasmeshError as error:
        one_sentence(error)


@settings(max_examples=150, deadline=None)
@given(ty=st.sampled_from(TYPES), text=st.one_of(wave_texts(), json_values.map(json.dumps)))
def test_random_cli_arguments_parse_or_are_refused(ty: WitType, text: str) -> None:
    try:
        parse_arg(text, ty, "x")
    except WasmeshError as error:
        one_sentence(error)


def test_deeply_nested_arguments_are_refused_in_one_sentence() -> None:
    ty = list_of(list_of(WitType("u32")))
    for text in ("[" * 1000 + "]" * 1000, "[" * 100_000, '{"a":' * 1000 + "1" + "}" * 1000):
        try:
            parse_arg(text, ty, "x")
        except WasmeshError as error:
            one_sentence(error)
            assert "argument `x`" in str(error)
        else:
            raise AssertionError(f"{text[:10]}... was accepted")
