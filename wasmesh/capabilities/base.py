"""The contract every host interface ("capability") follows, after Spin's factors.

A capability serves some imports of a component. Its lifecycle, driven by the one runner
(`wasmesh.runtime.instance.Runner`) on every path:

1. `provides(name)` — whether it serves the import `name` (asked once per import);
2. `configure(policy)` — validate the component's use of it against its policy, once
   (raise a `WasmeshError` naming the grant and the fix);
3. `link(linker, names)` — define those imports in the component's linker, once;
4. `prepare(store, policy)` — per-instance state for a new store (returned, kept by the
   instance, handed back to `enter` and `release`);
5. `enter(state)` / `leave(token)` — around every guest call, for capabilities whose host
   functions find their instance through the calling thread (the Python WASI layer);
6. `release(state)` — the instance is going away: give back what it held.

`Capability` is the structural type; `HostCapability` is a base class with no-op steps, so a
capability states only what it does. Which capabilities exist is `wasmesh.plugins`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import wasmtime
from wasmtime import component as wc

from wasmesh.engine.loader import LoadedComponent
from wasmesh.policy import Policy


@dataclass(frozen=True)
class Setup:
    """What a capability factory may read about the component it will serve.

    `program` names the component (`argv[0]`, log records); `serving` is true under an HTTP
    trigger, where standard output becomes log records and unknown imports trap when called.
    """

    loaded: LoadedComponent
    policy: Policy = field(default_factory=Policy)
    argv: tuple[str, ...] = ()
    program: str = "component"
    serving: bool = False
    app: str = ""  # the app the component belongs to (metrics' `app` label)


class Capability(Protocol):
    """A set of host-implemented imports: configured and linked once, prepared per instance."""

    name: str
    needs_enter: bool  # whether `enter`/`leave` must run around guest calls

    def provides(self, import_name: str) -> bool: ...

    def configure(self, policy: Policy) -> None: ...

    def link(self, linker: wc.Linker, import_names: list[str]) -> None: ...

    def prepare(self, store: wasmtime.Store, policy: Policy) -> Any: ...

    def enter(self, state: Any) -> Any: ...

    def leave(self, token: Any) -> None: ...

    def release(self, state: Any) -> None: ...


class HostCapability:
    """A base for capabilities: every step but `provides` and `link` does nothing."""

    name = "capability"
    needs_enter = False

    def provides(self, import_name: str) -> bool:
        raise NotImplementedError

    def configure(self, policy: Policy) -> None:
        """Nothing to validate."""

    def link(self, linker: wc.Linker, import_names: list[str]) -> None:
        raise NotImplementedError

    def prepare(self, store: wasmtime.Store, policy: Policy) -> Any:
        """No per-instance state."""
        return None

    def enter(self, state: Any) -> Any:
        return None

    def leave(self, token: Any) -> None:
        """Nothing to restore."""

    def release(self, state: Any) -> None:
        """Nothing held."""
