"""Go code that moves WIT values across the canonical ABI: Go types, lift and lower.

`ValueCode` writes Go statements into a `Body` and returns the Go expression holding the
result. Flat values travel as ``uint32``/``uint64``/``float32``/``float64`` (the core types
i32/i64/f32/f64); memory is read and written through the helpers of ``cabi_runtime.go``.
Every buffer the host allocated is released once its contents are copied into Go values.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from wasmesh.build.witabi import F32, F64, I32, I64, Resolve, TypeRef, WitError

CORE_GO = {I32: "uint32", I64: "uint64", F32: "float32", F64: "float64"}
_PRIM_GO = {
    "bool": "bool", "s8": "int8", "u8": "uint8", "s16": "int16", "u16": "uint16",
    "s32": "int32", "u32": "uint32", "s64": "int64", "u64": "uint64", "f32": "float32",
    "f64": "float64", "char": "rune", "string": "string",
}  # fmt: skip
_LOAD = {1: "cabiLd8", 2: "cabiLd16", 4: "cabiLd32", 8: "cabiLd64"}
_STORE = {1: ("cabiSt8", "uint8"), 2: ("cabiSt16", "uint16"), 4: ("cabiSt32", "uint32")}

Flat = tuple[str, str]  # (Go expression, core type)


def camel(name: str) -> str:
    """``incoming-request`` → ``IncomingRequest``."""
    return "".join(part[:1].upper() + part[1:].lower() for part in name.split("-"))


@dataclass
class Body:
    """Go statements of one function body, with fresh temporary names."""

    lines: list[str] = field(default_factory=list)
    count: int = 0

    def tmp(self) -> str:
        self.count += 1
        return f"cabiT{self.count}"

    def add(self, line: str) -> None:
        self.lines.append(line)

    def bind(self, expr: str) -> str:
        name = self.tmp()
        self.add(f"{name} := {expr}")
        return name


@dataclass
class Names:
    """Go names of the world's named types and how resources are represented."""

    types: dict[int, str]
    # Resources the component itself exports: Go `*T` values kept in a table by rep.
    exported: set[int]


class ValueCode:
    """Lift and lower code for one resolved WIT package set."""

    def __init__(self, resolve: Resolve, names: Names) -> None:
        self.r = resolve
        self.names = names

    # -- Go types ------------------------------------------------------------------------

    def gotype(self, t: TypeRef | None) -> str:
        if t is None:
            return "struct{}"
        t = self.r.deref(t)
        kind, p = self.r.kind(t)
        if kind in _PRIM_GO:
            return _PRIM_GO[kind]
        if isinstance(t, int) and t in self.names.types and kind != "handle":
            return self.names.types[t]
        if kind == "list":
            return "[]byte" if self.r.kind(p)[0] == "u8" else f"[]{self.gotype(p)}"
        if kind == "tuple":
            fields = "; ".join(f"F{i} {self.gotype(ft)}" for i, ft in enumerate(p["types"]))
            return f"struct{{{fields}}}"
        if kind == "option":
            return f"Option[{self.gotype(p)}]"
        if kind == "result":
            return f"Result[{self.gotype(p['ok'])}, {self.gotype(p['err'])}]"
        if kind == "handle":
            res = self.resource_of(t)
            name = self.names.types[res]
            return f"*{name}" if res in self.names.exported else name
        raise WitError(f"the WIT type {kind} has no Go form in this binding generator")

    def resource_of(self, handle: TypeRef) -> int:
        _, p = self.r.kind(handle)
        ((_, res),) = p.items()
        return int(self.r.deref(res))

    # -- variant-like types ---------------------------------------------------------------

    def tag(self, t: TypeRef, v: str) -> str:
        kind = self.r.kind(t)[0]
        return {
            "variant": f"{v}.Tag",
            "enum": f"uint32({v})",
            "option": f"cabiB2u({v}.IsSome)",
            "result": f"cabiB2u({v}.IsErr)",
        }[kind]

    def payload(self, t: TypeRef, v: str, case: int) -> str:
        kind, p = self.r.kind(t)
        if kind == "variant":
            return f"{v}.{self.case_field(p['cases'][case]['name'])}"
        if kind == "option":
            return f"{v}.Value"
        return f"{v}.Ok" if case == 0 else f"{v}.Err"

    def construct(self, t: TypeRef, case: int, value: str | None) -> str:
        kind, p = self.r.kind(t)
        go = self.gotype(t)
        if kind == "enum":
            return f"{go}({case})"
        if kind == "variant":
            cname = p["cases"][case]["name"]
            extra = f", {self.case_field(cname)}: {value}" if value is not None else ""
            return f"{go}{{Tag: {case}{extra}}}"
        if kind == "option":
            return f"{go}{{}}" if case == 0 else f"{go}{{IsSome: true, Value: {value}}}"
        if case == 0:
            return f"{go}{{Ok: {value}}}" if value is not None else f"{go}{{}}"
        return f"{go}{{IsErr: true, Err: {value}}}" if value is not None else f"{go}{{IsErr: true}}"

    @staticmethod
    def case_field(name: str) -> str:
        field_name = camel(name)
        return field_name + "_" if field_name == "Tag" else field_name

    # -- handles --------------------------------------------------------------------------

    def lift_handle(self, t: TypeRef, v: str) -> str:
        res = self.resource_of(t)
        name = self.names.types[res]
        if res not in self.names.exported:
            return f"{name}({v})"
        own = "own" in self.r.kind(t)[1]
        # A borrow of the component's own resource arrives as its rep; an own as a handle.
        return f"cabiTake{name}({v})" if own else f"cabiTable{name}[{v}]"

    def lower_handle(self, t: TypeRef, v: str) -> str:
        res = self.resource_of(t)
        name = self.names.types[res]
        if res not in self.names.exported:
            return f"uint32({v})"
        if "own" in self.r.kind(t)[1]:
            return f"cabiNew{name}({v})"
        raise WitError(f"passing a borrow of the exported resource {name} out is not supported")

    # -- flat values ----------------------------------------------------------------------

    def lift_flat(self, b: Body, t: TypeRef, vals: Iterator[Flat]) -> str:
        kind, p = self.r.kind(t)
        if kind == "string":
            ptr, n = next(vals)[0], next(vals)[0]
            return f"cabiLiftString({ptr}, {n})"
        if kind == "list":
            ptr, n = b.bind(next(vals)[0]), b.bind(next(vals)[0])
            return self._lift_list(b, p, ptr, n)
        if kind in ("record", "tuple"):
            return self._build(t, [self.lift_flat(b, ft, vals) for ft in self.r.fields(t)])
        if kind in ("variant", "option", "result", "enum"):
            disc = next(vals)[0]
            slots = [next(vals) for _ in self.r.variant_slots(t)] if kind != "enum" else []
            return self._lift_cases(b, t, disc, lambda case: self._coerce_in(case, slots))
        return self._lift_scalar(t, next(vals)[0], from_memory=False)

    def _lift_scalar(self, t: TypeRef, v: str, *, from_memory: bool) -> str:
        kind, _ = self.r.kind(t)
        if kind == "bool":
            return f"({v} != 0)"
        if kind in ("f32", "f64"):
            return f"cabi{kind.upper()}({v})" if from_memory else v
        if kind == "handle":
            return self.lift_handle(t, v)
        if kind == "flags":
            return f"{self.gotype(t)}({v})"
        return f"{self.gotype(t)}({v})"

    def _coerce_in(self, case: TypeRef, slots: list[Flat]) -> Iterator[Flat]:
        for (expr, have), want in zip(slots, self.r.flat(case), strict=False):
            yield _from_slot(expr, have, want), want

    def _lift_cases(self, b: Body, t: TypeRef, disc: str, payload_vals: object) -> str:
        out = b.tmp()
        b.add(f"var {out} {self.gotype(t)}")
        b.add(f"switch {disc} {{")
        for i, case in enumerate(self.r.cases(t)):
            b.add(f"case {i}:")
            value = None
            if case is not None:
                value = self._case_value(b, case, payload_vals)
            b.add(f"{out} = {self.construct(t, i, value)}")
        b.add('default:\npanic("invalid discriminant")\n}')
        return out

    def _case_value(self, b: Body, case: TypeRef, payload: object) -> str:
        if callable(payload):
            source = payload(case)
            if isinstance(source, str):  # a memory address
                return self.load(b, case, source)
            return self.lift_flat(b, case, source)
        raise TypeError(payload)

    def lower_flat(self, b: Body, t: TypeRef, v: str, scope: str) -> list[Flat]:
        kind, p = self.r.kind(t)
        if kind == "string":
            ptr, n = b.tmp(), b.tmp()
            b.add(f"{ptr}, {n} := {scope}.str({v})")
            return [(ptr, I32), (n, I32)]
        if kind == "list":
            ptr, n = self._lower_list(b, p, v, scope)
            return [(ptr, I32), (n, I32)]
        if kind in ("record", "tuple"):
            out: list[Flat] = []
            for name, ft in zip(self._field_names(t), self.r.fields(t), strict=True):
                out += self.lower_flat(b, ft, f"{v}.{name}", scope)
            return out
        if kind in ("variant", "option", "result", "enum"):
            return self._lower_cases(b, t, v, scope)
        return [(self._lower_scalar(t, v), self.r.flat(t)[0])]

    def _lower_scalar(self, t: TypeRef, v: str) -> str:
        kind, _ = self.r.kind(t)
        if kind == "bool":
            return f"cabiB2u({v})"
        if kind in ("s8", "s16"):
            return f"uint32(int32({v}))"
        if kind in ("f32", "f64", "u32"):
            return v
        if kind in ("s64", "u64"):
            return f"uint64({v})"
        if kind == "handle":
            return self.lower_handle(t, v)
        return f"uint32({v})"

    def _lower_cases(self, b: Body, t: TypeRef, v: str, scope: str) -> list[Flat]:
        disc = b.tmp()
        b.add(f"var {disc} uint32")
        kind = self.r.kind(t)[0]
        slot_types = self.r.variant_slots(t) if kind != "enum" else []
        slots = [b.tmp() for _ in slot_types]
        for name, ty in zip(slots, slot_types, strict=True):
            b.add(f"var {name} {CORE_GO[ty]}")
        val = b.bind(v)
        b.add(f"switch {self.tag(t, val)} {{")
        for i, case in enumerate(self.r.cases(t)):
            b.add(f"case {i}:\n{disc} = {i}")
            if case is None:
                continue
            flat = self.lower_flat(b, case, self.payload(t, val, i), scope)
            for (expr, have), slot, want in zip(flat, slots, slot_types, strict=False):
                b.add(f"{slot} = {_to_slot(expr, have, want)}")
        b.add("}")
        return [(disc, I32), *zip(slots, slot_types, strict=True)]

    # -- memory ---------------------------------------------------------------------------

    def load(self, b: Body, t: TypeRef, addr: str) -> str:
        kind, p = self.r.kind(t)
        a = b.bind(addr)
        if kind == "string":
            return f"cabiLiftString(cabiLd32({a}), cabiLd32({a}+4))"
        if kind == "list":
            ptr, n = b.bind(f"cabiLd32({a})"), b.bind(f"cabiLd32({a}+4)")
            return self._lift_list(b, p, ptr, n)
        if kind in ("record", "tuple"):
            offsets = self.r.field_offsets(t)
            fields = self.r.fields(t)
            values = [self.load(b, ft, f"{a}+{o}") for ft, o in zip(fields, offsets, strict=True)]
            return self._build(t, values)
        if kind in ("variant", "option", "result", "enum"):
            size = _disc_bytes(self.r, t)
            disc = f"uint32({_LOAD[size]}({a}))"
            off = self.r.payload_offset(t)
            return self._lift_cases(b, t, disc, lambda case: f"{a}+{off}")
        size = self.r.size(t)
        raw = f"{_LOAD[size]}({a})"
        if kind in ("flags", "enum") and size < 4:
            raw = f"uint32({raw})"
        return self._lift_scalar(t, raw, from_memory=True)

    def store(self, b: Body, t: TypeRef, addr: str, v: str, scope: str) -> None:
        kind = self.r.kind(t)[0]
        a = b.bind(addr)
        if kind in ("string", "list"):
            (ptr, _), (n, _) = self.lower_flat(b, t, v, scope)
            b.add(f"cabiSt32({a}, {ptr})\ncabiSt32({a}+4, {n})")
        elif kind in ("record", "tuple"):
            names, fields = self._field_names(t), self.r.fields(t)
            for name, ft, o in zip(names, fields, self.r.field_offsets(t), strict=True):
                self.store(b, ft, f"{a}+{o}", f"{v}.{name}", scope)
        elif kind in ("variant", "option", "result", "enum"):
            size = _disc_bytes(self.r, t)
            off = self.r.payload_offset(t)
            val = b.bind(v)
            b.add(f"switch {self.tag(t, val)} {{")
            for i, case in enumerate(self.r.cases(t)):
                fn, go = _STORE[size]
                b.add(f"case {i}:\n{fn}({a}, {go}({i}))")
                if case is not None:
                    self.store(b, case, f"{a}+{off}", self.payload(t, val, i), scope)
            b.add("}")
        else:
            size = self.r.size(t)
            if kind == "f32":
                b.add(f"cabiSt32({a}, cabiF32Bits({v}))")
            elif kind == "f64":
                b.add(f"cabiSt64({a}, cabiF64Bits({v}))")
            elif size == 8:
                b.add(f"cabiSt64({a}, uint64({v}))")
            else:
                fn, go = _STORE[size]
                b.add(f"{fn}({a}, {go}({self._lower_scalar(t, v)}))")

    # -- lists, records -------------------------------------------------------------------

    def _lift_list(self, b: Body, elem: TypeRef, ptr: str, n: str) -> str:
        if self.r.kind(elem)[0] == "u8":
            return f"cabiLiftBytes({ptr}, {n})"
        out = b.bind(f"make({self._list_type(elem)}, {n})")
        i = b.tmp()
        size = self.r.size(elem)
        b.add(f"for {i} := uint32(0); {i} < {n}; {i}++ {{")
        b.add(f"{out}[{i}] = {self.load(b, elem, f'{ptr}+{i}*{size}')}")
        b.add(f"}}\nif {n} > 0 {{\ncabiRelease({ptr})\n}}")
        return out

    def _list_type(self, elem: TypeRef) -> str:
        return f"[]{self.gotype(elem)}"

    def _lower_list(self, b: Body, elem: TypeRef, v: str, scope: str) -> tuple[str, str]:
        ptr, n = b.tmp(), b.tmp()
        if self.r.kind(elem)[0] == "u8":
            b.add(f"{ptr}, {n} := {scope}.bytes({v})")
            return ptr, n
        val = b.bind(v)
        size = self.r.size(elem)
        b.add(f"{n} := uint32(len({val}))\n{ptr} := {scope}.alloc({n} * {size})")
        i = b.tmp()
        b.add(f"for {i} := uint32(0); {i} < {n}; {i}++ {{")
        self.store(b, elem, f"{ptr}+{i}*{size}", f"{val}[{i}]", scope)
        b.add("}")
        return ptr, n

    def _field_names(self, t: TypeRef) -> list[str]:
        kind, p = self.r.kind(t)
        if kind == "record":
            return [camel(f["name"]) for f in p["fields"]]
        return [f"F{i}" for i in range(len(p["types"]))]

    def _build(self, t: TypeRef, values: list[str]) -> str:
        parts = ", ".join(f"{n}: {v}" for n, v in zip(self._field_names(t), values, strict=True))
        return f"{self.gotype(t)}{{{parts}}}"


def _disc_bytes(r: Resolve, t: TypeRef) -> int:
    n = len(r.cases(t))
    return 1 if n <= 256 else 2 if n <= 65536 else 4


def _from_slot(expr: str, have: str, want: str) -> str:
    if have == want:
        return expr
    if (have, want) == (I64, I32):
        return f"uint32({expr})"
    if (have, want) == (I32, F32):
        return f"cabiF32({expr})"
    if (have, want) == (I64, F32):
        return f"cabiF32(uint32({expr}))"
    if (have, want) == (I64, F64):
        return f"cabiF64({expr})"
    raise WitError(f"cannot read {want} from a {have} slot")


def _to_slot(expr: str, have: str, want: str) -> str:
    if have == want:
        return expr
    if (have, want) == (I32, I64):
        return f"uint64({expr})"
    if (have, want) == (F32, I32):
        return f"cabiF32Bits({expr})"
    if (have, want) == (F32, I64):
        return f"uint64(cabiF32Bits({expr}))"
    if (have, want) == (F64, I64):
        return f"cabiF64Bits({expr})"
    raise WitError(f"cannot write {have} into a {want} slot")
