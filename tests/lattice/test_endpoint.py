"""Serving a unit's exports: one deadline per call, carried from caller to callee."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import nats
import pytest

from tests.lattice.conftest import run
from wasmesh.errors import GuestTimeout
from wasmesh.lattice import rpc
from wasmesh.lattice.endpoint import Endpoint, Version
from wasmesh.lattice.errors import RemoteTrap, RemoteUnavailable
from wasmesh.lattice.schema import Subjects, UnitSpec
from wasmesh.lattice.server import NatsServer
from wasmesh.lattice.unit import ComponentUnit
from wasmesh.lattice.wire import JSON, json_encode


class Recording(ComponentUnit):
    """A unit that notes how each of its calls ended, and when."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.ended: list[tuple[str, float]] = []

    def call(
        self, interface: str, func: str, args: Sequence[Any], timeout: float | None = None
    ) -> Any:
        try:
            return super().call(interface, func, args, timeout)
        except GuestTimeout:
            self.ended.append(("timeout", time.monotonic()))
            raise


def test_the_callee_stops_when_the_caller_gives_up(
    nats_server: NatsServer, guest: Callable[[str], Path]
) -> None:
    unit = Recording(guest("loop-wat"))

    async def scenario() -> None:
        # the unit is served as a host serves it, and called as a client calls it
        nc = await nats.connect(**nats_server.options("host").connect_kwargs())
        caller = await nats.connect(**nats_server.options("client").connect_kwargs())
        endpoint = Endpoint(nc, Subjects(), "app", "loop")
        pool = ThreadPoolExecutor(2)
        await endpoint.switch(Version(UnitSpec("loop", "0" * 64), unit, pool))
        subject = Subjects().rpc("app", "loop", "")
        started = time.monotonic()
        # whichever comes first: the caller's own timer, or the callee's answer that it stopped
        # the guest at that same deadline (on a loaded machine the reply can win the race)
        with pytest.raises(
            (RemoteUnavailable, RemoteTrap), match=r"within 0\.5 s|past its time limit"
        ):
            await rpc.call(caller, subject, "spin", JSON, json_encode([]), timeout=0.5)
        for _ in range(100):  # the guest was told the caller's deadline: it stops then too
            if unit.ended:
                break
            await asyncio.sleep(0.05)
        assert unit.ended and unit.ended[0][1] - started < 3.0  # not rpc.CALL_TIMEOUT_S
        await endpoint.close()
        await caller.close()
        await nc.close()

    run(scenario(), 60)


def test_a_call_without_a_deadline_header_gets_the_default() -> None:
    assert rpc.call_budget({}) == rpc.CALL_TIMEOUT_S
    assert rpc.call_budget({"wasmesh-deadline": "0.250"}) == 0.25
    assert rpc.call_budget({"wasmesh-deadline": "soon"}) == rpc.CALL_TIMEOUT_S
