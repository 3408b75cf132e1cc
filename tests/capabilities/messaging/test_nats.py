"""The NATS broker against a real nats-server that goes away: errors say what was waited for."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from wasmesh.capabilities.messaging.broker import MessagingError
from wasmesh.lattice.connection import NatsOptions
from wasmesh.lattice.messaging import connect_broker
from wasmesh.lattice.server import NatsServer, start_server


@pytest.fixture
def nats_server(tmp_path: Path) -> Iterator[NatsServer]:
    server = start_server(0, tmp_path / "js")
    try:
        yield server
    finally:
        server.stop()


def test_a_request_during_an_outage_says_the_wait_it_really_had(nats_server: NatsServer) -> None:
    broker = connect_broker(NatsOptions(nats_server.url), "outage")
    try:
        nats_server.stop()
        began = time.monotonic()
        with pytest.raises(MessagingError) as e:
            broker.request("orders.new", b"x", 0.5)
        waited = time.monotonic() - began
        assert str(e.value) == (
            "no reply on `orders.new` within 0.5 s: the connection to NATS is down and "
            "reconnecting"
        )
        assert waited < 5  # not the broker's own longer wait
        nats_server.start()  # back on the same port: the broker reconnects and closes cleanly
        with pytest.raises(MessagingError, match=r"^no subscriber answers `orders.new`$"):
            for _ in range(100):  # until the reconnect is done
                try:
                    broker.request("orders.new", b"x", 0.5)
                except MessagingError as exc:
                    if "no subscriber" in str(exc):
                        raise
    finally:
        broker.close()
