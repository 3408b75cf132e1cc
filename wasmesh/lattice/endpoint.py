"""One unit on one host: its queue subscriptions, and the version of the unit they reach.

Subscriptions outlive versions. Switching to a new version is one assignment, after which
every call reaches it, while the old version answers the calls it already has. Unsubscribing
is where NATS can drop a message already on its way to this host, so a rolling update never
unsubscribes; only a unit leaving the host (or losing an interface) does, with a grace period.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from wasmesh.errors import GuestError
from wasmesh.lattice import rpc
from wasmesh.lattice.errors import LatticeError
from wasmesh.lattice.schema import H_CODEC, H_FUNC, H_STATUS, RPC_QUEUE, Subjects, UnitSpec
from wasmesh.lattice.unit import UnitRunner
from wasmesh.lattice.wire import JSON, SigCodec, json_decode, json_encode
from wasmesh.observe import tracing

log = logging.getLogger("wasmesh.lattice.host")

SLOW_CALL_S = 1.0  # calls slower than this are logged


@dataclass
class Version:
    """One started version of a unit, with its calls in flight."""

    spec: UnitSpec
    runner: UnitRunner
    pool: ThreadPoolExecutor  # its own threads: a unit's calls never wait behind another's
    inflight: set[asyncio.Task[None]] = field(default_factory=set)
    codecs: dict[tuple[str, str, str], SigCodec] = field(default_factory=dict)

    async def finish(self) -> None:
        """Stop once the calls in flight are answered."""
        if self.inflight:
            await asyncio.wait(self.inflight, timeout=rpc.CALL_TIMEOUT_S)
        self.runner.close()
        self.pool.shutdown(wait=False)


class Endpoint:
    """Serves the export interfaces of one unit of one app on this host."""

    def __init__(self, nc: NATS, subjects: Subjects, app: str, unit: str) -> None:
        self.nc = nc
        self.subjects = subjects
        self.app = app
        self.unit = unit
        self.current: Version | None = None
        self.subs: dict[str, Subscription] = {}

    async def switch(self, version: Version) -> Version | None:
        """Make `version` the one every call reaches; returns the one it replaces."""
        old, self.current = self.current, version
        exports = version.runner.exports
        for iface in exports:
            if iface not in self.subs:
                subject = self.subjects.rpc(self.app, self.unit, iface)
                self.subs[iface] = await self.nc.subscribe(
                    subject, queue=RPC_QUEUE, cb=self._handler(iface)
                )
        for iface in [i for i in self.subs if i not in exports]:
            await _drain(self.subs.pop(iface))
        await self.nc.flush()
        return old

    async def close(self) -> None:
        """Stop serving: leave the queue groups, then finish the current version."""
        for sub in self.subs.values():
            await _drain(sub)
        self.subs.clear()
        if self.current is not None:
            await self.current.finish()

    def _handler(self, iface: str) -> Callable[[Msg], Any]:
        async def on_message(msg: Msg) -> None:
            version = self.current
            if version is None:
                await self._reply(msg, *rpc.error_reply(rpc.ERROR, f"{self.unit} is not running"))
                return
            task = asyncio.create_task(self._serve(version, iface, msg))
            version.inflight.add(task)
            task.add_done_callback(version.inflight.discard)

        return on_message

    async def _serve(self, version: Version, iface: str, msg: Msg) -> None:
        headers = msg.headers or {}
        func = headers.get(H_FUNC, "")
        codec_name = headers.get(H_CODEC, JSON)
        try:
            sig = version.runner.exports.get(iface, {}).get(func)
            if sig is None:
                raise LatticeError(f"{self.unit} has no function {func!r} in {iface}.")
            codec = version.codecs.get((iface, func, codec_name))
            if codec is None:
                codec = version.codecs[(iface, func, codec_name)] = SigCodec(sig, codec_name)
            args = json_decode(msg.data) if codec_name == JSON else codec.decode_args(msg.data)
            loop = asyncio.get_running_loop()
            started = loop.time()
            budget = rpc.call_budget(headers)  # the caller's deadline: stop when it gives up
            with tracing.rpc_server(headers, iface, func):
                result = await loop.run_in_executor(
                    version.pool, tracing.in_context(version.runner.call), iface, func, args, budget
                )
            if loop.time() - started > SLOW_CALL_S:
                log.warning("%s#%s took %.2f s", iface, func, loop.time() - started)
            body = json_encode([result]) if codec_name == JSON else codec.encode_result(result)
            rpc.check_payload(self.nc, len(body), f"result of {func}")
            headers_out = {H_STATUS: rpc.OK}
        except GuestError as exc:
            body, headers_out = rpc.error_reply(rpc.TRAP, str(exc), exc.backtrace)
        except Exception as exc:
            body, headers_out = rpc.error_reply(rpc.ERROR, str(exc))
        await self._reply(msg, body, headers_out)

    async def _reply(self, msg: Msg, body: bytes, headers: dict[str, str]) -> None:
        if msg.reply:
            try:
                await self.nc.publish(msg.reply, body, headers=headers)
            except Exception as exc:  # the caller times out; say why here
                log.warning("a reply on %s was lost: %s", msg.subject, exc)


LEAVE_GRACE_S = 0.25  # how long a subscription keeps answering after it told NATS to stop


async def _drain(sub: Subscription) -> None:
    """Leave a queue group without dropping a call.

    NATS can still deliver a message it routed to this subscription just before the UNSUB,
    after the flush that is supposed to fence it (measured: about one call lost per dozen
    scale-downs under load). So the UNSUB goes out first, the handler keeps answering for a
    grace period, and only then is the subscription drained and removed.
    """
    with contextlib.suppress(Exception):
        send_unsubscribe = getattr(sub._conn, "_send_unsubscribe", None)  # nats-py internals
        if send_unsubscribe is not None:
            await send_unsubscribe(sub._id)
            await asyncio.sleep(LEAVE_GRACE_S)
        await sub.drain()  # type: ignore[no-untyped-call]
