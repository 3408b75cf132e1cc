"""Component values as JSON-compatible Python objects (for HTTP APIs, logs and the CLI).

The mapping:

| WIT | JSON |
|---|---|
| bool | `true` / `false` |
| integers, including u64/s64 | numbers (`from_json` also takes a string of digits for u64/s64) |
| f32, f64 | numbers; NaN and the infinities as the strings `"nan"`, `"inf"`, `"-inf"` |
| char, string | strings |
| list<u8> | a base64 string (standard alphabet, padded); `from_json` also takes an array |
| list<T>, tuple | arrays |
| record | an object keyed by the declared (kebab-case) field names |
| variant | `{"tag": "case"}` or `{"tag": "case", "value": payload}` (or just `"case"` on input) |
| enum | the case name |
| flags | an array of the names that are set, in declaration order |
| option<T> | `null` for none, else the payload; `{"some": x}` when T is itself an option |
| result | `{"ok": payload}` or `{"err": payload}` (`null` when the arm has no payload) |

Resource handles have no JSON form. `to_json` output always survives `json.dumps` and
`from_json(to_json(v, t), t) == v`.
"""

from __future__ import annotations

import base64
import binascii
import math
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from wasmesh.engine.codec._problem import (
    Problem,
    case_step,
    describe,
    element_step,
    field_step,
    handle_refusal,
)
from wasmesh.engine.codec.check import build
from wasmesh.engine.types import INT_RANGES, WitType
from wasmesh.engine.values import Err, Ok, Record, Some, Variant
from wasmesh.errors import WitValueError

Conv = Callable[[Any], Any]
_FLOAT_WORDS = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}


def to_json(value: Any, ty: WitType) -> Any:
    """The JSON-compatible form of `value` (normalized first, so lenient input is fine)."""
    try:
        return _encoder(ty)(build(ty)(value))
    except Problem as problem:
        raise problem.error() from None


def from_json(obj: Any, ty: WitType, where: str = "") -> Any:
    """Read a value of `ty` from its JSON form (as `json.loads` returns it)."""
    try:
        return _decoder(ty)(obj)
    except Problem as problem:
        raise problem.error(where) from None


def _refuse(ty: WitType) -> WitValueError:
    return WitValueError(handle_refusal(ty.kind, ty.resource, "JSON"))


@lru_cache(maxsize=256)
def _encoder(ty: WitType) -> Conv:
    kind = ty.kind
    if kind in ("bool", "char", "string", "enum") or kind in INT_RANGES:
        return lambda v: v
    if kind in ("f32", "f64"):
        return lambda v: (
            v if math.isfinite(v) else ("nan" if v != v else "inf" if v > 0 else "-inf")
        )
    if kind == "list":
        assert ty.element is not None
        if ty.is_bytes:
            return lambda v: base64.b64encode(v).decode("ascii")
        item = _encoder(ty.element)
        return lambda v: [item(x) for x in v]
    if kind == "tuple":
        items = [_encoder(t) for t in ty.elements]
        return lambda v: [f(x) for f, x in zip(items, v, strict=True)]
    if kind == "record":
        fields = [(n, _encoder(t)) for n, t in ty.fields]
        return lambda v: {n: f(v[n]) for n, f in fields}
    if kind == "variant":
        cases = {n: _encoder(t) if t else None for n, t in ty.cases}

        def variant(v: Variant) -> Any:
            conv = cases[v.tag]
            return {"tag": v.tag} if conv is None else {"tag": v.tag, "value": conv(v.value)}

        return variant
    if kind == "flags":
        return lambda v: [n for n in ty.names if n in v]
    if kind == "option":
        assert ty.element is not None
        inner = _encoder(ty.element)
        if ty.element.kind == "option":
            return lambda v: None if v is None else {"some": inner(v.value)}
        return lambda v: None if v is None else inner(v)
    if kind == "result":
        ok = _encoder(ty.ok) if ty.ok else None
        err = _encoder(ty.err) if ty.err else None

        def result(v: Ok | Err) -> Any:
            name, conv = ("ok", ok) if type(v) is Ok else ("err", err)
            return {name: None if conv is None else conv(v.value)}

        return result
    raise _refuse(ty)


@lru_cache(maxsize=256)
def _decoder(ty: WitType) -> Conv:
    kind = ty.kind
    if kind in INT_RANGES:
        return _int_decoder(ty)
    if kind in ("f32", "f64"):
        return _float_decoder(ty)
    if kind in ("bool", "char", "string", "enum", "flags", "tuple"):
        return _checked(ty)
    builder = _DECODERS.get(kind)
    if builder is None:
        raise _refuse(ty)
    return builder(ty)


def _checked(ty: WitType) -> Conv:
    """Kinds whose JSON form is already the value model (tuples read their elements)."""
    if ty.kind != "tuple":
        return build(ty)
    items = [_decoder(t) for t in ty.elements]
    check = build(ty)

    def tuple_(v: Any) -> Any:
        if not isinstance(v, list) or len(v) != len(items):
            return check(v)  # raises the checker's message
        return tuple(
            _at(element_step(i), f, x) for i, (f, x) in enumerate(zip(items, v, strict=True))
        )

    return tuple_


def _at(step: str, conv: Conv, value: Any) -> Any:
    try:
        return conv(value)
    except Problem as problem:
        problem.steps.append(step)
        raise


def _int_decoder(ty: WitType) -> Conv:
    check = build(ty)
    wide = ty.kind in ("u64", "s64")

    def int_(v: Any) -> Any:
        if (wide and isinstance(v, str) and v.lstrip("-").isdigit()) or (
            isinstance(v, float) and v.is_integer()
        ):
            v = int(v)
        return check(v)

    return int_


def _float_decoder(ty: WitType) -> Conv:
    check = build(ty)

    def float_(v: Any) -> Any:
        if isinstance(v, str):
            if v not in _FLOAT_WORDS:
                raise Problem(f'expected {ty.kind} (a number, "nan", "inf" or "-inf"), got {v!r}')
            return _FLOAT_WORDS[v]
        return check(v)

    return float_


def _list(ty: WitType) -> Conv:
    assert ty.element is not None
    if ty.is_bytes:
        check = build(ty)

        def bytes_(v: Any) -> Any:
            if not isinstance(v, str):
                return check(v)
            try:
                return base64.b64decode(v, validate=True)
            except (binascii.Error, ValueError):
                raise Problem(f"expected base64 for list<u8>, got {describe(v)}") from None

        return bytes_
    item = _decoder(ty.element)

    def list_(v: Any) -> Any:
        if not isinstance(v, list):
            raise Problem(f"expected a list (a JSON array), got {describe(v)}")
        return [_at(element_step(i), item, x) for i, x in enumerate(v)]

    return list_


def _record(ty: WitType) -> Conv:
    fields = [(n, _decoder(t), t.kind == "option") for n, t in ty.fields]
    names = {n for n, _ in ty.fields}

    def record(v: Any) -> Any:
        if not isinstance(v, dict):
            raise Problem(f"expected a record (a JSON object), got {describe(v)}")
        extra = [k for k in v if k not in names]
        if extra:
            raise Problem(f"the record has no field {extra[0]!r}")
        out = Record()
        for name, conv, optional in fields:
            if name not in v and not optional:
                raise Problem(f"the record needs field {name!r}, which is missing")
            out[name] = _at(field_step(name), conv, v.get(name))
        return out

    return record


def _variant(ty: WitType) -> Conv:
    cases = {n: _decoder(t) if t else None for n, t in ty.cases}

    def variant(v: Any) -> Any:
        if isinstance(v, str):
            v = {"tag": v}
        if (
            not isinstance(v, dict)
            or not isinstance(v.get("tag"), str)
            or set(v) - {"tag", "value"}
        ):
            raise Problem(
                f'expected a variant like {{"tag": "case", "value": ...}}, got {describe(v)}'
            )
        tag = v["tag"]
        if tag not in cases:
            raise Problem(f"the variant has no case {tag!r} (cases: {', '.join(cases)})")
        conv = cases[tag]
        if conv is None:
            if v.get("value") is not None:
                raise Problem(f"case {tag!r} takes no value, got {describe(v['value'])}")
            return Variant(tag)
        if "value" not in v:
            raise Problem(f"case {tag!r} needs a value")
        return Variant(tag, _at(case_step(tag), conv, v["value"]))

    return variant


def _option(ty: WitType) -> Conv:
    assert ty.element is not None
    inner = _decoder(ty.element)
    if ty.element.kind != "option":
        return lambda v: None if v is None else _at("some", inner, v)

    def nested(v: Any) -> Any:
        if v is None:
            return None
        if not isinstance(v, dict) or set(v) != {"some"}:
            raise Problem(
                f'expected null or {{"some": ...}} for a nested option, got {describe(v)}'
            )
        return Some(_at("some", inner, v["some"]))

    return nested


def _result(ty: WitType) -> Conv:
    arms = {
        "ok": (Ok, _decoder(ty.ok) if ty.ok else None),
        "err": (Err, _decoder(ty.err) if ty.err else None),
    }

    def result(v: Any) -> Any:
        if not isinstance(v, dict) or len(v) != 1 or next(iter(v)) not in arms:
            raise Problem(f'expected {{"ok": ...}} or {{"err": ...}}, got {describe(v)}')
        name, payload = next(iter(v.items()))
        wrap, conv = arms[name]
        if conv is None:
            if payload is not None:
                raise Problem(f"{name} takes no value here, got {describe(payload)}")
            return wrap(None)
        return wrap(_at(name, conv, payload))

    return result


_DECODERS: dict[str, Callable[[WitType], Conv]] = {
    "list": _list,
    "record": _record,
    "variant": _variant,
    "option": _option,
    "result": _result,
}
