"""Every host interface (capability) and every event source (trigger) wasmesh has.

Adding a host interface is one module holding its capability
(`wasmesh.capabilities.base.Capability`) and one line in `CAPABILITIES`; adding a trigger is
one module holding it (`wasmesh.triggers.base.Trigger`) and one line in `TRIGGERS`. Entries
name their factory as `"module:callable"`, imported on first use, so a component or an app
that does not use a plug-in never pays for importing it (the Python WASI layer costs tens of
milliseconds). A leaf module: it imports nothing of wasmesh, so every layer may read it.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any


def load_factory(spec: str) -> Any:
    """The callable `"module:name"` names."""
    module, _, attr = spec.partition(":")
    return getattr(importlib.import_module(module), attr)


@dataclass(frozen=True)
class CapabilityEntry:
    """One capability: its name, the import names it may serve (a prefix test, no import
    needed) and its factory, called with a `wasmesh.capabilities.base.Setup`."""

    name: str
    prefixes: tuple[str, ...]
    factory: str

    def may_provide(self, import_name: str) -> bool:
        return import_name.startswith(self.prefixes)

    def build(self, setup: Any) -> Any:
        return load_factory(self.factory)(setup)


@dataclass(frozen=True)
class TriggerEntry:
    """One trigger kind: `[[triggers.<kind>]]` tables with `component` and `keys` (the first
    required: the trigger's address, the others optional settings); `factory`
    makes it for one app in one process (`wasmesh up`); `lattice`, when set, makes its
    lattice-host side (called with the host and its options); `check`, when set, validates
    one table (called by the manifest reader with the reader, the table's place and the
    table)."""

    kind: str
    keys: tuple[str, ...]
    factory: str
    lattice: str | None = None
    check: str | None = None


# Asked in order, after the capabilities a runner is given explicitly (Python hosts, imports
# forwarded to other units); the catch-all WASI entry comes last.
CAPABILITIES: list[CapabilityEntry] = [
    CapabilityEntry("wasi-logging", ("wasi:logging/logging@0.1.",),
                    "wasmesh.capabilities.logging:Logging"),
    CapabilityEntry("wasi-keyvalue", ("wasi:keyvalue/",),
                    "wasmesh.capabilities.keyvalue:KeyValue"),
    CapabilityEntry("wasmcloud-messaging", ("wasmcloud:messaging/consumer@0.2.",
                                            "wasmcloud:messaging/types@0.2."),
                    "wasmesh.capabilities.messaging:from_setup"),
    CapabilityEntry("wasi-config", ("wasi:config/store@0.2.", "wasi:config/runtime@0.2."),
                    "wasmesh.capabilities.config:Config"),
    # native WASI where the policy allows, the Python layer for wasi:http and network grants
    CapabilityEntry("wasi", ("wasi:",), "wasmesh.capabilities.defaults:default_wasi"),
]  # fmt: skip

TRIGGERS: list[TriggerEntry] = [
    TriggerEntry("http", ("route",), "wasmesh.triggers.http.trigger:HttpTrigger",
                 lattice="wasmesh.lattice.ingress:lattice_trigger"),
    TriggerEntry("messaging", ("subject", "queue-group", "durable", "max-deliver"),
                 "wasmesh.triggers.messaging:MessagingTrigger",
                 lattice="wasmesh.lattice.messaging:lattice_trigger",
                 check="wasmesh.compose.messaging:check_trigger"),
    TriggerEntry("cron", ("schedule", "export"), "wasmesh.triggers.cron:CronTrigger",
                 check="wasmesh.compose.cron:check_trigger"),
]  # fmt: skip


def host_serves(import_name: str) -> bool:
    """Whether a registered capability may serve the import `import_name` (the wiring then
    leaves it to the host instead of looking for a component exporting it)."""
    return any(c.may_provide(import_name) for c in CAPABILITIES)


def trigger(kind: str) -> TriggerEntry | None:
    """The trigger registered for `[[triggers.<kind>]]`, if any."""
    return next((t for t in TRIGGERS if t.kind == kind), None)
