"""Density: what a live instance and an idle app cost, against uvicorn + Starlette processes.

One run measures, each against the peer measured in the same run (one uvicorn process serving
the Starlette echo app of `bench/_uvicorn_echo.py`, as a Python web app is deployed):

1. live instances per GiB, per guest language (C: `calc-c`, one export call each; JS and
   Python: the `http-echo-*` components, one real request each, through the HTTP trigger's own
   instance leases), against uvicorn processes per GiB after one request each;
2. the largest number of live C instances one host process held (`--instances`), and how many
   of them came from the pool and how many were allocated on demand once it was full;
3. idle deployed apps per GiB: `--apps` HTTP apps (routes with their own grants, so their own
   instance pools, of one Python component) served once each by a real server over loopback,
   then left idle until the idle timeout dropped their instances, against one idle uvicorn
   process per app;
4. the first request after idle (instantiate + response, over loopback) against starting a
   uvicorn process and serving its first request;
5. memory a burst leaves behind: `wasmesh serve` (a fresh instance per request, one worker)
   of `http-echo-py` before a burst of `--burst` connections at once (5 requests each), just
   after it and once idle past its `--idle-timeout`, against one uvicorn process given the
   same burst and idle time (`bench/_burst.py`).

Memory is PSS (`/proc/PID/smaps_rollup`): a page shared by several mappings or processes is
divided among them, so pages of a compiled component or of the Python runtime count once in all,
for wasmesh and the peer alike (RSS would count them again for every instance). Each wasmesh
measure runs in a fresh child process and is the PSS it gained divided by the count. Timings
are medians, noisy on a busy machine: the load average is printed with them.

    .venv/bin/python bench/density.py [--instances N] [--apps N] [--live N] [--peers N]
                                      [--burst N]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# bench/http.py would shadow the standard library's `http` for everything imported below.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))

import http.client  # noqa: E402

from tests.conftest import build_guest  # noqa: E402  (sets the checkout's cache directory)
from tests.support.httpguests import build_http_guest  # noqa: E402

GiB = 1 << 30
LANGUAGES = (("C", "calc-c"), ("JS", "http-echo-js"), ("Python", "http-echo-py"))
TARGETS = {"C": 20.0, "JS": 20.0, "Python": 10.0}  # the ratios wasmesh aims at
IDLE_TIMEOUT = 1.0
FIRST_REQUESTS = 15


def pss(pid: int | str = "self") -> int:
    """Proportional set size of process `pid`, in bytes."""
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no Pss in smaps_rollup")


def rss(pid: int | str = "self") -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS in status")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def get(port: int, path: str, body: bytes | None = None, timeout: float = 30) -> bytes:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("POST" if body is not None else "GET", path, body=body)
        resp = conn.getresponse()
        data = resp.read()
        if resp.status != 200:
            raise RuntimeError(f"{path}: {resp.status} {data[:80]!r}")
        return data
    finally:
        conn.close()


# -- children: one measure each, in a fresh process -------------------------------------------


def child_live(name: str, count: int) -> dict[str, Any]:
    """PSS per live instance of guest `name`, each after one call (or request)."""
    from wasmesh.engine.config import pool_of
    from wasmesh.engine.loader import load_component

    path = build_guest(name) if name.endswith("-c") else build_http_guest(name)
    loaded = load_component(path)
    make = _http_instance(path) if name.startswith("http-") else _call_instance(loaded)
    make(), make()  # the first instances fault in code and shared state: not per instance
    gc.collect()
    before, started = pss(), time.perf_counter()
    live = [make() for _ in range(count)]
    took = time.perf_counter() - started
    gc.collect()
    after = pss()
    pool = pool_of(loaded.engine)
    pooled = sum(1 for i in live if _engine_of(i) is loaded.engine)
    return {"per_instance": (after - before) / count, "count": len(live), "pooled": pooled,
            "pool": pool.instances if pool else 0, "seconds": took}  # fmt: skip


def _engine_of(held: Any) -> Any:
    instance = held.instance if hasattr(held, "ctx") else held  # a lease, or an instance
    return instance.runner.loaded.engine


def _call_instance(loaded: Any) -> Any:
    from wasmesh.runtime.exports import resolve_export
    from wasmesh.runtime.instance import Runner

    runner = Runner(loaded)
    add = resolve_export(loaded.world, "add")

    def make() -> Any:
        instance = runner.instantiate()
        assert instance.call(add, [2, 3]) == 5
        return instance

    return make


def _http_instance(path: Path) -> Any:
    """Warm instances of an HTTP component, each after serving one real request."""
    from wasmesh.capabilities.wasi import IncomingRequest, ResponseOutparam
    from wasmesh.lattice.httpwire import BufferedBody, CollectingWriter
    from wasmesh.triggers.http.instances import InstancePool, Lease, PoolSettings

    pool = InstancePool(path, settings=PoolSettings(max_reuse=1000, max_concurrent=1 << 20))

    def make() -> Lease:
        lease = Lease(pool)
        body = b"hello"
        source = BufferedBody(body)
        headers = [("content-length", b"5")]
        request = IncomingRequest("POST", "/echo", "http", "localhost", headers, source)
        writer = CollectingWriter()

        def on_set(response: Any) -> None:
            writer.begin(response.status, response.headers().entries())
            response.deliver(writer)

        lease.handle(request, ResponseOutparam(on_set=on_set), 30.0)
        if not writer.finished:
            writer.finish(None)
        assert b"".join(writer.chunks) == body, writer.chunks
        lease.ctx.created = pool.link.live(lease.ctx.created)  # as a warm instance keeps
        return lease

    return make


def child_idle(apps: int) -> dict[str, Any]:
    """PSS per idle deployed app (served once, its instance dropped after the idle timeout),
    and the first request after idle."""
    from wasmesh.engine.loader import load_component
    from wasmesh.engine.resident import release_free_memory
    from wasmesh.policy import Grants, Policy
    from wasmesh.triggers.http import PoolSettings, RouteTarget, Server
    from wasmesh.triggers.http.instances import InstancePool

    path = build_http_guest("http-echo-py")
    start = pss()
    load_component(path)
    code = pss() - start
    # the component's code and the runtime faulted in once, for all apps, before the count
    warm = InstancePool(path)
    warm.release(warm.acquire() or _fail("no instance"))
    warm.close()
    gc.collect()
    release_free_memory()  # what the reaper does after dropping instances: the same start
    before = pss()
    settings = PoolSettings(max_reuse=1000, idle_timeout=IDLE_TIMEOUT)
    routes = {
        f"/app{i}/...": RouteTarget(path, Policy(Grants(env=(("APP", str(i)),))), settings)
        for i in range(apps)
    }
    server = Server(routes, "127.0.0.1:0")
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.address[1]
    for i in range(apps):
        get(port, f"/app{i}/hello")
    busy = pss()
    _wait_idle(server.pools)
    time.sleep(0.5)  # the reaper hands freed heap pages back just after dropping instances
    gc.collect()
    idle = pss()
    held = sum(len(p.idle) for p in server.pools if isinstance(p, InstancePool))
    firsts = []
    for i in range(min(apps, FIRST_REQUESTS)):
        started = time.perf_counter()
        get(port, f"/app{i}/hello")
        firsts.append(time.perf_counter() - started)
    server.shutdown(grace=5)
    return {"per_app_idle": (idle - before) / apps, "per_app_busy": (busy - before) / apps,
            "code": code, "first": statistics.median(firsts), "held_after_idle": held,
            "apps": apps}  # fmt: skip


def _fail(why: str) -> Any:
    raise RuntimeError(why)


def _wait_idle(pools: list[Any]) -> None:
    from wasmesh.triggers.http.instances import InstancePool

    deadline = time.monotonic() + 60
    while any(p.idle for p in pools if isinstance(p, InstancePool)):
        if time.monotonic() > deadline:
            raise RuntimeError("idle instances were not dropped")
        time.sleep(0.05)


def run_child(*args: str) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, __file__, "--child", *args], capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        raise RuntimeError(f"child {args} failed:\n{proc.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


# -- the peer ----------------------------------------------------------------------------------


def start_uvicorn() -> tuple[subprocess.Popen[bytes], int, float]:
    """A uvicorn process serving the echo app, after its first request; its port and the
    seconds from start to that first response."""
    port = free_port()
    argv = [sys.executable, "-m", "uvicorn", "bench._uvicorn_echo:app", "--port", str(port),
            "--log-level", "warning", "--no-access-log"]  # fmt: skip
    started = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while True:
        try:
            assert get(port, "/echo", b"first", timeout=5) == b"first"
            break
        except (OSError, http.client.HTTPException):
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError("uvicorn did not start") from None
            time.sleep(0.005)
    return proc, port, time.perf_counter() - started


def measure_peer(count: int) -> dict[str, float]:
    """Mean PSS and RSS of `count` idle uvicorn echo processes (each served one request), and
    the median time to start one and serve its first request."""
    procs = []
    starts = []
    try:
        for _ in range(count):
            proc, _, took = start_uvicorn()
            procs.append(proc)
            starts.append(took)
        time.sleep(0.5)
        sizes = [pss(p.pid) for p in procs]
        rsses = [rss(p.pid) for p in procs]
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(10)
    return {"pss": statistics.mean(sizes), "rss": statistics.mean(rsses),
            "first": statistics.median(starts)}  # fmt: skip


# -- the report --------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=20_000, help="live C instances held")
    parser.add_argument("--apps", type=int, default=200, help="idle deployed apps")
    parser.add_argument("--peers", type=int, default=8, help="uvicorn processes measured")
    parser.add_argument("--live", type=int, default=200, help="instances per language")
    parser.add_argument("--burst", type=int, default=64, help="connections in the burst")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        mode, *rest = args.child
        out = child_live(rest[0], int(rest[1])) if mode == "live" else child_idle(int(rest[0]))
        print(json.dumps(out))
        return

    from rich.console import Console
    from rich.table import Table

    console = Console(width=120)
    for name in dict(LANGUAGES).values():  # build before measuring anything
        build_guest(name) if name.endswith("-c") else build_http_guest(name)
    peer = measure_peer(args.peers)
    per_gib_peer = GiB / peer["pss"]
    console.print(
        f"peer: uvicorn {_version('uvicorn')} + Starlette {_version('starlette')} echo, "
        f"{args.peers} processes: {peer['pss'] / 2**20:.1f} MiB PSS each "
        f"({peer['rss'] / 2**20:.1f} MiB RSS), {per_gib_peer:.0f} per GiB"
    )

    table = Table(title="live instances per GiB (PSS), each after one call or request")
    for col in ("guest", "component", "KiB / instance", "per GiB", "uvicorn per GiB", "ratio",
                "target"):  # fmt: skip
        table.add_column(col, justify="right" if col != "component" else "left")
    for lang, name in LANGUAGES:
        count = args.live * (10 if lang == "C" else 1)
        live = run_child("live", name, str(count))
        per_gib = GiB / max(live["per_instance"], 1.0)
        ratio = per_gib / per_gib_peer
        verdict = "met" if ratio >= TARGETS[lang] else "NOT met"
        table.add_row(lang, name, f"{live['per_instance'] / 1024:.1f}", f"{per_gib:,.0f}",
                      f"{per_gib_peer:.0f}", f"{ratio:.0f}x",
                      f">= {TARGETS[lang]:.0f}x {verdict}")  # fmt: skip
    console.print(table)

    held = run_child("live", "calc-c", str(args.instances))
    console.print(
        f"largest live count: {held['count']:,} instances of calc-c (C) held by one host "
        f"process, {held['pooled']:,} from its pool of {held['pool']:,} (sized from the "
        f"host), {held['count'] - held['pooled']:,} allocated on demand; "
        f"{held['per_instance'] / 1024:.1f} KiB each, made in {held['seconds']:.1f} s"
    )

    idle = run_child("idle", str(args.apps))
    per_gib_apps = GiB / max(idle["per_app_idle"], 1.0)
    table = Table(title=f"idle deployed apps ({idle['apps']} HTTP apps of http-echo-py)")
    for col in ("", "wasmesh", "uvicorn (a process per app)", "ratio"):
        table.add_column(col, justify="right" if col else "left")
    table.add_row("KiB per idle app", f"{idle['per_app_idle'] / 1024:.1f}",
                  f"{peer['pss'] / 1024:.0f}", "")  # fmt: skip
    table.add_row("idle apps per GiB", f"{per_gib_apps:,.0f}", f"{per_gib_peer:.0f}",
                  f"{per_gib_apps / per_gib_peer:.0f}x")  # fmt: skip
    table.add_row("instances left after the idle timeout", str(idle["held_after_idle"]), "", "")
    table.add_row("first request after idle (ms, median)", f"{idle['first'] * 1000:.1f}",
                  f"{peer['first'] * 1000:.0f} (start + first request)",
                  f"{peer['first'] / idle['first']:.0f}x faster")  # fmt: skip
    console.print(table)
    console.print(
        f"the apps share one compiled component: {idle['code'] / 2**20:.1f} MiB PSS to load "
        f"it (each distinct component adds its own); while busy, "
        f"{idle['per_app_busy'] / 1024:.0f} KiB per app with its warm instance"
    )
    from bench import _burst

    found = _burst.compare(build_http_guest("http-echo-py"), start_uvicorn, args.burst)
    console.print(_burst.table(found, args.burst))
    load = os.getloadavg()
    console.print(f"load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} on "
                  f"{os.cpu_count()} cores: timings are noisy, memory is not")  # fmt: skip


def _version(package: str) -> str:
    from importlib import metadata

    return metadata.version(package)


if __name__ == "__main__":
    main()
