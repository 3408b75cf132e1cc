"""wasi:clocks, wasi:random, wasi:cli, and the denied wasi:filesystem and wasi:sockets.

Standard output and error go to the host's logger for the component, one record per line.
Files and sockets are not granted to HTTP components: preopens are empty and creating a
socket or resolving a name answers `access-denied`.
"""

from __future__ import annotations

import os
import random
import time

from wasmesh.capabilities.wasi._table import HostObject
from wasmesh.capabilities.wasi.context import current
from wasmesh.capabilities.wasi.io import InputStream, OutputStream, Pollable
from wasmesh.engine.values import Err, Record
from wasmesh.errors import GuestExit

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
        if b"\n" in self.pending:
            *lines, self.pending = self.pending.split(b"\n")
            logger = current().logger
            for line in lines:
                logger.info("%s: %s", self.stream, line.decode("utf-8", "replace"))

    def flush(self) -> None:
        """Lines are emitted as they complete; a partial line waits for its newline."""


class EmptySource:
    """stdin of a server component: always at its end."""

    def read(self, size: int, block: bool) -> bytes | None:
        return None

    def pollable(self) -> Pollable:
        return Pollable.always()


def get_environment() -> list[tuple[str, str]]:
    return list(current().env)


def get_arguments() -> list[str]:
    return list(current().args)


def initial_cwd() -> str | None:
    return None


def exit_(status: object) -> None:
    code = 0 if type(status).__name__ == "Ok" else 1
    raise GuestExit(code)


def exit_with_code(status_code: int) -> None:
    raise GuestExit(status_code)


def get_stdin() -> InputStream:
    return InputStream(EmptySource())


def get_stdout() -> OutputStream:
    return OutputStream(LogSink("stdout"))


def get_stderr() -> OutputStream:
    return OutputStream(LogSink("stderr"))


def no_terminal() -> None:
    return None


class TerminalInput(HostObject):
    resource = "terminal-input"


class TerminalOutput(HostObject):
    resource = "terminal-output"


# --- filesystem and sockets: not granted ----------------------------------------------------


class Descriptor(HostObject):
    resource = "descriptor"


class DirectoryEntryStream(HostObject):
    resource = "directory-entry-stream"


def get_directories() -> list[tuple[Descriptor, str]]:
    return []


def filesystem_error_code(err: HostObject) -> str | None:
    """No stream error carries a filesystem (or network) error code here."""
    return None


class Network(HostObject):
    resource = "network"


class TcpSocket(HostObject):
    resource = "tcp-socket"


class UdpSocket(HostObject):
    resource = "udp-socket"


class IncomingDatagramStream(HostObject):
    resource = "incoming-datagram-stream"


class OutgoingDatagramStream(HostObject):
    resource = "outgoing-datagram-stream"


class ResolveAddressStream(HostObject):
    resource = "resolve-address-stream"


def instance_network() -> Network:
    return Network()


def socket_denied(*_args: object) -> Err:
    current().logger.warning("denied a socket: the component has no network grant")
    return Err("access-denied")
