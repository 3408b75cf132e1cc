"""Requests per second serving wasi:http/proxy components: `wasmesh serve` against
`wasmtime serve` (the engine's own CLI), same components, same load, one run.

For the componentize-py and componentize-js echo apps, in two modes (a fresh instance per
request; warm instances reused), wrk drives each server over loopback and the table shows
requests/s, p50 and p99 latency, and wasmesh's ratio to wasmtime.

    python bench/http.py [seconds-per-run] [path]
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# bench/http.py would shadow the standard library's `http` for everything imported below.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))

from tests.support.httpguests import build_http_guest  # noqa: E402

WRK = ["wrk", "-t2", "-c16", "--latency"]
WARM_REUSE = 1000


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_ready(port: int, proc: subprocess.Popen[bytes], timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.sendall(b"GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                if s.recv(12).startswith(b"HTTP/1.1 200"):
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise RuntimeError("server did not become ready")


def wasmesh_cmd(wasm: Path, port: int, reuse: int) -> list[str]:
    code = (
        "from wasmesh.triggers.http import serve; "
        f"serve({str(wasm)!r}, '127.0.0.1:{port}', max_reuse={reuse})"
    )
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
    out = subprocess.run([*WRK, f"-d{seconds}s", f"http://127.0.0.1:{port}{path}"],
                         capture_output=True, text=True, check=True).stdout  # fmt: skip
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    lat = {p: float(v) * _UNITS[u] for p, v, u in _LAT.findall(out)}
    return rps, lat.get("50", float("nan")), lat.get("99", float("nan"))


def measure(cmd: list[str], port: int, seconds: int, path: str) -> tuple[float, float, float]:
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)  # fmt: skip
    try:
        wait_ready(port, proc)
        run_wrk(port, 2, path)  # warm-up
        return run_wrk(port, seconds, path)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def main() -> None:
    seconds = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    path = sys.argv[2] if len(sys.argv) > 2 else "/hello"
    apps = {
        "python echo": build_http_guest("http-echo-py"),
        "js echo": build_http_guest("http-echo-js"),
    }
    print(f"wrk {' '.join(WRK[1:])} -d{seconds}s GET {path}; {os.cpu_count()} cores\n")
    header = f"{'app':<12} {'instances':<12} {'server':<9} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8}"
    print(header + f" {'ratio':>7} {'vs 1st':>7}")
    print("-" * (len(header) + 16))
    for app, wasm in apps.items():
        baseline = 0.0  # wasmtime serve, fresh instance per request
        for mode, reuse in (("per-request", 1), ("warm", WARM_REUSE)):
            results = {}
            for server, make in (("wasmtime", wasmtime_cmd), ("wasmesh", wasmesh_cmd)):
                port = free_port()
                results[server] = measure(make(wasm, port, reuse), port, seconds, path)
            baseline = baseline or results["wasmtime"][0]
            for server in ("wasmtime", "wasmesh"):
                rps, p50, p99 = results[server]
                ratio = rps / results["wasmtime"][0] if server == "wasmesh" else 1.0
                print(f"{app:<12} {mode:<12} {server:<9} {rps:>8.0f} {p50:>8.1f} {p99:>8.1f}"
                      f" {ratio:>6.2f}x {rps / baseline:>6.2f}x")  # fmt: skip
    print("\nratio  = wasmesh req/s / wasmtime serve req/s, same component, same mode and load")
    print("vs 1st = req/s / wasmtime serve req/s with a fresh instance per request")


if __name__ == "__main__":
    main()
