"""Stopping `wasmesh build` while a toolchain runs (SIGTERM, or Ctrl-C's SIGINT to wasmesh
alone): the tool's whole process group (componentize-js and what it starts) goes with it,
and the build's scratch directory is removed.

The component's source carries a fresh marker each run, so the build cache never answers
instead of the tool; the build is stopped as soon as the tool runs, long before it ends.
"""

from __future__ import annotations

import os
import signal
import threading
import time
import uuid
from pathlib import Path

import pytest

from tests.support.cli import wasmesh
from tests.support.processes import spawn, stop

LIMIT = 300.0  # seconds a broken run may take to fail


def children(pid: int) -> list[int]:
    """The processes whose parent is `pid`."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def group_members(pgid: int) -> list[int]:
    """The processes of process group `pgid`."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == pgid and fields[0] != "Z":
                found.append(int(entry.name))
    return found


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_stopped_build_kills_the_toolchain_and_removes_its_scratch(
    tmp_path: Path, signum: signal.Signals
) -> None:
    app = tmp_path / "app"
    assert wasmesh("new", "stopped-js", "--lang", "js", "--app", app).code == 0
    source = next((app / "stopped-js").glob("*.js"))
    source.write_text(source.read_text() + f"\n// {uuid.uuid4()}\n")
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    proc = spawn("build", str(app), cwd=app, env={"TMPDIR": str(scratch)})
    assert proc.stdout is not None
    try:
        said = []
        for line in proc.stdout:  # the line a slow step prints as it starts
            said.append(line)
            if "componentize-js (first time" in line:
                break
        else:
            raise AssertionError("the build never started componentize-js:\n" + "".join(said))
        tool: list[int] = []
        while not tool and proc.poll() is None:
            tool = children(proc.pid)
            time.sleep(0.02)
        assert tool, "".join(said) + proc.stdout.read()
        os.kill(proc.pid, signum)  # wasmesh alone, as `kill PID` or a supervisor does
        code = proc.wait(timeout=LIMIT)
    finally:
        stop(proc)
    assert code != 0
    left = group_members(tool[0])
    if left:  # a failing run stops what it started all the same
        os.killpg(tool[0], signal.SIGKILL)
    assert left == [], "the toolchain's processes outlived the build"
    assert list(scratch.iterdir()) == [], "the build's scratch directory was left behind"


def test_run_tool_kills_the_group_of_an_interrupted_tool(tmp_path: Path) -> None:
    from wasmesh.build.toolchain import release_tools, run_tool, stop_tools

    # a shell whose child sleeps: stopping kills both, not just the shell
    marker = tmp_path / "started"
    script = f"sleep 600 & echo $! > {marker}.tmp && mv {marker}.tmp {marker}; wait"
    result: list[tuple[int, str, str]] = []
    ident: list[int] = []

    def build() -> None:
        ident.append(threading.get_ident())
        result.append(run_tool(["sh", "-c", script], tmp_path, dict(os.environ)))

    worker = threading.Thread(target=build)
    worker.start()
    while not marker.exists():
        worker.join(0.05)
    sleeper = int(marker.read_text())
    stop_tools(ident[0])
    worker.join(LIMIT)
    release_tools(ident[0])
    assert not worker.is_alive()
    assert result[0][0] < 0  # stopped, not the shell's own status
    assert not alive(sleeper), "the tool's child outlived it"


def alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"
