"""Host agents as child processes on this machine (for `lattice up`, tests and benchmarks).

Each host runs `python -m wasmesh.lattice.agent` in its own process group, logging to
`<workdir>/<host>.log`; `stop_all` (SIGTERM, then SIGKILL) reaps every one.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from wasmesh.lattice.connection import NatsOptions
from wasmesh.lattice.server import die_with_parent

_PACKAGE_ROOT = Path(__file__).resolve().parents[2]


@dataclass
class LocalHosts:
    """Host agent processes joined to the lattice at `url`."""

    url: str
    workdir: Path
    lattice: str = "default"
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    options: NatsOptions | None = None  # credential and TLS files (the URL is `url`)
    args: tuple[str, ...] = ()  # more `wasmesh host` options for every host

    def command(self, host_id: str, *labels: str) -> list[str]:
        """The command line of host `host_id`."""
        cmd = [sys.executable, "-m", "wasmesh.lattice.agent", "--nats", self.url]
        cmd += ["--lattice", self.lattice, "--id", host_id]
        cmd += ["--cache-dir", str(self.workdir / f"cache-{host_id}")]
        opts = self.options
        if opts is not None:
            files = (
                ("--creds", opts.creds),
                ("--tls-ca", opts.tls_ca),
                ("--tls-cert", opts.tls_cert),
                ("--tls-key", opts.tls_key),
            )
            for flag, path in files:
                if path is not None:
                    cmd += [flag, str(path)]
        for label in labels:
            cmd += ["--label", label]
        return [*cmd, *self.args]

    def start(self, host_id: str, *labels: str) -> subprocess.Popen[bytes]:
        """Start host `host_id` with `k=v` labels."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        cmd = self.command(host_id, *labels)
        path = os.environ.get("PYTHONPATH")
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(filter(None, [str(_PACKAGE_ROOT), path])),
        }
        log = (self.workdir / f"{host_id}.log").open("ab")
        try:
            proc = subprocess.Popen(
                cmd,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                env=env,
                preexec_fn=die_with_parent,
            )
        finally:
            log.close()
        self.procs[host_id] = proc
        return proc

    def log(self, host_id: str) -> str:
        """What host `host_id` printed so far."""
        return (self.workdir / f"{host_id}.log").read_text(errors="replace")

    def kill9(self, host_id: str) -> None:
        """Kill host `host_id` (and anything it started) with SIGKILL."""
        proc = self.procs.pop(host_id)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)

    def stop_all(self, timeout: float = 10.0) -> None:
        """Stop every host: SIGTERM to let it drain, SIGKILL after `timeout`."""
        for proc in self.procs.values():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for proc in self.procs.values():
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        self.procs.clear()
