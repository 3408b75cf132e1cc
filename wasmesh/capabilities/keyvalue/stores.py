"""Opening the backend a store grant names, once per process.

Every runner whose policy grants the same store (same backend and location) shares one
backend object: instances of one component, units of one app and HTTP pools see the same data
and, for SQLite, the same per-thread connections.
"""

from __future__ import annotations

import threading
from pathlib import Path

from wasmesh.capabilities.keyvalue.backend import Backend, MemoryBackend, StoreError
from wasmesh.policy import StoreGrant

BACKENDS = ("sqlite", "memory", "nats")

_open: dict[tuple[str, str], Backend] = {}
_lock = threading.Lock()


def open_backend(grant: StoreGrant) -> Backend:
    """The backend serving `grant` (opened on first use); `StoreError` if it cannot open."""
    key = (grant.backend, grant.location)
    with _lock:
        found = _open.get(key)
        if found is not None:
            return found
        backend: Backend
        if grant.backend == "memory":
            backend = MemoryBackend(grant.name)
        elif grant.backend == "sqlite":
            from wasmesh.capabilities.keyvalue.sqlite import SqliteBackend

            backend = SqliteBackend(grant.name, Path(grant.location))
        elif grant.backend == "nats":
            from wasmesh.capabilities.keyvalue.nats import NatsBackend

            backend = NatsBackend(grant.name, grant.location)
        else:
            raise StoreError(
                f"key-value store `{grant.name}` names the backend `{grant.backend}`, which "
                f"this wasmesh does not have; use one of {', '.join(BACKENDS)}"
            )
        _open[key] = backend
        return backend


def close_all() -> None:
    """Close every backend this process opened (they reopen on next use)."""
    with _lock:
        backends = list(_open.values())
        _open.clear()
    for backend in backends:
        backend.close()
