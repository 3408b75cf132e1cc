"""Errors of the distributed mode."""

from __future__ import annotations

from wasmesh.errors import GuestTrap, WasmeshError


class LatticeError(WasmeshError):
    """The lattice cannot do what was asked: no server, no host, unknown app or version."""


class NotReady(LatticeError):
    """An app's latest version did not run everywhere it is placed in time; exit status 1,
    as `kubectl rollout status` on a timeout (the request was fine, the rollout is not)."""

    exit_code = 1


class RemoteUnavailable(LatticeError):
    """No host answered a call to a remote unit (no responders or a timeout)."""


class PayloadTooLarge(LatticeError):
    """A call's encoded arguments or result exceed the NATS server's max_payload."""


class RemoteTrap(GuestTrap):
    """The remote unit trapped while serving a call; the message is the remote one."""
