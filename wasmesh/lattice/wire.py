"""Call payloads on the wire: argument lists and results as bytes.

Two encodings, named in the `wasmesh-codec` header of each request:
- `binary`: the engine's compact value codec, compiled per signature; both sides know the
  types (a stub knows its import's signature, a host its export's).
- `json`: self-describing tagged JSON, for clients that do not know the types (`invoke`).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Sequence
from typing import Any

from wasmesh.engine.codec.binary import compile_decoder, compile_encoder
from wasmesh.engine.types import FuncSig, WitType
from wasmesh.engine.values import Err, Ok, Record, Some, Variant
from wasmesh.lattice.errors import LatticeError

JSON = "json"
BINARY = "binary"

Encoder = Callable[[Sequence[Any]], bytes]
Decoder = Callable[[bytes], list[Any]]


def _tag(value: Any) -> Any:
    # Order matters: bool is an int, Record is a dict.
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, bytes | bytearray | memoryview):
        return {"$b": base64.b64encode(bytes(value)).decode()}
    if isinstance(value, Record):
        return {"$r": {k: _tag(v) for k, v in value.items()}}
    if isinstance(value, dict):
        return {"$r": {str(k): _tag(v) for k, v in value.items()}}
    if isinstance(value, tuple):
        return {"$t": [_tag(v) for v in value]}
    if isinstance(value, list):
        return [_tag(v) for v in value]
    if isinstance(value, frozenset | set):
        return {"$f": sorted(value)}
    if isinstance(value, Variant):
        return {"$v": [value.tag, _tag(value.value)]}
    if isinstance(value, Ok):
        return {"$ok": _tag(value.value)}
    if isinstance(value, Err):
        return {"$err": _tag(value.value)}
    if isinstance(value, Some):
        return {"$some": _tag(value.value)}
    raise LatticeError(
        f"a value of type {type(value).__name__} cannot cross hosts; pass plain component values."
    )


def _untag(value: Any) -> Any:
    if isinstance(value, list):
        return [_untag(v) for v in value]
    if not isinstance(value, dict):
        return value
    ((tag, inner),) = value.items()
    if tag == "$b":
        return base64.b64decode(inner)
    if tag == "$r":
        return Record({k: _untag(v) for k, v in inner.items()})
    if tag == "$t":
        return tuple(_untag(v) for v in inner)
    if tag == "$f":
        return frozenset(inner)
    if tag == "$v":
        return Variant(inner[0], _untag(inner[1]))
    if tag == "$ok":
        return Ok(_untag(inner))
    if tag == "$err":
        return Err(_untag(inner))
    if tag == "$some":
        return Some(_untag(inner))
    raise LatticeError(f"unknown tag {tag!r} in a JSON call payload.")


def json_encode(values: Sequence[Any]) -> bytes:
    """A list of component values as tagged JSON."""
    return json.dumps([_tag(v) for v in values], separators=(",", ":")).encode()


def json_decode(data: bytes) -> list[Any]:
    """Tagged JSON back into a list of component values."""
    out = _untag(json.loads(data))
    if not isinstance(out, list):
        raise LatticeError("a JSON call payload must be a list of values.")
    return out


class SigCodec:
    """Encoders and decoders for one function's parameters and result."""

    def __init__(self, sig: FuncSig, codec: str = BINARY) -> None:
        self.sig = sig
        if codec not in (BINARY, JSON):
            raise LatticeError(f"unknown call encoding {codec!r}; use {BINARY!r} or {JSON!r}.")
        self.codec = codec
        params: tuple[WitType, ...] = tuple(p.type for p in sig.params)
        results: tuple[WitType, ...] = (sig.result,) if sig.result is not None else ()
        if self.codec == BINARY:
            names = [p.name for p in sig.params]
            self.encode_args: Encoder = compile_encoder(params, names)
            self.decode_args: Decoder = compile_decoder(params)
            self._encode_results: Encoder = compile_encoder(results)
            self._decode_results: Decoder = compile_decoder(results)
        else:
            self.encode_args = json_encode
            self.decode_args = json_decode
            self._encode_results = json_encode
            self._decode_results = json_decode

    def encode_result(self, result: Any) -> bytes:
        """The function's result as bytes (nothing for a function without one)."""
        return self._encode_results([result] if self.sig.result is not None else [])

    def decode_result(self, data: bytes) -> Any:
        """The result back from bytes (None for a function without one)."""
        values = self._decode_results(data)
        return values[0] if self.sig.result is not None else None
