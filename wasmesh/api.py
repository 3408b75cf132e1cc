"""The Python API for one component: `wasmesh.load(path, grants=...)`.

    calc = wasmesh.load("calc.wasm")
    calc.exports["demo:calc/math"].add(1, 2)           # attribute form, kebab → snake
    calc.exports["demo:calc/math"]["mul-u64"](2, 3)    # item form, the WIT name
    calc.call("demo:calc/math@0.1.0#add", 1, 2)         # the name `wasmesh invoke` takes

One live instance serves the calls, so resources handed out stay valid between calls. A guest
failure (trap, timeout, memory limit) raises and discards that instance; the next call gets a
fresh one.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from wasmesh.engine.loader import LoadedComponent, load_component
from wasmesh.engine.world import FuncItem, InterfaceItem, World
from wasmesh.errors import ExportNotFound, GuestError
from wasmesh.policy import Grants, Limits, Policy
from wasmesh.runtime.exports import ExportTarget, interface_matches, resolve_export
from wasmesh.runtime.instance import Instance, Runner


def load(
    path: str | Path | bytes,
    *,
    grants: Grants | None = None,
    limits: Limits | None = None,
    hosts: Mapping[str, object] | None = None,
    argv: tuple[str, ...] = (),
) -> Component:
    """Load a component (compiled once, AOT-cached) ready to call, deny-by-default.

    `grants` and `limits` make its `wasmesh.Policy`; `hosts` maps interface names (the
    version may be omitted) to Python objects implementing them. Raises `ComponentError`
    for a file that is not a component, `LinkError` for an import nothing serves.
    """
    policy = Policy(grants or Grants(), limits or Limits())
    loaded = load_component(path, fuel=policy.limits.fuel is not None)
    runner = Runner(loaded, policy, hosts=hosts or {}, argv=argv)
    return Component(loaded, runner)


class Component:
    """A loaded component whose exports are Python callables."""

    def __init__(self, loaded: LoadedComponent, runner: Runner) -> None:
        self.loaded = loaded
        self.runner = runner
        self._instance: Instance | None = None
        self.exports = Exports(self)

    @property
    def world(self) -> World:
        return self.loaded.world

    def call(self, target: str | ExportTarget, *args: Any) -> Any:
        """Call the export `target` (`pkg:ns/iface@ver#func`, `iface#func` or a unique `func`)."""
        if isinstance(target, str):
            target = resolve_export(self.world, target, self.loaded.label)
        if self._instance is None or self._instance.poisoned:
            self._instance = self.runner.instantiate()
        try:
            return self._instance.call(target, args)
        except GuestError:
            self._instance = None
            raise

    def close(self) -> None:
        """Drop the live instance (its memory returns to the pool)."""
        if self._instance is not None:
            self._instance.close()
        self._instance = None

    def __enter__(self) -> Component:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<wasmesh.Component {self.loaded.label}>"


class Function:
    """One export function bound to its component."""

    def __init__(self, component: Component, target: ExportTarget) -> None:
        self.component = component
        self.target = target

    def __call__(self, *args: Any) -> Any:
        return self.component.call(self.target, *args)

    def __repr__(self) -> str:
        params = ", ".join(p.name for p in self.target.func.sig.params)
        return f"<export {self.target.qualified}({params})>"


class Interface:
    """An exported interface: its functions as attributes (snake_case) and items (WIT names)."""

    def __init__(self, component: Component, item: InterfaceItem) -> None:
        self._component = component
        self._item = item

    def __getitem__(self, name: str) -> Function:
        func = self._item.func(name)
        if func is None:
            raise ExportNotFound(f"interface `{self._item.name}` has no function `{name}`.")
        return Function(self._component, ExportTarget(self._item.name, func))

    def __getattr__(self, name: str) -> Function:
        if name.startswith("__"):
            raise AttributeError(name)
        return self[name.replace("_", "-")] if self._item.func(name) is None else self[name]

    def __dir__(self) -> list[str]:
        return [f.name.replace("-", "_") for f in self._item.funcs]

    def __repr__(self) -> str:
        return f"<interface {self._item.name}: {', '.join(f.name for f in self._item.funcs)}>"


class Exports(Mapping[str, "Interface | Function"]):
    """A component's exports by name; interface names may omit their version."""

    def __init__(self, component: Component) -> None:
        self._component = component

    def _items(self) -> tuple[InterfaceItem | FuncItem, ...]:
        return self._component.world.exports

    def __getitem__(self, name: str) -> Interface | Function:
        for item in self._items():
            if isinstance(item, InterfaceItem) and interface_matches(item.name, name):
                return Interface(self._component, item)
            if isinstance(item, FuncItem) and item.name == name:
                return Function(self._component, ExportTarget(None, item))
        names = ", ".join(f"`{i.name}`" for i in self._items())
        label = self._component.loaded.label
        raise ExportNotFound(f"{label} has no export `{name}`; it has {names}.")

    def __getattr__(self, name: str) -> Interface | Function:
        if name.startswith("_"):
            raise AttributeError(name)
        return self[name.replace("_", "-")]

    def __iter__(self) -> Iterator[str]:
        return iter(i.name for i in self._items())

    def __len__(self) -> int:
        return len(self._items())
