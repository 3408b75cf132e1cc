"""Registering the Python WASI implementation on a component linker.

This is the one place that knows how host functions are called: today through wasmtime-py's
generic `LinkerInstance.add_func` / `add_resource` with converters built once per function
type (`_convert`). Every versioned name the component imports (`wasi:io/streams@0.2.12`,
`wasi:cli/environment@0.2.9`...) is served by the same unversioned implementation.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import wasmtime
import wasmtime.component as wc

from wasmesh.capabilities.wasi._convert import CallScope, lifter, lowerer
from wasmesh.capabilities.wasi.context import current
from wasmesh.capabilities.wasi.interfaces import INTERFACES, Interface
from wasmesh.engine.types import FuncSig, sig_from_wasmtime


def unversioned(name: str) -> str:
    return name.partition("@")[0]


def _dtor(store: Any, rep: int) -> None:
    obj = current().table.take(rep)
    if obj is not None:
        obj.on_drop()


def _host_func(impl: Callable[..., Any], sig: FuncSig) -> Callable[..., Any]:
    lifts = [lifter(p.type) for p in sig.params]
    lower = lowerer(sig.result) if sig.result is not None else None

    def call(store: Any, *args: Any) -> Any:
        ctx = current()
        scope = CallScope(store, ctx)
        try:
            result = impl(*[f(a, scope) for f, a in zip(lifts, args, strict=True)])
            return lower(result, scope) if lower is not None else None
        except BaseException as e:
            # wasmtime-py keeps the exception in a process-wide slot; keep ours per instance.
            ctx.failure = e
            raise
        finally:
            for handle in scope.owned:
                handle.drop(store)

    return call


def _link_interface(
    root: wc.LinkerInstance, name: str, ty: wc.ComponentInstanceType, iface: Interface,
    engine: wasmtime.Engine,
) -> None:  # fmt: skip
    exports = ty.exports(engine)
    with root.add_instance(name) as li:
        for cls in iface.resources:
            if cls.resource in exports:
                li.add_resource(cls.resource, cls.resource_type(), _dtor)
        for fname, item in exports.items():
            fty = item.ty
            impl = iface.funcs.get(fname)
            if impl is not None and isinstance(fty, wc.FuncType):
                li.add_func(fname, _host_func(impl, sig_from_wasmtime(fty)))


def wasi_imports(component: wc.Component, engine: wasmtime.Engine) -> list[str]:
    """The component's imports that the Python WASI layer serves."""
    return [n for n in component.type.imports(engine) if unversioned(n) in INTERFACES]


def link_wasi(linker: wc.Linker, component: wc.Component, engine: wasmtime.Engine) -> list[str]:
    """Define on `linker` every WASI interface `component` imports; returns the names.

    Imports wasmesh does not implement become functions that trap when called, so a
    component that merely links against them (filesystem, sockets) still instantiates.
    """
    served: list[str] = []
    with linker.root() as root:
        for name, item in component.type.imports(engine).items():
            iface = INTERFACES.get(unversioned(name))
            ty = item.ty
            if iface is None or not isinstance(ty, wc.ComponentInstanceType):
                continue
            _link_interface(root, name, ty, iface, engine)
            served.append(name)
    linker.define_unknown_imports_as_traps(component)
    return served
