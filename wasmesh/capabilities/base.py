"""The shape every host interface ("capability") takes.

After Spin's factors: a capability says which imports it provides, *links* itself into a
component linker once, and *prepares* per-instance state in each new store from the grants of
the component being instantiated. Adding a capability is adding a module, not editing five.
"""

from __future__ import annotations

from typing import Protocol

import wasmtime
from wasmtime import component as wc

from wasmesh.runtime.grants import Grants


class Capability(Protocol):
    """A set of host-implemented imports, linked once, prepared per instance."""

    name: str

    def provides(self, import_name: str) -> bool:
        """Whether this capability implements the import named `import_name`."""
        ...

    def link(self, linker: wc.Linker, import_names: list[str]) -> None:
        """Define the imports this capability provides (those of `import_names`) in `linker`."""
        ...

    def prepare(self, store: wasmtime.Store, grants: Grants) -> None:
        """Set up the per-instance state of a new store according to `grants`."""
        ...
