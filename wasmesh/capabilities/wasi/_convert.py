"""Values between wasmtime-py's generic host-call representation and wasmesh's value model.

wasmtime-py passes variants, options and results untagged when their cases can be told apart
by Python type, and as `wasmtime.component.Variant` otherwise; the WASI implementation speaks
`wasmesh.engine.values` (Ok/Err/Variant/Record) and host objects. Converters are built once
per function type at link time.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import wasmtime.component as wc

from wasmesh.capabilities.wasi._table import HostObject
from wasmesh.capabilities.wasi.context import WasiContext
from wasmesh.engine.types import SCALARS, WitType
from wasmesh.engine.values import Err, Ok, Record, Some, Variant


class CallScope:
    """One host call: its store, context, and the owned handles to release afterwards."""

    __slots__ = ("ctx", "owned", "store")

    def __init__(self, store: Any, ctx: WasiContext) -> None:
        self.store = store
        self.ctx = ctx
        self.owned: list[wc.ResourceAny] = []


Conv = Callable[[Any, CallScope], Any]

_SCALAR_CLASSES: dict[str, type] = {"bool": bool, "f32": float, "f64": float, "char": str,
                                    "string": str, "enum": str}  # fmt: skip


def _cases(t: WitType) -> list[tuple[str, WitType | None]]:
    if t.kind == "option":
        return [("none", None), ("some", t.element)]
    if t.kind == "result":
        return [("ok", t.ok), ("err", t.err)]
    return list(t.cases)


def classes(t: WitType) -> frozenset[type]:
    """The Python classes wasmtime-py uses for values of `t` (mirrors its `add_classes`)."""
    k = t.kind
    if k in _SCALAR_CLASSES:
        return frozenset({_SCALAR_CLASSES[k]})
    if k in SCALARS:
        return frozenset({int})
    if k == "list":
        return frozenset({bytes if t.is_bytes else list})
    if k == "record":
        return frozenset({wc.Record})
    if k == "tuple":
        return frozenset({tuple})
    if k == "flags":
        return frozenset({set})
    if k in ("own", "borrow"):
        return frozenset({wc.ResourceAny, wc.ResourceHost})
    if k in ("variant", "option", "result"):
        cases = _cases(t)
        if tagged(cases):
            return frozenset({wc.Variant})
        out: set[type] = set()
        for _, ct in cases:
            out |= classes(ct) if ct is not None else {object}
        return frozenset(out)
    return frozenset({object})


def tagged(cases: list[tuple[str, WitType | None]]) -> bool:
    seen: set[type] = set()
    for _, ct in cases:
        case = set(classes(ct)) if ct is not None else {object}
        if case & seen:
            return True
        seen |= case
    return False


def _identity(v: Any, scope: CallScope) -> Any:
    return v


def lifter(t: WitType) -> Conv:
    """wasmtime-py value of type `t` -> wasmesh value (handles -> host objects)."""
    k = t.kind
    if k in SCALARS or k in ("string", "enum"):
        return _identity
    if k == "list":
        if t.is_bytes:
            return _identity
        el = lifter(t.element)  # type: ignore[arg-type]
        return lambda v, s: [el(x, s) for x in v]
    if k == "tuple":
        els = [lifter(e) for e in t.elements]
        return lambda v, s: tuple(f(x, s) for f, x in zip(els, v, strict=True))
    if k == "record":
        fields = [(n, lifter(ft)) for n, ft in t.fields]
        return lambda v, s: Record({n: f(getattr(v, n), s) for n, f in fields})
    if k == "flags":
        return lambda v, s: frozenset(v)
    if k == "own":
        # Converting to a host handle ends the guest's ownership; no drop follows.
        return lambda v, s: s.ctx.table.take(v.to_host(s.store).rep)
    if k == "borrow":
        return lambda v, s: s.ctx.table.get(v.to_host(s.store).rep)
    if k in ("variant", "option", "result"):
        return _variant_lifter(t)
    raise TypeError(f"cannot pass a {k} to a WASI host function")


def _variant_lifter(t: WitType) -> Conv:
    cases = _cases(t)
    convs = {name: (lifter(ct) if ct is not None else None) for name, ct in cases}
    make: Callable[[str, Any], Any]
    if t.kind == "option":
        make = lambda tag, x: None if tag == "none" else x  # noqa: E731
    elif t.kind == "result":
        make = lambda tag, x: Ok(x) if tag == "ok" else Err(x)  # noqa: E731
    else:
        make = Variant
    if tagged(cases):

        def lift_tagged(v: Any, s: CallScope) -> Any:
            conv = convs[v.tag]
            return make(v.tag, conv(v.payload, s) if conv is not None else None)

        return lift_tagged
    tests = [(name, tuple(classes(ct)) if ct is not None else None) for name, ct in cases]

    def lift_untagged(v: Any, s: CallScope) -> Any:
        for name, cls in tests:
            if (cls is None and v is None) or (cls is not None and isinstance(v, cls)):
                conv = convs[name]
                return make(name, conv(v, s) if conv is not None else None)
        raise TypeError(f"value {v!r} fits no case of {t.kind}")

    return lift_untagged


def lowerer(t: WitType) -> Conv:
    """wasmesh value of type `t` -> what wasmtime-py's generic path accepts."""
    k = t.kind
    if k in SCALARS or k in ("string", "enum"):
        return _identity
    if k == "list":
        if t.is_bytes:
            return lambda v, s: bytes(v)
        el = lowerer(t.element)  # type: ignore[arg-type]
        return lambda v, s: [el(x, s) for x in v]
    if k == "tuple":
        els = [lowerer(e) for e in t.elements]
        return lambda v, s: tuple(f(x, s) for f, x in zip(els, v, strict=True))
    if k == "record":
        fields = [(n, lowerer(ft)) for n, ft in t.fields]

        def record(v: Any, s: CallScope) -> Any:
            out = wc.Record()
            for n, f in fields:
                setattr(out, n, f(v[n], s))
            return out

        return record
    if k == "flags":
        return lambda v, s: set(v)
    if k == "own":

        def own(v: HostObject, s: CallScope) -> Any:
            return wc.ResourceHost.own(s.ctx.table.push(v), v.type_id)

        return own
    if k in ("variant", "option", "result"):
        return _variant_lowerer(t)
    raise TypeError(f"a WASI host function cannot return a {k}")


def _variant_lowerer(t: WitType) -> Conv:
    cases = _cases(t)
    convs = {name: (lowerer(ct) if ct is not None else None) for name, ct in cases}
    is_tagged = tagged(cases)

    def split(v: Any) -> tuple[str, Any]:
        if t.kind == "option":
            if v is None:
                return "none", None
            return "some", v.value if isinstance(v, Some) else v
        if t.kind == "result":
            return ("ok", v.value) if isinstance(v, Ok) else ("err", v.value)
        return (v, None) if isinstance(v, str) else (v.tag, v.value)

    def lower(v: Any, s: CallScope) -> Any:
        tag, payload = split(v)
        conv = convs[tag]
        x = conv(payload, s) if conv is not None else None
        return wc.Variant(tag, x) if is_tagged else x

    return lower
