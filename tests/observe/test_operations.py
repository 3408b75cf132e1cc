"""Key-value and messaging operations guests make, counted exactly: a componentize-py
key-value guest called from Python, and an app whose HTTP front publishes to a handler unit
on the in-process broker."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path

import pytest

import wasmesh
from tests.observe.conftest import scrape, total, value
from tests.triggers.test_messaging import DEPLOYS, Running, write_app
from wasmesh.capabilities.keyvalue.stores import close_all
from wasmesh.engine.values import Ok
from wasmesh.observe.admin import AdminServer
from wasmesh.observe.metrics import Metrics
from wasmesh.policy import Grants, StoreGrant
from wasmesh.runtime.app import App
from wasmesh.triggers.base import TriggerOptions, start_triggers, stop_all

EXEC = "test:kv-counter/ops#exec"


def test_key_value_operations(
    guest: Callable[[str], Path], tmp_path: Path, metrics: Metrics, admin: AdminServer
) -> None:
    grants = Grants(key_value_stores=(StoreGrant("default", "sqlite", str(tmp_path / "kv.db")),))
    counter = wasmesh.load(guest("kv-counter-py"), grants=grants)
    try:
        for i in range(3):
            assert counter.call(EXEC, "default", "set", f"k{i}", str(i)) == Ok("ok")
        assert counter.call(EXEC, "default", "get", "k1", "") == Ok("1")
        assert counter.call(EXEC, "default", "incr", "n", "5") == Ok("5")
        assert counter.call(EXEC, "default", "getmany", "k0,k2", "") == Ok("k0=0;k2=2")
    finally:
        counter.close()
        close_all()
    samples = scrape(admin.url)
    ops = {op: total(samples, "wasmesh_keyvalue_operations_total", operation=op)
           for op in ("open", "set", "get", "increment", "get-many")}  # fmt: skip
    assert ops == {"open": 6, "set": 3, "get": 1, "increment": 1, "get-many": 1}
    assert total(samples, "wasmesh_keyvalue_operations_total") == 12


@pytest.mark.slow
def test_messages_published_requested_and_delivered(
    guest: Callable[[str], Path], tmp_path: Path, metrics: Metrics, admin: AdminServer
) -> None:
    with contextlib.ExitStack() as stack:
        app = App.load(write_app(tmp_path, guest, DEPLOYS["split"]))
        stack.callback(app.close)
        triggers = start_triggers(app, TriggerOptions("127.0.0.1:0"))
        stack.callback(stop_all, triggers, 5.0)
        running = Running(app, triggers)
        published, requests = 3, 2
        for i in range(published):
            assert running.get(f"/publish?subject=orders.py.{i}&body=b{i}") == (202, "published")
        for i in range(requests):
            assert running.get(f"/request?subject=orders.py.r{i}&body=q") == (200, "py:Q")
        # each delivery is recorded on audit.py before anything else: wait for all of them
        seen = sorted(running.next_audit() for _ in range(published + requests))
        assert [s for s, _ in seen] == ["audit.py"] * (published + requests)
        samples = scrape(admin.url)

    def ops(component: str, operation: str) -> float:
        return value(samples, "wasmesh_messaging_operations_total", app="shop", component=component,
                     operation=operation)  # fmt: skip

    assert (ops("front", "publish"), ops("front", "request")) == (published, requests)
    assert ops("worker", "deliver") == published + requests
    # the handler records each message on audit.py and answers each request
    assert ops("worker", "publish") == published + 2 * requests
