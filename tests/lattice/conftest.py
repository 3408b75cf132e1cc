"""Fixtures for the lattice: a real nats-server and host agents, every process stopped after."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest

from wasmesh.lattice.client import Topology, UnitDeployment
from wasmesh.lattice.server import NatsServer, start_server

T = TypeVar("T")
ROOT = Path(__file__).resolve().parents[2]


def run(coro: Coroutine[Any, Any, T], timeout: float = 60.0) -> T:
    """Run a coroutine to completion, bounded in time."""
    return asyncio.run(asyncio.wait_for(coro, timeout))


@pytest.fixture
def nats_server(tmp_path: Path) -> Iterator[NatsServer]:
    server = start_server(0, tmp_path / "jetstream")
    try:
        yield server
    finally:
        server.stop()


@dataclass
class HostProcesses:
    """Host agents run as `python -m wasmesh.lattice.host` children, each its own group."""

    url: str
    workdir: Path
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def start(self, host_id: str, *labels: str) -> subprocess.Popen[bytes]:
        cmd = [sys.executable, "-m", "wasmesh.lattice.host", "--nats", self.url, "--id", host_id]
        cmd += ["--cache-dir", str(self.workdir / f"cache-{host_id}")]
        for label in labels:
            cmd += ["--label", label]
        log = (self.workdir / f"{host_id}.log").open("ab")
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        try:
            proc = subprocess.Popen(
                cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, env=env
            )
        finally:
            log.close()
        self.procs[host_id] = proc
        return proc

    def kill9(self, host_id: str) -> None:
        proc = self.procs.pop(host_id)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)

    def log(self, host_id: str) -> str:
        return (self.workdir / f"{host_id}.log").read_text(errors="replace")

    def stop_all(self) -> None:
        for proc in self.procs.values():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        for proc in self.procs.values():
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        self.procs.clear()


@pytest.fixture
def host_processes(nats_server: NatsServer, tmp_path: Path) -> Iterator[HostProcesses]:
    hosts = HostProcesses(nats_server.url, tmp_path)
    try:
        yield hosts
    finally:
        hosts.stop_all()


@pytest.fixture(scope="session")
def shop(guest: Callable[[str], Path]) -> Callable[..., Topology]:
    """`shop(math="lattice-math", **unit_options)`: a two-unit app, front calling math."""

    def make(math: str = "lattice-math", **math_options: Any) -> Topology:
        return Topology(
            (
                UnitDeployment("math", guest(math), **math_options),
                UnitDeployment("front", guest("lattice-front")),
            )
        )

    return make
