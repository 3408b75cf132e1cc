"""How many processes `wasmesh up` serves an app's HTTP routes with (`--workers`).

Only HTTP is multiplied: the first worker runs every trigger the app declares, the others its
`[[triggers.http]]` routes alone, so a message or a cron schedule fires once. Worker processes
share SQLite and NATS key-value stores (SQLite in WAL mode with a busy timeout) but nothing
held in one process's memory, so an app that needs such state shared stays in one process:
a `memory` key-value store, or, without `--nats`, messages from a component to a
`[[triggers.messaging]]` handler (the in-process broker does not reach other processes).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from wasmesh.compose.keyvalue import check_local_stores
from wasmesh.compose.manifest import Manifest, load_manifest
from wasmesh.engine.config import engines_built
from wasmesh.errors import WasmeshError


def app_workers(app: Path, requested: int | None, nats: bool) -> int:
    """The worker count for running the app in `app` (a directory or `wasmesh.toml`).

    `requested` is `--workers` (None: one per core where the app allows it); `nats` says
    whether messages go over a NATS server. Raises `WasmeshError` when more than one is
    requested for an app that must stay in one process, naming why and the fix. A process
    that cannot fork safely (it runs other threads or has built an engine: wasmesh embedded
    in a Python program) serves in one process.
    """
    from wasmesh.triggers.http.workers import default_workers

    if requested is not None and requested < 1:
        raise WasmeshError(f"--workers must be at least 1, got {requested}.")
    default = default_workers() if requested is None else requested  # checks $WEB_CONCURRENCY
    manifest = load_manifest(app)
    check_local_stores(manifest)
    if not manifest.http_triggers or requested == 1:
        return 1  # nothing to multiply
    reason = single_process_reason(manifest, nats)
    if reason is not None and requested is not None:
        raise WasmeshError(f"--workers {requested} cannot serve app `{manifest.name}`: {reason}.")
    if reason is not None or not _may_fork():
        return 1
    return default


def _may_fork() -> bool:
    """Whether forking is safe here: one thread (any other may hold a lock the child needs,
    native ones included) and no engine built yet."""
    if engines_built():
        return False
    try:
        return len(os.listdir("/proc/self/task")) == 1
    except OSError:  # no /proc: Python's own threads are all that can be seen
        return threading.active_count() == 1


def single_process_reason(manifest: Manifest, nats: bool) -> str | None:
    """Why the app of `manifest` must run in one process (a clause naming the fix), if so."""
    for spec in manifest.components:
        for store in spec.policy.grants.key_value_stores:
            if store.backend == "memory":
                return (
                    f"key-value store `{store.name}` uses the memory backend, which each worker "
                    "process would hold a copy of; use the sqlite backend or --workers 1"
                )
    publishes = any(spec.policy.grants.messaging for spec in manifest.components)
    if not nats and publishes and any(t.kind == "messaging" for t in manifest.triggers):
        return (
            "its [[triggers.messaging]] handlers get messages in-process, out of reach of "
            "other worker processes; add --nats URL or use --workers 1"
        )
    return None
