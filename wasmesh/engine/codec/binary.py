"""A compact binary encoding of component values, for arguments and results on the network.

The layout, per type (all multi-byte numbers little-endian):

| WIT | bytes |
|---|---|
| bool, s8, u8 | 1 byte |
| s16/u16, s32/u32, s64/u64, f32, f64 | 2, 4, 8, 4, 8 bytes, fixed width |
| char | its code point as a u32 |
| string | LEB128 byte length, then UTF-8 |
| list<T> | LEB128 element count, then the elements (list<u8>: the raw bytes) |
| record, tuple | the fields in order, no framing |
| variant, enum | the case index (1 byte up to 256 cases, 2 up to 65536, else 4), then the payload |
| option | 0 for none, or 1 then the payload |
| result | 0 then the ok payload, or 1 then the err payload |
| flags | a bit mask of ceil(n/8) bytes, bit i for the i-th declared flag |

A signature's values are encoded as a tuple of its types. There is no self-description: both
sides compile the codec from the same signature. Resource handles cannot be encoded.

`compile_encoder` / `compile_decoder` build closures once per signature; runs of fixed-size
scalars (in records, tuples and the signature itself) become one `struct.Struct`, lists of
them one bulk `struct` call. The encoder takes canonical values on its fast path; anything it
cannot take there is normalized by the checker and encoded again, so lenient input still works
and bad input gets the checker's message.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence
from typing import Any

from wasmesh.engine.codec._decode import sequence_decoder
from wasmesh.engine.codec._encode import ENCODE_CODES, sequence_encoder
from wasmesh.engine.codec._problem import Problem
from wasmesh.engine.codec.check import compile_checker
from wasmesh.engine.types import WitType
from wasmesh.errors import WitValueError

_FAST_ERRORS = (
    TypeError,
    ValueError,
    KeyError,
    AttributeError,
    IndexError,
    OverflowError,
    struct.error,
)
_DECODE_ERRORS = (IndexError, struct.error, ValueError, OverflowError)


def compile_encoder(
    types: Sequence[WitType], names: Sequence[str] | None = None
) -> Callable[[Sequence[Any]], bytes]:
    """Build `encode(values) -> bytes` for a sequence of values of `types`.

    `names` (the parameter names) only make error messages point at the right argument.
    """
    _refuse_handles(types)
    count = len(types)
    fast = sequence_encoder(list(range(count)), list(types))
    where = [f'argument "{n}"' for n in names] if names else [f"value {i}" for i in range(count)]
    checkers = [compile_checker(t, w) for t, w in zip(types, where, strict=True)]
    if types and all(t.kind in ENCODE_CODES for t in types):
        return _fixed_encoder(types, checkers)

    def encode(values: Sequence[Any]) -> bytes:
        if len(values) != count:
            raise WitValueError(f"expected {count} values, got {len(values)}")
        out = bytearray()
        try:
            fast(values, out)
        except _FAST_ERRORS:
            normalized = [c(v) for c, v in zip(checkers, values, strict=True)]
            out = bytearray()
            try:
                fast(normalized, out)
            except _FAST_ERRORS as exc:
                raise WitValueError(f"the values cannot be encoded: {exc}") from None
        return bytes(out)

    return encode


def _fixed_encoder(
    types: Sequence[WitType], checkers: list[Callable[[Any], Any]]
) -> Callable[[Sequence[Any]], bytes]:
    """A signature of fixed-size scalars only (`add(u32, u32)`) is one `struct.pack`."""
    pack = struct.Struct("<" + "".join(ENCODE_CODES[t.kind] for t in types)).pack
    count = len(types)

    def encode_fixed(values: Sequence[Any]) -> bytes:
        try:
            return pack(*values)
        except _FAST_ERRORS:
            if len(values) != count:
                raise WitValueError(f"expected {count} values, got {len(values)}") from None
            return pack(*[c(v) for c, v in zip(checkers, values, strict=True)])

    return encode_fixed


def compile_decoder(types: Sequence[WitType]) -> Callable[[bytes], list[Any]]:
    """Build `decode(data) -> list of values` for `types`; bad data raises `WitValueError`."""
    _refuse_handles(types)
    steps = sequence_decoder(list(types))

    def decode(data: bytes) -> list[Any]:
        buf = data if type(data) is bytes else bytes(data)
        values: list[Any] = []
        pos = 0
        try:
            for step in steps:
                pos = step(buf, pos, values)
        except Problem as problem:
            raise WitValueError(f"cannot decode the values: {problem.message}") from None
        except _DECODE_ERRORS:
            raise WitValueError(
                f"cannot decode the values: the data ({len(buf)} bytes) is truncated or corrupt"
            ) from None
        if pos != len(buf):
            raise WitValueError(
                f"cannot decode the values: {len(buf) - pos} unexpected bytes after the end"
            )
        return values

    return decode


def _refuse_handles(types: Sequence[WitType]) -> None:
    for ty in types:
        if ty.has_handles:
            raise WitValueError(
                "a value holding a resource handle (own, borrow, future, stream or "
                "error-context) cannot be sent over the network; keep this call in one process"
            )
