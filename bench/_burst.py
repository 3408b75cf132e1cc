"""Memory a burst leaves behind, for `bench/density.py`: a server process's RSS and PSS before
a burst of concurrent requests, just after it, and once it has been idle for a while.

wasmesh runs as `wasmesh serve` does by default (a fresh instance per request, one worker here,
so the figures are one process's), with a short `--idle-timeout`; the peer is one uvicorn +
Starlette echo process, given the same burst and the same idle time.
"""

from __future__ import annotations

import http.client
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from rich.table import Table

IDLE_TIMEOUT = 2.0  # seconds: wasmesh's --idle-timeout; both servers idle this long and 2 s more
REQUESTS = 5  # per connection of the burst


def memory(pid: int) -> tuple[int, int]:
    """(RSS, PSS) of process `pid`, in bytes."""
    found = {}
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("Rss", "Pss"):
                found[key] = int(value.split()[0]) * 1024
    return found["Rss"], found["Pss"]


def compare(
    wasm: Path, start_peer: Callable[[], tuple[subprocess.Popen[bytes], int, float]],
    connections: int,
) -> dict[str, dict[str, Any]]:
    """`measure` for `wasmesh serve wasm`, then for the peer `start_peer` starts (a process,
    its port, the seconds it took)."""
    found = {}
    proc, port = start_wasmesh(wasm)
    try:
        burst(port, 3, 1)  # as after the first requests of a deployed app
        found["wasmesh serve"] = measure(proc.pid, port, connections, REQUESTS)
    finally:
        stop(proc)
    peer, port, _ = start_peer()
    try:
        found["uvicorn + Starlette"] = measure(peer.pid, port, connections, REQUESTS)
    finally:
        peer.terminate()
        peer.wait(10)
    return found


def table(found: dict[str, dict[str, Any]], connections: int) -> Table:
    """`compare`'s figures, in MiB."""
    out = Table(title=f"memory a burst leaves ({connections} connections x {REQUESTS} "
                f"requests to http-echo-py, then idle {IDLE_TIMEOUT + 2:.0f} s; wasmesh "
                f"--idle-timeout {IDLE_TIMEOUT:.0f}s)")  # fmt: skip
    for col in ("server", "RSS before", "after the burst", "after idle", "kept after idle",
                "PSS kept after idle", "burst (s)"):  # fmt: skip
        out.add_column(col, justify="right" if col != "server" else "left")
    for name, m in found.items():
        (rss0, pss0), (rss1, _), (rss2, pss2) = m["before"], m["busy"], m["idle"]
        out.add_row(name, f"{rss0 / 2**20:.1f}", f"{rss1 / 2**20:.1f}", f"{rss2 / 2**20:.1f}",
                    f"{(rss2 - rss0) / 2**20:+.1f}", f"{(pss2 - pss0) / 2**20:+.1f}",
                    f"{m['seconds']:.1f}")  # fmt: skip
    return out


def burst(port: int, connections: int, requests: int) -> None:
    """`connections` clients at once, `requests` echoes each (every body checked)."""

    def client(n: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        try:
            for i in range(requests):
                body = f"burst {n} {i}".encode()
                conn.request("POST", "/echo", body=body)
                resp = conn.getresponse()
                data = resp.read()
                if (resp.status, data) != (200, body):
                    raise RuntimeError(f"/echo answered {resp.status} {data[:80]!r}")
        finally:
            conn.close()

    with ThreadPoolExecutor(connections) as pool:
        list(pool.map(client, range(connections)))


def measure(pid: int, port: int, connections: int, requests: int) -> dict[str, Any]:
    """Memory of server `pid` (on `port`, after its first requests) before the burst, just
    after it, and after IDLE_TIMEOUT + 2 s without requests."""
    before = memory(pid)
    started = time.perf_counter()
    burst(port, connections, requests)
    took = time.perf_counter() - started
    busy = memory(pid)
    time.sleep(IDLE_TIMEOUT + 2.0)
    return {"before": before, "busy": busy, "idle": memory(pid), "seconds": took}


def start_wasmesh(wasm: Path) -> tuple[subprocess.Popen[str], int]:
    """`wasmesh serve wasm` (fresh instances, one worker, IDLE_TIMEOUT) and its port."""
    argv = [str(Path(sys.executable).parent / "wasmesh"), "serve", str(wasm), "--listen",
            "127.0.0.1:0", "--workers", "1", "--idle-timeout", f"{IDLE_TIMEOUT}s"]  # fmt: skip
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                            start_new_session=True)  # fmt: skip
    assert proc.stdout is not None
    for line in proc.stdout:
        found = re.search(r"Serving HTTP on http://[\d.]+:(\d+)/", line)
        if found:
            return proc, int(found[1])
    stop(proc)
    raise RuntimeError("wasmesh serve exited before serving")


def stop(proc: subprocess.Popen[Any]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    if proc.stdout is not None:
        proc.stdout.close()
