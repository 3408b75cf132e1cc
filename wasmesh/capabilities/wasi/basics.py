"""wasi:clocks, wasi:random, wasi:cli terminals, and the stdio of server components.

A server component's standard output and error go to its logger, one record per line, and
its standard input is always at its end (see `cli.py` for where a command's stdio goes).
"""

from __future__ import annotations

import os
import random
import time

from wasmesh.capabilities.wasi._table import HostObject
from wasmesh.capabilities.wasi.context import current
from wasmesh.capabilities.wasi.guest_log import MAX_LINE
from wasmesh.capabilities.wasi.io import Pollable
from wasmesh.engine.values import Record

# --- clocks ---------------------------------------------------------------------------------


def monotonic_now() -> int:
    return time.monotonic_ns()


def monotonic_resolution() -> int:
    return 1


def subscribe_instant(when: int) -> Pollable:
    return Pollable.at(when)


def subscribe_duration(when: int) -> Pollable:
    return Pollable.at(time.monotonic_ns() + when)


def wall_now() -> Record:
    ns = time.time_ns()
    return Record(seconds=ns // 1_000_000_000, nanoseconds=ns % 1_000_000_000)


def wall_resolution() -> Record:
    return Record(seconds=0, nanoseconds=1)


# --- random ---------------------------------------------------------------------------------


def random_bytes(size: int) -> bytes:
    return os.urandom(size)


def random_u64() -> int:
    return int.from_bytes(os.urandom(8), "little")


def insecure_bytes(size: int) -> bytes:
    return random.randbytes(size)


def insecure_u64() -> int:
    return random.getrandbits(64)


def insecure_seed() -> tuple[int, int]:
    return (random.getrandbits(64), random.getrandbits(64))


# --- cli ------------------------------------------------------------------------------------




class LogSink:
    """Lines a guest writes to stdout/stderr, as log records of the component's logger."""

    def __init__(self, stream: str) -> None:
        self.stream = stream
        self.pending = b""

    def write(self, data: bytes) -> None:
        self.pending += data
        if b"\n" in self.pending or len(self.pending) > MAX_LINE:
            *lines, self.pending = self.pending.split(b"\n")
            # Output without newlines is cut into lines too, so it never piles up here.
            while len(self.pending) > MAX_LINE:
                lines.append(self.pending[:MAX_LINE])
                self.pending = self.pending[MAX_LINE:]
            logger = current().logger
            for line in lines:
                for start in range(0, max(len(line), 1), MAX_LINE):
                    text = line[start : start + MAX_LINE].decode("utf-8", "replace")
                    logger.info("%s: %s", self.stream, text)

    def flush(self) -> None:
        """Lines are emitted as they complete; a partial line waits for its newline."""


class EmptySource:
    """stdin of a server component: always at its end."""

    def read(self, size: int, block: bool) -> bytes | None:
        return None

    def pollable(self) -> Pollable:
        return Pollable.always()


def no_terminal() -> None:
    return None


class TerminalInput(HostObject):
    resource = "terminal-input"


class TerminalOutput(HostObject):
    resource = "terminal-output"
