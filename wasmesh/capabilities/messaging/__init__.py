"""`wasmcloud:messaging/consumer@0.2.0`: publish and request, only to granted subjects.

The interface, as wasmCloud's messaging contract 0.2.0 defines it:

    record broker-message { subject: string, body: list<u8>, reply-to: option<string> }
    consumer.publish: func(msg: broker-message) -> result<_, string>
    consumer.request: func(subject: string, body: list<u8>, timeout-ms: u32)
                      -> result<broker-message, string>
    handler.handle-message: func(msg: broker-message) -> result<_, string>   (an export)

A component may publish and send requests to the subjects its grant matches
(`[components.NAME] messaging = ["orders.>", "audit.*"]`, NATS wildcards); anything else is
an `err` naming the subject and the grant, which the guest sees; so is a `reply-to` the
grant does not match (the replies would land on a subject the sender may not use). A handler
may also answer the message it is handling (publish to its `reply-to`) without a grant, as a
NATS service replies to an inbox. Messages go to the `Broker` the capability is given: the app's
(`wasmesh up`: in-process, or NATS with `--nats`), a lattice host's (NATS, under the lattice
prefix), or, for components run alone (`invoke`, `run`, the Python API), one in-process
broker per process. The handler side is the messaging trigger (`wasmesh.triggers.messaging`).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from typing import Any

from wasmtime import component as wc

from wasmesh.capabilities.base import Capability, HostCapability, Setup
from wasmesh.capabilities.messaging.broker import (
    Broker,
    LocalBroker,
    Message,
    MessagingError,
    Redelivery,
)
from wasmesh.capabilities.messaging.subjects import SubjectError, check_subject, granted
from wasmesh.engine.calls import define_func
from wasmesh.engine.loader import LoadedComponent
from wasmesh.engine.values import Err, Ok, Record
from wasmesh.engine.world import InterfaceItem, World
from wasmesh.errors import LinkError
from wasmesh.observe import metrics as _metrics
from wasmesh.policy import Policy, PolicyError

__all__ = [
    "CONSUMER", "HANDLER", "Broker", "LocalBroker", "Message", "Messaging", "MessagingError",
    "Redelivery", "answering", "from_setup", "messaging_for",
]  # fmt: skip

CONSUMER = "wasmcloud:messaging/consumer"
TYPES = "wasmcloud:messaging/types"  # types only: an empty instance serves it
HANDLER = "wasmcloud:messaging/handler"
VERSIONS = "@0.2."  # the contract versions served (wasmCloud 1.x components pin 0.2.0)
DEFAULT_TIMEOUT_S = 5.0  # a request with `timeout-ms` 0

_answering = threading.local()  # the reply subjects this thread's handler call may answer
_process_broker: LocalBroker | None = None
_process_lock = threading.Lock()


@contextlib.contextmanager
def answering(reply_to: str | None) -> Iterator[None]:
    """Within the block, a handler on this thread may publish to `reply_to` (the message it
    handles asked for a reply there) without a grant."""
    previous: frozenset[str] = getattr(_answering, "subjects", frozenset())
    _answering.subjects = previous | {reply_to} if reply_to else previous
    try:
        yield
    finally:
        _answering.subjects = previous


def process_broker() -> LocalBroker:
    """The in-process broker of components run outside an app."""
    global _process_broker
    with _process_lock:
        if _process_broker is None:
            _process_broker = LocalBroker()
        return _process_broker


def messaging_for(
    loaded: LoadedComponent, broker: Broker, program: str = "", app: str = ""
) -> tuple[Capability, ...]:
    """The messaging capability over `broker` for `loaded` (unit `program` of `app`), if it
    imports the consumer interface (for a runner's explicit capabilities); else nothing."""
    if not any(i.name.startswith((CONSUMER + VERSIONS, TYPES + VERSIONS))
               for i in loaded.world.imports):  # fmt: skip
        return ()
    return (Messaging(loaded.world, broker, program or loaded.label, app),)


def from_setup(setup: Setup) -> Messaging:
    """The registry's factory (`wasmesh.plugins`): the process's in-process broker."""
    return Messaging(setup.loaded.world, process_broker(), setup.program, setup.app)


def check_grant(patterns: tuple[str, ...], where: str = "a component's policy") -> None:
    """`PolicyError` naming the first pattern that breaks the NATS subject rules."""
    for pattern in patterns:
        try:
            check_subject(pattern, pattern=True)
        except SubjectError as exc:
            raise PolicyError(f"{where}: messaging grant {exc}.") from None


class Messaging(HostCapability):
    """Serves `wasmcloud:messaging/consumer@0.2.x` for one component over one broker."""

    name = "wasmcloud-messaging"

    def __init__(self, world: World, broker: Broker, program: str = "component",
                 app: str = "") -> None:  # fmt: skip
        self.world = world
        self.broker = broker
        self.program = program
        self.app = app
        self.grants: tuple[str, ...] = ()

    def provides(self, import_name: str) -> bool:
        return import_name.startswith((CONSUMER + VERSIONS, TYPES + VERSIONS))

    def configure(self, policy: Policy) -> None:
        check_grant(policy.grants.messaging, f"component {self.program}")
        self.grants = policy.grants.messaging

    def link(self, linker: wc.Linker, import_names: list[str]) -> None:
        impls: dict[str, Callable[..., Any]] = {"publish": self.publish, "request": self.request}
        if _metrics.ACTIVE is not None:  # count each message sent
            impls = _metrics.ACTIVE.counted(impls, self.app, self.program, "messaging")
        with linker.root() as root:
            for name in import_names:
                item = self.world.import_(name)
                if name.startswith(TYPES):
                    with root.add_instance(name):
                        continue
                if not isinstance(item, InterfaceItem):
                    raise LinkError(f"the component's {name} is not an interface.")
                with root.add_instance(name) as instance:
                    for func in item.funcs:
                        impl = impls.get(func.name)
                        if impl is None:
                            raise LinkError(
                                f"the component's {name} has `{func.name}`, which "
                                f"{CONSUMER}{VERSIONS}x does not define."
                            )
                        label = f"{name}#{func.name}"
                        define_func(instance, func.name, func.sig, impl, label=label)

    def _denied(self, subject: str, what: str = "send to") -> str | None:
        """Why the guest may not `what` (send to, take replies on) `subject`, or None."""
        try:
            check_subject(subject)
        except SubjectError as exc:
            return str(exc)
        if granted(self.grants, subject):
            return None
        has = ", ".join(f'"{p}"' for p in self.grants) or "none"
        return (
            f"component {self.program} may not {what} `{subject}`: it is not in its messaging "
            f"grant ({has}); add a matching pattern to `messaging` in its [components] table"
        )

    def publish(self, msg: Any) -> Any:
        """`consumer.publish`: fire and forget (a reply to the handled message needs no grant)."""
        subject, body, reply_to = str(msg["subject"]), bytes(msg["body"]), msg["reply-to"]
        try:
            if subject in getattr(_answering, "subjects", ()):
                self.broker.reply(subject, body)
                return Ok(None)
            denied = self._denied(subject)
            if denied is not None:
                return Err(denied)
            if reply_to is not None:
                denied = self._denied(str(reply_to), "take replies on")
                if denied is not None:
                    return Err(denied)
            self.broker.publish(Message(subject, body, reply_to))
        except (MessagingError, SubjectError) as exc:
            return Err(str(exc))
        return Ok(None)

    def request(self, subject: str, body: bytes, timeout_ms: int) -> Any:
        """`consumer.request`: one reply within `timeout-ms` milliseconds."""
        denied = self._denied(subject)
        if denied is not None:
            return Err(denied)
        timeout = timeout_ms / 1000 if timeout_ms else DEFAULT_TIMEOUT_S
        try:
            reply = self.broker.request(subject, bytes(body), timeout)
        except MessagingError as exc:
            return Err(str(exc))
        return Ok(Record({"subject": reply.subject, "body": reply.body, "reply-to": None}))
