"""`wasmesh up --watch`: a saved edit is rebuilt and swapped in without dropping a request; a
broken edit is reported and the last good version keeps serving."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.cli import BIN, wasmesh
from tests.support.processes import Served

DEADLINE_S = 600  # a rebuild on a loaded 2-core machine


def wait_for(check: Callable[[], bool], what: str, nudge: Callable[[], object] = list) -> None:
    """Wait until `check()`; `nudge()` every 10 s (a save the watcher may not have seen yet,
    made before it was armed)."""
    ends = time.monotonic() + DEADLINE_S
    nudged = time.monotonic()
    while not check():
        assert time.monotonic() < ends, f"no {what} within {DEADLINE_S} s"
        if time.monotonic() - nudged > 10:
            nudge()
            nudged = time.monotonic()
        time.sleep(0.2)


@pytest.mark.slow
def test_watch_swaps_in_edits_and_keeps_the_last_good_version(tmp_path: Path) -> None:
    made = wasmesh("new", "web", "--lang", "c", "--template", "http", "--app", tmp_path)
    assert made.code == 0, made.err
    served = Served([str(BIN / "wasmesh"), "up", str(tmp_path), "--watch",
                     "--listen", "127.0.0.1:0"], log=tmp_path / "up.log")  # fmt: skip
    said: list[str] = []
    assert served.proc.stdout is not None
    reader = threading.Thread(target=lambda: said.extend(served.proc.stdout or ()), daemon=True)
    reader.start()
    statuses: list[int] = []
    stop = threading.Event()

    def hammer() -> None:
        while not stop.is_set():
            statuses.append(served.request("GET", "/web/load")[0])

    try:
        wait_for(lambda: any("watching" in line for line in said), "watcher")
        assert served.request("GET", "/web/a")[2] == b"hello from web: /web/a\n"
        load = threading.Thread(target=hammer, daemon=True)
        load.start()
        source = tmp_path / "web" / "component.c"
        edited = source.read_text().replace('"hello from', '"hi from')
        source.write_text(edited)
        wait_for(lambda: served.request("GET", "/web/b")[2] == b"hi from web: /web/b\n", "reload",
                 nudge=lambda: source.write_text(edited))  # fmt: skip
        stop.set()
        load.join(60)
        assert statuses and set(statuses) == {200}, "no request failed across the swap"
        assert any(line.startswith("reloaded in") for line in said)

        source.write_text("this is not C\n")
        wait_for(lambda: any("still serving the last good version" in ln for ln in said), "error",
                 nudge=lambda: source.write_text("this is not C\n"))  # fmt: skip
        assert any(line.startswith("error: component 'web' failed to build") for line in said)
        assert served.request("GET", "/web/c")[2] == b"hi from web: /web/c\n"
    finally:
        stop.set()
        assert served.stop() == 0
