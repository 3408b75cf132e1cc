"""The engine layer: one configured wasmtime engine, the AOT cache, loading and introspection."""

from __future__ import annotations

from wasmesh.engine.cache import AotCache, cache_dir
from wasmesh.engine.config import EngineSettings, deadline_ticks, shared_engine
from wasmesh.engine.faults import guest_error
from wasmesh.engine.loader import LoadedComponent, load_component
from wasmesh.engine.world import FuncItem, InterfaceItem, World, describe

__all__ = [
    "AotCache",
    "EngineSettings",
    "FuncItem",
    "InterfaceItem",
    "LoadedComponent",
    "World",
    "cache_dir",
    "deadline_ticks",
    "describe",
    "guest_error",
    "load_component",
    "shared_engine",
]
