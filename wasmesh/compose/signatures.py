"""WIT-like text for types and signatures, for messages and `wasmesh graph`."""

from __future__ import annotations

from wasmesh.engine.types import FuncSig, WitType


def render_type(ty: WitType | None) -> str:
    """`list<tuple<string, u32>>`, `result<quote, error>`... (names used where known)."""
    if ty is None:
        return "_"
    if ty.name:
        return ty.name
    kind = ty.kind
    if kind in ("list", "option", "future", "stream"):
        return f"{kind}<{render_type(ty.element)}>"
    if kind == "result":
        if ty.ok is None and ty.err is None:
            return "result"
        return f"result<{render_type(ty.ok)}, {render_type(ty.err)}>"
    if kind == "tuple":
        return f"tuple<{', '.join(render_type(t) for t in ty.elements)}>"
    if kind == "record":
        return "record { " + ", ".join(f"{n}: {render_type(t)}" for n, t in ty.fields) + " }"
    if kind == "variant":
        cases = (f"{n}({render_type(t)})" if t else n for n, t in ty.cases)
        return "variant { " + ", ".join(cases) + " }"
    if kind in ("enum", "flags"):
        return f"{kind} {{ {', '.join(ty.names)} }}"
    if kind in ("own", "borrow"):
        return f"{kind}<{ty.resource or 'resource'}>"
    return kind


def render_sig(sig: FuncSig) -> str:
    """`func(items: list<u32>) -> u64`."""
    params = ", ".join(f"{p.name}: {render_type(p.type)}" for p in sig.params)
    result = f" -> {render_type(sig.result)}" if sig.result is not None else ""
    return f"func({params}){result}"
