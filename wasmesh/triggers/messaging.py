"""The messaging trigger: `[[triggers.messaging]]` subjects delivered to components' handlers.

Each table subscribes its `subject` (a NATS pattern) on the app's broker (`App.broker`: the
in-process one, or NATS with `wasmesh up --nats`), in the queue group `queue-group` when set.
Each message is handled by a fresh instance of the unit holding the component, under that
unit's policy (its deadline, else `HANDLER_TIMEOUT_S` or `up --request-timeout`, whichever
is shorter), through `wasmcloud:messaging/handler@0.2.x#handle-message`; the handler may
answer the message's `reply-to` (see `wasmesh.capabilities.messaging.answering`). A handler
that traps or returns `err` does not lose the message silently: a warning names the subject,
the component and why; with `durable = true` the message is delivered again, at most
`max-deliver` times in all (default `MAX_DELIVER`; a JetStream consumer on NATS, in memory
without it). The lattice side is `wasmesh.lattice.messaging`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from wasmesh.capabilities.messaging import HANDLER, VERSIONS, Message, Redelivery, answering
from wasmesh.capabilities.messaging.broker import Subscription
from wasmesh.engine.values import Err, Record
from wasmesh.engine.world import World
from wasmesh.errors import ExportNotFound, GuestError, ManifestError, WasmeshError
from wasmesh.observe import metrics as _metrics
from wasmesh.runtime.exports import ExportTarget, resolve_export
from wasmesh.triggers.base import TriggerOptions

if TYPE_CHECKING:
    from wasmesh.compose.manifest import TriggerDecl
    from wasmesh.runtime.app import App
    from wasmesh.runtime.instance import Runner

log = logging.getLogger("wasmesh.messaging")

MAX_DELIVER = 5  # deliveries of one message to a durable subscription, the first included
HANDLER_TIMEOUT_S = 30.0  # a handler's deadline when neither its policy nor `up` sets one
HANDLE = "handle-message"


@dataclass(frozen=True)
class Subscribed:
    """One `[[triggers.messaging]]` table as the trigger serves it."""

    subject: str
    component: str
    unit: str
    queue: str | None = None
    durable: bool = False
    max_deliver: int = MAX_DELIVER

    def redelivery(self, app: str) -> Redelivery | None:
        """The redelivery of a durable subscription, its consumer named after app and unit."""
        if not self.durable:
            return None
        return Redelivery(f"{app}-{self.unit}-{_token(self.subject)}", self.max_deliver)

    def describe(self) -> str:
        extra = [f"queue {self.queue}"] if self.queue else []
        extra += [f"durable, up to {self.max_deliver} deliveries"] if self.durable else []
        more = f" ({', '.join(extra)})" if extra else ""
        return f"  {self.subject}  -> {self.component} (unit {self.unit}){more}"


def _token(subject: str) -> str:
    return subject.replace(".", "_").replace("*", "star").replace(">", "all")


def handler_target(world: World, component: str) -> ExportTarget:
    """The handler export of a unit, or a `ManifestError` saying what to build."""
    try:
        target = resolve_export(world, f"{HANDLER}#{HANDLE}", f"component {component}")
    except ExportNotFound:
        target = None
    if target is None or target.interface is None or VERSIONS not in target.interface:
        raise ManifestError(
            f"a [[triggers.messaging]] targets `{component}`, which does not export "
            f"{HANDLER}@0.2.0 (`{HANDLE}`); build it for a world that exports the handler."
        )
    return target


def broker_message(message: Message) -> Record:
    """`message` as the handler's `broker-message` argument."""
    return Record({"subject": message.subject, "body": message.body,
                   "reply-to": message.reply_to})  # fmt: skip


def handle(call: Callable[[Record], Any], message: Message, attempt: int, component: str,
           app: str = "") -> bool:  # fmt: skip
    """Deliver `message` through `call` (a handler call in a fresh instance); True when the
    handler took it. A trap or an `err` is logged with the subject and the attempt."""
    if _metrics.ACTIVE is not None:
        _metrics.ACTIVE.messaging(app, component, "deliver")
    try:
        with answering(message.reply_to):
            result = call(broker_message(message))
    except (GuestError, WasmeshError) as exc:
        log.warning("%s: component %s failed on a message (delivery %d): %s",
                    message.subject, component, attempt, exc)  # fmt: skip
        return False
    if isinstance(result, Err):
        log.warning("%s: component %s refused a message (delivery %d): %s",
                    message.subject, component, attempt, result.value)  # fmt: skip
        return False
    return True


def given_up(route: Subscribed, subject: str, attempt: int) -> None:
    """Say when a failed message will not come again."""
    if not route.durable:
        log.warning("%s: the message to %s is dropped (the trigger is not durable)",
                    subject, route.component)  # fmt: skip
    elif attempt >= route.max_deliver:
        log.error("%s: the message to %s is dropped after %d deliveries",
                  subject, route.component, attempt)  # fmt: skip


class InFlight:
    """Counts deliveries running, so draining can wait for them."""

    def __init__(self) -> None:
        self.count = 0
        self.idle = threading.Condition()

    def wrap(self, call: Callable[[Message, int], bool]) -> Callable[[Message, int], bool]:
        def run(message: Message, attempt: int) -> bool:
            with self.idle:
                self.count += 1
            try:
                return call(message, attempt)
            finally:
                with self.idle:
                    self.count -= 1
                    self.idle.notify_all()

        return run

    def wait(self, grace: float) -> None:
        deadline = time.monotonic() + grace
        with self.idle:
            while self.count and (left := deadline - time.monotonic()) > 0:
                self.idle.wait(left)


def subscribed(app_units: Any, decl: TriggerDecl) -> Subscribed:
    """A `TriggerDecl` of kind messaging with the unit (`app_units(component)`) serving it."""
    return Subscribed(
        decl.address,
        decl.component,
        app_units(decl.component),
        decl.option("queue-group"),
        bool(decl.option("durable", False)),
        int(decl.option("max-deliver", MAX_DELIVER)),
    )


class MessagingTrigger:
    """Serves the `[[triggers.messaging]]` tables of one app on its broker."""

    kind = "messaging"

    def __init__(self, app: App, decls: tuple[TriggerDecl, ...], options: TriggerOptions):
        self.app = app
        self.timeout = options.request_timeout or HANDLER_TIMEOUT_S
        self.routes = [subscribed(lambda c: app.unit_of(c).name, d) for d in decls]
        self.targets = {
            r.unit: handler_target(app.units[r.unit].world, r.component) for r in self.routes
        }
        self.subscriptions: list[Subscription] = []
        self.inflight = InFlight()

    def start(self) -> None:
        name = self.app.manifest.name
        for route in self.routes:
            deliver = self.inflight.wrap(self._deliverer(route))
            sub = self.app.broker.subscribe(route.subject, deliver, route.queue,
                                            route.redelivery(name))  # fmt: skip
            self.subscriptions.append(sub)

    def _deliverer(self, route: Subscribed) -> Callable[[Message, int], bool]:
        unit = self.app.units[route.unit]
        target = self.targets[route.unit]

        def call(record: Record) -> Any:
            runner: Runner = unit.runner
            own = runner.policy.limits.timeout  # the unit's own deadline, when shorter
            timeout = own if own is not None and own < self.timeout else self.timeout
            instance = runner.instantiate()
            try:
                return instance.call(target, [record], timeout)
            finally:
                instance.close()

        def deliver(message: Message, attempt: int) -> bool:
            done = handle(call, message, attempt, route.component, self.app.manifest.name)
            if not done:
                given_up(route, message.subject, attempt)
            return done

        return deliver

    def describe(self) -> list[str]:
        where = getattr(self.app.broker, "describe", lambda: "the in-process broker")()
        return [*(r.describe() for r in self.routes), f"Messaging on {where}"]

    def drain(self, grace: float) -> None:
        """Take no new messages; deliveries in flight finish within `grace` seconds."""
        for sub in self.subscriptions:
            sub.close()
        self.subscriptions.clear()
        self.inflight.wait(grace)

    def stop(self) -> None:
        self.drain(0.0)
