"""Message brokers behind one small Protocol, and the in-process one.

`Broker` is what the messaging capability and trigger need: publish, request (one reply
within a deadline), answer a request, subscribe (optionally in a queue group, optionally
with bounded redelivery). `LocalBroker` runs in one process with NATS subject semantics
(`wasmesh.capabilities.messaging.subjects`): every plain subscription matching a subject gets
the message, each queue group one of its members. `wasmesh.capabilities.messaging.nats`
is the NATS one. Handlers run on the broker's worker threads, never on the publisher's.
"""

from __future__ import annotations

import itertools
import logging
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Protocol

from wasmesh.capabilities.messaging.subjects import check_subject, matches
from wasmesh.errors import WasmeshError

log = logging.getLogger("wasmesh.messaging")

INBOX = "_INBOX"  # first token of reply subjects handed out for requests (as NATS does)


class MessagingError(WasmeshError):
    """A publish or request that did not go through (the message says why)."""


@dataclass(frozen=True)
class Message:
    """One message: `wasmcloud:messaging/types.broker-message`."""

    subject: str
    body: bytes
    reply_to: str | None = None


@dataclass(frozen=True)
class Redelivery:
    """A subscription whose failed messages come again, at most `max_deliver` times in all
    (`name` identifies its durable consumer), each after a pause that doubles from
    `first_delay` seconds up to `max_delay` (so a failing message is not retried at once,
    as JetStream consumers' `backoff` spaces redeliveries)."""

    name: str
    max_deliver: int = 5
    first_delay: float = 0.5
    max_delay: float = 30.0

    def delay(self, attempt: int) -> float:
        """Seconds to wait before delivering again a message whose delivery `attempt` (from
        1) failed: 0.5, 1, 2, 4... capped at `max_delay`."""
        return min(self.first_delay * 2.0 ** (attempt - 1), self.max_delay)


# A subscriber: True when it handled the message, False when it failed (redelivered under
# a `Redelivery`, else dropped; the subscriber logs why).
Handler = Callable[[Message, int], bool]  # (message, delivery attempt from 1) -> handled


class Subscription(Protocol):
    def close(self) -> None: ...


class Broker(Protocol):
    """Where messages go; every method may be called from any thread."""

    def publish(self, message: Message) -> None: ...

    def request(self, subject: str, body: bytes, timeout: float) -> Message: ...

    def reply(self, subject: str, body: bytes) -> None: ...

    def subscribe(
        self,
        subject: str,
        handler: Handler,
        queue: str | None = None,
        redelivery: Redelivery | None = None,
    ) -> Subscription: ...

    def close(self) -> None: ...


class _Sub:
    def __init__(
        self,
        broker: LocalBroker,
        subject: str,
        handler: Handler,
        queue: str | None,
        redelivery: Redelivery | None,
    ) -> None:
        self.broker = broker
        self.subject = subject
        self.handler = handler
        self.queue = queue
        self.redelivery = redelivery
        self.open = True

    def run(self, message: Message, attempt: int) -> None:
        if not self.open:
            return
        try:
            handled = self.handler(message, attempt)
        except Exception as exc:  # a subscriber's own bug must not kill the worker
            log.warning("%s: a subscriber failed: %s", message.subject, exc)
            handled = False
        again = self.redelivery is not None and attempt < self.redelivery.max_deliver
        if not handled and again and self.open and self.redelivery is not None:
            self.broker._later(self.redelivery.delay(attempt), self, message, attempt + 1)

    def close(self) -> None:
        self.open = False
        self.broker._forget(self)


class LocalBroker:
    """The in-process broker (`wasmesh up` without NATS). Redelivery happens in memory: a
    message is not kept across restarts."""

    def __init__(self, workers: int = 8) -> None:
        self._subs: list[_Sub] = []
        self._waiting: dict[str, Callable[[Message], None]] = {}  # inbox -> its requester
        self._turns: dict[tuple[str, str], itertools.count[int]] = {}
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="wasmesh-broker")
        self._closed = False
        self._timers: set[threading.Timer] = set()  # redeliveries waiting out their delay

    def publish(self, message: Message) -> None:
        check_subject(message.subject)
        with self._lock:
            if self._closed:
                raise MessagingError("the message broker is closed")
            found = [s for s in self._subs if matches(s.subject, message.subject)]
            chosen = [s for s in found if s.queue is None]
            groups: dict[tuple[str, str], list[_Sub]] = {}
            for s in found:
                if s.queue is not None:
                    groups.setdefault((s.queue, s.subject), []).append(s)
            for key, members in groups.items():
                turn = next(self._turns.setdefault(key, itertools.count()))
                chosen.append(members[turn % len(members)])
        for sub in chosen:
            self._submit(sub, message, 1)

    def request(self, subject: str, body: bytes, timeout: float) -> Message:
        check_subject(subject)
        inbox = f"{INBOX}.{uuid.uuid4().hex}"
        answered = threading.Event()
        answers: list[Message] = []

        def on_reply(message: Message) -> None:
            answers.append(message)
            answered.set()

        with self._lock:
            if not any(matches(s.subject, subject) for s in self._subs):
                raise MessagingError(f"no subscriber answers `{subject}`")
            self._waiting[inbox] = on_reply
        try:
            self.publish(Message(subject, body, inbox))
            if not answered.wait(timeout):
                raise MessagingError(f"no reply on `{subject}` within {timeout:g} s")
            return answers[0]
        finally:
            with self._lock:
                self._waiting.pop(inbox, None)

    def reply(self, subject: str, body: bytes) -> None:
        with self._lock:
            requester = self._waiting.pop(subject, None)
        if requester is not None:
            requester(Message(subject, body))
        elif not subject.startswith(f"{INBOX}."):
            self.publish(Message(subject, body))
        # else: the requester gave up; the reply goes nowhere, as in NATS

    def subscribe(
        self,
        subject: str,
        handler: Handler,
        queue: str | None = None,
        redelivery: Redelivery | None = None,
    ) -> Subscription:
        check_subject(subject, pattern=True)
        sub = _Sub(self, subject, handler, queue, redelivery)
        with self._lock:
            self._subs.append(sub)
        return sub

    def close(self) -> None:
        """Take no more messages (triggers wait for deliveries in flight when they drain)."""
        with self._lock:
            self._closed = True
            subs, self._subs = self._subs, []
        for sub in subs:
            sub.open = False
        with self._lock:
            timers, self._timers = self._timers, set()
        for timer in timers:
            timer.cancel()
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _later(self, delay: float, sub: _Sub, message: Message, attempt: int) -> None:
        """Deliver `message` to `sub` again after `delay` seconds (not if closed by then)."""

        def due() -> None:
            with self._lock:
                self._timers.discard(timer)
            if sub.open:
                self._submit(sub, message, attempt)

        timer = threading.Timer(delay, due)
        timer.daemon = True
        with self._lock:
            if self._closed:
                return
            self._timers.add(timer)
        timer.start()

    def _submit(self, sub: _Sub, message: Message, attempt: int) -> None:
        try:
            self._pool.submit(sub.run, message, attempt)
        except RuntimeError:  # shut down meanwhile: nothing takes messages any more
            log.warning("%s: the broker closed before a message was delivered", message.subject)

    def _forget(self, sub: _Sub) -> None:
        with self._lock:
            if sub in self._subs:
                self._subs.remove(sub)
