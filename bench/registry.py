"""Registry benchmark: push and pull of a componentize-py component, wasmesh against `oras`.

Run: `.venv/bin/python bench/registry.py [N]` (N runs per row, default 5; builds
tests/guests/cmd-py once, cached).

A `docker-registry` (CNCF distribution) is started on a loopback port with its own storage.
In one run, on the same ~18 MB component:
1. whole process: `wasmesh push` against `oras push` (oras-go CLI, set up from toolchain.toml),
   each to a fresh repository so every byte is uploaded; `wasmesh pull` (empty cache) against
   `oras pull` of the same artifact;
2. in process: wasmesh's `push_component` / `pull_component` against the oras-py library's
   plain `push` / `pull` of the same file (no wasm config, no digest checks).
Medians with the ratio wasmesh / peer (below 1 is faster). Machine load is printed with them;
the start-up row (`wasmesh --help` against `oras version`) shows how much of a whole-process
figure is the Python interpreter and imports rather than the transfer.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# bench/http.py would shadow the standard library's `http` for everything imported below.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))

import oras.provider  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from tests.support.registry import Registry  # noqa: E402
from wasmesh.build import load_guest  # noqa: E402
from wasmesh.registry import (  # noqa: E402
    CONFIG_MEDIA_TYPE,
    LAYER_MEDIA_TYPE,
    BlobCache,
    parse_reference,
    pull_component,
    push_component,
)

BIN = Path(sys.executable).parent
GUEST = "cmd-py"


def build(name: str) -> Path:
    spec = load_guest(ROOT / "tests" / "guests" / name)
    return spec.build(ROOT / ".cache" / "guests" / f"{name}.wasm", quiet=True).path


def median_of(n: int, run: Callable[[int], None]) -> float:
    run(-1)  # warm-up: page cache, wasm-tools stand-in for the world, registry's own caches
    times = []
    for i in range(n):
        t = time.perf_counter()
        run(i)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def check(cmd: list[str], **kw: object) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, **kw)  # type: ignore[call-overload]
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd[:3])} failed: {proc.stderr.strip()}")


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    console = Console()
    component = build(GUEST)
    size = component.stat().st_size
    oras_cli = shutil.which("oras", path=str(BIN)) or shutil.which("oras")
    with tempfile.TemporaryDirectory(prefix="wasmesh-bench-registry-") as tmp_name:
        tmp = Path(tmp_name)
        registry = Registry.start(tmp / "registry")
        try:
            rows = measure(n, registry, component, tmp, oras_cli)
        finally:
            registry.close()
    load = os.getloadavg()
    table = Table(
        title=f"{GUEST} ({size / 1e6:.1f} MB) to and from docker-registry on loopback; "
        f"median of {n}; load {load[0]:.1f} {load[1]:.1f} on {os.cpu_count()} cores"
    )
    for column in ("operation", "wasmesh", "peer", "peer time", "wasmesh / peer"):
        table.add_column(column, justify="left" if column in ("operation", "peer") else "right")
    for operation, ours, peer, theirs in rows:
        table.add_row(operation, f"{ours:.3f} s", peer, f"{theirs:.3f} s", f"{ours / theirs:.2f}")
    console.print(table)


def measure(
    n: int, registry: Registry, component: Path, tmp: Path, oras_cli: str | None
) -> list[tuple[str, float, str, float]]:
    address = registry.address
    env = {**os.environ, "WASMESH_CACHE_DIR": str(tmp / "cache")}
    work = tmp / "work"
    work.mkdir()
    shutil.copy(component, work / "component.wasm")
    config = {"architecture": "wasm", "os": "wasip2", "layerDigests": [], "component": {}}
    (work / "config.json").write_text(json.dumps(config))
    rows: list[tuple[str, float, str, float]] = []

    # 1. whole processes
    if oras_cli is not None:
        wasmesh = str(BIN / "wasmesh")

        def start_cli(i: int) -> None:
            check([wasmesh, "--help"], env=env)

        def start_oras(i: int) -> None:
            check([oras_cli, "version"])

        rows.append(
            ("start-up alone (--help)", median_of(n, start_cli), "oras version",
             median_of(n, start_oras))
        )  # fmt: skip

        def push_cli(i: int) -> None:
            check([wasmesh, "push", str(component), f"{address}/cli-w{i + 1}:1"], env=env)

        def push_oras(i: int) -> None:
            check(
                [oras_cli, "push", "--plain-http", f"{address}/cli-o{i + 1}:1",
                 "--config", f"config.json:{CONFIG_MEDIA_TYPE}",
                 f"component.wasm:{LAYER_MEDIA_TYPE}"],
                cwd=work,
            )  # fmt: skip

        rows.append(
            ("push (process)", median_of(n, push_cli), "oras push", median_of(n, push_oras))
        )
        source = f"{address}/cli-o1:1"

        def pull_cli(i: int) -> None:
            cold = {**env, "WASMESH_CACHE_DIR": str(tmp / f"pull-cache-{i + 1}")}
            check([wasmesh, "pull", source, "-o", str(tmp / "pulled.wasm")], env=cold)

        def pull_oras(i: int) -> None:
            check([oras_cli, "pull", "--plain-http", source, "-o", str(tmp / f"oras-{i + 1}")])

        rows.append(
            ("pull (process)", median_of(n, pull_cli), "oras pull", median_of(n, pull_oras))
        )

    # 2. in process, against oras-py's plain push and pull
    os.environ["WASMESH_CACHE_DIR"] = str(tmp / "cache")
    client = oras.provider.Registry(hostname=address, insecure=True)

    def push_lib(i: int) -> None:
        push_component(component, parse_reference(f"{address}/lib-w{i + 1}:1"))

    def push_oras_py(i: int) -> None:
        client.push(
            target=f"{address}/lib-o{i + 1}:1",
            files=[f"{work / 'component.wasm'}:{LAYER_MEDIA_TYPE}"],
            disable_path_validation=True,
            quiet=True,
        )

    rows.append(
        ("push (library)", median_of(n, push_lib), "oras-py push", median_of(n, push_oras_py))
    )

    def pull_lib(i: int) -> None:
        pull_component(
            parse_reference(f"{address}/lib-w1:1"), cache=BlobCache(tmp / f"lib-{i + 1}")
        )

    def pull_oras_py(i: int) -> None:
        client.pull(target=f"{address}/lib-o1:1", outdir=str(tmp / f"oras-py-{i + 1}"))

    rows.append(
        ("pull (library)", median_of(n, pull_lib), "oras-py pull", median_of(n, pull_oras_py))
    )
    return rows


if __name__ == "__main__":
    main()
