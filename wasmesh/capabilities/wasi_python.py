"""WASI 0.2 implemented in Python (`wasmesh.capabilities.wasi`), as a capability.

wasmtime's native WASI (`WasiP2`) is faster and serves most components, but some it cannot:
`wasi:http` components (the host must hand them requests and streams) and components granted
network (wasmtime-py's network switch has no effect on WASI 0.2 sockets). `WasiPython` serves
every `wasi:*` import with the Python layer, enforcing the same `Policy`.

Each instance gets its own `WasiContext` (its prepared state); a guest call runs with it
active on the calling thread (`enter`/`leave`), and what the instance was handed (files,
sockets, streams) is given back when it is released or its store goes. Under an HTTP trigger
(`serving`), standard output and error become log records.
"""

from __future__ import annotations

import weakref
from typing import Any

import wasmtime
from wasmtime import component as wc

from wasmesh.capabilities.base import HostCapability
from wasmesh.capabilities.wasi import WasiContext, WasiLink, link_wasi
from wasmesh.capabilities.wasi.binding import unversioned
from wasmesh.capabilities.wasi.context import swap_context
from wasmesh.capabilities.wasi.interfaces import INTERFACES
from wasmesh.engine.loader import LoadedComponent
from wasmesh.policy import Policy


class WasiPython(HostCapability):
    """Every `wasi:*` 0.2 import of one component, served by the Python WASI layer."""

    name = "wasi-python"
    needs_enter = True

    def __init__(
        self,
        loaded: LoadedComponent,
        argv: tuple[str, ...] = (),
        program: str = "component",
        *,
        serving: bool = False,
    ) -> None:
        self.loaded = loaded
        self.argv = (program, *argv)
        self.program = program
        self.serving = serving
        self.link_: WasiLink | None = None

    def provides(self, import_name: str) -> bool:
        return unversioned(import_name) in INTERFACES

    def link(self, linker: wc.Linker, import_names: list[str]) -> None:
        self.link_ = link_wasi(
            linker, self.loaded.component, self.loaded.engine, others_as_traps=False
        )

    def prepare(self, store: wasmtime.Store, policy: Policy) -> WasiContext:
        grants = policy.grants
        ctx = WasiContext(
            name=self.program,
            env=grants.environment(),
            args=list(self.argv),
            allow_outbound=grants.outbound,
            real_stdio=not self.serving,
            stdin=grants.stdin,
            dirs=grants.dirs,
            network=grants.network,
        )
        if self.link_ is not None and not self.serving:
            # An instance nobody releases explicitly gives its objects back with its store.
            weakref.finalize(store, _release, self.link_, ctx)
        return ctx

    def enter(self, state: Any) -> Any:
        return swap_context(state)

    def leave(self, token: Any) -> None:
        swap_context(token)

    def release(self, state: Any) -> None:
        if self.link_ is not None:
            _release(self.link_, state)


def _release(link: WasiLink, ctx: WasiContext) -> None:
    created, ctx.created = ctx.created, []
    link.release(created)
