"""The WAVE writer: one closure per type, spelling values exactly as wasm-wave does."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any

from wasmesh.engine.codec._problem import handle_refusal
from wasmesh.engine.codec._wave_text import KEYWORDS, escape, format_float
from wasmesh.engine.types import INT_RANGES, WitType
from wasmesh.engine.values import Ok
from wasmesh.errors import WitValueError

Fmt = Callable[[Any], str]


@lru_cache(maxsize=256)
def formatter(ty: WitType) -> Fmt:
    kind = ty.kind
    if kind == "bool":
        return lambda v: "true" if v else "false"
    if kind in INT_RANGES:
        return str
    if kind in ("f32", "f64"):
        is_f32 = kind == "f32"
        return lambda v: format_float(v, is_f32)
    if kind == "char":
        return lambda v: f"'{escape(v)}'"
    if kind == "string":
        return lambda v: f'"{escape(v)}"'
    if kind == "list":
        assert ty.element is not None
        item = formatter(ty.element)
        return lambda v: "[" + ", ".join(item(x) for x in v) + "]"
    if kind == "tuple":
        items = [formatter(t) for t in ty.elements]
        return lambda v: "(" + ", ".join(f(x) for f, x in zip(items, v, strict=True)) + ")"
    if kind == "record":
        return _recordformatter(ty)
    if kind == "variant":
        cases = {n: (label(n), formatter(t) if t else None) for n, t in ty.cases}
        return lambda v: _with_payload(*cases[v.tag], v.value)
    if kind == "enum":
        return label
    if kind == "flags":
        order = ty.names
        return lambda v: "{" + ", ".join(n for n in order if n in v) + "}"
    if kind == "option":
        assert ty.element is not None
        inner = formatter(ty.element)
        if ty.element.kind == "option":
            return lambda v: "none" if v is None else f"some({inner(v.value)})"
        return lambda v: "none" if v is None else f"some({inner(v)})"
    if kind == "result":
        ok = formatter(ty.ok) if ty.ok else None
        err = formatter(ty.err) if ty.err else None
        return lambda v: (
            _with_payload("ok", ok, v.value)
            if type(v) is Ok
            else (_with_payload("err", err, v.value))
        )
    raise WitValueError(handle_refusal(kind, ty.resource, "text"))


def label(name: str) -> str:
    return f"%{name}" if name in KEYWORDS else name


def _with_payload(tag: str, fmt: Fmt | None, payload: Any) -> str:
    return tag if fmt is None else f"{tag}({fmt(payload)})"


def _recordformatter(ty: WitType) -> Fmt:
    fields = [(n, formatter(t), t.kind == "option") for n, t in ty.fields]

    def fmt_record(v: Any) -> str:
        # Option fields holding none are left out, as wasm-wave does.
        parts = [f"{n}: {f(v[n])}" for n, f, opt in fields if not (opt and v[n] is None)]
        return "{" + ", ".join(parts) + "}" if parts else "{:}"

    return fmt_record
