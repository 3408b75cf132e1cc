"""Validate Python values against WIT types and normalize them to the value model.

`compile_checker(ty)` builds one closure per type node, once; calling it never dispatches on
`kind` again. Accepted inputs beyond the canonical model (see `wasmesh.engine.values`):
any mapping or object with the fields for a record (`b_c` is accepted for field `b-c`; option
fields may be missing and become `None`), a bare str for a variant case without payload, any
iterable of names (or one name) for flags, bytearray / memoryview / a list of ints for
list<u8>, any iterable for list<T>, an int for a float, objects with `tag` and `value` (or
`payload`) for a variant. `bool` is never an int. Handles (own/borrow/future/stream/
error-context) pass through untouched.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterable, Mapping
from functools import lru_cache
from typing import Any

from wasmesh.engine.codec._problem import Problem, case_step, describe, element_step, field_step
from wasmesh.engine.types import INT_RANGES, WitType
from wasmesh.engine.values import Err, Ok, Record, Some, Variant

Check = Callable[[Any], Any]
"""An inner checker: returns the normalized value or raises `Problem`."""

_HANDLES = frozenset({"own", "borrow", "future", "stream", "error-context"})


def check(value: Any, ty: WitType, where: str = "") -> Any:
    """Return `value` normalized to the value model for `ty`, or raise `WitValueError`.

    `where` names the value in the message, e.g. `argument "p"`.
    """
    try:
        return _cached(ty)(value)
    except Problem as problem:
        raise problem.error(where) from None


def compile_checker(ty: WitType, where: str = "") -> Callable[[Any], Any]:
    """A precompiled `check` for one type: `checker(value) -> normalized value`."""
    inner = build(ty)

    def checker(value: Any) -> Any:
        try:
            return inner(value)
        except Problem as problem:
            raise problem.error(where) from None

    return checker


@lru_cache(maxsize=512)
def _cached(ty: WitType) -> Check:
    return build(ty)


def build(ty: WitType) -> Check:
    """The inner checker for `ty` (raises `Problem`); used by the other codecs too."""
    kind = ty.kind
    if kind in INT_RANGES:
        return _int(kind, *INT_RANGES[kind])
    if kind in _HANDLES:
        return lambda v: v
    builder = _BUILDERS.get(kind)
    if builder is None:
        raise TypeError(f"no checker for WIT kind {kind!r}")
    return builder(ty)


def _int(kind: str, lo: int, hi: int) -> Check:
    def check_int(v: Any) -> Any:
        if type(v) is not int:
            if isinstance(v, bool) or not isinstance(v, int):
                raise Problem(f"expected {kind} (an integer), got {describe(v)}")
            v = int(v)
        if v < lo or v > hi:
            raise Problem(f"{v} is out of range for {kind} ({lo}..{hi})")
        return v

    return check_int


def _bool(ty: WitType) -> Check:
    def check_bool(v: Any) -> bool:
        if v is True or v is False:
            return v
        raise Problem(f"expected bool (True or False), got {describe(v)}")

    return check_bool


_pack_f32 = struct.Struct("<f").pack


def _float(ty: WitType) -> Check:
    kind = ty.kind
    is_f32 = kind == "f32"

    def check_float(v: Any) -> Any:
        if type(v) is not float:
            if isinstance(v, bool) or not isinstance(v, int | float):
                raise Problem(f"expected {kind} (a number), got {describe(v)}")
            try:
                v = float(v)
            except OverflowError:
                raise Problem(f"{v} is out of range for {kind}") from None
        if is_f32:
            try:
                _pack_f32(v)
            except OverflowError:
                raise Problem(f"{v} is out of range for f32") from None
        return v

    return check_float


def _char(ty: WitType) -> Check:
    def check_char(v: Any) -> str:
        if type(v) is not str or len(v) != 1:
            raise Problem(f"expected char (a one-character str), got {describe(v)}")
        if 0xD800 <= ord(v) <= 0xDFFF:
            raise Problem(f"U+{ord(v):04X} is a surrogate, which is not a valid char")
        return v

    return check_char


def _string(ty: WitType) -> Check:
    def check_string(v: Any) -> Any:
        if type(v) is not str:
            if not isinstance(v, str):
                raise Problem(f"expected string (a str), got {describe(v)}")
            v = str(v)
        if not v.isascii():
            try:
                v.encode("utf-8")
            except UnicodeEncodeError as exc:
                raise Problem(
                    f"the string holds a lone surrogate at index {exc.start}, "
                    "which cannot be encoded as UTF-8"
                ) from None
        return v

    return check_string


def _bytes(v: Any) -> bytes:
    if type(v) is bytes:
        return v
    if isinstance(v, bytes | bytearray | memoryview):
        return bytes(v)
    if isinstance(v, str) or not isinstance(v, Iterable):
        raise Problem(f"expected list<u8> (bytes or a list of ints), got {describe(v)}")
    items = list(v)
    for i, b in enumerate(items):
        if type(b) is not int or not 0 <= b <= 255:
            problem = Problem(f"{describe(b)} is not a u8 (0..255)")
            problem.steps.append(element_step(i))
            raise problem
    return bytes(items)


def _list(ty: WitType) -> Check:
    assert ty.element is not None
    if ty.is_bytes:
        return _bytes
    inner = build(ty.element)
    bulk = _bulk_scalars(ty.element.kind)

    def check_list(v: Any) -> list[Any]:
        if isinstance(v, str | bytes | Mapping) or not isinstance(v, Iterable):
            raise Problem(f"expected a list, got {describe(v)}")
        if bulk is not None and type(v) is list and bulk(v):
            return v
        out = []
        for i, item in enumerate(v):
            try:
                out.append(inner(item))
            except Problem as problem:
                problem.steps.append(element_step(i))
                raise
        return out

    return check_list


def _bulk_scalars(kind: str) -> Callable[[list[Any]], bool] | None:
    """A whole-list test for lists of ints or f64 that are already canonical (no copy)."""
    if kind in INT_RANGES:
        lo, hi = INT_RANGES[kind]

        def ints(v: list[Any]) -> bool:
            # set() of the element types is one C-level pass; bool is not an int here.
            return not v or ({type(x) for x in v} == {int} and lo <= min(v) and max(v) <= hi)

        return ints
    if kind == "f64":
        return lambda v: not v or {type(x) for x in v} == {float}
    return None


def _tuple(ty: WitType) -> Check:
    inners = [build(t) for t in ty.elements]
    size = len(inners)

    def check_tuple(v: Any) -> tuple[Any, ...]:
        if isinstance(v, str | bytes | Mapping) or not isinstance(v, Iterable):
            raise Problem(f"expected a tuple of {size}, got {describe(v)}")
        items = tuple(v)
        if len(items) != size:
            raise Problem(f"expected a tuple of {size}, got {len(items)} elements")
        out = []
        for i, (inner, item) in enumerate(zip(inners, items, strict=True)):
            try:
                out.append(inner(item))
            except Problem as problem:
                problem.steps.append(element_step(i))
                raise
        return tuple(out)

    return check_tuple


_MISSING = object()


def _record(ty: WitType) -> Check:
    fields = [(name, name.replace("-", "_"), build(t), t.kind == "option") for name, t in ty.fields]
    known = {n for n, _, _, _ in fields} | {alias for _, alias, _, _ in fields}
    label = f"record {ty.name}" if ty.name else "a record"

    names = [n for n, _ in ty.fields]
    inners = [inner for _, _, inner, _ in fields]

    def check_record(v: Any) -> Record:
        if type(v) is Record and len(v) == len(names) and all(n in v for n in names):
            out = Record()
            for name, inner in zip(names, inners, strict=True):
                try:
                    out[name] = inner(v[name])
                except Problem as problem:
                    problem.steps.append(field_step(name))
                    raise
            return out
        if isinstance(v, Mapping):
            extra = [k for k in v if k not in known]
            if extra:
                raise Problem(f"{label} has no field {extra[0]!r}")
            get: Callable[[str, str], Any] = lambda n, a: v.get(n, v.get(a, _MISSING))  # noqa: E731
        elif isinstance(v, str | bytes | int | float | list | tuple) or v is None:
            raise Problem(f"expected {label} (a mapping or object), got {describe(v)}")
        else:
            get = lambda n, a: getattr(v, a, getattr(v, n, _MISSING))  # noqa: E731
        out = Record()
        for name, alias, inner, optional in fields:
            item = get(name, alias)
            if item is _MISSING:
                if not optional:
                    raise Problem(f"{label} needs field {name!r}, which is missing")
                item = None
            try:
                out[name] = inner(item)
            except Problem as problem:
                problem.steps.append(field_step(name))
                raise
        return out

    return check_record


def _variant(ty: WitType) -> Check:
    cases = {name: (build(t) if t is not None else None) for name, t in ty.cases}
    label = f"variant {ty.name}" if ty.name else "the variant"

    def check_variant(v: Any) -> Variant:
        tag: Any = v
        payload: Any = None
        if not isinstance(v, str):
            tag = getattr(v, "tag", _MISSING)
            payload = v.value if hasattr(v, "value") else getattr(v, "payload", None)
            if tag is _MISSING:
                raise Problem(f"expected a case of {label} (Variant or str), got {describe(v)}")
        if tag not in cases:
            raise Problem(f"{label} has no case {tag!r} (cases: {', '.join(cases)})")
        inner = cases[tag]
        if inner is None:
            if payload is not None:
                raise Problem(f"case {tag!r} of {label} takes no payload, got {describe(payload)}")
            return v if type(v) is Variant else Variant(tag)
        try:
            return Variant(tag, inner(payload))
        except Problem as problem:
            problem.steps.append(case_step(tag))
            raise

    return check_variant


def _enum(ty: WitType) -> Check:
    names = frozenset(ty.names)
    label = f"enum {ty.name}" if ty.name else "the enum"

    def check_enum(v: Any) -> str:
        if type(v) is str and v in names:
            return v
        if isinstance(v, str):
            raise Problem(f"{label} has no case {v!r} (cases: {', '.join(ty.names)})")
        raise Problem(f"expected a case of {label} (a str), got {describe(v)}")

    return check_enum


def _flags(ty: WitType) -> Check:
    names = frozenset(ty.names)
    label = f"flags {ty.name}" if ty.name else "the flags"

    def check_flags(v: Any) -> frozenset[str]:
        if type(v) is frozenset and v <= names:
            return v
        if isinstance(v, str):
            v = (v,)
        elif not isinstance(v, Iterable) or isinstance(v, bytes | Mapping):
            raise Problem(f"expected {label} (a set of names), got {describe(v)}")
        items = list(v)
        for item in items:
            if type(item) is not str:
                raise Problem(f"expected {label} (a set of names), got a flag {describe(item)}")
        out = frozenset(items)
        unknown = sorted(str(n) for n in out - names)
        if unknown:
            raise Problem(f"{label} has no flag {unknown[0]!r} (flags: {', '.join(ty.names)})")
        return out

    return check_flags


def _option(ty: WitType) -> Check:
    assert ty.element is not None
    inner = build(ty.element)
    if ty.element.kind == "option":
        # `Some` marks the outer `some` so that `Some(None)` differs from `None`.
        def check_nested(v: Any) -> Any:
            if v is None:
                return None
            try:
                return Some(inner(v.value if type(v) is Some else v))
            except Problem as problem:
                problem.steps.append("some")
                raise

        return check_nested

    def check_option(v: Any) -> Any:
        if v is None:
            return None
        try:
            return inner(v.value if type(v) is Some else v)
        except Problem as problem:
            problem.steps.append("some")
            raise

    return check_option


def _result(ty: WitType) -> Check:
    ok = build(ty.ok) if ty.ok is not None else None
    err = build(ty.err) if ty.err is not None else None

    def arm(name: str, inner: Check | None, payload: Any) -> Any:
        if inner is None:
            if payload is not None:
                raise Problem(f"{name} of this result takes no payload, got {describe(payload)}")
            return None
        try:
            return inner(payload)
        except Problem as problem:
            problem.steps.append(name)
            raise

    def check_result(v: Any) -> Ok | Err:
        if type(v) is Ok:
            return Ok(arm("ok", ok, v.value))
        if type(v) is Err:
            return Err(arm("err", err, v.value))
        raise Problem(f"expected a result (Ok(...) or Err(...)), got {describe(v)}")

    return check_result


_BUILDERS: dict[str, Callable[[WitType], Check]] = {
    "bool": _bool,
    "f32": _float,
    "f64": _float,
    "char": _char,
    "string": _string,
    "list": _list,
    "tuple": _tuple,
    "record": _record,
    "variant": _variant,
    "enum": _enum,
    "flags": _flags,
    "option": _option,
    "result": _result,
}
