"""Messaging across two lattice host processes on a secured nats-server: the HTTP publisher
runs on one host, the Python and JS handlers on the other; messages, requests and replies,
denials, traps and JetStream redelivery cross between them on `wasmesh.<lattice>.msg.>`."""

from __future__ import annotations

import contextlib
import http.client
import logging
import queue
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.triggers.test_messaging import WAIT_S, write_app
from wasmesh.capabilities.messaging import Message, MessagingError
from wasmesh.lattice.app import Placement, topology_from_manifest
from wasmesh.lattice.connection import NatsOptions
from wasmesh.lattice.credentials import Secrets
from wasmesh.lattice.local import LocalHosts
from wasmesh.lattice.messaging import connect_broker
from wasmesh.lattice.server import free_port, start_server

from .conftest import admin, run


@dataclass
class Lattice:
    hosts: LocalHosts
    port: int  # h0's HTTP port (the publisher runs there)
    audit: queue.Queue[Message]

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

    def wait_log(self, host: str, text: str) -> str:
        """Host `host`'s log once it holds `text` (a log file cannot be awaited: polled)."""
        deadline = time.monotonic() + WAIT_S
        while text not in (log := self.hosts.log(host)):
            assert time.monotonic() < deadline, f"{host} never logged {text!r}:\n{log}"
            time.sleep(0.1)
        return log


@pytest.fixture(scope="module")
def lattice(
    guest: Callable[[str], Path],
    secrets: Secrets,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Lattice]:
    root = tmp_path_factory.mktemp("msg-lattice")
    manifest = write_app(root / "app", guest, 'strategy = "per-component"')
    with contextlib.ExitStack() as stack:
        server = start_server(0, root / "jetstream", secrets=secrets)
        stack.callback(server.stop)
        trust = ("--trust", str(secrets.lattice().trust))
        port = free_port()
        front = LocalHosts(server.url, root / "hosts", options=server.options("host"),
                           args=(*trust, "--http", f"127.0.0.1:{port}"))  # fmt: skip
        back = LocalHosts(server.url, root / "hosts", options=server.options("host"), args=trust)
        stack.callback(front.stop_all)
        stack.callback(back.stop_all)
        front.start("h0", "zone=a")
        back.start("h1", "zone=b")
        # what the handlers record, seen with a host's credential (it may read message subjects)
        observer = connect_broker(server.options("host"), "default")
        stack.callback(observer.close)
        audit: queue.Queue[Message] = queue.Queue()

        def seen(message: Message, attempt: int) -> bool:
            audit.put(message)
            return True

        observer.subscribe("audit.*", seen)
        zones = {"front": "a", "jsfront": "a", "worker": "b", "jsworker": "b"}
        placements = {unit: Placement(labels={"zone": z}) for unit, z in zones.items()}
        app, topology = topology_from_manifest(manifest, placements)

        async def deploy() -> None:
            async with admin(server) as client:
                await client.deploy(app, topology)
                await client.wait_ready(app, 120)

        run(deploy(), 180)
        out = Lattice(back, port, audit)
        out.hosts.procs.update(front.procs)  # logs of both live in one directory
        _wait_route(out)
        yield out


def _wait_route(lattice: Lattice) -> None:
    """h0 serves the publisher's route once its route table has caught up (polled)."""
    deadline = time.monotonic() + WAIT_S
    while True:
        with contextlib.suppress(OSError):
            if lattice.get("/x") == (404, "no such route"):  # the publisher's own answer
                return
        assert time.monotonic() < deadline, "h0 never served the publisher's route"
        time.sleep(0.1)


def test_a_message_crosses_hosts_to_the_handler(lattice: Lattice) -> None:
    assert lattice.get("/publish?subject=orders.py.1&body=hello") == (202, "published")
    assert lattice.next_audit() == ("audit.py", "orders.py.1 hello")
    assert lattice.get("/publish?subject=orders.js.eu&body=tea") == (202, "published")
    assert lattice.next_audit() == ("audit.js", "orders.js.eu tea")


def test_a_reply_crosses_back_to_the_requester(lattice: Lattice) -> None:
    assert lattice.get("/request?subject=orders.py.2&body=hi") == (200, "py:HI")
    assert lattice.next_audit() == ("audit.py", "orders.py.2 hi")
    assert lattice.get("/request?subject=orders.js.2&body=yo") == (200, "js:YO")
    assert lattice.next_audit() == ("audit.js", "orders.js.2 yo")


def test_the_js_publisher_requests_across_hosts(lattice: Lattice) -> None:
    assert lattice.get("/js/request?subject=orders.py.3&body=js") == (200, "py:JS")
    assert lattice.next_audit() == ("audit.py", "orders.py.3 js")


def test_a_subject_outside_the_grant_is_denied(lattice: Lattice) -> None:
    status, text = lattice.get("/publish?subject=payroll.run&body=x")
    assert status == 403 and "`payroll.run`" in text and "messaging grant" in text


def test_a_trapping_handler_is_logged_and_a_durable_one_redelivered(lattice: Lattice) -> None:
    assert lattice.get("/publish?subject=orders.py.9&body=trap") == (202, "published")
    assert lattice.next_audit() == ("audit.py", "orders.py.9 trap")
    log = lattice.wait_log("h1", "orders.py.9: component worker failed on a message")
    assert "not durable" in log
    assert lattice.get("/publish?subject=jobs.4&body=trap") == (202, "published")
    assert [lattice.next_audit() for _ in range(3)] == [("audit.py", "jobs.4 trap")] * 3
    lattice.wait_log("h1", "jobs.4: the message to worker is dropped after 3 deliveries")
    assert lattice.audit.empty()


def test_the_handler_hosts_use_only_their_lattice_subjects(lattice: Lattice) -> None:
    log = lattice.hosts.log("h1") + lattice.hosts.log("h0")
    assert "permissions violation" not in log.lower(), log


def test_the_up_broker_reconnects_after_the_server_restarts(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    server = start_server(0, tmp_path / "jetstream")
    with contextlib.ExitStack() as stack:
        stack.callback(server.stop)
        broker = connect_broker(NatsOptions(server.url), "restart")
        stack.callback(broker.close)

        def answer(message: Message, attempt: int) -> bool:
            assert message.reply_to is not None
            broker.reply(message.reply_to, message.body.upper())
            return True

        broker.subscribe("echo.*", answer)
        assert broker.request("echo.1", b"before", WAIT_S).body == b"BEFORE"
        with caplog.at_level(logging.WARNING, logger="wasmesh.messaging"):
            server.stop()
            server.start()  # same port, same JetStream store
            deadline = time.monotonic() + WAIT_S
            while True:  # the subscription comes back with the connection
                try:
                    reply = broker.request("echo.2", b"after", 1.0)
                    break
                except MessagingError:
                    assert time.monotonic() < deadline, "no reply after the restart"
        assert reply.body == b"AFTER"
        lines = [r.getMessage() for r in caplog.records if r.name == "wasmesh.messaging"]
        assert sum("lost its NATS connection" in line for line in lines) == 1, lines
        assert sum("reconnected to NATS" in line for line in lines) == 1, lines
