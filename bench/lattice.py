"""Lattice benchmark: rollout time of a new version, and the cost of a call crossing hosts.

Run: `.venv/bin/python bench/lattice.py` (starts its own nats-server and host processes on
loopback; builds the lattice guests from tests/guests once, cached).

Prints, in one run:
1. the time from `deploy` of a new version until all N hosts serve it (N = 3 and 10; the
   math unit has one replica per host; every version is new bytes, fetched and compiled by
   every host), median of a few rollouts, on an open lattice and on one secured as
   `wasmesh lattice up --tls` runs it (NKey users, TLS with client certificates, signed
   artifacts verified by every host);
2. calls/s of `front.sum3` (two calls into `math.add` each) with math fused into the same
   component (`wasm-tools compose`), linked through an in-process Python host function, and
   on another host through the lattice; ratios against the fused peer measured in this run;
3. failover after `kill -9` of the host running a unit, open and secured, three runs each.
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# bench/ holds scripts named like stdlib modules (http.py): keep it off the import path
sys.path = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))

import nats  # noqa: E402
import wasmtime  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from bench._lattice_setup import (  # noqa: E402
    admin_client,
    build_guest,
    deploy,
    deploy_ready,
    host_processes,
    nats_server,
)
from wasmesh.engine.types import FuncSig  # noqa: E402
from wasmesh.lattice.client import LatticeClient  # noqa: E402
from wasmesh.lattice.local import LocalHosts  # noqa: E402
from wasmesh.lattice.scheduler import FAILOVER_BOUND_S  # noqa: E402
from wasmesh.lattice.schema import Subjects  # noqa: E402
from wasmesh.lattice.server import NatsServer  # noqa: E402
from wasmesh.lattice.stub import LoopThread, RemoteImports  # noqa: E402
from wasmesh.lattice.topology import Topology, UnitDeployment  # noqa: E402
from wasmesh.lattice.unit import ComponentUnit, HostFunc  # noqa: E402

MATH = "wasmesh:lattice-test/math"
FRONT = "wasmesh:lattice-test/front"
ROLLOUTS = 5


def fuse(front: Path, math: Path, out: Path) -> Path:
    subprocess.run(
        [str(Path(sys.executable).parent / "wasm-tools"), "compose", str(front), "-d", str(math),
         "-o", str(out)],
        check=True, capture_output=True,
    )  # fmt: skip
    return out


def versions(count: int, out: Path) -> list[Path]:
    """`count` distinct builds of the math unit (its `version` export returns 1, 2, ...), so
    every rollout ships bytes no host has fetched or compiled yet."""
    source = (ROOT / "tests" / "guests" / "lattice-math" / "math.wat").read_text()
    marker = '(func (export "version") (result i32) i32.const 1)'
    assert marker in source
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for n in range(1, count + 1):
        text = source.replace(marker, marker.replace("const 1", f"const {n}"))
        path = out / f"math-{n}.wasm"
        path.write_bytes(wasmtime.wat2wasm(text))
        paths.append(path)
    return paths


async def rollout_times(server: NatsServer, hosts: int, math: list[Path]) -> list[float]:
    """Seconds from deploy of each new version until every host serves it."""
    times: list[float] = []
    async with admin_client(server) as client:
        for i, component in enumerate(math):
            topology = Topology((UnitDeployment("math", component, replicas=hosts),))
            started = time.monotonic()
            await deploy_ready(client, "bench", topology)
            if i:  # the first deploy is a cold start, not a rollout
                times.append(time.monotonic() - started)
        await client.undeploy("bench")
    return times


def calls_per_second(
    call: Callable[[], Any], seconds: float = 1.5, threads: int = 1
) -> tuple[float, float]:
    """Calls completed per second by `threads` callers looping on `call`, and the callers'
    CPU time per call in µs (on a busy machine the steadier figure: waiting for a core does
    not count; a remote callee's CPU does not either)."""
    call()
    stop = time.perf_counter() + seconds
    counts = [0] * threads
    cpu = [0.0] * threads

    def caller(i: int) -> None:
        started = time.thread_time()
        while time.perf_counter() < stop:
            for _ in range(20):
                call()
            counts[i] += 20
        cpu[i] = time.thread_time() - started

    started = time.perf_counter()
    workers = [threading.Thread(target=caller, args=(i,)) for i in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return sum(counts) / (time.perf_counter() - started), sum(cpu) * 1e6 / max(sum(counts), 1)


async def failover_time(
    server: NatsServer, hosts: LocalHosts, app: str, front: Path, math: Path
) -> float:
    """Seconds from kill -9 of the host running math until front.sum3 answers again."""
    topology = Topology((UnitDeployment("math", math), UnitDeployment("front", front)))
    async with admin_client(server) as client:
        status = await deploy_ready(client, app, topology)
        assert status.placement is not None
        (victim,) = status.placement.units["math"]
        hosts.kill9(victim)
        try:
            return await _until_answered(client, app)
        finally:
            await client.undeploy(app)


async def _until_answered(client: LatticeClient, app: str) -> float:
    started = time.monotonic()
    while time.monotonic() - started < FAILOVER_BOUND_S + 10:
        try:
            if await client.invoke(app, f"{FRONT}#sum3", [1, 2, 3], timeout=0.5) == 6:
                return time.monotonic() - started
        except Exception:
            await asyncio.sleep(0.05)
    raise RuntimeError("calls never succeeded again after the kill")


MODES = (("open", False), ("auth+TLS+signed", True))


def main() -> None:
    console = Console()
    math_v1, front = build_guest("lattice-math"), build_guest("lattice-front")
    with contextlib.ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        servers = {
            name: stack.enter_context(nats_server(tmp / name, secure)) for name, secure in MODES
        }
        rollout = Table(title="deploy of a new version until all N hosts serve it")
        for col in ("hosts", "lattice", "median", "min", "max", "median vs open"):
            rollout.add_column(col, justify="right")
        for n in (3, 10):
            medians: dict[str, float] = {}
            for name, server in servers.items():
                hosts = {f"n{n}h{i}": () for i in range(n)}
                with host_processes(server, tmp / name / f"hosts{n}", hosts):
                    math = versions(ROLLOUTS + 1, tmp / name / f"versions{n}")
                    times = asyncio.run(rollout_times(server, n, math))
                medians[name] = statistics.median(times)
                rollout.add_row(
                    str(n), name, *(f"{f(times) * 1000:.0f} ms" for f in (statistics.median,
                    min, max)), f"{medians[name] / medians['open']:.2f}x",
                )  # fmt: skip
        console.print(rollout)
        console.print(call_table(servers["open"], tmp, front, math_v1))
        failover = Table(title="kill -9 of the host running a unit, until calls answer again")
        for col in ("run", *servers, "bound"):
            failover.add_column(col, justify="right")
        for run in range(3):
            row = [str(run + 1)]
            for name, server in servers.items():
                trio = {f"f{run}h{i}": () for i in range(3)}
                with host_processes(server, tmp / name / f"failover{run}", trio) as procs:
                    app = f"failover{run}"
                    seconds = asyncio.run(failover_time(server, procs, app, front, math_v1))
                row.append(f"{seconds:.2f} s")
            failover.add_row(*row, f"{FAILOVER_BOUND_S} s")
        console.print(failover)


def call_table(server: NatsServer, tmp: Path, front: Path, math: Path) -> Table:
    fused = ComponentUnit(fuse(front, math, tmp / "fused.wasm"))
    math_unit = ComponentUnit(math)

    def local(interface: str, func: str, sig: FuncSig) -> HostFunc:
        return lambda *args: math_unit.call(interface, func, args)

    linked = ComponentUnit(front, {MATH: local})
    with host_processes(server, tmp / "calls", {"provider": ()}):
        deploy(server, "calls", Topology((UnitDeployment("math", math),)))
        loop = LoopThread()
        try:
            nc = loop.run(nats.connect(server.url), 10)
            try:
                remote = RemoteImports(nc, loop.loop, Subjects(), "calls")
                spread = ComponentUnit(front, {MATH: remote.provider("math")})
                rows = [
                    ("fused (wasm-tools compose, one component)", fused, 1),
                    ("linked in-process through a Python host function", linked, 1),
                    ("math on another host, over the lattice", spread, 1),
                    ("math on another host, over the lattice, 8 callers", spread, 8),
                ]
                results = [
                    (name, *calls_per_second(partial(u.call, FRONT, "sum3", [1, 2, 3]), threads=n))
                    for name, u, n in rows
                ]
            finally:
                loop.run(nc.close(), 10)
        finally:
            loop.close()
    table = Table(title="front.sum3 (2 calls into math.add each), one caller thread unless said")
    for col in ("math placed", "calls/s", "µs/call", "caller CPU µs/call", "vs fused"):
        table.add_column(col, justify="right")
    peer = results[0][1]
    for name, rate, cpu in results:
        table.add_row(name, f"{rate:,.0f}", f"{1e6 / rate:,.1f}", f"{cpu:,.1f}",
                      f"{peer / rate:,.1f}x slower" if rate < peer else "1.0x")  # fmt: skip
    return table


if __name__ == "__main__":
    main()
