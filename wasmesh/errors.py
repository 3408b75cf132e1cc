"""Errors wasmesh raises.

Every error a user can cause is a `WasmeshError` whose message is one sentence naming the
thing and the fix; the CLI prints it and exits 2. A failure inside a guest (trap, timeout,
memory limit) is a `GuestError`; the CLI exits 1.
"""

from __future__ import annotations


class WasmeshError(Exception):
    """A problem the user can fix: bad input, bad manifest, missing grant."""

    exit_code = 2


class ComponentError(WasmeshError):
    """The file is not a usable component (missing, not wasm, a core module, invalid)."""


class WitValueError(WasmeshError):
    """A value does not fit its WIT type (wrong arity, wrong kind, out of range)."""


class ExportNotFound(WasmeshError):
    """No export matches the requested name."""


class LinkError(WasmeshError):
    """An import cannot be satisfied by the host, a grant or another component."""


class ManifestError(WasmeshError):
    """`wasmesh.toml` is malformed or inconsistent."""


class BuildError(WasmeshError):
    """A toolchain failed to build a component."""


class GuestError(Exception):
    """The guest failed while running: a trap, a timeout or a resource limit."""

    exit_code = 1

    def __init__(self, message: str, backtrace: str = "") -> None:
        super().__init__(message)
        self.backtrace = backtrace


class GuestTrap(GuestError):
    """The guest trapped (unreachable, out-of-bounds access, explicit abort...)."""


class GuestTimeout(GuestError):
    """The guest ran past its deadline and was interrupted."""


class GuestOutOfFuel(GuestTimeout):
    """The guest used up its fuel (instruction budget) and was stopped."""


class GuestOutOfMemory(GuestError):
    """The guest tried to grow memory past its limit."""


class GuestExit(GuestError):
    """A command component exited with a non-zero status."""

    def __init__(self, status: int) -> None:
        super().__init__(f"the component exited with status {status}")
        self.status = status
        self.exit_code = status


def listen_error(option: str, address: str, error: OSError) -> WasmeshError:
    """The one sentence for a listening address the system refused (`option` as the user gave
    it, e.g. `--listen`): in use, or not an address of this machine."""
    import errno

    if error.errno == errno.EADDRINUSE:
        return WasmeshError(
            f"{option} {address}: the address is in use; pick another port (or 0 for any free one)."
        )
    return WasmeshError(
        f"{option} {address}: cannot listen there ({error.strerror or error}); use an address "
        "of this machine."
    )
