"""The fast call path between Python and components.

- `define_func`: a host function (a WIT import implemented in Python) registered as a ctypes
  callback with converters compiled once from its `FuncSig`.
- `define_resource` / `HostResource`: a resource type implemented by Python objects.
- `ExportFunc`: a component export looked up once, callable as `f(store, *args)`.
- `compile_lift` / `compile_lower`: the per-type converters both directions share.

Values follow `wasmesh.engine.values`.
"""

from __future__ import annotations

from wasmesh.engine.calls.export import ExportFunc
from wasmesh.engine.calls.hostfunc import define_func, take_host_error
from wasmesh.engine.calls.lift import compile_lift
from wasmesh.engine.calls.lower import compile_lower
from wasmesh.engine.calls.resources import HostResource, ResourceScope, define_resource

__all__ = [
    "ExportFunc",
    "HostResource",
    "ResourceScope",
    "compile_lift",
    "compile_lower",
    "define_func",
    "define_resource",
    "take_host_error",
]
