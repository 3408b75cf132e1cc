"""`wasmesh inspect --app` and `wasmesh graph`: each component's grants and triggers."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.cli import wasmesh
from tests.triggers.test_messaging import write_app


@pytest.fixture(scope="module")
def shop(guest: Callable[[str], Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_app(tmp_path_factory.mktemp("shop"), guest, 'strategy = "per-component"')


def test_inspect_app_lists_grants_and_triggers(shop: Path) -> None:
    r = wasmesh("inspect", "--app", shop.parent)
    assert r.code == 0, r.err
    lines = r.out.splitlines()
    at = lines.index("  worker (unit worker)")
    assert lines[at + 1 : at + 4] == [
        "    grant messaging: orders.>, jobs.*, audit.*",
        "    trigger messaging orders.py.* (queue-group workers)",
        "    trigger messaging jobs.* (durable, max-deliver 3)",
    ]
    assert "    grant messaging: audit.*" in lines and "    trigger http /..." in lines


def test_inspect_app_json(shop: Path) -> None:
    r = wasmesh("inspect", "--app", shop.parent, "--json")
    assert r.code == 0, r.err
    report = json.loads(r.out)
    worker = next(c for c in report["components"] if c["component"] == "worker")
    assert worker["grants"] == {"messaging": ["orders.>", "jobs.*", "audit.*"]}
    assert worker["triggers"] == [
        {"kind": "messaging", "address": "orders.py.*", "queue-group": "workers"},
        {"kind": "messaging", "address": "jobs.*", "durable": True, "max-deliver": 3},
    ]


def test_graph_shows_grants_and_triggers(shop: Path) -> None:
    tree = wasmesh("graph", shop.parent)
    assert tree.code == 0, tree.err
    assert "grant messaging: audit.*" in tree.out
    assert "trigger messaging orders.js.>" in tree.out
    dot = wasmesh("graph", shop.parent, "--format", "dot")
    assert dot.code == 0, dot.err
    assert '"jsworker" [label="jsworker\\ngrant messaging: audit.*\\ntrigger messaging ' in dot.out


def test_inspect_needs_a_component_or_an_app(shop: Path) -> None:
    r = wasmesh("inspect")
    assert r.code == 2 and "COMPONENT or --app DIR" in r.err
    r = wasmesh("inspect", shop, "--app", shop.parent)
    assert r.code == 2 and "COMPONENT or --app DIR" in r.err
