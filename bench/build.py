"""What building costs a developer: a no-op rebuild, the first call after `build`, a reload.

Run: `.venv/bin/python bench/build.py [--warm] [--skip-noop] [--skip-first] [--skip-watch]
[--samples=N] [--langs=c,python]`.

1. No-op rebuild of the polyglot example.

The first build (in a fresh cache directory, unless `--warm`) compiles the Python, C and JS
components and composes the unit; the no-op rebuilds must only hash inputs and find every
output in the caches. Measured: building the components, and the whole `App.load` (build,
wire, plan, compose, load the fused unit from the AOT cache).

2. The first `wasmesh invoke --app` after `wasmesh build` of the tour's calc (a fresh cache
directory, so nothing is compiled before `build`): the engine's load of the unit (from the AOT
cache `build` filled) and the whole process, against `wasmtime run --invoke` on the composed
unit (the engine's own CLI, which compiles it).

3. Edit to new behaviour: an `http` template app per language (`wasmesh new web --template
http`), its greeting edited (a new text each time, so no build cache answers), timed from the
edit to the first HTTP response carrying the new text, under `wasmesh up --watch` (rebuild,
compose and swap in the running process) against a restart (SIGTERM a plain `wasmesh up`,
start it again: it rebuilds, loads and serves). The app is asked once it says it serves the new
version (`reloaded ...`; `Serving HTTP` after a restart), so requests cost it nothing while it
rebuilds. Both pay the component's toolchain; the ratio is what the running process saves.
Medians of `--samples` edits each.
"""

from __future__ import annotations

import json
import os
import queue
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# bench/http.py would shadow the standard library's `http` for everything imported below.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))

import http.client  # noqa: E402

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from wasmesh.compose.manifest import load_manifest  # noqa: E402
from wasmesh.compose.plan import build_component  # noqa: E402
from wasmesh.engine.loader import _MEMO  # noqa: E402
from wasmesh.runtime.app import App  # noqa: E402

EXAMPLE = ROOT / "examples" / "polyglot" / "wasmesh.toml"
BIN = Path(sys.executable).parent
CACHE = ROOT / ".cache" / "bench" / "build"


def timed(action: object) -> float:
    assert callable(action)
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def build_all() -> None:
    manifest = load_manifest(EXAMPLE)
    for spec in manifest.components:
        build_component(spec, CACHE / "build")


def load_app() -> None:
    _MEMO.clear()  # as a new process would: components come back from the on-disk AOT cache
    App.load(EXAMPLE, cache=CACHE)


def noop_rebuild() -> None:
    if "--warm" not in sys.argv:
        shutil.rmtree(CACHE, ignore_errors=True)
    first = timed(load_app)
    builds = [timed(build_all) for _ in range(5)]
    loads = [timed(load_app) for _ in range(5)]
    table = Table(title="polyglot example (Python + C + JS, one fused unit)")
    table.add_column("step")
    table.add_column("time", justify="right")
    table.add_column("vs first build", justify="right")
    table.add_row("first App.load (build + compose + compile)", f"{first:.2f} s", "1x")
    for name, samples in (("no-op build of the 3 components", builds), ("no-op App.load", loads)):
        median = statistics.median(samples)
        table.add_row(name, f"{median * 1e3:.0f} ms", f"1/{first / median:.0f}")
    Console().print(table)


def process(*argv: str | Path, cwd: Path | None = None, env: dict[str, str]) -> float:
    """Seconds one process takes; its output must succeed."""
    start = time.perf_counter()
    done = subprocess.run([str(a) for a in argv], cwd=cwd, env=env, capture_output=True,
                          text=True, check=False)  # fmt: skip
    took = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(map(str, argv))} failed:\n{done.stderr}")
    return took


def isolated_env(work: Path) -> dict[str, str]:
    """This environment with a cache directory of its own (nothing compiled yet)."""
    path = f"{BIN}{os.pathsep}{os.environ['PATH']}"
    return {**os.environ, "WASMESH_CACHE_DIR": str(work / "cache"), "PATH": path}


def first_invoke(work: Path) -> None:
    app = work / "tour"
    skip = shutil.ignore_patterns(".wasmesh", "*.wasm")
    shutil.copytree(ROOT / "examples" / "tour", app, ignore=skip)
    env = isolated_env(work)
    build = process(BIN / "wasmesh", "build", app, "--json", env=env)
    again = subprocess.run([BIN / "wasmesh", "build", app, "--json"], env=env,
                           capture_output=True, text=True, check=True)  # fmt: skip
    info = json.loads(again.stdout)
    unit = Path(info["units"]["calc"]["artifact"])
    invoke = process(BIN / "wasmesh", "invoke", "--app", app, "add", "1", "2", env=env)
    code = (
        "import sys, time; from wasmesh.engine.loader import load_component; "
        "t = time.perf_counter(); load_component(sys.argv[1]); print(time.perf_counter() - t)"
    )
    engine = float(subprocess.run([sys.executable, "-c", code, unit], env=env, capture_output=True,
                                  text=True, check=True).stdout)  # fmt: skip
    wasmtime = shutil.which("wasmtime", path=env["PATH"])
    assert wasmtime is not None, "the peer `wasmtime` CLI is installed by scripts/setup.py"
    peer = process(wasmtime, "run", "--invoke", "add(1, 2)", unit, env=env)
    table = Table(title="first call after `wasmesh build` (tour calc, fresh cache)")
    for col in ("step", "time", "vs `wasmtime run --invoke`"):
        table.add_column(col)
    table.add_row("wasmesh build (cold: C toolchain, compose, AOT)", f"{build:.2f} s", "")
    table.add_row("engine: load the unit (AOT cache)", f"{engine * 1e3:.1f} ms",
                  f"{engine / peer:.3f}x")  # fmt: skip
    table.add_row("whole `wasmesh invoke --app` process", f"{invoke:.2f} s",
                  f"{invoke / peer:.2f}x")  # fmt: skip
    table.add_row("`wasmtime run --invoke` on the unit (peer)", f"{peer:.2f} s", "1x")
    Console().print(table)


SOURCE = {"c": "component.c", "python": "app.py", "js": "app.js"}


class Up:
    """A `wasmesh up` process on `app`, its output read as it comes."""

    def __init__(self, app: Path, env: dict[str, str], *flags: str) -> None:
        argv = [str(BIN / "wasmesh"), "up", str(app), "--listen", "127.0.0.1:0", *flags]
        self.proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True)  # fmt: skip
        self.lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        found = re.search(r"http://([\d.]+):(\d+)/", self.wait_for("Serving HTTP on "))
        assert found is not None
        self.address = (found[1], int(found[2]))

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def wait_for(self, text: str) -> str:
        while (line := self.lines.get()) is not None:
            if text in line:
                return line
        raise SystemExit(f"`wasmesh up` exited ({self.proc.wait()}) before saying {text!r}")

    def answer(self) -> str:
        conn = http.client.HTTPConnection(*self.address, timeout=60)
        try:
            conn.request("GET", "/web/x")
            return conn.getresponse().read().decode()
        except OSError:
            return ""
        finally:
            conn.close()

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(60)


def edit(app: Path, lang: str, text: str) -> None:
    source = app / "web" / SOURCE[lang]
    source.write_text(re.sub(r"(hello from web|edit-[\w-]+)", text, source.read_text(), count=1))


def until_answer(up: Up, text: str) -> None:
    """Ask the app until its answer carries `text` (the measured event); called once it said
    it serves the new version, so that asking costs the server nothing while it rebuilds."""
    while text not in up.answer():
        time.sleep(0.005)


def watch_reload(work: Path) -> None:
    samples = int(next((a.split("=")[1] for a in sys.argv if a.startswith("--samples=")), "3"))
    langs = next((a.split("=")[1] for a in sys.argv if a.startswith("--langs=")), "c,python")
    env = {**isolated_env(work), "WASMESH_CACHE_DIR": str(CACHE / "watch-cache")}
    table = Table(title=f"edit → first response with the new behaviour (median of {samples})")
    for col in ("language", "`up --watch` reload", "restart `wasmesh up`", "restart / reload"):
        table.add_column(col, justify="right" if col != "language" else "left")
    n = 0
    run = int(time.time())  # edits no earlier run made: the build cache never answers them
    for lang in langs.split(","):
        app = work / f"app-{lang}"
        made = subprocess.run([BIN / "wasmesh", "new", "web", "--lang", lang, "--template",
                               "http", "--app", app], env=env, capture_output=True, text=True,
                              check=False)  # fmt: skip
        if made.returncode != 0:
            raise SystemExit(made.stderr)
        reloads: list[float] = []
        restarts: list[float] = []
        up = Up(app, env, "--watch")
        try:
            up.wait_for("watching ")
            for _ in range(samples):
                n += 1
                start = time.perf_counter()
                edit(app, lang, f"edit-{run}-{n}")
                up.wait_for("reloaded ")
                until_answer(up, f"edit-{run}-{n}")
                reloads.append(time.perf_counter() - start)
        finally:
            up.stop()
        up = Up(app, env)
        try:
            for _ in range(samples):
                n += 1
                start = time.perf_counter()
                edit(app, lang, f"edit-{run}-{n}")
                up.stop()
                up = Up(app, env)  # returns once it says it serves
                until_answer(up, f"edit-{run}-{n}")
                restarts.append(time.perf_counter() - start)
        finally:
            up.stop()
        reload, restart = statistics.median(reloads), statistics.median(restarts)
        table.add_row(lang, f"{reload:.2f} s", f"{restart:.2f} s", f"{restart / reload:.2f}x")
    Console().print(table)
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


def main() -> None:
    if "--skip-noop" not in sys.argv:
        noop_rebuild()
    with tempfile.TemporaryDirectory(prefix="wasmesh-bench-build-") as tmp:
        if "--skip-first" not in sys.argv:
            first_invoke(Path(tmp))
        if "--skip-watch" not in sys.argv:
            watch_reload(Path(tmp))


if __name__ == "__main__":
    main()
