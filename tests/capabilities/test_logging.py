"""`wasi:logging/logging@0.1.0-draft`: one module plus one registration, real guest records."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path

import pytest

import wasmesh
from wasmesh.capabilities import logging as wasi_logging
from wasmesh.plugins import CAPABILITIES

Guest = Callable[[str], Path]
LEVELS = ["trace", "debug", "info", "warn", "error", "critical"]


def test_it_is_registered_ahead_of_wasi() -> None:
    names = [r.name for r in CAPABILITIES]
    assert names.index("wasi-logging") < names.index("wasi")
    reg = CAPABILITIES[names.index("wasi-logging")]
    assert reg.may_provide("wasi:logging/logging@0.1.0-draft")
    assert not reg.may_provide("wasi:cli/environment@0.2.6")


def test_records_reach_the_host_log_with_name_and_level(
    guest: Guest, caplog: pytest.LogCaptureFixture
) -> None:
    path = guest("logger-wat")
    comp = wasmesh.load(path)  # nothing granted: logging needs no grant
    caplog.set_level(1, logger=f"wasmesh.guest.{path.name}")
    for index in range(len(LEVELS)):
        comp.call("say", index, 1)
    records = [r for r in caplog.records if r.name == f"wasmesh.guest.{path.name}"]
    assert [r.getMessage() for r in records] == ["[test] hello from wasm"] * len(LEVELS)
    assert [r.levelno for r in records] == [wasi_logging.LEVELS[name] for name in LEVELS]


def test_a_flood_is_rate_limited_then_counted(
    guest: Guest, caplog: pytest.LogCaptureFixture
) -> None:
    path = guest("logger-wat")
    comp = wasmesh.load(path)
    name = f"wasmesh.guest.{path.name}"
    caplog.set_level(logging.INFO, logger=name)
    started = time.monotonic()
    comp.call("say", 2, 5000)
    elapsed = time.monotonic() - started
    time.sleep(2 / wasi_logging.RATE)  # the bucket refills
    comp.call("say", 2, 1)
    messages = [r.getMessage() for r in caplog.records if r.name == name]
    hello = [m for m in messages if m == "[test] hello from wasm"]
    notes = [
        m for m in messages
        if m.endswith(f"log records of component {path.name} dropped: over 100 a second")
    ]  # fmt: skip
    assert len(hello) + len(notes) == len(messages)
    assert wasi_logging.BURST < len(hello) <= wasi_logging.BURST + wasi_logging.RATE * elapsed + 2
    # every record is either logged or counted as dropped, the count logged once it may
    assert len(hello) + sum(int(n.split()[0]) for n in notes) == 5001
    assert messages[-2:] == [notes[-1], "[test] hello from wasm"]


def test_records_of_an_app_carry_the_components_name(
    guest: Guest, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from wasmesh.runtime.app import App

    manifest = tmp_path / "wasmesh.toml"
    source = guest("logger-wat")
    manifest.write_text(f'[app]\nname = "a"\n[components.chatty]\nsource = "{source}"\n')
    caplog.set_level(logging.INFO, logger="wasmesh.guest")
    app = App.load(manifest)
    try:
        app.call("say", 2, 1)
    finally:
        app.close()
    assert [r.name for r in caplog.records if r.name.startswith("wasmesh.guest")] == [
        "wasmesh.guest.chatty"
    ]
