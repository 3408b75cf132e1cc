"""Guest stdout/stderr of served components in the server's log, rate-limited.

An HTTP component's output becomes records of the logger `wasmesh.guest.<component>` (see
`basics.LogSink`). `show_guest_output` puts them on the server's stderr, each line prefixed
with the component, as `wasmtime serve` prints its guests' output. A guest that floods is held
to `RATE` lines a second per component (bursts of `BURST`); what is dropped is counted in the
next line let through, so a guest cannot fill the disk.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from typing import TextIO

GUEST_LOGGER = "wasmesh.guest"
RATE = 100.0
"""Lines per second per component let through once a burst is spent."""
BURST = 500
"""Lines a component may write at once before the rate applies."""
MAX_LINE = 16 * 1024
"""Bytes of output without a newline emitted as one line (the rest follows as more lines)."""


class RateLimit(logging.Filter):
    """A token bucket per logger name; dropped records are counted, then reported."""

    def __init__(self, rate: float = RATE, burst: int = BURST) -> None:
        super().__init__()
        self.rate = rate
        self.burst = burst
        self._buckets: dict[str, tuple[float, float, int]] = {}  # tokens, last time, dropped
        self._lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        now = time.monotonic()
        with self._lock:
            tokens, last, dropped = self._buckets.get(record.name, (float(self.burst), now, 0))
            tokens = min(float(self.burst), tokens + (now - last) * self.rate)
            if tokens < 1.0:
                self._buckets[record.name] = (tokens, now, dropped + 1)
                return False
            self._buckets[record.name] = (tokens - 1.0, now, 0)
        if dropped:
            record.msg = f"({dropped} lines dropped: output rate limit) {record.msg}"
        return True


class _GuestFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        component = record.name.removeprefix(GUEST_LOGGER + ".")
        return f"{component} | {record.getMessage()}"


_installed: logging.Handler | None = None


def show_guest_output(stream: TextIO | None = None) -> logging.Handler:
    """Send served guests' output to `stream` (default stderr); idempotent per process."""
    global _installed
    if _installed is not None:
        return _installed
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(_GuestFormatter())
    handler.addFilter(RateLimit())
    logger = logging.getLogger(GUEST_LOGGER)
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    _installed = handler
    return handler


def hide_guest_output() -> None:
    """Undo `show_guest_output` (a new log configuration installs its own)."""
    global _installed
    if _installed is not None:
        logging.getLogger(GUEST_LOGGER).removeHandler(_installed)
        _installed = None


def shown() -> bool:
    """Whether guests' output goes to the log (`show_guest_output` ran: a serving process)."""
    return _installed is not None


class OutputLines:
    """What a guest writes to one stream (`stdout`, `stderr`) of wasmtime's native WASI, as
    records of `logger`, one a line (`MAX_LINE` bytes at most; a partial line waits for its
    newline). Its `write` is a `wasmtime.WasiConfig.stdout_custom` callback."""

    def __init__(self, logger: logging.Logger, stream: str) -> None:
        self.logger = logger
        self.stream = stream
        self.pending = b""

    def write(self, data: bytes) -> int:
        self.pending += data
        if b"\n" in self.pending or len(self.pending) > MAX_LINE:
            *lines, self.pending = self.pending.split(b"\n")
            while len(self.pending) > MAX_LINE:
                lines.append(self.pending[:MAX_LINE])
                self.pending = self.pending[MAX_LINE:]
            for line in lines:
                for start in range(0, max(len(line), 1), MAX_LINE):
                    text = line[start : start + MAX_LINE].decode("utf-8", "replace")
                    self.logger.info("%s: %s", self.stream, text)
        return len(data)
