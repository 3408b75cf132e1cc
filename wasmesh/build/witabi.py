"""A resolved WIT package set and the canonical ABI's layout rules, for binding generators.

The input is the JSON that ``wasm-tools component wit --json DIR`` prints (a resolved set of
packages: worlds, interfaces, types). Types are referred to as in that JSON: a primitive's name
(``"u32"``, ``"string"``) or the index of an entry of ``types``. Sizes, alignments and flattening
follow the Component Model's canonical ABI (``design/mvp/CanonicalABI.md``: ``elem_size``,
``alignment``, ``flatten_type``, ``join``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from wasmesh.errors import BuildError

TypeRef = str | int
# Flat core value types.
I32, I64, F32, F64 = "i32", "i64", "f32", "f64"
MAX_FLAT_PARAMS = 16
MAX_FLAT_RESULTS = 1

_PRIM_SIZE = {
    "bool": 1, "s8": 1, "u8": 1, "s16": 2, "u16": 2, "s32": 4, "u32": 4, "char": 4,
    "f32": 4, "s64": 8, "u64": 8, "f64": 8, "string": 8,
}  # fmt: skip
_PRIM_FLAT = {"s64": [I64], "u64": [I64], "f32": [F32], "f64": [F64], "string": [I32, I32]}


class WitError(BuildError):
    """The WIT uses something the binding generator cannot express."""


@dataclass(frozen=True)
class Param:
    name: str
    type: TypeRef


@dataclass(frozen=True)
class Function:
    """One WIT function; ``kind`` is freestanding, constructor, method or static."""

    name: str
    kind: str
    resource: int | None
    params: tuple[Param, ...]
    result: TypeRef | None


@dataclass(frozen=True)
class Interface:
    """An interface of the world: ``key`` is its import/export name (``ns:pkg/name@v``)."""

    key: str
    name: str
    index: int | None
    functions: tuple[Function, ...]


class Resolve:
    """Types, interfaces and worlds of a resolved WIT package set."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        self.data = data
        self.types: list[dict[str, Any]] = list(data["types"])

    @classmethod
    def from_json(cls, text: str) -> Resolve:
        return cls(json.loads(text))

    # -- types ---------------------------------------------------------------------------

    def deref(self, t: TypeRef) -> TypeRef:
        """Follow type aliases (``type x = y`` and ``use``) to the defining type."""
        while isinstance(t, int):
            kind = self.types[t]["kind"]
            if isinstance(kind, dict) and "type" in kind:
                t = kind["type"]
            else:
                break
        return t

    def kind(self, t: TypeRef) -> tuple[str, Any]:
        """``(kind name, payload)`` of a type: ``("u32", None)``, ``("record", {...})``..."""
        t = self.deref(t)
        if isinstance(t, str):
            return t, None
        kind = self.types[t]["kind"]
        if isinstance(kind, str):
            return kind, None
        ((name, payload),) = kind.items()
        return str(name), payload

    def cases(self, t: TypeRef) -> list[TypeRef | None]:
        """The payload types of a variant-like type (variant, enum, option, result)."""
        name, p = self.kind(t)
        if name == "variant":
            return [c["type"] for c in p["cases"]]
        if name == "enum":
            return [None] * len(p["cases"])
        if name == "option":
            return [None, p]
        if name == "result":
            return [p["ok"], p["err"]]
        raise WitError(f"{name} is not a variant type")

    def size(self, t: TypeRef) -> int:
        name, p = self.kind(t)
        if name in _PRIM_SIZE:
            return _PRIM_SIZE[name]
        if name == "list":
            return 8
        if name == "handle":
            return 4
        if name in ("record", "tuple"):
            offset = 0
            for ft in self.fields(t):
                offset = align_to(offset, self.align(ft)) + self.size(ft)
            return align_to(offset, self.align(t))
        if name == "flags":
            return _flags_size(len(p["flags"]))
        if name in ("variant", "enum", "option", "result"):
            cases = self.cases(t)
            payload = max((self.size(c) for c in cases if c is not None), default=0)
            return align_to(self.payload_offset(t) + payload, self.align(t))
        raise WitError(f"the WIT type {name} is not supported by this binding generator")

    def align(self, t: TypeRef) -> int:
        name, p = self.kind(t)
        if name == "string":
            return 4
        if name in _PRIM_SIZE:
            return _PRIM_SIZE[name]
        if name in ("list", "handle"):
            return 4
        if name in ("record", "tuple"):
            return max((self.align(ft) for ft in self.fields(t)), default=1)
        if name == "flags":
            return min(4, max(1, _flags_size(len(p["flags"]))))
        if name in ("variant", "enum", "option", "result"):
            cases = self.cases(t)
            return max([_disc_size(len(cases)), *(self.align(c) for c in cases if c is not None)])
        raise WitError(f"the WIT type {name} is not supported by this binding generator")

    def payload_offset(self, t: TypeRef) -> int:
        cases = self.cases(t)
        max_align = max((self.align(c) for c in cases if c is not None), default=1)
        return align_to(_disc_size(len(cases)), max_align)

    def fields(self, t: TypeRef) -> list[TypeRef]:
        name, p = self.kind(t)
        if name == "record":
            return [f["type"] for f in p["fields"]]
        if name == "tuple":
            return list(p["types"])
        raise WitError(f"{name} has no fields")

    def field_offsets(self, t: TypeRef) -> list[int]:
        offsets, offset = [], 0
        for ft in self.fields(t):
            offset = align_to(offset, self.align(ft))
            offsets.append(offset)
            offset += self.size(ft)
        return offsets

    def flat(self, t: TypeRef) -> list[str]:
        """The canonical ABI's flattening of ``t`` into core value types."""
        name, p = self.kind(t)
        if name in _PRIM_FLAT:
            return list(_PRIM_FLAT[name])
        if name in _PRIM_SIZE or name in ("handle", "enum"):
            return [I32]
        if name == "list":
            return [I32, I32]
        if name in ("record", "tuple"):
            return [v for ft in self.fields(t) for v in self.flat(ft)]
        if name == "flags":
            n = len(p["flags"])
            if n > 32:
                raise WitError("flags with more than 32 members are not supported")
            return [I32]
        if name in ("variant", "option", "result"):
            return [I32, *self.variant_slots(t)]
        raise WitError(f"the WIT type {name} is not supported by this binding generator")

    def variant_slots(self, t: TypeRef) -> list[str]:
        """The joined payload slots of a variant-like type (after the discriminant)."""
        slots: list[str] = []
        for case in self.cases(t):
            if case is None:
                continue
            for i, ft in enumerate(self.flat(case)):
                if i < len(slots):
                    slots[i] = join(slots[i], ft)
                else:
                    slots.append(ft)
        return slots

    # -- worlds --------------------------------------------------------------------------

    def world(self, name: str) -> dict[str, Any]:
        for world in self.data["worlds"]:
            if world["name"] == name:
                return dict(world)
        names = ", ".join(w["name"] for w in self.data["worlds"])
        raise WitError(f"the WIT has no world {name!r}; it has {names}")

    def interface_key(self, index: int) -> str:
        iface = self.data["interfaces"][index]
        pkg = self.data["packages"][iface["package"]]["name"]
        ns_name, _, version = pkg.partition("@")
        key = f"{ns_name}/{iface['name']}"
        return f"{key}@{version}" if version else key

    def interfaces(self, world: Mapping[str, Any], direction: str) -> list[Interface]:
        """The interfaces a world imports or exports (``direction``), with their functions.

        World-level functions form one interface whose ``key`` is ``""``.
        """
        out: list[Interface] = []
        loose: list[Function] = []
        for key, item in world[direction].items():
            if "interface" in item:
                index = item["interface"]["id"]
                iface = self.data["interfaces"][index]
                name = iface.get("name") or key
                full = self.interface_key(index) if iface.get("name") else key
                funcs = tuple(_function(f) for f in iface["functions"].values())
                out.append(Interface(full, name, index, funcs))
            elif "function" in item:
                loose.append(_function(item["function"]))
        if loose:
            out.append(Interface("", "", None, tuple(loose)))
        return out

    def interface_resources(self, index: int) -> list[int]:
        types = self.data["interfaces"][index]["types"]
        return [t for t in types.values() if self.types[t]["kind"] == "resource"]


def _function(f: Mapping[str, Any]) -> Function:
    kind = f["kind"]
    resource = None
    if isinstance(kind, dict):
        ((kname, resource),) = kind.items()
        kind = kname
    if kind not in ("freestanding", "constructor", "method", "static"):
        raise WitError(f"function {f['name']!r} is {kind}; async functions are not supported")
    params = tuple(Param(p["name"], p["type"]) for p in f["params"])
    return Function(f["name"], str(kind), resource, params, f.get("result"))


def join(a: str, b: str) -> str:
    if a == b:
        return a
    if {a, b} == {I32, F32}:
        return I32
    return I64


def align_to(offset: int, align: int) -> int:
    return (offset + align - 1) // align * align


def _disc_size(n: int) -> int:
    return 1 if n <= 256 else 2 if n <= 65536 else 4


def _flags_size(n: int) -> int:
    if n == 0:
        return 0
    return 1 if n <= 8 else 2 if n <= 16 else 4 * ((n + 31) // 32)


def flat_params(resolve: Resolve, types: Sequence[TypeRef]) -> list[str]:
    return [v for t in types for v in resolve.flat(t)]
