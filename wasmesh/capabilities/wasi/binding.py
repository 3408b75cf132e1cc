"""Registering the Python WASI implementation on a component linker.

This is the one place that knows how host functions are called: through the engine's fast
call path (`wasmesh.engine.calls.define_func` / `define_resource`), converters compiled once
per function. Every versioned name the component imports (`wasi:io/streams@0.2.12`,
`wasi:cli/environment@0.2.9`...) is served by the same unversioned implementation.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import wasmtime
import wasmtime.component as wc

from wasmesh.capabilities.wasi._table import HostObject
from wasmesh.capabilities.wasi.context import current
from wasmesh.capabilities.wasi.interfaces import INTERFACES
from wasmesh.capabilities.wasi.versions import check_wasi_02
from wasmesh.engine.calls import HostResource, define_func, define_resource
from wasmesh.engine.types import FuncSig, ResourceNames, sig_from_wasmtime
from wasmesh.engine.values import Err, Ok, Some
from wasmesh.errors import WitValueError


def unversioned(name: str) -> str:
    return name.partition("@")[0]


def _on_drop(obj: Any) -> None:
    obj.on_drop()


def _collect(value: Any, out: list[HostObject]) -> None:
    """Note the host objects in a result: they now belong to the calling instance."""
    if isinstance(value, HostObject):
        out.append(value)
    elif isinstance(value, (Ok, Err, Some)):
        _collect(value.value, out)
    elif isinstance(value, (list, tuple)):
        for item in value:
            _collect(item, out)


def _host_func(impl: Callable[..., Any], sig: FuncSig) -> Callable[..., Any]:
    """`impl`, noting the host objects it hands out when its result can hold any."""
    if sig.result is None or not sig.result.has_handles:
        return impl
    if sig.result.kind == "own":  # the common shapes, without the generic walk

        def call_own(*args: Any) -> Any:
            result = impl(*args)
            if isinstance(result, HostObject):
                current().created.append(result)
            return result

        return call_own
    if sig.result.kind == "result" and sig.result.ok is not None and sig.result.ok.kind == "own":
        err_handles = sig.result.err is not None and sig.result.err.has_handles

        def call_ok_own(*args: Any) -> Any:
            result = impl(*args)
            if isinstance(result, Ok):
                if isinstance(result.value, HostObject):
                    current().created.append(result.value)
            elif err_handles and result is not None:
                _collect(result, current().created)
            return result

        return call_ok_own

    def call(*args: Any) -> Any:
        result = impl(*args)
        if result is not None:
            _collect(result, current().created)
        return result

    return call


class WasiLink:
    """The WASI resource tables of one linker, to hand objects to its instances."""

    def __init__(self, resources: dict[str, HostResource], served: list[str]) -> None:
        self.resources = resources
        self.served = served

    def own(self, obj: HostObject) -> wc.ResourceHost:
        """An owned handle to `obj` for the current instance."""
        current().created.append(obj)
        return self.resources[obj.resource].own(obj)

    def release(self, objects: list[HostObject]) -> None:
        """Take `objects` back from the guest tables (their instance is going away)."""
        for obj in objects:
            table = self.resources.get(obj.resource)
            if table is None:
                continue
            try:
                table.take(table.rep_of(obj))
            except WitValueError:
                continue  # the guest dropped it or handed it back already
            obj.on_drop()

    def live(self, objects: list[HostObject]) -> list[HostObject]:
        """The `objects` a guest still holds."""
        out = []
        for obj in objects:
            table = self.resources.get(obj.resource)
            if table is None:
                continue
            try:
                table.rep_of(obj)
            except WitValueError:
                continue
            out.append(obj)
        return out


def wasi_imports(component: wc.Component, engine: wasmtime.Engine) -> list[str]:
    """The component's imports that the Python WASI layer serves."""
    return [n for n in component.type.imports(engine) if unversioned(n) in INTERFACES]


def _missing(name: str) -> Callable[..., Any]:
    def call(*_args: Any) -> Any:
        raise NotImplementedError(f"wasmesh does not implement {name}")

    return call


def link_wasi(
    linker: wc.Linker,
    component: wc.Component,
    engine: wasmtime.Engine,
    *,
    others_as_traps: bool = True,
) -> WasiLink:
    """Define on `linker` every WASI interface `component` imports.

    Functions of those interfaces that wasmesh does not implement trap when called, so a
    component that merely links against them still instantiates. With `others_as_traps`,
    every other import the linker lacks traps too (leave it off when other capabilities
    define them afterwards).
    """
    check_wasi_02([*component.type.exports(engine), *component.type.imports(engine)])
    imports: list[tuple[str, wc.ComponentInstanceType]] = []
    for name, item in component.type.imports(engine).items():
        ty = item.ty
        if unversioned(name) in INTERFACES and isinstance(ty, wc.ComponentInstanceType):
            imports.append((name, ty))
    names = ResourceNames()
    exports = {name: ty.exports(engine) for name, ty in imports}
    for items in exports.values():
        for export, item in items.items():
            if isinstance(item.ty, wc.ResourceType):
                names.add(item.ty, export)
    # One table per resource name, made up front: a function may return a resource that
    # another interface defines (streams hand out pollables).
    resources: dict[str, HostResource] = {}
    for name, _ in imports:
        for cls in INTERFACES[unversioned(name)].resources:
            if cls.resource in exports[name] and cls.resource not in resources:
                resources[cls.resource] = HostResource(cls.resource, _on_drop)
    typed = [
        (item.ty, resources[export])
        for items in exports.values()
        for export, item in items.items()
        if isinstance(item.ty, wc.ResourceType) and export in resources
    ]
    with linker.root() as root:
        for name, _ in imports:
            iface = INTERFACES[unversioned(name)]
            with root.add_instance(name) as li:
                for export, item in exports[name].items():
                    # Resources used from other interfaces (`network` in wasi:sockets/tcp)
                    # too: one table and one type per name.
                    if not isinstance(item.ty, wc.ResourceType):
                        continue
                    if export in resources:
                        define_resource(li, resources[export])
                        continue
                    # An alias (`type headers = fields`, `use wasi:io/error.{error as
                    # io-error}`) is the same resource again, under another name.
                    for known, hr in typed:
                        if known == item.ty:
                            define_resource(li, hr, alias=export)
                            break
                for fname, item in exports[name].items():
                    fty = item.ty
                    if not isinstance(fty, wc.FuncType):
                        continue
                    label = f"{name}#{fname}"
                    impl = iface.funcs.get(fname) or _missing(label)
                    sig = sig_from_wasmtime(fty, names)
                    define_func(li, fname, sig, _host_func(impl, sig), resources=resources,
                                label=label)  # fmt: skip
    if others_as_traps:
        linker.define_unknown_imports_as_traps(component)
    return WasiLink(resources, [name for name, _ in imports])
