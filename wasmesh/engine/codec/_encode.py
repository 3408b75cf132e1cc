"""Binary encoders, one closure per type node (see `binary` for the format).

Encoders take canonical values and let Python raise on anything else; the public encoder then
normalizes through the checker and tries again.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from operator import itemgetter
from typing import Any

from wasmesh.engine.codec._layout import CODES, U32, discriminant, runs
from wasmesh.engine.types import WitType
from wasmesh.engine.values import Err, Ok, Record, Variant

Enc = Callable[[Any, bytearray], None]
"""`enc(value, out)` appends the encoding of `value` to `out`."""

_LEB_SMALL = [bytes((i,)) for i in range(128)]
ENCODE_CODES = {**CODES, "bool": "B"}
"""As `CODES`, but a bool packs as "B": struct's "?" would take any object as true."""


def _leb(n: int) -> bytes:
    if n < 0x80:
        return _LEB_SMALL[n]
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def sequence_encoder(keys: list[Any], types: list[WitType]) -> Enc:
    steps: list[Enc] = []
    for start, end in runs(types):
        if types[start].kind in CODES:
            st = struct.Struct("<" + "".join(ENCODE_CODES[t.kind] for t in types[start:end]))
            steps.append(_struct_step(st, keys[start:end]))
        else:
            steps.append(_item_step(keys[start], encoder(types[start])))
    if len(steps) == 1:
        return steps[0]

    def encode_seq(v: Any, out: bytearray) -> None:
        for step in steps:
            step(v, out)

    return encode_seq


def _struct_step(st: struct.Struct, keys: list[Any]) -> Enc:
    pack = st.pack
    if len(keys) == 1:
        key = keys[0]

        def pack_one(v: Any, out: bytearray) -> None:
            out += pack(v[key])

        return pack_one
    getter = itemgetter(*keys)

    def pack_many(v: Any, out: bytearray) -> None:
        out += pack(*getter(v))

    return pack_many


def _item_step(key: Any, enc: Enc) -> Enc:
    def encode_item(v: Any, out: bytearray) -> None:
        enc(v[key], out)

    return encode_item


def encoder(ty: WitType) -> Enc:
    """The encoder closure for one type: `enc(value, out)` appends to `out`."""
    kind = ty.kind
    if kind in CODES:
        pack = struct.Struct("<" + ENCODE_CODES[kind]).pack

        def encode_scalar(v: Any, out: bytearray) -> None:
            out += pack(v)

        return encode_scalar
    return _ENCODERS[kind](ty)


def _char_enc(ty: WitType) -> Enc:
    pack = U32.pack

    def encode_char(v: Any, out: bytearray) -> None:
        out += pack(ord(v))

    return encode_char


def _string_enc(ty: WitType) -> Enc:
    def encode_string(v: Any, out: bytearray) -> None:
        data = v.encode()
        out += _leb(len(data))
        out += data

    return encode_string


def _list_enc(ty: WitType) -> Enc:
    assert ty.element is not None
    if ty.is_bytes:

        def encode_bytes(v: Any, out: bytearray) -> None:
            if type(v) is not bytes:
                raise TypeError("list<u8> takes bytes")
            out += _leb(len(v))
            out += v

        return encode_bytes
    code = ENCODE_CODES.get(ty.element.kind)
    if code is not None:
        fmt = "<%d" + code

        def encode_scalars(v: Any, out: bytearray) -> None:
            out += _leb(len(v))
            out += struct.pack(fmt % len(v), *v)

        return encode_scalars
    enc = encoder(ty.element)

    def encode_list(v: Any, out: bytearray) -> None:
        out += _leb(len(v))
        for item in v:
            enc(item, out)

    return encode_list


def _tuple_enc(ty: WitType) -> Enc:
    size = len(ty.elements)
    inner = sequence_encoder(list(range(size)), list(ty.elements))

    def encode_tuple(v: Any, out: bytearray) -> None:
        if len(v) != size:
            raise TypeError("wrong tuple size")
        inner(v, out)

    return encode_tuple


def _record_enc(ty: WitType) -> Enc:
    names = [n for n, _ in ty.fields]
    inner = sequence_encoder(names, [t for _, t in ty.fields])
    size = len(names)

    def encode_record(v: Any, out: bytearray) -> None:
        if type(v) is not Record or len(v) != size:
            raise TypeError("records take Record values with exactly their fields")
        inner(v, out)

    return encode_record


def _variant_enc(ty: WitType) -> Enc:
    disc = discriminant(len(ty.cases)).pack
    cases = {
        name: (disc(i), encoder(t) if t is not None else None)
        for i, (name, t) in enumerate(ty.cases)
    }

    def encode_variant(v: Any, out: bytearray) -> None:
        if type(v) is not Variant:
            raise TypeError("variants take Variant values")
        tag, enc = cases[v.tag]
        out += tag
        if enc is not None:
            enc(v.value, out)
        elif v.value is not None:
            raise TypeError("this case takes no payload")

    return encode_variant


def _enum_enc(ty: WitType) -> Enc:
    disc = discriminant(len(ty.names)).pack
    cases = {name: disc(i) for i, name in enumerate(ty.names)}

    def encode_enum(v: Any, out: bytearray) -> None:
        out += cases[v]

    return encode_enum


def _flags_enc(ty: WitType) -> Enc:
    bits = {name: 1 << i for i, name in enumerate(ty.names)}
    width = (len(ty.names) + 7) // 8

    def encode_flags(v: Any, out: bytearray) -> None:
        if isinstance(v, str):
            raise TypeError("flags take a set of names")
        mask = 0
        for name in v:
            mask |= bits[name]
        out += mask.to_bytes(width, "little")

    return encode_flags


def _option_enc(ty: WitType) -> Enc:
    assert ty.element is not None
    enc = encoder(ty.element)
    if ty.element.kind == "option":

        def encode_nested(v: Any, out: bytearray) -> None:
            if v is None:
                out.append(0)
            else:
                out.append(1)
                enc(v.value, out)  # `Some` wraps the outer some of a nested option

        return encode_nested

    def encode_option(v: Any, out: bytearray) -> None:
        if v is None:
            out.append(0)
        else:
            out.append(1)
            enc(v, out)

    return encode_option


def _result_enc(ty: WitType) -> Enc:
    ok = encoder(ty.ok) if ty.ok is not None else None
    err = encoder(ty.err) if ty.err is not None else None

    def encode_result(v: Any, out: bytearray) -> None:
        kind = type(v)
        if kind is Ok:
            out.append(0)
            arm = ok
        elif kind is Err:
            out.append(1)
            arm = err
        else:
            raise TypeError("results take Ok or Err values")
        if arm is not None:
            arm(v.value, out)
        elif v.value is not None:
            raise TypeError("this result arm takes no payload")

    return encode_result


_ENCODERS: dict[str, Callable[[WitType], Enc]] = {
    "char": _char_enc, "string": _string_enc, "list": _list_enc, "tuple": _tuple_enc,
    "record": _record_enc, "variant": _variant_enc, "enum": _enum_enc, "flags": _flags_enc,
    "option": _option_enc, "result": _result_enc,
}  # fmt: skip
