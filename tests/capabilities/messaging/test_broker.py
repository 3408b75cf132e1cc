"""Durable redelivery on both brokers: a failing message comes again after a growing pause,
a bounded number of times (in memory, and as a JetStream consumer on a real nats-server)."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from wasmesh.capabilities.messaging.broker import Broker, LocalBroker, Message, Redelivery
from wasmesh.lattice.connection import NatsOptions
from wasmesh.lattice.messaging import connect_broker
from wasmesh.lattice.server import start_server

WAIT_S = 60.0


def test_the_backoff_doubles_and_is_bounded() -> None:
    policy = Redelivery("r", max_deliver=10)
    assert [policy.delay(n) for n in range(1, 9)] == [0.5, 1, 2, 4, 8, 16, 30, 30]


@pytest.fixture(params=["memory", "nats"])
def broker(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Broker]:
    if request.param == "memory":
        local = LocalBroker()
        yield local
        local.close()
        return
    server = start_server(0, tmp_path / "js")
    try:
        nats = connect_broker(NatsOptions(server.url), "backoff")
        yield nats
        nats.close()
    finally:
        server.stop()


def test_a_failing_message_is_redelivered_after_a_growing_pause(broker: Broker) -> None:
    seen: list[tuple[int, float]] = []
    done = threading.Event()

    def fail(message: Message, attempt: int) -> bool:
        seen.append((attempt, time.monotonic()))
        if attempt == 3:
            done.set()
        return False

    policy = Redelivery("jobs-backoff", max_deliver=3, first_delay=0.5)
    sub = broker.subscribe("jobs.*", fail, redelivery=policy)
    try:
        broker.publish(Message("jobs.1", b"x"))
        assert done.wait(WAIT_S)
        time.sleep(policy.delay(3) + 0.5)  # no fourth delivery comes after the last pause
    finally:
        sub.close()
    assert [a for a, _ in seen] == [1, 2, 3]
    gaps = [later - earlier for (_, earlier), (_, later) in itertools.pairwise(seen)]
    assert gaps[0] >= policy.delay(1) - 0.05 and gaps[1] >= policy.delay(2) - 0.05, gaps
