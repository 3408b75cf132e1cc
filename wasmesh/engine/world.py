"""A component's world: its imports and exports, read once into plain data.

Interfaces (`wasi:cli/environment@0.2.6`) hold functions and resources; a world may also import
or export bare functions. Resource methods appear as functions named `[constructor]r`,
`[method]r.name`, `[static]r.name`, as in the component binary.
"""

from __future__ import annotations

from dataclasses import dataclass

import wasmtime
from wasmtime import component as wc

from wasmesh.engine.types import FuncSig, ResourceNames, sig_from_wasmtime
from wasmesh.names import split_interface_name


@dataclass(frozen=True)
class FuncItem:
    name: str
    sig: FuncSig


@dataclass(frozen=True)
class InterfaceItem:
    """An imported or exported instance, usually a WIT interface."""

    name: str
    funcs: tuple[FuncItem, ...]
    resources: tuple[str, ...]

    def func(self, name: str) -> FuncItem | None:
        for f in self.funcs:
            if f.name == name:
                return f
        return None

    @property
    def package(self) -> str:
        return split_interface_name(self.name)[0]

    @property
    def version(self) -> str | None:
        return split_interface_name(self.name)[2]

    @property
    def unversioned(self) -> str:
        pkg, iface, _ = split_interface_name(self.name)
        return f"{pkg}/{iface}" if iface else pkg


WorldItem = InterfaceItem | FuncItem


@dataclass(frozen=True)
class World:
    imports: tuple[WorldItem, ...]
    exports: tuple[WorldItem, ...]

    def export(self, name: str) -> WorldItem | None:
        return next((e for e in self.exports if e.name == name), None)

    def import_(self, name: str) -> WorldItem | None:
        return next((i for i in self.imports if i.name == name), None)


def describe(component: wc.Component, engine: wasmtime.Engine) -> World:
    """Read `component`'s imports and exports."""
    ctype = component.type
    imports = ctype.imports(engine)
    exports = ctype.exports(engine)
    items_in = {name: ext.ty for name, ext in imports.items()}
    items_out = {name: ext.ty for name, ext in exports.items()}
    resources = ResourceNames()
    for items in (items_in, items_out):
        for name, item in items.items():
            if isinstance(item, wc.ComponentInstanceType):
                for member, ext in item.exports(engine).items():
                    ty = ext.ty
                    if isinstance(ty, wc.ResourceType):
                        resources.add(ty, member)
            elif isinstance(item, wc.ResourceType):
                resources.add(item, name)
    return World(
        imports=_read_items(items_in, engine, resources),
        exports=_read_items(items_out, engine, resources),
    )


def _read_items(
    items: dict[str, wc.ComponentItem], engine: wasmtime.Engine, resources: ResourceNames
) -> tuple[WorldItem, ...]:
    out: list[WorldItem] = []
    for name, item in items.items():
        if isinstance(item, wc.FuncType):
            out.append(FuncItem(name, sig_from_wasmtime(item, resources)))
        elif isinstance(item, wc.ComponentInstanceType):
            funcs: list[FuncItem] = []
            res: list[str] = []
            for member, ext in item.exports(engine).items():
                ty = ext.ty
                if isinstance(ty, wc.FuncType):
                    funcs.append(FuncItem(member, sig_from_wasmtime(ty, resources)))
                elif isinstance(ty, wc.ResourceType):
                    res.append(member)
            out.append(InterfaceItem(name, tuple(funcs), tuple(res)))
    return tuple(out)
