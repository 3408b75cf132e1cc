"""Implementing a WIT import with a Python class.

    @implements("demo:log/sink@0.1.0")
    class Sink:
        def write(self, msg: str) -> None:
            print(msg)

    link_python_hosts(linker, loaded, {"demo:log/sink@0.1.0": Sink()})

Each function of the imported interface is served by the method of the same name in
snake_case (`write-line` → `write_line`), through the fast call path
(`wasmesh.engine.calls.define_func`) with the signature read from the component's own
import. Values follow `wasmesh.engine.values`.

Resources declared by the interface are host resources (`wasmesh.engine.calls.HostResource`)
whose objects are plain Python objects:

| WIT | method |
|---|---|
| `[constructor]blob` | `blob_new(self, ...)`, returns the object |
| `[method]blob.read` | `blob_read(self, blob, ...)`, `blob` is the object |
| `[static]blob.open` | `blob_open(self, ...)` |
| the guest drops a `blob` | `blob_drop(self, blob)` if defined |

A `hosts` key may omit the version (`demo:log/sink`): it then serves any version imported;
with a version it serves the semver-compatible ones (`wasmesh.names.InterfaceName.serves`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import wasmtime
import wasmtime.component as wc
from wasmtime.component._types import ComponentExtern

from wasmesh.capabilities.base import HostCapability
from wasmesh.engine.calls import HostResource, define_func, define_resource
from wasmesh.engine.types import ResourceNames, sig_from_wasmtime
from wasmesh.errors import LinkError
from wasmesh.names import InterfaceName

T = TypeVar("T")

Imports = Mapping[str, ComponentExtern]


def implements(interface: str) -> Callable[[type[T]], type[T]]:
    """Class decorator: the class implements WIT interface `interface` (`ns:pkg/name@ver`)."""

    def mark(cls: type[T]) -> type[T]:
        cls.__wit_interface__ = interface  # type: ignore[attr-defined]
        return cls

    return mark


def interface_of(host: object) -> str | None:
    """The interface a host object declares with `@implements`, if any."""
    name = getattr(host, "__wit_interface__", None)
    return name if isinstance(name, str) else None


def method_name(func: str) -> str:
    """The Python method serving WIT function `func` of an interface."""
    if func.startswith("[constructor]"):
        return _snake(func.removeprefix("[constructor]")) + "_new"
    for prefix in ("[method]", "[static]"):
        if func.startswith(prefix):
            res, _, name = func.removeprefix(prefix).partition(".")
            return f"{_snake(res)}_{_snake(name)}"
    return _snake(func)


def _snake(name: str) -> str:
    return name.replace("-", "_")


class PythonHosts(HostCapability):
    """The imports named in `hosts` (interface name → object), served by Python objects."""

    name = "python-hosts"

    def __init__(self, component: Any, hosts: Mapping[str, object]) -> None:
        self.component = component
        self.hosts = dict(hosts)
        self._keys = [InterfaceName.parse(key) for key in self.hosts]

    def provides(self, import_name: str) -> bool:
        wanted = InterfaceName.parse(import_name)
        return any(key.serves(wanted) for key in self._keys)

    def link(self, linker: wc.Linker, import_names: list[str]) -> None:
        link_python_hosts(linker, self.component, self.hosts)


def link_python_hosts(
    linker: wc.Linker,
    component: Any,
    hosts: Mapping[str, object],
) -> dict[str, dict[str, HostResource]]:
    """Define in `linker` every function of the imports of `component` named in `hosts`.

    `component` is a `LoadedComponent`, a `wasmtime.component.Component`, or the mapping
    `Component.type.imports(engine)` returns. `hosts` maps interface names to the objects
    implementing them. Returns the host resources defined, by interface then resource name.
    A resource declared by one of these interfaces may appear in the functions of another.
    Raises `LinkError` when a host object lacks a method for one of the interface's functions.
    """
    engine: wasmtime.Engine = linker.engine
    imports = _imports_of(component, engine)
    chosen: list[tuple[str, object]] = []
    for key, host in hosts.items():
        offered = InterfaceName.parse(key)
        matched = [n for n in imports if offered.serves(InterfaceName.parse(n))]
        if not matched:
            raise LinkError(
                f"the component does not import {key}; remove it from the Python hosts "
                f"(imports: {', '.join(sorted(imports)) or 'none'})"
            )
        chosen += [(n, host) for n in matched]
    # Resources first, for every interface: a function of one interface may take or return
    # a resource another one declares (wasi:http/types uses wasi:io/streams).
    names = ResourceNames()
    scope: dict[str, HostResource] = {}
    defined: dict[str, dict[str, HostResource]] = {}
    exports: dict[str, dict[str, ComponentExtern]] = {}
    for name, host in chosen:
        exports[name] = _exports_of(name, imports[name], engine)
        defined[name] = {}
        for res_name, ext in exports[name].items():
            rty = ext.ty
            if not isinstance(rty, wc.ResourceType):
                continue
            drop = getattr(host, f"{_snake(res_name)}_drop", None)
            seen = names.name_of(rty)  # the same resource, `use`d from another interface
            if seen is not None:
                hr = scope[seen]
                hr.dtor = hr.dtor or drop
            else:
                hr = HostResource(res_name, drop)
                names.add(rty, f"{name}#{res_name}")
                scope[f"{name}#{res_name}"] = hr
            defined[name][res_name] = hr
    with linker.root() as root:
        for name, host in chosen:
            with root.add_instance(name) as inst:
                for hr in defined[name].values():
                    define_resource(inst, hr)
                _link_funcs(inst, name, exports[name], host, names, scope)
    return defined


def _imports_of(component: Any, engine: wasmtime.Engine) -> Imports:
    if isinstance(component, Mapping):
        return component
    comp = getattr(component, "component", component)
    if not isinstance(comp, wc.Component):
        raise TypeError(f"expected a component or its imports, got {type(component).__name__}")
    imports: Imports = comp.type.imports(engine)
    return imports


def _exports_of(name: str, item: ComponentExtern, engine: Any) -> dict[str, ComponentExtern]:
    ty = item.ty
    if not isinstance(ty, wc.ComponentInstanceType):
        raise LinkError(f"import {name} is not an interface, so a Python class cannot serve it")
    return dict(ty.exports(engine))


def _link_funcs(
    inst: wc.LinkerInstance,
    name: str,
    exports: Mapping[str, ComponentExtern],
    host: object,
    names: ResourceNames,
    scope: Mapping[str, HostResource],
) -> None:
    for func_name, ext in exports.items():
        fty = ext.ty
        if not isinstance(fty, wc.FuncType):
            continue
        method = method_name(func_name)
        impl = getattr(host, method, None)
        if not callable(impl):
            raise LinkError(
                f"{type(host).__name__} implements {name} but has no method {method} "
                f"for its function {func_name}; add it"
            )
        sig = sig_from_wasmtime(fty, names)
        label = f"{name}#{func_name}"
        define_func(inst, func_name, sig, impl, resources=scope, label=label)
