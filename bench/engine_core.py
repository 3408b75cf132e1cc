"""The Rust engine core prototype (`wasmesh_native`, built by `./dev native`) measured side by
side with its peers, in one run, as ratios:

1. HTTP requests/s (wrk) on the five HTTP guests, a fresh instance per request and warm:
   the prototype, `wasmtime serve` (CLI 49) with matching flags, and today's `wasmesh serve`;
2. the multi-borrow cases (poll over three pollables with concurrent outbound requests,
   `splice`, TCP connect under a network grant) and a WASI 0.3 HTTP component, on all three;
3. a call from Python into an export, and a Python host function called from a guest, against
   wasmtime-py's generic path and wasmesh's compiled path (the component of bench/hostcall.py);
4. instantiate time and live-instance memory against wasmtime-py (wasmesh's Runner);
5. the extension's clean release build time and size (recorded by scripts/native.py).

    python bench/engine_core.py [seconds-per-wrk-run] [--only=http,borrows,calls,instances,build]
                                [--guests=http-hello-py,http-echo-js,...]
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# bench/http.py would shadow the standard library's `http` for everything imported below.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))

import urllib.error  # noqa: E402
import urllib.request  # noqa: E402

from tests.native.guests import build  # noqa: E402
from tests.support.httpguests import HTTP_GUESTS, build_http_guest  # noqa: E402

CACHE = ROOT / ".cache" / "native-aot"
PATHS = {"http-hello-py": "/hello", "http-echo-py": "/hello", "http-router-py": "/items/1",
         "http-echo-js": "/hello", "http-api-js": "/items/1"}  # fmt: skip
WARM_REUSE = 1000


def load_module(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"_bench_{name}", ROOT / "bench" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


httpbench = load_module("http")


def native_cmd(wasm: Path, port: int, reuse: int, policy: str = "") -> list[str]:
    code = (
        "import wasmesh_native as n; "
        f"e = n.Engine({str(CACHE)!r}, serving=True); c = e.load({str(wasm)!r}); "
        f"s = c.serve('127.0.0.1:{port}', max_reuse={reuse}, policy=n.Policy({policy})); "
        "s.wait()"
    )
    return [sys.executable, "-c", code]


def wasmtime_cmd(wasm: Path, port: int, reuse: int, flags: tuple[str, ...] = ()) -> list[str]:
    cmd = httpbench.wasmtime_cmd(wasm, port, reuse)
    return [*cmd[:-1], *flags, cmd[-1]]


SERVERS: dict[str, Callable[[Path, int, int], list[str]]] = {
    "wasmtime": wasmtime_cmd,
    "prototype": native_cmd,
    "wasmesh": httpbench.wasmesh_cmd,
}


def http_table(seconds: int, guests: list[str]) -> None:
    print(f"\n## 1. HTTP: wrk {' '.join(httpbench.WRK[1:])} -d{seconds}s, {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.1f} at start\n")  # fmt: skip
    print(f"{'guest':<16}{'instances':<13}{'server':<11}{'req/s':>8}{'p50 ms':>8}{'p99 ms':>8}"
          f"{'vs wasmtime':>12}")  # fmt: skip
    for name in guests:
        wasm, path = build_http_guest(name), PATHS[name]
        for mode, reuse in (("per-request", 1), ("warm", WARM_REUSE)):
            results: dict[str, tuple[float, float, float] | str] = {}
            for server, make in SERVERS.items():
                port = httpbench.free_port()
                try:
                    results[server] = measure(make(wasm, port, reuse), port, seconds, path)
                except Exception as e:  # a server that fails is a row, said aloud
                    results[server] = f"failed: {e}"
            peer = results["wasmtime"]
            for server, got in results.items():
                if isinstance(got, str):
                    print(f"{name:<16}{mode:<13}{server:<11}{got}")
                    continue
                rps, p50, p99 = got
                ratio = f"{rps / peer[0]:.2f}x" if not isinstance(peer, str) else "-"
                print(
                    f"{name:<16}{mode:<13}{server:<11}{rps:>8.0f}{p50:>8.1f}{p99:>8.1f}{ratio:>12}"
                )


def measure(cmd: list[str], port: int, seconds: int, path: str) -> tuple[float, float, float]:
    """bench/http.py's measure, but ready on any HTTP answer to the guest's own path (its
    readiness probe wants a 200 on /hello, which the router and API guests answer with 404)."""
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)  # fmt: skip
    try:
        wait_answering(port, proc, path)
        httpbench.run_wrk(port, 2, path)  # warm-up
        return httpbench.run_wrk(port, seconds, path)  # type: ignore[no-any-return]
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def wait_answering(
    port: int, proc: subprocess.Popen[bytes], path: str, timeout: float = 300
) -> None:
    import socket

    request = f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
                s.sendall(request)
                if s.recv(12).startswith(b"HTTP/1.1 "):
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise RuntimeError("server did not answer within 300 s")


def borrows_table() -> None:
    from tests.native.peers import Upstreams

    borrows, p3 = build("http-borrows-py"), build("http-hello-p3-py")
    print("\n## 2. multi-borrow host calls and WASI 0.3 (one request each; status and body)\n")
    with Upstreams() as up:
        cases = [
            ("poll x3 + outbound", borrows, f"/poll?port={up.http_port}", "GET"),
            ("splice", borrows, "/splice", "POST"),
            ("tcp connect (grant)", borrows, f"/tcp?port={up.tcp_port}", "GET"),
            ("WASI 0.3 handler", p3, "/p3", "GET"),
        ]
        allow = "127.0.0.1"
        commands: dict[str, Callable[[Path, int], list[str]]] = {
            "wasmtime": lambda w, p: wasmtime_cmd(
                w, p, 1, ("-S", "http,inherit-network,tcp,p3", "-W", "component-model-async")
            ),
            "prototype": lambda w, p: native_cmd(w, p, 1, f"network=True, allow_hosts=[{allow!r}]"),
            "wasmesh": lambda w, p: [
                sys.executable,
                "-c",
                "from wasmesh.triggers.http import serve; "
                f"serve({str(w)!r}, '127.0.0.1:{p}', allow_outbound=['http://{allow}:*'])",
            ],
        }
        print(f"{'case':<22}" + "".join(f"{s:<28}" for s in commands))
        for label, wasm, path, method in cases:
            row = f"{label:<22}"
            for make in commands.values():
                row += f"{one_request(make, wasm, path, method)[:26]:<28}"
            print(row)


def one_request(make: Callable[[Path, int], list[str]], wasm: Path, path: str, method: str) -> str:
    port = httpbench.free_port()
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(make(wasm, port), stdout=subprocess.DEVNULL, stderr=err,
                                start_new_session=True)  # fmt: skip
        try:
            return request_once(port, proc, path, method)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            proc.wait()
            err.seek(0)
            last = err.read().decode(errors="replace").strip().splitlines()[-1:]
            if last and os.environ.get("ENGINE_CORE_VERBOSE"):
                print(f"  [{path}] {last[0][:200]}")


def request_once(port: int, proc: subprocess.Popen[bytes], path: str, method: str) -> str:
    if not wait_listening(port, proc):
        return f"server exited ({proc.returncode})"
    data = b"spliced body " * 100 if method == "POST" else None
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, method=method)
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            body = resp.read()
            if data is not None:
                return f"{resp.status} echoed" if body == data else f"{resp.status} wrong body"
            return f"{resp.status} {body.decode(errors='replace').strip()}"
    except urllib.error.HTTPError as e:
        return f"{e.code} {e.read().decode(errors='replace').strip()[:18]}"
    except OSError as e:
        return f"no response ({type(e).__name__})"


def wait_listening(port: int, proc: subprocess.Popen[bytes], timeout: float = 300) -> bool:
    import socket

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            time.sleep(0.3)
    return False


def calls_table(n: int) -> None:
    import wasmesh_native as native  # type: ignore[import-not-found,unused-ignore]
    import wasmtime

    hostcall = load_module("hostcall")
    wasm = hostcall.build()
    print(f"\n## 3. calls across the boundary (best of 3; µs per call; N={n})\n")
    engine = wasmtime.Engine()
    component = hostcall.wc.Component.from_file(engine, str(wasm))
    host: dict[str, dict[str, float]] = {}
    for how in ("wasmtime-py", "wasmesh"):
        store = wasmtime.Store(engine)
        inst = hostcall.link(engine, how).instantiate(store, component)
        loop_add = hostcall.ExportFunc(store, inst, f"{hostcall.API}#loop-add")
        loop_log = hostcall.ExportFunc(store, inst, f"{hostcall.API}#loop-log")
        k = n if how != "wasmtime-py" else max(n // 10, 1)
        add = hostcall.per_call(lambda: loop_add(store, k), k)  # noqa: B023
        log = hostcall.per_call(lambda: loop_log(store, k), k)  # noqa: B023
        host[how] = {"add": add, "log": log}
    ninst = (
        native.Engine(str(CACHE))
        .load(str(wasm))
        .instantiate(host={hostcall.HOST: {"add": lambda a, b: a + b, "log": hostcall.sink}})
    )
    api = hostcall.API
    host["prototype"] = {
        "add": hostcall.per_call(lambda: ninst.call(f"{api}#loop-add", n), n),
        "log": hostcall.per_call(lambda: ninst.call(f"{api}#loop-log", n), n),
    }
    print(f"{'Python host function':<26}{'wasmtime-py':>12}{'wasmesh':>10}{'prototype':>11}"
          f"{'vs wasmtime-py':>16}{'vs wasmesh':>12}")  # fmt: skip
    for sig, key in (("add(s32, s32) -> s32", "add"), ("log(string)", "log")):
        g, w, p = (host[h][key] for h in ("wasmtime-py", "wasmesh", "prototype"))
        print(f"{sig:<26}{g:>12.2f}{w:>10.2f}{p:>11.2f}{g / p:>15.1f}x{w / p:>11.1f}x")
    store = wasmtime.Store(engine)
    inst = hostcall.link(engine, "wasmesh").instantiate(store, component)
    m = max(n // 5, 1)
    print(f"\n{'export called from Python':<26}{'wasmtime-py':>12}{'wasmesh':>10}{'prototype':>11}"
          f"{'vs wasmtime-py':>16}{'vs wasmesh':>12}")  # fmt: skip
    for name, args in (("plus", (1, 2)), ("echo", ("a string of some length",))):
        ifx = inst.get_export_index(store, hostcall.API)
        generic = inst.get_func(store, inst.get_export_index(store, name, ifx))
        ours = hostcall.ExportFunc(store, inst, f"{api}#{name}")
        target = f"{api}#{name}"
        assert generic(store, *args) == ours(store, *args) == ninst.call(target, *args)
        g = hostcall.per_call(lambda f=generic, a=args: [f(store, *a) for _ in range(m)], m)
        w = hostcall.per_call(lambda f=ours, a=args: [f(store, *a) for _ in range(m)], m)
        p = hostcall.per_call(lambda t=target, a=args: [ninst.call(t, *a) for _ in range(m)], m)
        print(f"{name:<26}{g:>12.2f}{w:>10.2f}{p:>11.2f}{g / p:>15.1f}x{w / p:>11.1f}x")


INSTANCE_GUESTS = {
    "calc-pure-c": ("demo:calc/math@0.1.0#add", (1, 2)),
    "calc-c": ("demo:calc/math@0.1.0#add", (1, 2)),
    "kinds-py": ("demo:kinds/roundtrip@0.1.0#echo-s32", (7,)),
    "kinds-js": ("demo:kinds/roundtrip@0.1.0#echo-u32", (7,)),
}


def instance_probe(engine_name: str, guest: str, count: int) -> dict[str, float]:
    """In a fresh process: instantiate-time median and RSS per live instance after one call."""
    target, args = INSTANCE_GUESTS[guest]
    wasm = build(guest)
    new: Callable[[], Callable[[], Any]]
    if engine_name == "prototype":
        import wasmesh_native as native

        component = native.Engine(str(CACHE)).load(str(wasm))

        def new() -> Callable[[], Any]:
            inst = component.instantiate()
            return lambda: inst.call(target, *args)
    else:
        from wasmesh.engine.loader import load_component
        from wasmesh.runtime.exports import resolve_export
        from wasmesh.runtime.instance import Runner

        loaded = load_component(wasm)
        runner, export = Runner(loaded), resolve_export(loaded.world, target)

        def new() -> Callable[[], Any]:
            inst = runner.instantiate()
            return lambda: inst.call(export, args)

    new()()  # warm-up
    times = []
    for _ in range(count):
        t = time.perf_counter()
        new()
        times.append(time.perf_counter() - t)
    live, before = [], rss()
    for _ in range(count):
        call = new()
        call()
        live.append(call)
    return {"instantiate_us": statistics.median(times) * 1e6,
            "rss_per_instance_kib": (rss() - before) / count / 1024}  # fmt: skip


def rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def instances_table() -> None:
    print("\n## 4. instantiate (median, from the AOT cache) and RSS per live instance after one "
          "call; each cell a fresh process\n")  # fmt: skip
    print(f"{'guest':<14}{'wasmtime-py µs':>15}{'prototype µs':>14}{'ratio':>8}"
          f"{'wasmtime-py KiB':>17}{'prototype KiB':>15}")  # fmt: skip
    for guest in INSTANCE_GUESTS:
        count = 40 if guest.startswith("kinds") else 300
        got = {}
        for engine_name in ("wasmtime-py", "prototype"):
            out = subprocess.run(
                [sys.executable, __file__, "--probe", engine_name, guest, str(count)],
                capture_output=True, text=True, check=True,
            ).stdout  # fmt: skip
            got[engine_name] = json.loads(out.splitlines()[-1])
        a, b = got["wasmtime-py"], got["prototype"]
        print(f"{guest:<14}{a['instantiate_us']:>15.0f}{b['instantiate_us']:>14.0f}"
              f"{a['instantiate_us'] / b['instantiate_us']:>7.1f}x"
              f"{a['rss_per_instance_kib']:>17.0f}{b['rss_per_instance_kib']:>15.0f}")  # fmt: skip


def build_table() -> None:
    info_path = ROOT / "native" / "target" / "build-info.json"
    print("\n## 5. the extension\n")
    if not info_path.exists():
        print("no build-info.json: run ./dev native --clean to record a clean build")
        return
    info = json.loads(info_path.read_text())
    kind = "clean" if info.get("clean") else "incremental"
    cpu = f", {info['cpu_seconds'] / 60:.1f} min CPU" if "cpu_seconds" in info else ""
    print(
        f"{kind} release build {info['build_seconds'] / 60:.1f} min wall{cpu} (cargo -j2, load "
        f"average {info['load_average']:.1f} at the end); libwasmesh_native.so "
        f"{info['extension_bytes'] / 2**20:.1f} MiB, wheel {info['wheel_bytes'] / 2**20:.1f} MiB"
    )


def main() -> None:
    if sys.argv[1:2] == ["--probe"]:
        print(json.dumps(instance_probe(sys.argv[2], sys.argv[3], int(sys.argv[4]))))
        return
    args = [a for a in sys.argv[1:] if not a.startswith(("--only", "--guests"))]
    only = next((a.split("=", 1)[1] for a in sys.argv[1:] if a.startswith("--only=")), "")
    parts = set(only.split(",")) if only else {"http", "borrows", "calls", "instances", "build"}
    guests = next((a.split("=", 1)[1] for a in sys.argv[1:] if a.startswith("--guests=")), "")
    seconds = int(args[0]) if args else 5
    if "http" in parts:
        http_table(seconds, guests.split(",") if guests else list(HTTP_GUESTS))
    if "borrows" in parts:
        borrows_table()
    if "calls" in parts:
        calls_table(100_000)
    if "instances" in parts:
        instances_table()
    if "build" in parts:
        build_table()


if __name__ == "__main__":
    main()
