"""Running one deployment unit on a host: the `UnitRunner` Protocol and its component runner.

A host needs three things from a unit: its export interfaces (with signatures), a way to
call one of their functions from any thread, and a way to stop it. Imports satisfied by a unit
on another host come in as `ImportProvider`s (see `wasmesh.lattice.stub`), linked like any
other capability.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, Protocol

import wasmtime
from wasmtime import component as wc

from wasmesh.capabilities.defaults import default_wasi
from wasmesh.compose.app import runtime_grants
from wasmesh.compose.grants import Grants as UnitGrants
from wasmesh.engine.calls import define_func
from wasmesh.engine.loader import load_component
from wasmesh.engine.types import FuncSig
from wasmesh.engine.world import FuncItem, InterfaceItem, World
from wasmesh.runtime.exports import ExportTarget
from wasmesh.runtime.grants import Grants
from wasmesh.runtime.instance import Runner

Interfaces = Mapping[str, Mapping[str, FuncSig]]  # interface ("" = world level) -> func -> sig
HostFunc = Callable[..., Any]
ImportProvider = Callable[[str, str, FuncSig], HostFunc]  # (interface, func, sig) -> impl

CALL_TIMEOUT_S = 30.0  # a guest call running longer is interrupted


class UnitRunner(Protocol):
    """A started unit: call its exports from any thread, then close it."""

    @property
    def exports(self) -> Interfaces: ...

    def call(self, interface: str, func: str, args: Sequence[Any]) -> Any: ...

    def close(self) -> None: ...


def interfaces(items: Sequence[InterfaceItem | FuncItem]) -> dict[str, dict[str, FuncSig]]:
    """World items as interface -> function -> signature ("" holds world-level functions)."""
    out: dict[str, dict[str, FuncSig]] = {}
    for item in items:
        if isinstance(item, InterfaceItem):
            out[item.name] = {f.name: f.sig for f in item.funcs}
        else:
            out.setdefault("", {})[item.name] = item.sig
    return out


class ProvidedImports:
    """A capability defining imports from `ImportProvider`s with the fast host-call path."""

    name = "lattice"

    def __init__(self, world: World, providers: Mapping[str, ImportProvider]) -> None:
        self.providers = dict(providers)
        self.sigs = interfaces(world.imports)

    def provides(self, import_name: str) -> bool:
        return import_name in self.providers

    def link(self, linker: wc.Linker, import_names: list[str]) -> None:
        with linker.root() as root:
            for iface in import_names:
                provide = self.providers[iface]
                with root.add_instance(iface) as inst:
                    for func, sig in self.sigs[iface].items():
                        define_func(inst, func, sig, provide(iface, func, sig), label=func)

    def prepare(self, store: wasmtime.Store, grants: Grants) -> None:
        pass


class ComponentUnit:
    """A unit run from a component file, a fresh instance per call as it would locally,
    under the unit's grants and limits (a call without a `timeout` stops after
    `CALL_TIMEOUT_S`)."""

    def __init__(
        self,
        path: Path,
        providers: Mapping[str, ImportProvider] | None = None,
        unit_grants: UnitGrants | None = None,
    ) -> None:
        self.path = path
        grants, limits = runtime_grants(unit_grants or UnitGrants())
        limits = replace(limits, timeout=limits.timeout or CALL_TIMEOUT_S)
        loaded = load_component(path, fuel=limits.fuel is not None)
        provided = ProvidedImports(loaded.world, providers or {})
        wasi = default_wasi(loaded, grants, (), path.name)  # Python WASI for wasi:http
        # a WASI context per call costs time; only components importing WASI get one
        uses_wasi = any(wasi.provides(item.name) for item in loaded.world.imports)
        capabilities = (wasi, provided) if uses_wasi else (provided,)
        self.runner = Runner(loaded, grants, limits, capabilities=capabilities)
        self._exports = interfaces(loaded.world.exports)
        self._targets: dict[tuple[str, str], ExportTarget] = {}
        # ready means instantiable: a start function that traps fails here, not on a call
        self.runner.instantiate()

    @property
    def exports(self) -> Interfaces:
        return self._exports

    def call(self, interface: str, func: str, args: Sequence[Any]) -> Any:
        """Call `interface#func` in a fresh instance; guest failures raise `GuestError`s."""
        target = self._targets.get((interface, func))
        if target is None:
            sig = self._exports[interface][func]
            target = ExportTarget(interface or None, FuncItem(func, sig))
            self._targets[(interface, func)] = target
        return self.runner.instantiate().call(target, args)

    def close(self) -> None:
        """Forget cached export targets; instances are per call, so nothing else lives on."""
        self._targets.clear()
