"""Stubs for remote imports: binary-encoded NATS requests, and failures that never hang."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg

from wasmesh.engine.codec.binary import compile_decoder, compile_encoder
from wasmesh.engine.types import WitType
from wasmesh.errors import GuestTrap
from wasmesh.lattice.connection import connect_once
from wasmesh.lattice.errors import RemoteUnavailable
from wasmesh.lattice.schema import H_CODEC, H_FUNC, H_STATUS, RPC_QUEUE, Subjects
from wasmesh.lattice.server import NatsServer
from wasmesh.lattice.stub import LoopThread, RemoteImports
from wasmesh.lattice.unit import ComponentUnit

MATH = "wasmesh:lattice-test/math"
FRONT = "wasmesh:lattice-test/front"
U32 = WitType("u32")


@pytest.fixture
def nats_loop(nats_server: NatsServer) -> Iterator[tuple[LoopThread, NATS]]:
    loop = LoopThread()
    nc = loop.run(connect_once(nats_server.options("host")), 10)
    try:
        yield loop, nc
    finally:
        loop.run(nc.close(), 10)
        loop.close()


def front(
    guest: Callable[[str], Path], loop: LoopThread, nc: NATS, timeout: float
) -> ComponentUnit:
    remote = RemoteImports(nc, loop.loop, Subjects(), "shop", timeout=timeout)
    return ComponentUnit(guest("lattice-front"), {MATH: remote.provider("math")})


def test_stub_calls_travel_binary_encoded_to_the_providers_queue_group(
    nats_loop: tuple[LoopThread, NATS], guest: Callable[[str], Path]
) -> None:
    loop, nc = nats_loop
    seen: list[tuple[str, str, list[int]]] = []
    decode_args = compile_decoder([U32, U32])
    encode_result = compile_encoder([U32])

    async def provider(msg: Msg) -> None:
        headers = msg.headers or {}
        args = decode_args(msg.data)
        seen.append((headers[H_FUNC], headers[H_CODEC], args))
        body = encode_result([args[0] * 100 + args[1]])
        await nc.publish(msg.reply, body, headers={H_STATUS: "ok"})

    subject = Subjects().rpc("shop", "math", MATH)
    loop.run(nc.subscribe(subject, queue=RPC_QUEUE, cb=provider), 5)
    loop.run(nc.flush(), 5)
    unit = front(guest, loop, nc, timeout=5)
    assert unit.call(FRONT, "sum3", [1, 2, 3]) == 10203
    assert seen == [("add", "binary", [1, 2]), ("add", "binary", [102, 3])]


def test_no_responders_is_a_trap_in_the_caller_at_once(
    nats_loop: tuple[LoopThread, NATS], guest: Callable[[str], Path]
) -> None:
    loop, nc = nats_loop
    unit = front(guest, loop, nc, timeout=5)
    started = time.monotonic()
    with pytest.raises(GuestTrap, match=r"no host serves unit math of app shop \(") as info:
        unit.call(FRONT, "sum3", [1, 2, 3])
    assert "wasmesh." not in str(info.value)  # the app's words, not the lattice's subjects
    assert time.monotonic() - started < 2
    assert isinstance(info.value.__cause__, RemoteUnavailable)


def test_a_provider_that_never_answers_times_out_instead_of_hanging(
    nats_loop: tuple[LoopThread, NATS], guest: Callable[[str], Path]
) -> None:
    loop, nc = nats_loop

    async def silent(msg: Msg) -> None:
        await asyncio.sleep(0)

    loop.run(nc.subscribe(Subjects().rpc("shop", "math", MATH), queue=RPC_QUEUE, cb=silent), 5)
    loop.run(nc.flush(), 5)
    unit = front(guest, loop, nc, timeout=0.5)
    started = time.monotonic()
    late = r"no reply to add from unit math of app shop .* within 0\.5 s"
    with pytest.raises(GuestTrap, match=late) as info:
        unit.call(FRONT, "sum3", [1, 2, 3])
    assert "wasmesh." not in str(info.value)
    assert 0.4 < time.monotonic() - started < 3


def test_a_call_from_the_loop_thread_is_refused_not_deadlocked(
    nats_loop: tuple[LoopThread, NATS], guest: Callable[[str], Path]
) -> None:
    loop, nc = nats_loop
    unit = front(guest, loop, nc, timeout=5)

    async def inside() -> None:
        unit.call(FRONT, "sum3", [1, 2, 3])

    with pytest.raises(GuestTrap, match="NATS loop's own thread"):
        loop.run(inside(), 10)
