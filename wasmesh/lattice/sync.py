"""Blocking twins of `LatticeClient`'s methods, for the CLI: one connection per call."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Sequence
from typing import Any, TypeVar

from wasmesh.engine.types import FuncSig
from wasmesh.errors import GuestError, WasmeshError
from wasmesh.lattice.client import LatticeClient
from wasmesh.lattice.connection import NatsOptions, connect_once
from wasmesh.lattice.errors import LatticeError
from wasmesh.lattice.roles import is_violation, require_member, require_role
from wasmesh.lattice.schema import DesiredState, Heartbeat, Subjects
from wasmesh.lattice.signing import Signer
from wasmesh.lattice.status import AppStatus
from wasmesh.lattice.topology import Topology

T = TypeVar("T")
Nats = str | NatsOptions  # a URL, or the URL with a credential and TLS files
ADMIN_METHODS = ("deploy", "rollback", "undeploy")  # what only the admin credential may do


def _run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


async def _with_client(
    nats: Nats, lattice: str, method: str, *args: Any, signer: Signer | None = None
) -> Any:
    role = "admin" if method in ADMIN_METHODS else None
    client = LatticeClient(nats, lattice, signer=signer, role=role)
    try:
        async with client:
            return await getattr(client, method)(*args)
    except (WasmeshError, GuestError):
        raise
    except Exception as exc:
        if client.denied:  # what the server refused says more than the timeout it caused
            raise LatticeError(
                f"NATS refused this credential: it may not {_what(client.denied[0])}; use a "
                "credential whose role may (`wasmesh lattice up` prints them)."
            ) from None
        raise LatticeError(f"the lattice did not answer ({exc or type(exc).__name__}).") from None


def _what(violation: str) -> str:
    """What a permission violation stopped, in the lattice's words (not its subjects)."""
    text = violation.lower()
    if '"$o.' in text:
        return "write the lattice's artifacts (deploying needs the admin credential)"
    if '"$kv.' in text:
        return "change the lattice's state (deploying needs the admin credential)"
    if '"$js.api' in text:
        return "read this lattice's state (is it a credential of another lattice?)"
    if ".rpc." in text or ".http." in text:
        return "call or serve units in this lattice"
    return "do this"


def require(nats: Nats, role: str, action: str, lattice: str = "default") -> None:
    """A `LatticeError` unless the credential of `nats` acts as `role` in `lattice`: what
    the CLI checks before building anything (`wasmesh.lattice.roles`)."""

    async def check() -> None:
        options = NatsOptions.of(nats)
        denied: list[str] = []

        async def on_error(exc: Exception) -> None:
            if is_violation(exc):
                denied.append(str(exc))

        nc = await connect_once(options, role=role, error_cb=on_error)
        try:
            await require_member(nc, Subjects(lattice), denied, options.creds)
            await require_role(nc, Subjects(lattice), role, denied, options.creds, action)
        finally:
            await nc.close()

    _run(check())


def deploy(
    app: str,
    nats: Nats,
    topology: Topology,
    lattice: str = "default",
    signer: Signer | None = None,
) -> DesiredState:
    """Deploy (or update) `app`, signing its artifacts with `signer`; returns the new
    desired state."""
    coro = _with_client(nats, lattice, "deploy", app, topology, signer=signer)
    result: DesiredState = _run(coro)
    return result


def wait_ready(app: str, nats: Nats, timeout: float, lattice: str = "default") -> AppStatus:
    """The app's status once every unit of its latest version runs where it is placed; a
    `LatticeError` naming what is missing after `timeout` seconds."""
    result: AppStatus = _run(_with_client(nats, lattice, "wait_ready", app, timeout))
    return result


def status(app: str, nats: Nats, lattice: str = "default") -> AppStatus:
    """The app's status in the lattice."""
    result: AppStatus = _run(_with_client(nats, lattice, "status", app))
    return result


def apps(nats: Nats, lattice: str = "default") -> list[DesiredState]:
    """The desired state of every deployed app."""
    result: list[DesiredState] = _run(_with_client(nats, lattice, "apps"))
    return result


def hosts(nats: Nats, lattice: str = "default") -> list[Heartbeat]:
    """Every host's last inventory."""
    result: list[Heartbeat] = _run(_with_client(nats, lattice, "hosts"))
    return result


def undeploy(app: str, nats: Nats, lattice: str = "default") -> None:
    """Stop and remove `app`."""
    _run(_with_client(nats, lattice, "undeploy", app))


def rollback(app: str, version: int, nats: Nats, lattice: str = "default") -> DesiredState:
    """Bring back the units of `version` as the app's next version."""
    result: DesiredState = _run(_with_client(nats, lattice, "rollback", app, version))
    return result


def invoke(app: str, export: str, args: Sequence[Any], nats: Nats, lattice: str = "default") -> Any:
    """Call one export of `app` through the lattice (arguments checked against its type)."""
    return _run(_with_client(nats, lattice, "invoke", app, export, list(args)))


def signature(app: str, export: str, nats: Nats, lattice: str = "default") -> FuncSig:
    """The signature of one export of `app`, to parse CLI arguments against."""
    result: FuncSig = _run(_with_client(nats, lattice, "signature", app, export))
    return result
