"""wasi:cli: environment, arguments, exit, and standard input, output and error.

Where stdio goes depends on the instance's context: a command writes to the host's own
stdout/stderr and reads the host's stdin when granted; an HTTP component's output becomes log
records of its logger (see `basics.LogSink`) and its stdin is always at its end.
"""

from __future__ import annotations

import os
import select
import sys
from typing import Any

from wasmesh.capabilities.wasi.basics import EmptySource, LogSink
from wasmesh.capabilities.wasi.context import current
from wasmesh.capabilities.wasi.io import InputStream, OutputStream, Pollable, poll
from wasmesh.engine.values import Ok
from wasmesh.errors import GuestExit

STDIN_FD = 0


class HostStreamSink:
    """Bytes for the host's `sys.stdout` or `sys.stderr`, looked up at each write.

    Looking the stream up late keeps redirections made by the embedding program (pytest's
    capture, `contextlib.redirect_stdout`) effective.
    """

    def __init__(self, name: str) -> None:
        self.name = name

    def _stream(self) -> Any:
        return getattr(sys, self.name)

    def write(self, data: bytes) -> None:
        stream = self._stream()
        raw = getattr(stream, "buffer", None)
        if raw is not None:
            raw.write(data)
            raw.flush()  # keep stdout and stderr in the order the guest wrote them
        else:
            stream.write(data.decode("utf-8", "replace"))
            stream.flush()

    def flush(self) -> None:
        self._stream().flush()


def _stdin_readable() -> bool:
    try:
        return bool(select.select([STDIN_FD], [], [], 0)[0])
    except (OSError, ValueError):
        return True  # a closed stdin reads as its end at once


class HostStdinSource:
    """The host's standard input (file descriptor 0), read as the guest asks."""

    def __init__(self) -> None:
        self.ended = False

    def read(self, size: int, block: bool) -> bytes | None:
        if self.ended:
            return None
        if block:
            poll([self.pollable()])
        elif not _stdin_readable():
            return b""
        try:
            data = os.read(STDIN_FD, size)
        except BlockingIOError:
            return b""
        if not data:
            self.ended = True
            return None
        return data

    def pollable(self) -> Pollable:
        return Pollable(lambda: self.ended or _stdin_readable(), fd=STDIN_FD)


def get_environment() -> list[tuple[str, str]]:
    return list(current().env)


def get_arguments() -> list[str]:
    return list(current().args)


def initial_cwd() -> str | None:
    return None


def exit_(status: object) -> None:
    raise GuestExit(0 if isinstance(status, Ok) else 1)


def exit_with_code(status_code: int) -> None:
    raise GuestExit(status_code)


def get_stdin() -> InputStream:
    if current().stdin:
        return InputStream(HostStdinSource())
    return InputStream(EmptySource())


def get_stdout() -> OutputStream:
    return OutputStream(HostStreamSink("stdout") if current().real_stdio else LogSink("stdout"))


def get_stderr() -> OutputStream:
    return OutputStream(HostStreamSink("stderr") if current().real_stdio else LogSink("stderr"))
