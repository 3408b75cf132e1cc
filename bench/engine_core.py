"""The Rust engine core prototype (`wasmesh_native`, built by `./dev native`) measured side by
side with its peers, in one run, as ratios:

1. HTTP requests/s (wrk) on the five HTTP guests, a fresh instance per request and warm:
   the prototype, `wasmtime serve` (CLI 49.0.3) with matching flags, and today's `wasmesh serve`;
2. the multi-borrow cases (poll over three pollables with concurrent outbound requests,
   `splice`, TCP connect) and a WASI 0.3 HTTP component on all three, each granted the network;
3. a call from Python into an export, and a Python host function called from a guest, against
   wasmtime-py's generic path and wasmesh's compiled path (the component of bench/hostcall.py);
4. instantiate time and live-instance memory against wasmtime-py (wasmesh's Runner);
5. the extension's release build time and size: your last `./dev native` build (recorded by
   scripts/native.py in native/target/build-info.json) beside the reference build recorded in
   native/reference-build.json.

    python bench/engine_core.py [SECONDS] [--only SECTION,...] [--guests GUEST,...]   (--help)

Every section but `build` needs the extension; without it they are skipped, saying so, and the
run exits 1. A server or probe that fails is a row naming the cause (its stderr's last lines),
and the run exits 1; in section 2, `wasmesh serve` refusing a case is the measurement (its cause
is printed under the table), while the peer or the prototype not answering 200 fails the run.
"""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import statistics
import subprocess
import sys
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

from bench._engine_core_parts import Server, build_table, parse_args  # noqa: E402
from tests.native.guests import build  # noqa: E402
from tests.support.httpguests import build_http_guest  # noqa: E402

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


FAILURES: list[str] = []  # every row that failed, said again at the end (exit 1)


def failed(where: str, cause: str) -> str:
    FAILURES.append(f"{where}: {cause}")
    return f"failed: {cause}"


def http_table(seconds: int, guests: list[str]) -> None:
    print(f"\n## 1. HTTP: wrk {' '.join(httpbench.WRK[1:])} -d{seconds}s, {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.1f} at start\n")  # fmt: skip
    print(f"{'guest':<16}{'instances':<13}{'server':<11}{'req/s':>8}{'p50 ms':>8}{'p99 ms':>8}"
          f"{'vs wasmtime':>12}{'vs wasmesh':>12}")  # fmt: skip
    for name in guests:
        wasm, path = build_http_guest(name), PATHS[name]
        for mode, reuse in (("per-request", 1), ("warm", WARM_REUSE)):
            results: dict[str, tuple[float, float, float] | str] = {}
            for server, make in SERVERS.items():
                port = httpbench.free_port()
                try:
                    results[server] = measure(make(wasm, port, reuse), port, seconds, path)
                except Exception as e:  # a server that fails is a row, said aloud
                    results[server] = failed(f"{name} {mode} {server}", str(e))
            for server, got in results.items():
                if isinstance(got, str):
                    print(f"{name:<16}{mode:<13}{server:<11}{got}")
                    continue
                rps, p50, p99 = got
                vs_wasmesh = ratio(rps, results["wasmesh"]) if server == "prototype" else ""
                print(f"{name:<16}{mode:<13}{server:<11}{rps:>8.0f}{p50:>8.1f}{p99:>8.1f}"
                      f"{ratio(rps, results['wasmtime']):>12}{vs_wasmesh:>12}")  # fmt: skip


def ratio(rps: float, peer: tuple[float, float, float] | str) -> str:
    return f"{rps / peer[0]:.2f}x" if not isinstance(peer, str) and peer[0] > 0 else "-"


def measure(cmd: list[str], port: int, seconds: int, path: str) -> tuple[float, float, float]:
    """bench/http.py's measure, but ready on any HTTP answer to the guest's own path (its
    readiness probe wants a 200 on /hello, which the router and API guests answer with 404)."""
    with Server(cmd) as server:
        wait_answering(port, server, path)
        httpbench.run_wrk(port, 2, path)  # warm-up
        return httpbench.run_wrk(port, seconds, path)  # type: ignore[no-any-return]


def wait_answering(port: int, server: Server, path: str, timeout: float = 300) -> None:
    import socket

    request = f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise RuntimeError(server.exited())
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
                s.sendall(request)
                if s.recv(12).startswith(b"HTTP/1.1 "):
                    return
        except OSError:
            pass
        time.sleep(0.5)
    tail = server.tail()
    raise RuntimeError(f"server did not answer within {timeout:.0f} s" + (tail and f": {tail}"))


def borrows_table() -> None:
    from tests.native.peers import Upstreams

    borrows, p3 = build("http-borrows-py"), build("http-hello-p3-py")
    print("\n## 2. multi-borrow host calls and WASI 0.3 (one request each; status and body; every "
          "server granted the network and outbound HTTP to 127.0.0.1)\n")  # fmt: skip
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
                "from wasmesh.policy import Grants, Policy; "
                "from wasmesh.triggers.http import serve; "
                f"serve({str(w)!r}, '127.0.0.1:{p}', policy=Policy(Grants(network=True, "
                f"outbound=('http://{allow}:*',))))",
            ],
        }
        print(f"{'case':<22}" + "".join(f"{s:<28}" for s in commands))
        notes: list[str] = []
        for label, wasm, path, method in cases:
            row = f"{label:<22}"
            for server, make in commands.items():
                got, why = one_request(make, wasm, path, method)
                row += f"{got[:26]:<28}"
                if why:
                    notes.append(f"  {label}, {server}: {why}")
                if server != "wasmesh" and not got.startswith("200"):
                    # wasmesh's row is what it does today; the peer and the prototype must answer
                    FAILURES.append(f"{label} {server}: {got}" + (f": {why}" if why else ""))
            print(row)
        if notes:
            print("\nnot answered with 200 (the server's last stderr lines):")
            print("\n".join(notes))


def one_request(
    make: Callable[[Path, int], list[str]], wasm: Path, path: str, method: str
) -> tuple[str, str]:
    """(status and body, or why none came; the server's stderr tail when it was not a 200)."""
    port = httpbench.free_port()
    with Server(make(wasm, port)) as server:
        got = request_once(port, server, path, method)
        if got.startswith("200"):
            return got, ""
        server.stop()
        return got, server.tail(lines=1)[:400]


def request_once(port: int, server: Server, path: str, method: str) -> str:
    if not wait_listening(port, server.proc):
        if server.proc.returncode is None:
            return "did not listen in 300 s"
        return f"server exited ({server.proc.returncode})"
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
            run = subprocess.run(
                [sys.executable, __file__, "--probe", engine_name, guest, str(count)],
                capture_output=True, text=True,
            )  # fmt: skip
            if run.returncode != 0:
                tail = " | ".join(run.stderr.strip().splitlines()[-3:])
                why = f"probe exited with {run.returncode}: {tail}"
                print(f"{guest:<14}{failed(f'{guest} {engine_name}', why)}")
                break
            got[engine_name] = json.loads(run.stdout.splitlines()[-1])
        else:
            a, b = got["wasmtime-py"], got["prototype"]
            us, kib = "instantiate_us", "rss_per_instance_kib"
            print(f"{guest:<14}{a[us]:>15.0f}{b[us]:>14.0f}{a[us] / b[us]:>7.1f}x"
                  f"{a[kib]:>17.0f}{b[kib]:>15.0f}")  # fmt: skip


SECTIONS = ("http", "borrows", "calls", "instances", "build")
NEED_EXTENSION = ("http", "borrows", "calls", "instances")


def main(argv: list[str]) -> int:
    args = parse_args(argv, SECTIONS, tuple(PATHS))
    # stopped with SIGTERM, the servers this run started are stopped too (leaving their blocks)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if args.probe:
        engine_name, guest, count = args.probe
        print(json.dumps(instance_probe(engine_name, guest, int(count))))
        return 0
    parts = [part for part in SECTIONS if part in args.only]
    if importlib.util.find_spec("wasmesh_native") is None:
        skipped = [part for part in parts if part in NEED_EXTENSION]
        if skipped:
            FAILURES.append(f"the engine core is not built: run ./dev native "
                            f"(skipped: {', '.join(skipped)})")  # fmt: skip
            print(FAILURES[-1], file=sys.stderr)
            parts = [part for part in parts if part not in skipped]
    if "http" in parts:
        http_table(args.seconds, args.guests)
    if "borrows" in parts:
        borrows_table()
    if "calls" in parts:
        calls_table(100_000)
    if "instances" in parts:
        instances_table()
    if "build" in parts:
        build_table()
    if FAILURES:
        print("\nfailed:\n" + "\n".join(f"- {f}" for f in FAILURES), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
