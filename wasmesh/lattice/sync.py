"""Blocking twins of `LatticeClient`'s methods, for the CLI: one connection per call."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Sequence
from typing import Any, TypeVar

from wasmesh.engine.types import FuncSig
from wasmesh.lattice.client import LatticeClient, Topology
from wasmesh.lattice.schema import DesiredState, Heartbeat
from wasmesh.lattice.status import AppStatus

T = TypeVar("T")


def _run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


async def _with_client(nats_url: str, lattice: str, method: str, *args: Any) -> Any:
    async with LatticeClient(nats_url, lattice) as client:
        return await getattr(client, method)(*args)


def deploy(app: str, nats_url: str, topology: Topology, lattice: str = "default") -> DesiredState:
    """Deploy (or update) `app`; returns the new desired state."""
    result: DesiredState = _run(_with_client(nats_url, lattice, "deploy", app, topology))
    return result


def status(app: str, nats_url: str, lattice: str = "default") -> AppStatus:
    """The app's status in the lattice."""
    result: AppStatus = _run(_with_client(nats_url, lattice, "status", app))
    return result


def apps(nats_url: str, lattice: str = "default") -> list[DesiredState]:
    """The desired state of every deployed app."""
    result: list[DesiredState] = _run(_with_client(nats_url, lattice, "apps"))
    return result


def hosts(nats_url: str, lattice: str = "default") -> list[Heartbeat]:
    """Every host's last inventory."""
    result: list[Heartbeat] = _run(_with_client(nats_url, lattice, "hosts"))
    return result


def undeploy(app: str, nats_url: str, lattice: str = "default") -> None:
    """Stop and remove `app`."""
    _run(_with_client(nats_url, lattice, "undeploy", app))


def rollback(app: str, version: int, nats_url: str, lattice: str = "default") -> DesiredState:
    """Bring back the units of `version` as the app's next version."""
    result: DesiredState = _run(_with_client(nats_url, lattice, "rollback", app, version))
    return result


def invoke(
    app: str, export: str, args: Sequence[Any], nats_url: str, lattice: str = "default"
) -> Any:
    """Call one export of `app` through the lattice (arguments checked against its type)."""
    return _run(_with_client(nats_url, lattice, "invoke", app, export, list(args)))


def signature(app: str, export: str, nats_url: str, lattice: str = "default") -> FuncSig:
    """The signature of one export of `app`, to parse CLI arguments against."""
    result: FuncSig = _run(_with_client(nats_url, lattice, "signature", app, export))
    return result
