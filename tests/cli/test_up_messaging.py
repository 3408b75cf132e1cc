"""`wasmesh up --nats`: the app's messages on a real nats-server, under the lattice prefix."""

from __future__ import annotations

import queue
from collections.abc import Callable
from pathlib import Path

from tests.support.cli import BIN, wasmesh
from tests.support.processes import Served
from tests.triggers.test_messaging import WAIT_S, write_app
from wasmesh.capabilities.messaging import Message
from wasmesh.lattice.connection import NatsOptions
from wasmesh.lattice.messaging import connect_broker
from wasmesh.lattice.server import start_server


def test_up_with_nats_carries_messages_on_the_server(
    guest: Callable[[str], Path], tmp_path: Path
) -> None:
    manifest = write_app(tmp_path / "app", guest, 'strategy = "per-component"')
    with start_server(0, tmp_path / "jetstream") as server:
        observer = connect_broker(NatsOptions(server.url), "blue")
        seen: queue.Queue[Message] = queue.Queue()

        def audit(message: Message, attempt: int) -> bool:
            seen.put(message)
            return True

        try:
            observer.subscribe("audit.*", audit)
            served = Served([str(BIN / "wasmesh"), "up", str(manifest.parent), "--nats",
                             server.url, "--lattice", "blue", "--listen", "127.0.0.1:0"],
                            log=tmp_path / "up.log")  # fmt: skip
            try:
                assert served.proc.stdout is not None
                lines = [served.proc.stdout.readline() for _ in range(4)]  # after HTTP's
                assert "  orders.py.*  -> worker (unit worker) (queue workers)\n" in lines
                assert "(subjects under `wasmesh.blue.msg.`)" in lines[-1]
                status, _, body = served.request("GET", "/request?subject=orders.py.5&body=x")
                assert (status, body) == (200, b"py:X")
                message = seen.get(timeout=WAIT_S)
                assert (message.subject, message.body) == ("audit.py", b"orders.py.5 x")
            finally:
                assert served.stop() == 0
        finally:
            observer.close()


def test_up_with_an_unreachable_nats_is_one_sentence(
    guest: Callable[[str], Path], tmp_path: Path
) -> None:
    manifest = write_app(tmp_path / "app", guest, 'strategy = "per-component"')
    r = wasmesh("up", manifest.parent, "--nats", "nats://127.0.0.1:1")
    assert r.code == 2, r.err
    assert "cannot connect to NATS at nats://127.0.0.1:1" in r.err and "Traceback" not in r.err
    r = wasmesh("up", manifest.parent, "--nats", "nats://127.0.0.1:1", "--lattice", "a.b")
    assert r.code == 2 and "lattice name 'a.b' is not valid" in r.err


def test_up_help_names_every_trigger_kind() -> None:
    r = wasmesh("up", "--help")
    assert r.code == 0, r.err
    text = " ".join(r.out.split())
    for kind in ("http", "messaging", "cron"):
        assert f"[[triggers.{kind}]]" in text, text
