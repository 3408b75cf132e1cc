"""Imports served by another unit in the same process, linked through the host.

When units are not fused (`per-component`, or explicit `[deploy] units`), a unit's import of
another unit's export becomes host functions calling that unit's live instance. This is the
embedded stand-in for the lattice's NATS stubs: the same split runs in one process, paying a
host hop (tens of µs) instead of a network round trip.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import wasmtime
from wasmtime import component as wc

from wasmesh.engine.calls.hostfunc import define_func
from wasmesh.engine.world import FuncItem, InterfaceItem, World
from wasmesh.runtime.grants import Grants

Caller = Callable[[str, tuple[Any, ...]], Any]


class CrossUnitLinks:
    """A capability (see `wasmesh.capabilities.base`) forwarding imports to other units.

    `targets` maps each import name of the consumer unit to the export name it calls and a
    `caller(target, args)` that runs `target` (`iface#func` or `func`) in the provider unit.
    """

    name = "cross-unit"

    def __init__(self, world: World, targets: Mapping[str, tuple[str, Caller]]) -> None:
        self.world = world
        self.targets = dict(targets)

    def provides(self, import_name: str) -> bool:
        return import_name in self.targets

    def link(self, linker: wc.Linker, import_names: list[str]) -> None:
        with linker.root() as root:
            for name in import_names:
                export, caller = self.targets[name]
                item = self.world.import_(name)
                if isinstance(item, FuncItem):
                    define_func(root, name, item.sig, _forward(caller, export), label=name)
                elif isinstance(item, InterfaceItem):
                    with root.add_instance(name) as instance:
                        for func in item.funcs:
                            target = f"{export}#{func.name}"
                            define_func(
                                instance, func.name, func.sig, _forward(caller, target),
                                label=f"{name}#{func.name}",
                            )  # fmt: skip

    def prepare(self, store: wasmtime.Store, grants: Grants) -> None:
        """Nothing per instance: the provider unit keeps its own instance and grants."""


def _forward(caller: Caller, target: str) -> Callable[..., Any]:
    def forward(*args: Any) -> Any:
        return caller(target, args)

    return forward
