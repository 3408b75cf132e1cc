"""`wasi:logging/logging@0.1.0-draft`: a component's log records, into the host's Python log.

Always granted: logging reveals nothing to the guest. Each record goes to the logger
`wasmesh.guest.<component>` at the matching level (`trace` → DEBUG - 5, `debug` → DEBUG,
`info` → INFO, `warn` → WARNING, `error` → ERROR, `critical` → CRITICAL) as
`"[<context>] <message>"` (the context omitted when empty). A component may log at most
`RATE` records a second (bursts of `BURST`); beyond that records are dropped, and the number
dropped is logged once the component may log again, naming the component ("209 log records
of component chatty dropped: over 100 a second"), so a guest cannot flood the host.

The interface, as the WASI logging proposal defines it:

    enum level { trace, debug, info, warn, error, critical }
    log: func(level: level, context: string, message: string);
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from wasmtime import component as wc

from wasmesh.capabilities.base import HostCapability, Setup
from wasmesh.engine.calls import define_func
from wasmesh.engine.world import InterfaceItem
from wasmesh.errors import LinkError

INTERFACE = "wasi:logging/logging"
RATE = 100.0  # records a second a component may log, on average
BURST = 200  # records it may log at once

LEVELS = {
    "trace": logging.DEBUG - 5,
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warn": logging.WARNING,
    "error": logging.ERROR,
    "critical": logging.CRITICAL,
}


class RateLimit:
    """A token bucket: `allow()` is true for at most `burst` calls at once, `rate` a second."""

    def __init__(self, rate: float = RATE, burst: int = BURST) -> None:
        self.rate = rate
        self.burst = float(burst)
        self.tokens = float(burst)
        self.stamp = time.monotonic()
        self.dropped = 0
        self.lock = threading.Lock()

    def allow(self) -> tuple[bool, int]:
        """(whether one more record may go out, how many were dropped before it)."""
        with self.lock:
            now = time.monotonic()
            self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now
            if self.tokens < 1.0:
                self.dropped += 1
                return False, 0
            self.tokens -= 1.0
            dropped, self.dropped = self.dropped, 0
            return True, dropped


class Logging(HostCapability):
    """Serves `wasi:logging/logging@0.1.x` for one component."""

    name = "wasi-logging"

    def __init__(self, setup: Setup) -> None:
        self.world = setup.loaded.world
        self.program = setup.program
        self.logger = logging.getLogger(f"wasmesh.guest.{setup.program}")
        self.limit = RateLimit()

    def provides(self, import_name: str) -> bool:
        return import_name.startswith(f"{INTERFACE}@0.1.")

    def link(self, linker: wc.Linker, import_names: list[str]) -> None:
        with linker.root() as root:
            for name in import_names:
                item = self.world.import_(name)
                func = item.func("log") if isinstance(item, InterfaceItem) else None
                if func is None:
                    raise LinkError(f"the component's {name} has no `log` function to serve.")
                with root.add_instance(name) as instance:
                    define_func(instance, "log", func.sig, self.log, label=f"{name}#log")

    def log(self, level: Any, context: str, message: str) -> None:
        """One record from the guest (`level` is the enum case's name)."""
        allowed, dropped = self.limit.allow()
        if not allowed:
            return
        if dropped:
            # the component in the text too: without a log configuration (invoke, run) Python
            # prints a warning's message alone, not its logger's name
            self.logger.warning("%d log records of component %s dropped: over %g a second",
                                dropped, self.program, RATE)  # fmt: skip
        number = LEVELS.get(str(level), logging.INFO)
        if self.logger.isEnabledFor(number):
            text = f"[{context}] {message}" if context else message
            self.logger.log(number, "%s", text)
