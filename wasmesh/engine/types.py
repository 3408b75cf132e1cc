"""WIT types as plain, hashable data.

wasmtime-py hands out type objects that wrap engine pointers and are re-queried on every
use. wasmesh reads them once into `WitType` trees, which the value codec, the host-call path,
the wiring planner and `inspect` all share. Names (`name`) are filled in where the component
declares them (see `wasmesh.engine.world`), otherwise types are structural.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from wasmtime import component as wc

Kind = Literal[
    "bool", "s8", "s16", "s32", "s64", "u8", "u16", "u32", "u64", "f32", "f64",
    "char", "string", "error-context",
    "list", "record", "tuple", "variant", "enum", "option", "result", "flags",
    "own", "borrow", "future", "stream",
]  # fmt: skip

SCALARS: frozenset[str] = frozenset(
    {"bool", "s8", "s16", "s32", "s64", "u8", "u16", "u32", "u64", "f32", "f64", "char"}
)

INT_RANGES: dict[str, tuple[int, int]] = {
    "s8": (-(2**7), 2**7 - 1),
    "s16": (-(2**15), 2**15 - 1),
    "s32": (-(2**31), 2**31 - 1),
    "s64": (-(2**63), 2**63 - 1),
    "u8": (0, 2**8 - 1),
    "u16": (0, 2**16 - 1),
    "u32": (0, 2**32 - 1),
    "u64": (0, 2**64 - 1),
}


@dataclass(frozen=True)
class WitType:
    """One WIT value type. Only the fields meaningful for `kind` are set."""

    kind: Kind
    element: WitType | None = None  # list, option, future, stream payload
    fields: tuple[tuple[str, WitType], ...] = ()  # record
    elements: tuple[WitType, ...] = ()  # tuple
    cases: tuple[tuple[str, WitType | None], ...] = ()  # variant
    names: tuple[str, ...] = ()  # enum cases, flag names
    ok: WitType | None = None  # result
    err: WitType | None = None  # result
    resource: str | None = None  # own/borrow: the resource's name when known
    name: str | None = field(default=None, compare=False)  # WIT type name when known

    @property
    def is_bytes(self) -> bool:
        return self.kind == "list" and self.element is not None and self.element.kind == "u8"

    @property
    def has_handles(self) -> bool:
        """True when a value of this type carries a resource handle (cannot cross hosts)."""
        if self.kind in ("own", "borrow", "future", "stream", "error-context"):
            return True
        children: list[WitType | None] = [self.element, self.ok, self.err]
        children += [t for _, t in self.fields] + list(self.elements) + [t for _, t in self.cases]
        return any(c is not None and c.has_handles for c in children)


@dataclass(frozen=True)
class Param:
    name: str
    type: WitType


@dataclass(frozen=True)
class FuncSig:
    """A component function's signature."""

    params: tuple[Param, ...]
    result: WitType | None

    @property
    def has_handles(self) -> bool:
        types = [p.type for p in self.params] + ([self.result] if self.result else [])
        return any(t.has_handles for t in types)


_PRIMS: dict[type, Kind] = {
    wc.Bool: "bool", wc.S8: "s8", wc.S16: "s16", wc.S32: "s32", wc.S64: "s64",
    wc.U8: "u8", wc.U16: "u16", wc.U32: "u32", wc.U64: "u64",
    wc.F32: "f32", wc.F64: "f64", wc.Char: "char", wc.String: "string",
    wc.ErrorContext: "error-context",
}  # fmt: skip



def from_wasmtime(ty: wc.ValType, resources: ResourceNames | None = None) -> WitType:
    """Read a wasmtime-py value type into a `WitType` tree."""
    prim = _PRIMS.get(type(ty))
    if prim is not None:
        return WitType(prim)

    def conv(t: wc.ValType) -> WitType:
        return from_wasmtime(t, resources)

    if isinstance(ty, wc.ListType):
        return WitType("list", element=conv(ty.element))
    if isinstance(ty, wc.RecordType):
        return WitType("record", fields=tuple((n, conv(t)) for n, t in ty.fields))
    if isinstance(ty, wc.TupleType):
        return WitType("tuple", elements=tuple(conv(t) for t in ty.elements))
    if isinstance(ty, wc.VariantType):
        cases = tuple((n, conv(t) if t is not None else None) for n, t in ty.cases)
        return WitType("variant", cases=cases)
    if isinstance(ty, wc.EnumType):
        return WitType("enum", names=tuple(ty.names))
    if isinstance(ty, wc.OptionType):
        return WitType("option", element=conv(ty.payload))
    if isinstance(ty, wc.ResultType):
        ok, err = ty.ok, ty.err
        return WitType(
            "result", ok=conv(ok) if ok is not None else None, err=conv(err) if err else None
        )
    if isinstance(ty, wc.FlagsType):
        return WitType("flags", names=tuple(ty.names))
    if isinstance(ty, wc.FutureType):
        return WitType("future", element=conv(ty.payload))
    if isinstance(ty, wc.StreamType):
        return WitType("stream", element=conv(ty.payload))
    if isinstance(ty, wc.OwnType):
        return WitType("own", resource=resources.name_of(ty.ty) if resources else None)
    if isinstance(ty, wc.BorrowType):
        return WitType("borrow", resource=resources.name_of(ty.ty) if resources else None)
    raise TypeError(f"unsupported component value type {type(ty).__name__}")


def sig_from_wasmtime(fty: wc.FuncType, resources: ResourceNames | None = None) -> FuncSig:
    """Read a wasmtime-py function type into a `FuncSig`."""
    params = tuple(Param(n, from_wasmtime(t, resources)) for n, t in fty.params)
    result = fty.result
    return FuncSig(params, from_wasmtime(result, resources) if result is not None else None)


class ResourceNames:
    """Maps wasmtime resource types to the names under which an interface declares them."""

    def __init__(self) -> None:
        self._known: list[tuple[wc.ResourceType, str]] = []

    def add(self, ty: wc.ResourceType, name: str) -> None:
        self._known.append((ty, name))

    def name_of(self, ty: wc.ResourceType) -> str | None:
        for known, name in self._known:
            if known == ty:
                return name
        return None
