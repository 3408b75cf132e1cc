"""Binary decoders, one closure per type node (see `binary` for the format).

Decoders raise `Problem` for data they can prove corrupt and let `struct` and indexing raise
on truncation; the public decoder turns both into `WitValueError`.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any

from wasmesh.engine.codec._layout import CODES, U32, discriminant, runs
from wasmesh.engine.codec._problem import Problem
from wasmesh.engine.types import WitType
from wasmesh.engine.values import Err, Ok, Record, Some, Variant

Dec = Callable[[bytes, int], tuple[Any, int]]
"""`dec(buf, pos) -> (value, new_pos)`."""
DecStep = Callable[[bytes, int, list[Any]], int]


def _read_leb(buf: bytes, pos: int) -> tuple[int, int]:
    byte = buf[pos]
    if byte < 0x80:
        return byte, pos + 1
    result, shift = 0, 0
    while True:
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise Problem(f"a length at byte {pos} is longer than 64 bits")


def _read_count(buf: bytes, pos: int) -> tuple[int, int]:
    """A length prefix; every element takes at least one byte, so more than remain is corrupt."""
    n, pos = _read_leb(buf, pos)
    if n > len(buf) - pos:
        raise Problem(f"a length of {n} at byte {pos} runs past the end of the data")
    return n, pos


def sequence_decoder(types: list[WitType]) -> list[DecStep]:
    steps: list[DecStep] = []
    for start, end in runs(types):
        if types[start].kind in CODES:
            st = struct.Struct("<" + "".join(CODES[t.kind] for t in types[start:end]))
            steps.append(_unpack_step(st))
        else:
            steps.append(_decode_item_step(decoder(types[start])))
    return steps


def _unpack_step(st: struct.Struct) -> DecStep:
    unpack_from, size = st.unpack_from, st.size

    def unpack_run(buf: bytes, pos: int, out: list[Any]) -> int:
        out.extend(unpack_from(buf, pos))
        return pos + size

    return unpack_run


def _decode_item_step(dec: Dec) -> DecStep:
    def decode_item(buf: bytes, pos: int, out: list[Any]) -> int:
        value, pos = dec(buf, pos)
        out.append(value)
        return pos

    return decode_item


def decoder(ty: WitType) -> Dec:
    """The decoder closure for one type: `dec(buf, pos) -> (value, new_pos)`."""
    kind = ty.kind
    if kind in CODES:
        st = struct.Struct("<" + CODES[kind])
        unpack_from, size = st.unpack_from, st.size

        def decode_scalar(buf: bytes, pos: int) -> tuple[Any, int]:
            return unpack_from(buf, pos)[0], pos + size

        return decode_scalar
    return _DECODERS[kind](ty)


def _char_dec(ty: WitType) -> Dec:
    unpack_from = U32.unpack_from

    def decode_char(buf: bytes, pos: int) -> tuple[Any, int]:
        code = unpack_from(buf, pos)[0]
        if code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
            raise Problem(f"the char at byte {pos} is not a Unicode scalar value")
        return chr(code), pos + 4

    return decode_char


def _string_dec(ty: WitType) -> Dec:
    def decode_string(buf: bytes, pos: int) -> tuple[Any, int]:
        n, pos = _read_leb(buf, pos)
        end = pos + n
        if end > len(buf):
            raise Problem(f"a string of {n} bytes at byte {pos} runs past the end of the data")
        return str(buf[pos:end], "utf-8"), end

    return decode_string


def _list_dec(ty: WitType) -> Dec:
    assert ty.element is not None
    if ty.is_bytes:

        def decode_bytes(buf: bytes, pos: int) -> tuple[Any, int]:
            n, pos = _read_count(buf, pos)
            return buf[pos : pos + n], pos + n

        return decode_bytes
    code = CODES.get(ty.element.kind)
    if code is not None:
        fmt, size = "<%d" + code, struct.calcsize(code)

        def decode_scalars(buf: bytes, pos: int) -> tuple[Any, int]:
            n, pos = _read_count(buf, pos)
            return list(struct.unpack_from(fmt % n, buf, pos)), pos + n * size

        return decode_scalars
    element = ty.element
    if element.kind == "record" and all(t.kind in CODES for _, t in element.fields):
        return _fixed_records_dec(element)
    dec = decoder(element)

    def decode_list(buf: bytes, pos: int) -> tuple[Any, int]:
        n, pos = _read_count(buf, pos)
        out = []
        for _ in range(n):
            item, pos = dec(buf, pos)
            out.append(item)
        return out, pos

    return decode_list


def _fixed_records_dec(ty: WitType) -> Dec:
    """list<record of scalars>: one `struct.iter_unpack` over the whole run."""
    names = [n for n, _ in ty.fields]
    st = struct.Struct("<" + "".join(CODES[t.kind] for _, t in ty.fields))
    iter_unpack, size = st.iter_unpack, st.size

    def decode_records(buf: bytes, pos: int) -> tuple[Any, int]:
        n, pos = _read_count(buf, pos)
        end = pos + n * size
        if end > len(buf):
            raise Problem(f"a list of {n} records at byte {pos} runs past the end of the data")
        return [Record(zip(names, row, strict=True)) for row in iter_unpack(buf[pos:end])], end

    return decode_records


def _tuple_dec(ty: WitType) -> Dec:
    steps = sequence_decoder(list(ty.elements))

    def decode_tuple(buf: bytes, pos: int) -> tuple[Any, int]:
        out: list[Any] = []
        for step in steps:
            pos = step(buf, pos, out)
        return tuple(out), pos

    return decode_tuple


def _record_dec(ty: WitType) -> Dec:
    names = [n for n, _ in ty.fields]
    types = [t for _, t in ty.fields]
    if all(t.kind in CODES for t in types):
        st = struct.Struct("<" + "".join(CODES[t.kind] for t in types))
        unpack_from, size = st.unpack_from, st.size

        def decode_fixed(buf: bytes, pos: int) -> tuple[Any, int]:
            return Record(zip(names, unpack_from(buf, pos), strict=True)), pos + size

        return decode_fixed
    steps = sequence_decoder(types)

    def decode_record(buf: bytes, pos: int) -> tuple[Any, int]:
        out: list[Any] = []
        for step in steps:
            pos = step(buf, pos, out)
        return Record(zip(names, out, strict=True)), pos

    return decode_record


def _variant_dec(ty: WitType) -> Dec:
    st = discriminant(len(ty.cases))
    unpack_from, size = st.unpack_from, st.size
    cases = [(name, decoder(t) if t is not None else None) for name, t in ty.cases]
    count = len(cases)

    def decode_variant(buf: bytes, pos: int) -> tuple[Any, int]:
        index = unpack_from(buf, pos)[0]
        if index >= count:
            raise Problem(f"case {index} at byte {pos} is not one of the {count} cases")
        name, dec = cases[index]
        pos += size
        if dec is None:
            return Variant(name), pos
        payload, pos = dec(buf, pos)
        return Variant(name, payload), pos

    return decode_variant


def _enum_dec(ty: WitType) -> Dec:
    st = discriminant(len(ty.names))
    unpack_from, size, names = st.unpack_from, st.size, ty.names

    def decode_enum(buf: bytes, pos: int) -> tuple[Any, int]:
        index = unpack_from(buf, pos)[0]
        if index >= len(names):
            raise Problem(f"case {index} at byte {pos} is not one of the {len(names)} cases")
        return names[index], pos + size

    return decode_enum


def _flags_dec(ty: WitType) -> Dec:
    bits = [(name, 1 << i) for i, name in enumerate(ty.names)]
    width = (len(ty.names) + 7) // 8
    limit = 1 << len(bits)

    def decode_flags(buf: bytes, pos: int) -> tuple[Any, int]:
        end = pos + width
        if end > len(buf):
            raise Problem(f"flags at byte {pos} run past the end of the data")
        mask = int.from_bytes(buf[pos:end], "little")
        if mask >= limit:
            raise Problem(f"flags at byte {pos} set bits beyond the {len(bits)} declared flags")
        return frozenset(name for name, bit in bits if mask & bit), end

    return decode_flags


def _option_dec(ty: WitType) -> Dec:
    assert ty.element is not None
    dec = decoder(ty.element)
    nested = ty.element.kind == "option"

    def decode_option(buf: bytes, pos: int) -> tuple[Any, int]:
        tag = buf[pos]
        if tag == 0:
            return None, pos + 1
        if tag != 1:
            raise Problem(f"an option at byte {pos} has tag {tag}, neither 0 nor 1")
        value, pos = dec(buf, pos + 1)
        return (Some(value) if nested else value), pos

    return decode_option


def _result_dec(ty: WitType) -> Dec:
    ok = decoder(ty.ok) if ty.ok is not None else None
    err = decoder(ty.err) if ty.err is not None else None

    def decode_result(buf: bytes, pos: int) -> tuple[Any, int]:
        tag = buf[pos]
        if tag > 1:
            raise Problem(f"a result at byte {pos} has tag {tag}, neither 0 nor 1")
        arm, wrap = (ok, Ok) if tag == 0 else (err, Err)
        if arm is None:
            return wrap(), pos + 1
        value, pos = arm(buf, pos + 1)
        return wrap(value), pos

    return decode_result


_DECODERS: dict[str, Callable[[WitType], Dec]] = {
    "char": _char_dec, "string": _string_dec, "list": _list_dec, "tuple": _tuple_dec,
    "record": _record_dec, "variant": _variant_dec, "enum": _enum_dec, "flags": _flags_dec,
    "option": _option_dec, "result": _result_dec,
}  # fmt: skip
