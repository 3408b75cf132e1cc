"""Compiled lifters: engine values (`wasmtime_component_val_t`) to Python values.

`compile_lift(ty)` walks a `WitType` once and returns a closure `lift(val, cx)` that reads
the value's union field directly: no per-call dispatch on kinds, no `FuncType` queries.
`cx` is the store context address (only resource handles need it).

Lifting never frees or mutates the value: whoever owns it (the engine for host-function
arguments, the caller for export results) deletes it afterwards. Resource handles are cloned,
so the value's own handle stays valid for that delete.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable
from functools import cache
from typing import Any

from wasmesh.engine.calls import _capi as capi
from wasmesh.engine.calls.resources import lift_handle
from wasmesh.engine.types import WitType
from wasmesh.engine.values import Err, Ok, Record, Some, Variant

Lift = Callable[[Any, int], Any]

_string_at = ctypes.string_at


def _name(vec: Any) -> str:
    return _string_at(vec.data, vec.size).decode("utf-8")


# Scalars read their union field directly; one lambda per kind, written out for speed.
_SCALARS: dict[str, Lift] = {
    "bool": lambda v, cx: v.of.boolean,
    "s8": lambda v, cx: v.of.s8,
    "u8": lambda v, cx: v.of.u8,
    "s16": lambda v, cx: v.of.s16,
    "u16": lambda v, cx: v.of.u16,
    "s32": lambda v, cx: v.of.s32,
    "u32": lambda v, cx: v.of.u32,
    "s64": lambda v, cx: v.of.s64,
    "u64": lambda v, cx: v.of.u64,
    "f32": lambda v, cx: v.of.f32,
    "f64": lambda v, cx: v.of.f64,
    "char": lambda v, cx: chr(v.of.character),
    "string": lambda v, cx: _name(v.of.string),
}


@cache
def compile_lift(ty: WitType) -> Lift:
    """The lifter for values of `ty` (cached per type)."""
    kind = ty.kind
    scalar = _SCALARS.get(kind)
    if scalar is not None:
        return scalar
    if kind == "enum":
        names = {n.encode(): n for n in ty.names}
        return lambda v, cx: names[_string_at(v.of.enumeration.data, v.of.enumeration.size)]
    if kind == "flags":
        flag_names = {n.encode(): n for n in ty.names}

        def lift_flags(v: Any, cx: int) -> frozenset[str]:
            f = v.of.flags
            d = f.data
            return frozenset(flag_names[_string_at(d[i].data, d[i].size)] for i in range(f.size))

        return lift_flags
    if kind == "list":
        assert ty.element is not None
        return _list(ty.element)
    if kind == "record":
        return _record(ty)
    if kind == "tuple":
        return _tuple(ty)
    if kind == "variant":
        return _variant(ty)
    if kind == "option":
        return _option(ty)
    if kind == "result":
        return _result(ty)
    if kind in ("own", "borrow"):
        return lift_handle
    raise NotImplementedError(f"values of WIT kind {kind} cannot cross the call path yet")


def _list(element: WitType) -> Lift:
    if element.kind == "u8":
        # Elements are whole values (kind byte + union); the u8 sits at the union's start.
        stride, at = capi.VAL_SIZE, capi.OF

        def lift_bytes(v: Any, cx: int) -> bytes:
            lst = v.of.list
            n = lst.size
            if not n:
                return b""
            raw = _string_at(lst.data, n * stride)
            return raw[at::stride]

        return lift_bytes
    el = compile_lift(element)

    def lift_list(v: Any, cx: int) -> list[Any]:
        lst = v.of.list
        d = lst.data
        return [el(d[i], cx) for i in range(lst.size)]

    return lift_list


def _record(ty: WitType) -> Lift:
    fields = tuple((name, compile_lift(t)) for name, t in ty.fields)

    def lift_record(v: Any, cx: int) -> Record:
        d = v.of.record.data
        return Record([(name, lift(d[i].val, cx)) for i, (name, lift) in enumerate(fields)])

    return lift_record


def _tuple(ty: WitType) -> Lift:
    lifts = tuple(compile_lift(t) for t in ty.elements)

    def lift_tuple(v: Any, cx: int) -> tuple[Any, ...]:
        d = v.of.tuple.data
        return tuple([lift(d[i], cx) for i, lift in enumerate(lifts)])

    return lift_tuple


def _variant(ty: WitType) -> Lift:
    cases = {n.encode(): (n, compile_lift(t) if t is not None else None) for n, t in ty.cases}

    def lift_variant(v: Any, cx: int) -> Variant:
        var = v.of.variant
        tag, lift = cases[_string_at(var.discriminant.data, var.discriminant.size)]
        if lift is None:
            return Variant(tag)
        return Variant(tag, lift(var.val[0], cx))

    return lift_variant


def _option(ty: WitType) -> Lift:
    assert ty.element is not None
    inner = compile_lift(ty.element)
    nested = ty.element.kind == "option"  # some(none) must stay distinct from none

    def lift_option(v: Any, cx: int) -> Any:
        p = v.of.option
        if not p:
            return None
        x = inner(p[0], cx)
        return Some(x) if nested else x

    return lift_option


def _result(ty: WitType) -> Lift:
    ok = compile_lift(ty.ok) if ty.ok is not None else None
    err = compile_lift(ty.err) if ty.err is not None else None

    def lift_result(v: Any, cx: int) -> Ok | Err:
        r = v.of.result
        if r.is_ok:
            return Ok(ok(r.val[0], cx) if ok is not None else None)
        return Err(err(r.val[0], cx) if err is not None else None)

    return lift_result
