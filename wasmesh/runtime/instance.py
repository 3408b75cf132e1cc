"""Instantiating a component with its grants and limits, and calling into it.

A `Runner` checks once that every import of the component is provided (by a capability or a
Python host), builds the linker once, and creates instances on demand: each in its own store
with its memory limit, epoch deadline and fuel, and its own WASI context from the grants.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager, ExitStack, nullcontext
from dataclasses import dataclass, field
from typing import Any

import wasmtime
from wasmtime import component as wc

from wasmesh.capabilities.base import Capability
from wasmesh.capabilities.defaults import default_wasi
from wasmesh.engine.calls import ExportFunc
from wasmesh.engine.config import deadline_ticks
from wasmesh.engine.faults import guest_error
from wasmesh.engine.loader import LoadedComponent
from wasmesh.engine.world import FuncItem, InterfaceItem
from wasmesh.errors import ExportNotFound, GuestError, LinkError
from wasmesh.runtime.exports import ExportTarget, interface_matches
from wasmesh.runtime.grants import Grants, Limits

NO_DEADLINE = 2**62


@dataclass
class Runner:
    """Makes instances of one component under one set of grants and limits."""

    loaded: LoadedComponent
    grants: Grants = field(default_factory=Grants)
    limits: Limits = field(default_factory=Limits)
    hosts: Mapping[str, object] = field(default_factory=dict)
    argv: tuple[str, ...] = ()
    capabilities: Sequence[Capability] = ()

    def __post_init__(self) -> None:
        if not self.capabilities:
            program = self.loaded.path.name if self.loaded.path else "component"
            self.capabilities = (default_wasi(self.loaded, self.grants, self.argv, program),)
        if self.limits.fuel is not None and self.loaded.engine is not _fuel_engine():
            raise LinkError("fuel limits need the component loaded with `fuel=True`.")
        self.linker = self._link()
        self._export_templates: dict[str, ExportFunc] = {}
        # Capabilities with per-instance state on the calling thread (the Python WASI layer).
        self._activators: list[Callable[[wasmtime.Store], AbstractContextManager[None]]] = [
            c.activate for c in self.capabilities if hasattr(c, "activate")
        ]

    def active(self, store: wasmtime.Store) -> AbstractContextManager[Any]:
        """Enter the per-instance state capabilities need while `store`'s guest runs."""
        if not self._activators:
            return nullcontext()
        stack = ExitStack()
        for activate in self._activators:
            stack.enter_context(activate(store))
        return stack

    def _link(self) -> wc.Linker:
        linker = wc.Linker(self.loaded.engine)
        names = [item.name for item in self.loaded.world.imports]
        used: dict[int, list[str]] = {}
        for name in names:
            # A `hosts` key may omit the version: `demo:log/sink` serves any imported version.
            if any(interface_matches(name, key) for key in self.hosts):
                continue
            cap = next((c for c in self.capabilities if c.provides(name)), None)
            if cap is None:
                raise LinkError(unsatisfied_import_message(self.loaded.label, name))
            used.setdefault(id(cap), []).append(name)
        for cap in self.capabilities:
            if id(cap) in used:
                cap.link(linker, used[id(cap)])
        if self.hosts:
            from wasmesh.capabilities.python_host import link_python_hosts

            link_python_hosts(linker, self.loaded, self.hosts)
        return linker

    def instantiate(self) -> Instance:
        """A fresh instance in a fresh store."""
        store = wasmtime.Store(self.loaded.engine)
        if self.limits.memory_bytes is not None:
            store.set_limits(memory_size=self.limits.memory_bytes)
        if self.limits.fuel is not None:
            store.set_fuel(self.limits.fuel)
        for cap in self.capabilities:
            cap.prepare(store, self.grants)
        self._arm(store)
        try:
            with self.active(store):
                instance = self.linker.instantiate(store, self.loaded.component)
        except wasmtime.WasmtimeError as e:
            err = guest_error(e, memory_limited=self.limits.memory_bytes is not None)
            if isinstance(err, GuestError):
                raise err from None
            raise LinkError(f"{self.loaded.label} could not be instantiated: {e}") from None
        return Instance(self, store, instance)

    def _arm(self, store: wasmtime.Store) -> None:
        timeout = self.limits.timeout
        store.set_epoch_deadline(deadline_ticks(timeout) if timeout else NO_DEADLINE)


def _fuel_engine() -> wasmtime.Engine:
    from wasmesh.engine.config import shared_engine

    return shared_engine(fuel=True)


def unsatisfied_import_message(label: str, name: str) -> str:
    if name.startswith("wasi:http/"):
        hint = "serve it with `wasmesh serve`/`wasmesh up`, which provide wasi:http"
    elif name.startswith("wasi:"):
        hint = "this WASI interface is not provided by this host version"
    else:
        hint = (
            "compose a component that exports it (wasmesh.toml) or implement it in Python "
            "with `hosts={...}`"
        )
    return f"{label} imports `{name}`, which nothing provides; {hint}."


class Instance:
    """One live instance; calls run under the runner's limits."""

    def __init__(self, runner: Runner, store: wasmtime.Store, instance: wc.Instance) -> None:
        self.runner = runner
        self.store = store
        self.instance = instance
        self.poisoned = False
        self._exports: dict[str, ExportFunc] = {}

    def call(self, target: ExportTarget, args: Sequence[Any]) -> Any:
        """Call an export function with Python values (see `wasmesh.engine.values`)."""
        func = self._exports.get(target.qualified)
        if func is None:
            # Instances of one runner share the export's index and converters: a fresh
            # instance per call (lattice RPCs, one-shot calls) does no lookups by name.
            template = self.runner._export_templates.get(target.qualified)
            if template is None:
                func = ExportFunc(self.store, self.instance, target.qualified, sig=target.func.sig)
                self.runner._export_templates[target.qualified] = func.unbound()
            else:
                func = template.for_instance(self.store, self.instance)
            self._exports[target.qualified] = func
        return self.run_guest(func, *args)

    def func(self, export: str | None, name: str) -> tuple[wc.Func, FuncItem]:
        """The export function `name`, inside the exported interface `export` if given."""
        world = self.runner.loaded.world
        if export is None:
            item = world.export(name)
            if not isinstance(item, FuncItem):
                raise ExportNotFound(f"{self.runner.loaded.label} exports no function `{name}`.")
            index = self.instance.get_export_index(self.store, name)
        else:
            iface = world.export(export)
            if not isinstance(iface, InterfaceItem):
                raise ExportNotFound(f"{self.runner.loaded.label} exports no interface `{export}`.")
            found = iface.func(name)
            if found is None:
                raise ExportNotFound(f"interface `{export}` has no function `{name}`.")
            item = found
            parent = self.instance.get_export_index(self.store, export)
            index = self.instance.get_export_index(self.store, name, parent)
        func = self.instance.get_func(self.store, index) if index is not None else None
        if func is None:
            raise ExportNotFound(f"{self.runner.loaded.label} exports no function `{name}`.")
        return func, item

    def run_guest(self, call: Any, *args: Any) -> Any:
        """Run `call(store, *args)` under the deadline, translating guest failures."""
        if self.poisoned:
            raise GuestError("this instance trapped earlier and cannot be called again")
        self.runner._arm(self.store)
        try:
            with self.runner.active(self.store):
                return call(self.store, *args)
        except GuestError:
            self.poisoned = True
            raise
        except (wasmtime.WasmtimeError, wasmtime.Trap) as e:
            self.poisoned = True
            err = guest_error(e, memory_limited=self.runner.limits.memory_bytes is not None)
            raise err from None
