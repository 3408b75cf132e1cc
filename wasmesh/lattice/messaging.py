"""Messaging on lattice hosts: each unit's `[[triggers.messaging]]` subscriptions, and the
broker `wasmesh up --nats` uses.

A host subscribes the messaging triggers of every unit it runs, on the lattice's NATS under
`wasmesh.<lattice>.msg.` (see `wasmesh.capabilities.messaging.nats`), in the table's
`queue-group`, else in the queue group `<app>-<unit>`: each message is handled once per app
however many hosts run the unit. A durable table is a JetStream pull consumer the unit's hosts
share. Each message is handled by a fresh instance of the version of the unit the host serves
at that moment (a rolling update switches handlers with the unit's calls).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from wasmesh.capabilities.messaging import HANDLER, VERSIONS, Message
from wasmesh.capabilities.messaging.broker import Subscription
from wasmesh.capabilities.messaging.nats import NatsBroker, ensure_stream
from wasmesh.engine.values import Record
from wasmesh.errors import GuestError
from wasmesh.lattice.connection import NatsOptions, connect_once, keep_reconnecting
from wasmesh.lattice.schema import Subjects, UnitSpec
from wasmesh.lattice.stub import LoopThread
from wasmesh.triggers.messaging import (
    HANDLER_TIMEOUT_S,
    MAX_DELIVER,
    InFlight,
    Subscribed,
    given_up,
    handle,
)

if TYPE_CHECKING:
    from wasmesh.lattice.host import Host

log = logging.getLogger("wasmesh.messaging")

Key = tuple[str, str]  # (app, unit)
CONNECT_TIMEOUT_S = 5.0


def unit_triggers(spec: UnitSpec) -> list[Subscribed]:
    """The messaging subscriptions a unit's spec carries."""
    return [
        Subscribed(
            str(t["subject"]),
            str(t["component"]),
            spec.name,
            t.get("queue") or None,
            bool(t.get("durable", False)),
            int(t.get("max_deliver", MAX_DELIVER)),
        )
        for t in spec.messaging
    ]


def spec_messaging(route: Subscribed) -> dict[str, Any]:
    """One subscription as `UnitSpec.messaging` holds it."""
    return {"subject": route.subject, "component": route.component, "queue": route.queue,
            "durable": route.durable, "max_deliver": route.max_deliver}  # fmt: skip


class HostMessaging:
    """The messaging trigger's side of a lattice host (`wasmesh.plugins.TRIGGERS`)."""

    def __init__(self, host: Host) -> None:
        self.host = host
        self.subscribed: dict[Key, tuple[list[dict[str, Any]], list[Subscription]]] = {}
        self.inflight = InFlight()

    async def start(self) -> None:
        """Nothing until units run here."""

    async def units_changed(self) -> None:
        """Subscribe the triggers of units now running here; drop those of units gone."""
        served = {k: v.spec for k, v in self.host.served.items() if v.spec.messaging}
        loop = asyncio.get_running_loop()
        for key in [k for k in self.subscribed if k not in served]:
            await loop.run_in_executor(None, self._close, key)
        for key, spec in served.items():
            current = self.subscribed.get(key)
            if current is not None and current[0] == spec.messaging:
                continue
            if current is not None:
                await loop.run_in_executor(None, self._close, key)
            try:
                subs = await self._subscribe(key, spec)
            except Exception as exc:
                log.warning("messaging for %s/%s could not start: %s", *key, exc)
                continue
            self.subscribed[key] = (list(spec.messaging), subs)

    async def _subscribe(self, key: Key, spec: UnitSpec) -> list[Subscription]:
        app, unit = key
        handler = next((i for i in spec.exports if i.startswith(HANDLER + VERSIONS)), None)
        if handler is None:
            raise ValueError(f"unit {unit} does not export {HANDLER}@0.2.0")
        broker = self.host.broker
        subs: list[Subscription] = []
        for route in unit_triggers(spec):
            deliver = self.inflight.wrap(self._deliverer(key, handler, route))
            queue = route.queue or f"{app}-{unit}"
            redelivery = route.redelivery(app)
            # the broker's calls block: they run off the host's loop, which serves them
            sub = await asyncio.get_running_loop().run_in_executor(
                None, broker.subscribe, route.subject, deliver, queue, redelivery
            )
            subs.append(sub)
        return subs

    def _deliverer(self, key: Key, interface: str, route: Subscribed) -> Any:
        host = self.host

        def call(record: Record) -> Any:
            version = host.served.get(key)
            if version is None:
                raise GuestError(f"unit {key[1]} no longer runs on this host")
            return version.runner.call(interface, "handle-message", [record], HANDLER_TIMEOUT_S)

        def deliver(message: Message, attempt: int) -> bool:
            done = handle(call, message, attempt, route.component, key[0])
            if not done:
                given_up(route, message.subject, attempt)
            return done

        return deliver

    def _close(self, key: Key) -> None:
        _, subs = self.subscribed.pop(key)
        for sub in subs:
            with contextlib.suppress(Exception):
                sub.close()

    async def stop(self) -> None:
        """Leave every subscription; deliveries in flight finish (bounded)."""
        loop = asyncio.get_running_loop()
        for key in list(self.subscribed):
            await loop.run_in_executor(None, self._close, key)
        await loop.run_in_executor(None, self.inflight.wait, 30.0)


def lattice_trigger(host: Host, settings: Mapping[str, str | None]) -> HostMessaging:
    """The messaging trigger's side of a lattice host."""
    return HostMessaging(host)


class BrokerLink:
    """The `wasmesh up --nats` connection's outages and reconnects, each logged once (nats-py's
    `disconnected_cb` and `reconnected_cb`); a deliberate close is not an outage."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.up = False  # connected; set once the first connection succeeded
        self.closing = False

    async def disconnected(self) -> None:
        if self.up and not self.closing:
            self.up = False
            log.warning("messaging lost its NATS connection to %s; reconnecting", self.url)

    async def reconnected(self) -> None:
        if not self.up:
            self.up = True
            log.warning("messaging reconnected to NATS at %s", self.url)


def connect_broker(options: NatsOptions, lattice: str = "default") -> NatsBroker:
    """A NATS broker on its own connection and loop thread (`wasmesh up --nats`), for the
    subjects of `lattice`; closing it closes both. After the first connection the client
    reconnects forever, as a lattice host's does (nats-py restores the subscriptions), and
    logs the outage and the reconnect once each on `wasmesh.messaging`."""
    thread = LoopThread("wasmesh-messaging")
    link = BrokerLink(options.url)
    try:
        nc = thread.run(
            connect_once(options, CONNECT_TIMEOUT_S, disconnected_cb=link.disconnected,
                         reconnected_cb=link.reconnected),
            CONNECT_TIMEOUT_S * 3,
        )  # fmt: skip
    except BaseException:
        thread.close()
        raise
    keep_reconnecting(nc)
    link.up = True

    def close() -> None:
        link.closing = True
        # subscriptions are gone by now: flush what was published, then close
        with contextlib.suppress(Exception):
            thread.run(nc.flush(timeout=5), 10.0)
        with contextlib.suppress(Exception):
            thread.run(nc.close(), 10.0)
        thread.close()

    return NatsBroker(nc, thread.loop, Subjects(lattice).messages, on_close=close)


async def ensure_durable(nc: Any, subjects: Subjects, specs: list[UnitSpec]) -> None:
    """Make the lattice's durable stream capture the durable subjects of `specs` (done by
    whoever deploys: hosts may not create or change streams)."""
    patterns = [r.subject for s in specs for r in unit_triggers(s) if r.durable]
    if patterns:
        await ensure_stream(nc, subjects.messages, patterns)
