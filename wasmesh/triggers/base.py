"""The contract every trigger (event source) follows.

A trigger turns outside events into calls of an app's components: HTTP requests today
(`wasmesh.triggers.http.trigger`), messages and timers later. Its lifecycle:

1. made by its factory (`wasmesh.plugins.TRIGGERS`) from what it needs of the app — the
   `wasmesh.runtime.app.App` (units, their policies, imports forwarded between them) and the
   app's `[[triggers.<kind>]]` declarations — and the options of the command running it;
2. `start()` — serve; returns once ready (its addresses known, `describe()` can say them);
3. `drain(grace)` — take no new events, let those in flight finish within `grace` seconds;
4. `stop()` — release everything it holds.

`start_triggers` makes and starts every trigger an app declares; `serve_until_signalled`
runs them until SIGINT/SIGTERM, then drains and stops them.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from wasmesh import plugins

if TYPE_CHECKING:
    from wasmesh.compose.manifest import TriggerDecl
    from wasmesh.runtime.app import App


@dataclass(frozen=True)
class TriggerOptions:
    """What the command running the triggers says: where HTTP listens, the request deadline
    when a unit's policy sets none (seconds), how long draining may take (seconds), and how
    instances are reused: events per instance (1: a fresh one each), HTTP instances running
    at once per unit (default: one per core), seconds a warm instance may idle before it is
    dropped; with several HTTP worker processes, their count and the listening socket they
    share (`wasmesh.triggers.http.workers`)."""

    listen: str = "127.0.0.1:8080"
    request_timeout: float | None = None
    grace: float = 30.0
    max_reuse: int = 1
    max_concurrent: int | None = None
    idle_timeout: float = 30.0
    workers: int = 1
    sock: socket.socket | None = None


class Trigger(Protocol):
    """One kind of event source serving one app."""

    kind: str

    def start(self) -> None: ...

    def describe(self) -> list[str]: ...

    def drain(self, grace: float) -> None: ...

    def stop(self) -> None: ...


def start_triggers(
    app: App, options: TriggerOptions, only: tuple[str, ...] | None = None
) -> list[Trigger]:
    """Make and start every trigger `app` declares (each kind once, with all its tables), or
    those of the kinds `only` names."""
    kinds: dict[str, list[TriggerDecl]] = {}
    for decl in app.manifest.triggers:
        if only is None or decl.kind in only:
            kinds.setdefault(decl.kind, []).append(decl)
    started: list[Trigger] = []
    try:
        for kind, decls in kinds.items():
            entry = plugins.trigger(kind)
            assert entry is not None, f"the manifest reader admitted [[triggers.{kind}]]"
            trigger: Trigger = plugins.load_factory(entry.factory)(app, tuple(decls), options)
            trigger.start()
            started.append(trigger)
    except BaseException:
        stop_all(started, 0.0)
        raise
    return started


def stop_all(triggers: Sequence[Trigger], grace: float) -> None:
    """Drain every trigger (in flight events finish within `grace` s), then stop them."""
    for trigger in triggers:
        trigger.drain(grace)
    for trigger in triggers:
        trigger.stop()


DRAINING = "draining in-flight requests; press Ctrl-C again to stop now\n"


def stop_signals() -> tuple[signal.Signals, ...]:
    """The signals that stop this process: SIGTERM, and SIGINT unless it is ignored (a
    worker of `--workers` ignores it: Ctrl-C reaches its parent, which passes it on once)."""
    ignored = signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    return (signal.SIGTERM,) if ignored else (signal.SIGINT, signal.SIGTERM)


def on_stop_signal(first: Callable[[], None], say: str | None) -> Callable[[int, Any], None]:
    """A signal handler: the first signal says `say` (on stderr, if given) and calls `first`
    (which must not block); another one ends the process at once with status 128 + signal
    (what a shell reports), as uvicorn and `wasmtime serve` do on a second Ctrl-C."""
    seen: list[int] = []

    def on_signal(signum: int, frame: Any) -> None:
        if seen:
            os._exit(128 + signum)
        seen.append(signum)
        if say:
            with contextlib.suppress(OSError):
                os.write(2, say.encode())
        first()

    return on_signal


def serve_until_signalled(triggers: Sequence[Trigger], grace: float = 30.0) -> None:
    """Block until SIGINT/SIGTERM, then drain and stop `triggers` (a second signal stops the
    process at once). Main thread only."""
    stop = threading.Event()
    signals = stop_signals()
    handler = on_stop_signal(stop.set, DRAINING if signal.SIGINT in signals else None)
    previous = {s: signal.signal(s, handler) for s in signals}
    # Guests call back into Python dozens of times per request; a thread coming back from
    # wasm should not wait the default 5 ms for the GIL.
    sys.setswitchinterval(0.0002)
    try:
        while not stop.wait(0.5):
            pass
    finally:
        try:
            stop_all(triggers, grace)
        finally:
            for s, previous_handler in previous.items():
                signal.signal(s, previous_handler)
