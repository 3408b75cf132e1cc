"""The value codec: component values as Python values, WAVE text, JSON and compact bytes.

Every codec works on `wasmesh.engine.types.WitType` trees and the value model of
`wasmesh.engine.values`; errors are `wasmesh.errors.WitValueError` naming the offending part.
"""

from __future__ import annotations

from wasmesh.engine.codec.binary import compile_decoder, compile_encoder
from wasmesh.engine.codec.check import check, compile_checker
from wasmesh.engine.codec.json import from_json, to_json
from wasmesh.engine.codec.wave import (
    WaveSyntaxError,
    format_wave,
    parse_arguments,
    parse_call,
    parse_wave,
)

__all__ = [
    "WaveSyntaxError",
    "check",
    "compile_checker",
    "compile_decoder",
    "compile_encoder",
    "format_wave",
    "from_json",
    "parse_arguments",
    "parse_call",
    "parse_wave",
    "to_json",
]
