"""WASI 0.2 implemented in Python (`wasmesh.capabilities.wasi`), as a runtime capability.

wasmtime's native WASI (`WasiP2`) is faster and serves most components, but some grants it
cannot express: wasmtime-py's network switch has no effect on WASI 0.2 sockets. `WasiPython`
serves every `wasi:*` import with the Python layer, enforcing the same `Grants`, and is what
`default_wasi` picks when a component needs network or imports `wasi:http/*`.

Each store gets its own `WasiContext`; a guest call runs with it active (`activate`), and
what the instance was handed (files, sockets, streams) is released when its store goes.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from contextlib import contextmanager

import wasmtime
from wasmtime import component as wc

from wasmesh.capabilities.wasi import WasiContext, WasiLink, link_wasi
from wasmesh.capabilities.wasi.binding import unversioned
from wasmesh.capabilities.wasi.interfaces import INTERFACES
from wasmesh.engine.loader import LoadedComponent
from wasmesh.errors import GuestExit, GuestTrap
from wasmesh.runtime.grants import Grants


class WasiPython:
    """Every `wasi:*` 0.2 import of one component, served by the Python WASI layer."""

    name = "wasi-python"

    def __init__(
        self, loaded: LoadedComponent, argv: tuple[str, ...] = (), program: str = "component"
    ) -> None:
        self.loaded = loaded
        self.argv = (program, *argv)
        self.program = program
        self.link_: WasiLink | None = None
        self._contexts: weakref.WeakKeyDictionary[wasmtime.Store, WasiContext] = (
            weakref.WeakKeyDictionary()
        )

    def provides(self, import_name: str) -> bool:
        return unversioned(import_name) in INTERFACES

    def link(self, linker: wc.Linker, import_names: list[str]) -> None:
        self.link_ = link_wasi(
            linker, self.loaded.component, self.loaded.engine, others_as_traps=False
        )

    def prepare(self, store: wasmtime.Store, grants: Grants) -> None:
        ctx = WasiContext(
            name=self.program,
            env=grants.environment(),
            args=list(self.argv),
            allow_outbound=grants.outbound,
            real_stdio=True,
            stdin=grants.stdin,
            dirs=grants.dirs,
            network=grants.network,
        )
        self._contexts[store] = ctx
        if self.link_ is not None:
            # Whatever the instance still holds goes back (sockets and files closed) with it.
            weakref.finalize(store, self.link_.release, ctx.created)

    def context(self, store: wasmtime.Store) -> WasiContext:
        """The WASI context of the instance living in `store`."""
        return self._contexts[store]

    @contextmanager
    def activate(self, store: wasmtime.Store) -> Iterator[None]:
        """Make `store`'s context the one host calls on this thread see.

        A guest calling `wasi:cli/exit` surfaces as `GuestExit`, as it does under native WASI.
        """
        with self._contexts[store].active():
            try:
                yield
            except GuestTrap as e:
                if isinstance(e.__cause__, GuestExit):
                    raise e.__cause__ from None
                raise
