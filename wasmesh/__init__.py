"""wasmesh: build systems out of WebAssembly components.

    import wasmesh
    calc = wasmesh.load("calc.wasm", grants=wasmesh.Grants(env=(("LOG", "1"),)))
    calc.exports["demo:calc/math"].add(1, 2)
"""

from __future__ import annotations

from wasmesh.api import Component, load
from wasmesh.engine.values import Err, Ok, Record, Some, Variant
from wasmesh.errors import GuestError, WasmeshError
from wasmesh.policy import ConfigValue, DirGrant, Grants, Limits, Policy, StoreGrant

__version__ = "0.1.0"

__all__ = [
    "Component",
    "ConfigValue",
    "DirGrant",
    "Err",
    "Grants",
    "GuestError",
    "Limits",
    "Ok",
    "Policy",
    "Record",
    "Some",
    "StoreGrant",
    "Variant",
    "WasmeshError",
    "__version__",
    "load",
]
