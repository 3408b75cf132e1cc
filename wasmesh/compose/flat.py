"""The canonical ABI's flattening of WIT types into core wasm value types.

Enough of the ABI to write a core function that forwards a lifted export to a lowered import
of the same signature: parameters beyond 16 core values, and results beyond one, travel
through memory, and both sides agree on the layout, so only the core signatures differ.
"""

from __future__ import annotations

from dataclasses import dataclass

from wasmesh.engine.types import FuncSig, WitType

MAX_FLAT_PARAMS = 16
MAX_FLAT_RESULTS = 1

_SCALARS = {
    "bool": "i32", "s8": "i32", "u8": "i32", "s16": "i32", "u16": "i32", "s32": "i32",
    "u32": "i32", "char": "i32", "s64": "i64", "u64": "i64", "f32": "f32", "f64": "f64",
    "enum": "i32", "own": "i32", "borrow": "i32", "future": "i32", "stream": "i32",
    "error-context": "i32",
}  # fmt: skip


def flatten(ty: WitType | None) -> list[str]:
    """The core value types `ty` flattens to."""
    if ty is None:
        return []
    if ty.kind in _SCALARS:
        return [_SCALARS[ty.kind]]
    if ty.kind in ("string", "list"):
        return ["i32", "i32"]
    if ty.kind == "record":
        return [core for _, field in ty.fields for core in flatten(field)]
    if ty.kind == "tuple":
        return [core for element in ty.elements for core in flatten(element)]
    if ty.kind == "flags":
        return ["i32"] * ((len(ty.names) + 31) // 32)
    if ty.kind == "option":
        return _variant([None, ty.element])
    if ty.kind == "result":
        return _variant([ty.ok, ty.err])
    if ty.kind == "variant":
        return _variant([case for _, case in ty.cases])
    raise ValueError(f"cannot flatten WIT type {ty.kind}")


def _variant(cases: list[WitType | None]) -> list[str]:
    joined: list[str] = []
    for case in cases:
        for i, core in enumerate(flatten(case)):
            if i < len(joined):
                joined[i] = _join(joined[i], core)
            else:
                joined.append(core)
    return ["i32", *joined]


def _join(a: str, b: str) -> str:
    if a == b:
        return a
    if {a, b} == {"i32", "f32"}:
        return "i32"
    return "i64"


@dataclass(frozen=True)
class CoreSignatures:
    """The core signatures of one function as an import (lowered) and as an export (lifted)."""

    params: tuple[str, ...]
    results: tuple[str, ...]
    results_in_memory: bool

    @property
    def lowered(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """(params, results) of the core import: a return pointer when results are spilled."""
        if self.results_in_memory:
            return (*self.params, "i32"), ()
        return self.params, self.results

    @property
    def lifted(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """(params, results) of the core export: it returns a pointer to spilled results."""
        if self.results_in_memory:
            return self.params, ("i32",)
        return self.params, self.results


def core_signatures(sig: FuncSig) -> CoreSignatures:
    params = [core for p in sig.params for core in flatten(p.type)]
    results = flatten(sig.result)
    return CoreSignatures(
        tuple(params) if len(params) <= MAX_FLAT_PARAMS else ("i32",),
        tuple(results),
        len(results) > MAX_FLAT_RESULTS,
    )
