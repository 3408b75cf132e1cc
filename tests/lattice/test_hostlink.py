"""What a host says about its NATS connection (the callbacks nats-py calls)."""

from __future__ import annotations

import asyncio
import logging

import pytest

from wasmesh.lattice.hostlink import HostLink


def test_errors_are_said_once_each_and_a_deliberate_close_is_not_an_outage(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, "wasmesh.lattice.host")
    link = HostLink("h0")

    async def events() -> None:
        violation = Exception('nats: permissions violation for subscription to "x"')
        await link.error(violation)  # while joining: kept for the role check, not logged
        assert link.denied == [str(violation)]
        await link.disconnected()  # a refused first attempt closing: not an outage
        link.joined = True
        for _ in range(3):  # nats-py reports every failed reconnect attempt
            await link.error(ConnectionRefusedError("connect call failed"))
        await link.disconnected()
        await link.reconnected()
        link.closing = True
        await link.disconnected()

    asyncio.run(events())
    assert [r.getMessage() for r in caplog.records] == [
        "host h0: NATS error: connect call failed",
        "host h0 lost its NATS connection; reconnecting",
        "host h0 reconnected to NATS",
    ]
