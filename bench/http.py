"""Requests per second serving wasi:http/proxy components: `wasmesh serve` against
`wasmtime serve` (the engine's own CLI), same components, same load, one run.

For the five HTTP guests of `tests.support.httpguests.HTTP_GUESTS` (three componentize-py,
two componentize-js, of different sizes), in two modes (a fresh instance per request; warm
instances reused, `--max-instance-reuse-count` for wasmtime), wrk drives each server over
loopback and the table shows requests/s, p50 and p99 latency, wasmesh's ratio to wasmtime,
and the WASI host calls one request makes (counted in-process, by wrapping every host function
wasmesh links; resource drops not included). wasmesh runs one worker per core, as `serve` does
by default; wasmtime serve uses every core on its own. Targets: 1.0x per request, 0.5x warm;
for every row short of its target, a profile follows the table (cProfile on every thread of a
one-worker server under the same load, `bench/_profile.py`): where the CPU goes.

A second table is what observability costs: the same wasmesh server with metrics off and on
(`serve --admin`: one worker, prometheus_client counting every request, instance and trap, the
admin listener up; tracing off) in paired rounds (off then on, the next round on then off, so
drifting load hits both alike): per round the ratio on / off of the server's CPU time per
request (read from /proc around each run; on a shared machine the steadier figure) and of
requests/s, shown as the median of the rounds' ratios with their range; and the metrics
hooks' own CPU per request, measured in-process, as a share of a request's CPU.

    python bench/http.py [--observe] [--rounds=N] [seconds-per-run] [guest ...]
    # --observe: that table only; --rounds: paired off/on rounds (default 9)
"""

from __future__ import annotations

import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# bench/http.py would shadow the standard library's `http` for everything imported below.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))

from bench._profile import profile_server  # noqa: E402
from tests.support.httpguests import HTTP_GUESTS, build_http_guest  # noqa: E402

# What each guest is asked: a route it answers 200 with a small body.
PATHS = {
    "http-hello-py": "/hello",
    "http-echo-py": "/hello",
    "http-router-py": "/sum?a=1&b=2",
    "http-echo-js": "/hello",
    "http-api-js": "/sum?a=1&b=2",
}

WRK = ["wrk", "-t2", "-c16", "--latency"]
WARM_REUSE = 1000
WORKERS = os.cpu_count() or 1
OBSERVE_REPEATS = 9  # paired rounds of metrics off / on
TARGETS = {"per-request": 1.0, "warm": 0.5}  # ratios to wasmtime serve; below: a profile


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_ready(port: int, proc: subprocess.Popen[bytes], path: str, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.sendall(b"GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
                          % path.encode())  # fmt: skip
                if s.recv(12).startswith(b"HTTP/1.1 200"):
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise RuntimeError("server did not become ready")


def wasmesh_cmd(wasm: Path, port: int, reuse: int, workers: int = WORKERS,
                metrics: bool = False) -> list[str]:  # fmt: skip
    code = (  # info lines on stderr, as `serve` logs them: the keep-resident trial's choice
        "import logging; logging.basicConfig(level=logging.INFO, format='%(message)s'); "
        "from wasmesh.triggers.http import serve; "
        f"serve({str(wasm)!r}, '127.0.0.1:{port}', max_reuse={reuse}, workers={workers})"
    )
    if metrics:  # what `serve --admin 127.0.0.1:0` sets up before serving
        code = ("from wasmesh.observe import metrics; from wasmesh.observe.admin import "
                "AdminServer; AdminServer('127.0.0.1:0', metrics.enable()).start(); "
                + code)  # fmt: skip
    return [sys.executable, "-c", code]


def wasmtime_cmd(wasm: Path, port: int, reuse: int) -> list[str]:
    exe = str(ROOT / ".venv" / "bin" / "wasmtime")
    cmd = [exe, "serve", "-S", "cli", "--addr", f"127.0.0.1:{port}"]
    if reuse > 1:
        cmd += ["--max-instance-reuse-count", str(reuse)]
    return [*cmd, str(wasm)]


_LAT = re.compile(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", re.MULTILINE)
_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def run_wrk(port: int, seconds: int, path: str) -> tuple[float, float, float]:
    """(requests/s, p50 ms, p99 ms)."""
    return run_wrk_counted(port, seconds, path)[:3]


def run_wrk_counted(port: int, seconds: int, path: str) -> tuple[float, float, float, int]:
    """(requests/s, p50 ms, p99 ms, requests)."""
    out = subprocess.run([*WRK, f"-d{seconds}s", f"http://127.0.0.1:{port}{path}"],
                         capture_output=True, text=True, check=True).stdout  # fmt: skip
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    count = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    lat = {p: float(v) * _UNITS[u] for p, v, u in _LAT.findall(out)}
    return rps, lat.get("50", float("nan")), lat.get("99", float("nan")), count


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds process `pid` has used (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(
    cmd: list[str], port: int, seconds: int, path: str, log: Path | None = None
) -> tuple[float, float, float]:
    return measure_cpu(cmd, port, seconds, path, log)[:3]


def measure_cpu(
    cmd: list[str], port: int, seconds: int, path: str, log: Path | None = None
) -> tuple[float, float, float, float]:
    """(requests/s, p50 ms, p99 ms, server CPU ms per request) of the server `cmd` starts,
    its standard error written to `log` if given; CPU is the server process's own (a
    one-worker server: no forked workers)."""
    err = log.open("wb") if log is not None else subprocess.DEVNULL
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err,
                            start_new_session=True)  # fmt: skip
    if log is not None:
        err.close()  # type: ignore[union-attr]
    try:
        wait_ready(port, proc, path)
        run_wrk(port, 2, path)  # warm-up
        before = cpu_seconds(proc.pid)
        rps, p50, p99, count = run_wrk_counted(port, seconds, path)
        return rps, p50, p99, (cpu_seconds(proc.pid) - before) * 1000 / max(count, 1)
    finally:
        from bench._burst import stop

        stop(proc)


def host_calls_per_request(wasm: Path, path: str, requests: int = 20) -> float:
    """WASI host calls one request to `path` makes (fresh instance each), counted in-process."""
    import http.client

    from wasmesh.capabilities.wasi import binding
    from wasmesh.triggers.http import Server

    calls = [0]
    original = getattr(binding, "define_func")  # noqa: B009 - not re-exported on purpose

    def counting(li: Any, name: str, sig: Any, impl: Any, **kw: Any) -> None:
        def counted(*args: Any) -> Any:
            calls[0] += 1
            return impl(*args)

        original(li, name, sig, counted, **kw)

    setattr(binding, "define_func", counting)  # noqa: B010
    server = Server({"/...": wasm}, "127.0.0.1:0")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        conn = http.client.HTTPConnection(
            str(server.address[0]), int(server.address[1]), timeout=60
        )
        conn.request("GET", path)
        conn.getresponse().read()  # the first instance pays for one-time set-up
        calls[0] = 0
        for _ in range(requests):
            conn.request("GET", path)
            conn.getresponse().read()
        conn.close()
        return calls[0] / requests
    finally:
        server.shutdown(grace=5)
        setattr(binding, "define_func", original)  # noqa: B010


def observe_cost(apps: dict[str, Path], seconds: int, rounds: int = OBSERVE_REPEATS) -> None:
    """Metrics off vs on, one worker each, same component and mode, in paired rounds.

    Each round runs off then on (the next round on then off, so a drifting load falls on both
    alike) and gives one ratio on / off; the figure is the median of the rounds' ratios with
    their range. Beside it, the hooks' own CPU per request (measured in-process, where the
    machine's load cannot reach a ratio) as a share of the request's CPU with metrics off."""
    hooks = hook_cost_us()
    print(f"\nobservability: one worker, metrics off vs on (tracing off), {rounds} paired "
          "rounds (off/on, then on/off), median of the rounds' ratios [low..high]")  # fmt: skip
    header = (f"{'app':<15} {'instances':<12} {'off cpu':>8} {'on cpu':>8}"
              f" {'cpu on/off [low..high]':>24} {'req/s on/off [low..high]':>26}"
              f" {'hooks/req cpu':>13}")  # fmt: skip
    print(header)
    print("-" * len(header))
    for app, wasm in apps.items():
        path = PATHS.get(app, "/hello")
        for mode, reuse in (("per-request", 1), ("warm", WARM_REUSE)):
            runs: dict[bool, list[tuple[float, float, float, float]]] = {False: [], True: []}
            for round_ in range(rounds):
                for metrics in (False, True) if round_ % 2 == 0 else (True, False):
                    port = free_port()
                    cmd = wasmesh_cmd(wasm, port, reuse, workers=1, metrics=metrics)
                    runs[metrics].append(measure_cpu(cmd, port, seconds, path))
            cpu = [on[3] / off[3] for off, on in zip(runs[False], runs[True], strict=True)]
            rps = [on[0] / off[0] for off, on in zip(runs[False], runs[True], strict=True)]
            off_cpu = statistics.median(r[3] for r in runs[False])
            on_cpu = statistics.median(r[3] for r in runs[True])
            share = hooks / 1000 / off_cpu
            print(f"{app:<15} {mode:<12} {off_cpu:>8.2f} {on_cpu:>8.2f} {_ratio(cpu):>24}"
                  f" {_ratio(rps):>26} {share:>12.2%}", flush=True)  # fmt: skip
    print(f"hooks     = {hooks:.1f} us of CPU per fresh-instance request with metrics on (the "
          "request's counters, histogram and gauge, one instance made and closed; measured "
          "in-process, 20,000 times)")  # fmt: skip
    print("cpu       = the server's CPU ms per request, median of the rounds")
    print("cpu on/off = CPU per request with metrics on / off, per round (1.050x: 5% more)")
    print("req/s on/off = requests/s with metrics on / off, per round (0.950x: 5% fewer)")
    print("hooks/req cpu = the hooks' CPU as a share of a request's CPU with metrics off")


def _ratio(values: list[float]) -> str:
    return f"{statistics.median(values):.3f}x [{min(values):.2f}..{max(values):.2f}]"


def hook_cost_us(rounds: int = 20_000) -> float:
    """CPU microseconds the metrics hooks add to one request served by a fresh instance."""
    from types import SimpleNamespace

    from wasmesh.observe.metrics import Metrics
    from wasmesh.observe.requestlog import HttpObserver

    metrics = Metrics(process=False)
    observer = HttpObserver(metrics, None)
    writer = SimpleNamespace(status=200, sent=17, started=True)
    started = time.process_time()
    for _ in range(rounds):
        record = observer.begin(b"GET", b"/hello")
        record.route, record.writer = "/...", writer
        closed = metrics.instance_made("http-hello-py", "http-hello-py", 0.0005, True)
        record.took("http-hello-py", 0)
        closed()
        observer.end(record)
    return (time.process_time() - started) * 1e6 / rounds


def main() -> None:
    args = sys.argv[1:]
    if {"-h", "--help"} & set(args):
        print(__doc__)
        return
    unknown = [a for a in args if a.startswith("-") and a != "--observe"
               and not a.startswith("--rounds=")]  # fmt: skip
    if unknown or any(not a.isdigit() for a in args[:1] if not a.startswith("-")):
        sys.exit(f"usage: python bench/http.py [SECONDS] [GUEST ...] [--observe] [--rounds=N] "
                 f"(not {' '.join(unknown or args[:1])}); --help says more")  # fmt: skip
    only_observe = "--observe" in args
    rounds = OBSERVE_REPEATS
    for arg in [a for a in args if a.startswith("--rounds=")]:
        rounds = int(arg.split("=", 1)[1])
    args = [a for a in args if a != "--observe" and not a.startswith("--rounds=")]
    seconds = int(args[0]) if args else 10
    names = args[1:] or list(HTTP_GUESTS)
    apps = {name: build_http_guest(name) for name in names}
    load = os.getloadavg()
    print(f"wrk {' '.join(WRK[1:])} -d{seconds}s GET; {os.cpu_count()} cores; "
          f"load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} at start\n")  # fmt: skip
    if not only_observe:
        compare_wasmtime(apps, seconds)
    observe_cost(apps, seconds, rounds)
    load = os.getloadavg()
    print(f"\nload average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} at the end")


def compare_wasmtime(apps: dict[str, Path], seconds: int) -> None:
    header = (f"{'app':<15} {'instances':<12} {'server':<9} {'req/s':>8} {'p50 ms':>8}"
              f" {'p99 ms':>8}")  # fmt: skip
    print(header + f" {'ratio':>7} {'calls/req':>9}")
    print("-" * (len(header) + 18))
    short: list[tuple[str, str, float]] = []  # (app, mode, ratio) below its target
    logs = Path(tempfile.mkdtemp(prefix="wasmesh-bench-http-"))  # the wasmesh servers' logs
    for app, wasm in apps.items():
        path = PATHS.get(app, "/hello")
        calls = host_calls_per_request(wasm, path)
        for mode, reuse in (("per-request", 1), ("warm", WARM_REUSE)):
            results = {}
            for server, make in (("wasmtime", wasmtime_cmd), ("wasmesh", wasmesh_cmd)):
                port = free_port()
                log = logs / f"{app}-{mode}.log" if server == "wasmesh" else None
                results[server] = measure(make(wasm, port, reuse), port, seconds, path, log)
            for server in ("wasmtime", "wasmesh"):
                rps, p50, p99 = results[server]
                ratio = rps / results["wasmtime"][0] if server == "wasmesh" else 1.0
                count = f"{calls:>9.1f}" if server == "wasmesh" else f"{'':>9}"
                print(f"{app:<15} {mode:<12} {server:<9} {rps:>8.0f} {p50:>8.1f} {p99:>8.1f}"
                      f" {ratio:>6.2f}x {count}", flush=True)  # fmt: skip
                if server == "wasmesh" and ratio < TARGETS[mode]:
                    short.append((app, mode, ratio))
    print("ratio     = wasmesh req/s / wasmtime serve req/s, same component, mode and load")
    print("calls/req = WASI host calls per request (a fresh instance each), in wasmesh")
    # what each wasmesh worker's keep-resident trial chose, in its own words
    for app in apps:
        text = (logs / f"{app}-per-request.log").read_text(errors="replace")
        for line in text.splitlines():
            if "freed instance slots keep" in line:
                print(f"keep-resident  {line}")
    for app, mode, ratio in short:
        reuse = 1 if mode == "per-request" else WARM_REUSE
        print(f"\n{app} {mode}: {ratio:.2f}x is short of {TARGETS[mode]:.1f}x; where one "
              f"worker's CPU goes (cProfile, {seconds} s of the same load):")
        print(profile_server(apps[app], reuse, seconds, PATHS.get(app, "/hello"),
                             run_wrk, wait_ready), end="")  # fmt: skip


if __name__ == "__main__":
    main()
