"""Stopping `wasmesh up --watch` while it rebuilds: the toolchain under way (componentize-js)
is killed with its process group instead of waited for, and nothing is swapped in."""

from __future__ import annotations

import os
import signal
import time
import uuid
from pathlib import Path

import pytest

from tests.build.test_stop import children, group_members
from tests.support.cli import wasmesh
from tests.support.processes import spawn, stop

LIMIT = 600.0  # seconds a broken run may take to fail (a first JS build on a loaded machine)


@pytest.mark.slow
def test_stopping_during_a_rebuild_kills_the_toolchain(tmp_path: Path) -> None:
    app = tmp_path / "app"
    # http-js shares its build with tests/cli/test_templates.py
    assert wasmesh("new", "http-js", "--lang", "js", "--template", "http", "--app", app).code == 0
    proc = spawn("up", str(app), "--watch", "--listen", "127.0.0.1:0", cwd=app)
    assert proc.stdout is not None
    seen: list[str] = []

    def wait_for(text: str) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            seen.append(line)
            if text in line:
                return
        raise AssertionError(f"`up` exited before {text!r}:\n" + "".join(seen))

    tool: list[int] = []
    try:
        wait_for("watching ")
        source = app / "http-js" / "app.js"
        source.write_text(source.read_text() + f"\n// {uuid.uuid4()}\n")
        wait_for("; rebuilding")
        deadline = time.monotonic() + LIMIT
        while not tool and time.monotonic() < deadline:
            tool = [p for p in children(proc.pid) if b"componentize" in _cmdline(p)]
            time.sleep(0.02)
        assert tool, "".join(seen)
        os.kill(proc.pid, signal.SIGTERM)
        proc.wait(timeout=LIMIT)
        seen.append(proc.stdout.read())
    finally:
        stop(proc)
        for pgid in tool:
            if group_members(pgid):  # a failing run stops what it started all the same
                os.killpg(pgid, signal.SIGKILL)
    said = "".join(seen)
    assert "stopping the rebuild under way" in said
    assert "reloaded" not in said and "rebuild failed" not in said
    assert group_members(tool[0]) == [], "the toolchain outlived `up`"


def _cmdline(pid: int) -> bytes:
    try:
        return (Path("/proc") / str(pid) / "cmdline").read_bytes()
    except OSError:
        return b""
