"""Imports served by another deployment unit: one capability, two transports.

A unit's import of another unit's export is defined with the fast host-call path; each
function's implementation comes from an `ImportProvider`, the transport:

- in one process, `in_process(caller, export)` calls the provider unit's live instance
  (a host hop, tens of µs; `wasmesh.runtime.app`);
- across hosts, `wasmesh.lattice.stub.RemoteImports.provider` makes a NATS request to the
  queue group of the hosts running the provider unit (`wasmesh.lattice.stub`).

The consumer's policy does not travel: the provider unit runs under its own.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from wasmtime import component as wc

from wasmesh.capabilities.base import HostCapability
from wasmesh.engine.calls.hostfunc import define_func
from wasmesh.engine.types import FuncSig
from wasmesh.engine.world import FuncItem, InterfaceItem, World
from wasmesh.observe import metrics as _metrics
from wasmesh.observe import tracing

HostFunc = Callable[..., Any]
# (import name, function name — "" for a world-level function import —, signature) -> impl
ImportProvider = Callable[[str, str, FuncSig], HostFunc]
Caller = Callable[[str, tuple[Any, ...]], Any]  # (export target `iface#func`, args) -> result


class ForwardedImports(HostCapability):
    """Imports of one component forwarded, each by its `ImportProvider`.

    With metrics on when it links, each call counts in `wasmesh_calls_total` under `app`,
    `caller` (the calling unit) and `placement` (`host-linked`, or `lattice` for the NATS
    transport).
    """

    name = "forwarding"

    def __init__(
        self,
        world: World,
        providers: Mapping[str, ImportProvider],
        caller: str = "",
        placement: str = "host-linked",
        app: str = "",
    ) -> None:
        self.world = world
        self.providers = dict(providers)
        self.caller = caller
        self.placement = placement
        self.app = app

    def provides(self, import_name: str) -> bool:
        return import_name in self.providers

    def link(self, linker: wc.Linker, import_names: list[str]) -> None:
        providers, metrics = self.providers, _metrics.ACTIVE
        if metrics is not None:
            meter, where = metrics.metered_call, (self.app, self.caller, self.placement)
            providers = {n: _metered(p, meter, *where) for n, p in providers.items()}
        with linker.root() as root:
            for name in import_names:
                provide = providers[name]
                item = self.world.import_(name)
                if isinstance(item, FuncItem):
                    impl = provide(name, "", item.sig)
                    define_func(root, name, item.sig, impl, label=name)
                elif isinstance(item, InterfaceItem):
                    with root.add_instance(name) as instance:
                        for func in item.funcs:
                            impl = provide(name, func.name, func.sig)
                            define_func(instance, func.name, func.sig, impl,
                                        label=f"{name}#{func.name}")  # fmt: skip


def _metered(provide: ImportProvider, meter: Callable[..., HostFunc], app: str, caller: str,
             placement: str) -> ImportProvider:  # fmt: skip
    def metered(import_name: str, func: str, sig: FuncSig) -> HostFunc:
        return meter(provide(import_name, func, sig), app, caller, import_name, placement)

    return metered


def in_process(caller: Caller, export: str | None = None) -> ImportProvider:
    """The in-process transport: each function calls `caller("<export>#<func>", args)`,
    where `export` is the provider's interface serving the import (default: the same name)."""

    def provide(import_name: str, func: str, sig: FuncSig) -> HostFunc:
        iface = export or import_name
        target = f"{iface}#{func}" if func else iface

        def forward(*args: Any) -> Any:
            return caller(target, args)

        return tracing.call(forward, iface, func, "in-process")

    return provide
