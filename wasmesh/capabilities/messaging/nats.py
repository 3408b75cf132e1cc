"""The NATS broker: messages as NATS subjects under a prefix, durable ones in JetStream.

A component's subject `orders.new` is the NATS subject `<prefix>.orders.new` (the lattice's
`wasmesh.<lattice>.msg`), so apps of one lattice share one subject space and no component can
reach the lattice's own subjects. Replies go to the requester's inbox as NATS sends them.
Plain subscriptions are core NATS subscriptions, in a queue group when asked (each message to
one member, across hosts). A subscription with `Redelivery` is a durable JetStream pull
consumer on the stream `stream` (its subjects must cover the subscription's; see
`ensure_stream`): a message the handler fails is negatively acknowledged with a delay (the
`Redelivery`'s doubling backoff) and delivered again after it, at most `max_deliver` times
(JetStream's `max_deliver`); hosts fetching from one consumer share
its messages. A request to a subject a stream captures is answered by JetStream's
acknowledgement, so durable subjects are for publishing, not requests.

The broker runs on an asyncio loop owned by another thread (a lattice host's, or the loop
thread `wasmesh up --nats` starts); its methods block the calling thread.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import time
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription as NatsSubscription
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeout
from nats.js.api import AckPolicy, ConsumerConfig, StreamConfig
from nats.js.errors import NotFoundError

from wasmesh.capabilities.messaging.broker import (
    INBOX,
    Handler,
    Message,
    MessagingError,
    Redelivery,
)
from wasmesh.capabilities.messaging.subjects import check_subject

log = logging.getLogger("wasmesh.messaging")

T = TypeVar("T")
PUBLISH_TIMEOUT_S = 10.0  # a publish the connection cannot flush by then fails
FETCH_WAIT_S = 1.0  # a durable subscription's pull waits this long for messages
ACK_WAIT_S = 60.0  # a fetched message not acknowledged by then is delivered again


def stream_name(prefix: str) -> str:
    """The JetStream stream holding the durable messages under `prefix` (`wasmesh.L.msg`)."""
    return prefix.replace(".", "_") + "_durable"


async def ensure_stream(nc: NATS, prefix: str, patterns: list[str]) -> None:
    """Make the durable stream of `prefix` capture `patterns` (component subjects) too."""
    js = nc.jetstream()
    name = stream_name(prefix)
    wanted = {f"{prefix}.{p}" for p in patterns}
    try:
        info = await js.stream_info(name)
    except NotFoundError:
        await js.add_stream(StreamConfig(name=name, subjects=sorted(wanted)))
        return
    have = set(info.config.subjects or ())
    if not wanted <= have:
        info.config.subjects = sorted(have | wanted)
        await js.update_stream(info.config)


class _Plain:
    def __init__(self, broker: NatsBroker, sub: NatsSubscription) -> None:
        self.broker = broker
        self.sub = sub

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.broker._run(self.sub.unsubscribe(), PUBLISH_TIMEOUT_S)


class _Durable:
    def __init__(self, broker: NatsBroker, task: asyncio.Task[None]) -> None:
        self.broker = broker
        self.task = task

    def close(self) -> None:
        self.broker.loop.call_soon_threadsafe(self.task.cancel)


class NatsBroker:
    """A `Broker` over a connected NATS client `nc` whose loop runs in another thread."""

    def __init__(
        self,
        nc: NATS,
        loop: asyncio.AbstractEventLoop,
        prefix: str,
        workers: int = 8,
        on_close: Callable[[], None] | None = None,
    ) -> None:
        self.nc = nc
        self.loop = loop
        self.prefix = prefix
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="wasmesh-nats-handler")
        self._on_close = on_close
        self._tasks: set[asyncio.Future[bool]] = set()  # deliveries of plain subscriptions

    def describe(self) -> str:
        url = self.nc.connected_url
        where = f"{url.scheme}://{url.hostname}:{url.port}" if url is not None else "NATS"
        return f"NATS {where} (subjects under `{self.prefix}.`)"

    def _run(self, coro: Coroutine[Any, Any, T], timeout: float) -> T:
        """`coro` on the loop; its own exceptions (its own timeouts included: since Python
        3.11 those are the same `TimeoutError` as the wait's) pass through, and a wait of
        `timeout` seconds without an outcome is a `MessagingError` saying how long it was."""
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        began = time.monotonic()
        try:
            return future.result(timeout)
        except concurrent.futures.TimeoutError:
            if future.done():  # the operation's own timeout: its caller says what it waited
                raise
            future.cancel()
            raise MessagingError(
                f"NATS did not answer within {time.monotonic() - began:.1f} s"
            ) from None

    def _outer(self, subject: str) -> str:
        return f"{self.prefix}.{subject}"

    def _inner(self, subject: str) -> str:
        return subject.removeprefix(self.prefix + ".")

    def publish(self, message: Message) -> None:
        check_subject(message.subject)
        reply = self._outer(message.reply_to) if message.reply_to else ""
        try:
            self._run(self.nc.publish(self._outer(message.subject), message.body, reply),
                      PUBLISH_TIMEOUT_S)  # fmt: skip
        except MessagingError:
            raise
        except Exception as exc:  # the connection is down or the payload too large
            raise MessagingError(f"publishing to `{message.subject}` failed: {exc}") from None

    def request(self, subject: str, body: bytes, timeout: float) -> Message:
        check_subject(subject)
        try:
            reply = self._run(self.nc.request(self._outer(subject), body, timeout=timeout),
                              timeout + PUBLISH_TIMEOUT_S)  # fmt: skip
        except NoRespondersError:
            raise MessagingError(f"no subscriber answers `{subject}`") from None
        except MessagingError:
            raise
        except (TimeoutError, NatsTimeout):
            if not self.nc.is_connected:
                raise MessagingError(
                    f"no reply on `{subject}` within {timeout:g} s: the connection to NATS is "
                    "down and reconnecting"
                ) from None
            raise MessagingError(f"no reply on `{subject}` within {timeout:g} s") from None
        except Exception as exc:
            raise MessagingError(f"the request to `{subject}` failed: {exc}") from None
        return Message(self._inner(reply.subject), reply.data)

    def reply(self, subject: str, body: bytes) -> None:
        outer = subject if subject.startswith(f"{INBOX}.") else self._outer(subject)
        try:
            self._run(self.nc.publish(outer, body), PUBLISH_TIMEOUT_S)
        except Exception as exc:
            raise MessagingError(f"the reply to `{subject}` failed: {exc}") from None

    def subscribe(
        self,
        subject: str,
        handler: Handler,
        queue: str | None = None,
        redelivery: Redelivery | None = None,
    ) -> _Plain | _Durable:
        check_subject(subject, pattern=True)
        if redelivery is not None:
            return self._run(self._durable(subject, handler, redelivery), PUBLISH_TIMEOUT_S)

        async def on_message(msg: Msg) -> None:
            task = asyncio.ensure_future(self._handle(handler, self._message(msg), 1))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

        sub = self._run(self.nc.subscribe(self._outer(subject), queue=queue or "",
                                          cb=on_message), PUBLISH_TIMEOUT_S)  # fmt: skip
        return _Plain(self, sub)

    def _message(self, msg: Msg) -> Message:
        reply = msg.reply or None
        if reply is not None and not reply.startswith(f"{INBOX}."):
            reply = self._inner(reply)
        return Message(self._inner(msg.subject), msg.data, reply)

    async def _handle(self, handler: Handler, message: Message, attempt: int) -> bool:
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._pool, handler, message, attempt)
        except Exception as exc:
            log.warning("%s: a subscriber failed: %s", message.subject, exc)
            return False

    async def _durable(self, subject: str, handler: Handler, redelivery: Redelivery) -> _Durable:
        await ensure_stream(self.nc, self.prefix, [subject])
        js = self.nc.jetstream()
        config = ConsumerConfig(
            durable_name=redelivery.name,
            ack_policy=AckPolicy.EXPLICIT,
            max_deliver=redelivery.max_deliver,
            ack_wait=ACK_WAIT_S,
            filter_subject=self._outer(subject),
        )
        pull = await js.pull_subscribe(self._outer(subject), durable=redelivery.name,
                                       stream=stream_name(self.prefix), config=config)  # fmt: skip

        async def run() -> None:
            try:
                while True:
                    try:
                        msgs = await pull.fetch(1, timeout=FETCH_WAIT_S)
                    except (TimeoutError, NatsTimeout):
                        continue
                    except asyncio.CancelledError:
                        raise
                    except Exception as exc:  # disconnected: the client reconnects
                        log.debug("%s: fetching failed: %s", subject, exc)
                        await asyncio.sleep(FETCH_WAIT_S)
                        continue
                    for msg in msgs:
                        attempt = msg.metadata.num_delivered or 1
                        done = await self._handle(handler, self._message(msg), attempt)
                        with contextlib.suppress(Exception):  # a nak waits out the backoff
                            await (msg.ack() if done else msg.nak(redelivery.delay(attempt)))
            finally:
                with contextlib.suppress(Exception):
                    await pull.unsubscribe()

        return _Durable(self, asyncio.ensure_future(run()))

    def close(self) -> None:
        """Take no more deliveries (triggers wait for theirs when they drain); close the
        connection if this broker owns it."""
        self._pool.shutdown(wait=False, cancel_futures=True)
        if self._on_close is not None:
            self._on_close()
