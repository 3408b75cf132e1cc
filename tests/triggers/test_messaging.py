"""`[[triggers.messaging]]` under `wasmesh up`: a Python HTTP publisher and Python and JS
handlers exchange messages, fused into one unit and split into several, on the in-process
broker and on a real nats-server (`wasmesh up --nats`: durable subscriptions in JetStream)."""

from __future__ import annotations

import contextlib
import http.client
import logging
import queue
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

from wasmesh.capabilities.messaging import Message
from wasmesh.compose.units import PlanError
from wasmesh.lattice.connection import NatsOptions
from wasmesh.lattice.messaging import connect_broker
from wasmesh.lattice.server import start_server
from wasmesh.runtime.app import App
from wasmesh.triggers.base import Trigger, TriggerOptions, start_triggers, stop_all

WAIT_S = 60.0  # bound on waiting for a message or a log line (a loaded machine is slow)
GRANT = '["orders.>", "jobs.*", "audit.*"]'

MANIFEST = """
[app]
name = "shop"

[components.front]
source = "{front}"
messaging = {grant}

[components.worker]
source = "{worker}"
messaging = {grant}

[components.jsworker]
source = "{jsworker}"
messaging = ["audit.*"]

[components.jsfront]
source = "{jsfront}"
messaging = {grant}

[[triggers.http]]
route = "/..."
component = "front"

[[triggers.http]]
route = "/js/..."
component = "jsfront"

[[triggers.messaging]]
subject = "orders.py.*"
component = "worker"
queue-group = "workers"

[[triggers.messaging]]
subject = "orders.js.>"
component = "jsworker"

[[triggers.messaging]]
subject = "jobs.*"
component = "worker"
durable = true
max-deliver = 3

[deploy]
{deploy}
"""

DEPLOYS = {
    "fused": 'units = { main = ["front", "worker"], js = ["jsworker"], jsfront = ["jsfront"] }',
    "split": 'strategy = "per-component"',
}
VARIANTS = ["fused", "split", "split-nats"]  # deploy, then the broker (in-process unless -nats)


def write_app(root: Path, guest: Callable[[str], Path], deploy: str, grant: str = GRANT) -> Path:
    text = MANIFEST.format(
        front=guest("msg-publisher-py"), worker=guest("msg-handler-py"),
        jsworker=guest("msg-handler-js"), jsfront=guest("msg-publisher-js"), grant=grant,
        deploy=deploy,
    )  # fmt: skip
    root.mkdir(parents=True, exist_ok=True)
    (root / "wasmesh.toml").write_text(text)
    return root / "wasmesh.toml"


class Running:
    """An app with its triggers started, and every `audit.*` message it publishes."""

    def __init__(self, app: App, triggers: list[Trigger]) -> None:
        self.app = app
        self.triggers = triggers
        self.audit: queue.Queue[Message] = queue.Queue()
        self.sub = app.broker.subscribe("audit.*", self._seen)
        http_trigger = next(t for t in triggers if t.kind == "http")
        self.port = int(http_trigger.url.rsplit(":", 1)[1])  # type: ignore[attr-defined]

    def _seen(self, message: Message, attempt: int) -> bool:
        self.audit.put(message)
        return True

    def get(self, path: str) -> tuple[int, str]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=WAIT_S)
        try:
            conn.request("GET", path)
            response = conn.getresponse()
            return response.status, response.read().decode()
        finally:
            conn.close()

    def next_audit(self) -> tuple[str, str]:
        message = self.audit.get(timeout=WAIT_S)
        return message.subject, message.body.decode()


@pytest.fixture(scope="module", params=VARIANTS)
def running(
    request: pytest.FixtureRequest,
    guest: Callable[[str], Path],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Running]:
    deploy, _, broker_kind = request.param.partition("-")
    root = tmp_path_factory.mktemp(f"shop-{request.param}")
    with contextlib.ExitStack() as stack:
        broker = None
        if broker_kind == "nats":
            server = start_server(0, root / "jetstream")
            stack.callback(server.stop)
            broker = connect_broker(NatsOptions(server.url), "test")
        app = App.load(write_app(root, guest, DEPLOYS[deploy]), broker=broker)
        stack.callback(app.close)
        triggers = start_triggers(app, TriggerOptions("127.0.0.1:0"))
        stack.callback(stop_all, triggers, 5.0)
        yield Running(app, triggers)


class LogWaiter(logging.Handler):
    """Sets an event when a record on `wasmesh.messaging` contains every given word."""

    def __init__(self, *words: str) -> None:
        super().__init__(logging.DEBUG)
        self.words = words
        self.seen = threading.Event()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        line = record.getMessage()
        if all(w in line for w in self.words):
            self.lines.append(line)
            self.seen.set()


@contextlib.contextmanager
def log_waiter(*words: str) -> Iterator[LogWaiter]:
    waiter = LogWaiter(*words)
    logger = logging.getLogger("wasmesh.messaging")
    logger.addHandler(waiter)
    try:
        yield waiter
    finally:
        logger.removeHandler(waiter)


def test_a_published_message_reaches_the_handler(running: Running) -> None:
    assert running.get("/publish?subject=orders.py.1&body=hello") == (202, "published")
    assert running.next_audit() == ("audit.py", "orders.py.1 hello")
    assert running.get("/publish?subject=orders.js.eu.7&body=tea") == (202, "published")
    assert running.next_audit() == ("audit.js", "orders.js.eu.7 tea")


def test_a_request_gets_the_handlers_reply(running: Running) -> None:
    assert running.get("/request?subject=orders.py.2&body=hi") == (200, "py:HI")
    assert running.next_audit() == ("audit.py", "orders.py.2 hi")
    assert running.get("/request?subject=orders.js.2&body=hi") == (200, "js:HI")
    assert running.next_audit() == ("audit.js", "orders.js.2 hi")


def test_the_js_publisher_publishes_and_requests(running: Running) -> None:
    assert running.get("/js/publish?subject=orders.py.11&body=from-js") == (202, "published")
    assert running.next_audit() == ("audit.py", "orders.py.11 from-js")
    assert running.get("/js/request?subject=orders.js.3&body=ok") == (200, "js:OK")
    assert running.next_audit() == ("audit.js", "orders.js.3 ok")
    status, text = running.get("/js/publish?subject=payroll.run&body=x")
    assert status == 403 and "`payroll.run`" in text and "messaging grant" in text


def test_a_subject_outside_the_grant_is_denied(running: Running) -> None:
    status, text = running.get("/publish?subject=payroll.run&body=x")
    assert status == 403
    assert "`payroll.run`" in text and "messaging grant" in text
    status, text = running.get("/request?subject=payroll.run&body=x")
    assert status == 502 and "`payroll.run`" in text
    # a pattern is not a subject one may publish to
    status, text = running.get(f"/publish?subject={quote('orders.*')}&body=x")
    assert status == 403 and "wildcard" in text


def test_a_reply_to_outside_the_grant_is_denied(running: Running) -> None:
    status, text = running.get("/publish?subject=orders.py.5&body=x&reply-to=payments.charge")
    assert status == 403
    assert "`payments.charge`" in text and "messaging grant" in text
    # a reply-to inside the grant is answered there
    assert running.get("/publish?subject=orders.py.6&body=ok&reply-to=audit.back") == (
        202, "published",
    )  # fmt: skip
    seen = {running.next_audit(), running.next_audit()}
    assert seen == {("audit.py", "orders.py.6 ok"), ("audit.back", "py:OK")}


def test_a_request_nobody_answers_is_an_error(running: Running) -> None:
    status, text = running.get("/request?subject=orders.none&body=x&timeout=200")
    assert status == 502 and "orders.none" in text


def test_a_trapping_handler_leaves_a_log_line(running: Running) -> None:
    with log_waiter("orders.py.9", "worker", "delivery 1") as waiter:
        assert running.get("/publish?subject=orders.py.9&body=trap") == (202, "published")
        assert running.next_audit() == ("audit.py", "orders.py.9 trap")
        assert waiter.seen.wait(WAIT_S)
    assert "trap" in waiter.lines[0].lower() or "unreachable" in waiter.lines[0].lower()


def test_an_err_from_a_js_handler_leaves_a_log_line(running: Running) -> None:
    with log_waiter("orders.js.9", "jsworker", "refused") as waiter:
        assert running.get("/publish?subject=orders.js.9&body=fail") == (202, "published")
        assert running.next_audit() == ("audit.js", "orders.js.9 fail")
        assert waiter.seen.wait(WAIT_S)


def test_a_durable_trigger_redelivers_a_bounded_number_of_times(running: Running) -> None:
    with log_waiter("jobs.4", "dropped after 3 deliveries") as waiter:
        assert running.get("/publish?subject=jobs.4&body=trap") == (202, "published")
        assert waiter.seen.wait(WAIT_S)
    seen = [running.next_audit() for _ in range(3)]
    assert seen == [("audit.py", "jobs.4 trap")] * 3
    assert running.audit.empty()


def test_different_grants_in_one_unit_are_refused(
    guest: Callable[[str], Path], tmp_path: Path
) -> None:
    manifest = write_app(tmp_path, guest, DEPLOYS["fused"], grant='["orders.>"]')
    text = manifest.read_text().replace(
        'source = "' + str(guest("msg-handler-py")) + '"\nmessaging = ["orders.>"]',
        'source = "' + str(guest("msg-handler-py")) + '"\nmessaging = ["audit.*"]',
    )
    manifest.write_text(text)
    with pytest.raises(PlanError, match="different `messaging` grants"):
        App.load(manifest)
