"""WIT types covering every value kind, and a seeded generator of random values for them."""

from __future__ import annotations

import random
import struct
from typing import Any

from wasmesh.engine.types import WitType
from wasmesh.engine.values import Err, Ok, Record, Some, Variant

W = WitType


def option(t: WitType) -> WitType:
    return W("option", element=t)


def list_of(t: WitType) -> WitType:
    return W("list", element=t)


def record(*fields: tuple[str, WitType], name: str | None = None) -> WitType:
    return W("record", fields=tuple(fields), name=name)


def tuple_of(*elements: WitType) -> WitType:
    return W("tuple", elements=tuple(elements))


def variant(*cases: tuple[str, WitType | None], name: str | None = None) -> WitType:
    return W("variant", cases=tuple(cases), name=name)


def enum(*names: str) -> WitType:
    return W("enum", names=names)


def flags(*names: str) -> WitType:
    return W("flags", names=names)


def result(ok: WitType | None = None, err: WitType | None = None) -> WitType:
    return W("result", ok=ok, err=err)


SCALAR_KINDS = ["bool", "s8", "u8", "s16", "u16", "s32", "u32", "s64", "u64", "f32", "f64",
                "char", "string"]  # fmt: skip
POINT = record(("x", W("s32")), ("y", W("s32")), name="point")
SHAPE = variant(("circle", W("f64")), ("rect", POINT), ("empty", None), name="shape")

TYPES: list[WitType] = [
    *(W(k) for k in SCALAR_KINDS),  # type: ignore[arg-type]
    list_of(W("u8")),
    list_of(W("u32")),
    list_of(W("string")),
    list_of(list_of(W("f64"))),
    POINT,
    record(("name", W("string")), ("tags", list_of(W("string"))), ("age", option(W("u8")))),
    tuple_of(W("u8"), W("string"), W("f32")),
    SHAPE,
    enum("red", "green", "blue"),
    enum(*(f"c{i}" for i in range(300))),
    flags("read", "write", "exec"),
    flags(*(f"f{i}" for i in range(32))),
    option(W("string")),
    option(option(W("u32"))),
    option(option(option(W("bool")))),
    result(W("u32"), W("string")),
    result(None, W("string")),
    result(W("string"), None),
    result(),
    list_of(SHAPE),
    list_of(POINT),
    record(("inner", record(("deep", list_of(option(W("char")))))), ("res", result(POINT))),
]

_CHARS = "aZ0 \n\t\\\"'é€😀\u0301\u00a0\x1b"


def random_value(ty: WitType, rng: random.Random, depth: int = 0) -> Any:
    """A random canonical value of `ty`."""
    kind = ty.kind
    if kind == "bool":
        return rng.random() < 0.5
    if kind[0] in "su" and kind[1:].isdigit():
        bits = int(kind[1:])
        lo, hi = (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) if kind[0] == "s" else (0, 2**bits - 1)
        return rng.choice([lo, hi, 0, rng.randint(lo, hi)])
    if kind == "f32":
        x = rng.choice([0.0, -0.0, 0.1, float("inf"), float("-inf"), rng.uniform(-1e6, 1e6)])
        return float(struct.unpack("<f", struct.pack("<f", x))[0])
    if kind == "f64":
        return rng.choice([0.0, 0.1, -2.5e-300, 1e300, float("inf"), rng.uniform(-1e9, 1e9)])
    if kind == "char":
        return rng.choice(_CHARS)
    if kind == "string":
        return "".join(rng.choice(_CHARS) for _ in range(rng.randint(0, 12)))
    count = rng.randint(0, 4 if depth < 3 else 1)
    if kind == "list":
        assert ty.element is not None
        if ty.is_bytes:
            return bytes(rng.randint(0, 255) for _ in range(rng.randint(0, 300)))
        return [random_value(ty.element, rng, depth + 1) for _ in range(count)]
    if kind == "record":
        return Record((n, random_value(t, rng, depth + 1)) for n, t in ty.fields)
    if kind == "tuple":
        return tuple(random_value(t, rng, depth + 1) for t in ty.elements)
    if kind == "variant":
        name, payload = rng.choice(ty.cases)
        return Variant(name, random_value(payload, rng, depth + 1) if payload else None)
    if kind == "enum":
        return rng.choice(ty.names)
    if kind == "flags":
        return frozenset(n for n in ty.names if rng.random() < 0.5)
    if kind == "option":
        assert ty.element is not None
        if rng.random() < 0.3:
            return None
        inner = random_value(ty.element, rng, depth + 1)
        return Some(inner) if ty.element.kind == "option" else inner
    if kind == "result":
        if rng.random() < 0.5:
            return Ok(random_value(ty.ok, rng, depth + 1) if ty.ok else None)
        return Err(random_value(ty.err, rng, depth + 1) if ty.err else None)
    raise AssertionError(f"no generator for {kind}")


def same(a: Any, b: Any) -> bool:
    """Equality that treats NaN as equal to NaN and tells -0.0 from 0.0."""
    if isinstance(a, float) and isinstance(b, float):
        return (a != a and b != b) or (a == b and str(a)[0] == str(b)[0])
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, Variant | Some | Ok | Err):
        return same(vars(a), vars(b))
    return bool(a == b)
