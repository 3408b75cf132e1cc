"""The public WASI testsuite's preview1 tests under `wasmesh run`, next to `wasmtime run`.

Give it a checkout of WebAssembly/wasi-testsuite whose `tests/*/testsuite/wasm32-wasip1/`
holds the prebuilt binaries (the `prod/testsuite-all` branch). Each `NAME.wasm` runs as its
`NAME.json` says (args, env, preopened dirs, expected exit code, expected stdout/stderr; the
testsuite's legacy keys and its `run`/`wait`/`read` operations), once under each runtime, on
the same binary; `*.cleanup` files are removed from the test's directories before each run.
Prints the pass count of each runtime, and the tests where they differ.

    python bench/wasi_testsuite.py ~/src/wasi-testsuite [--only c,rust]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BIN = Path(sys.executable).parent
TIMEOUT = 120.0


@dataclass
class Spec:
    """What one test runs with and expects."""

    wasm: Path
    args: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    dirs: list[str] = field(default_factory=list)
    exit_code: int = 0
    reads: list[tuple[str, str]] = field(default_factory=list)  # (stdout|stderr, prefix)
    unsupported: str = ""  # why this harness cannot run it (sockets, http...)

    @property
    def name(self) -> str:
        return f"{self.wasm.parent.parent.parent.name}/{self.wasm.stem}"


def read_spec(wasm: Path) -> Spec:
    spec = Spec(wasm)
    path = wasm.with_suffix(".json")
    config: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
    if "operations" not in config:
        spec.args = list(config.get("args", []))
        spec.env = dict(config.get("env", {}))
        spec.dirs = list(config.get("dirs", []))
        spec.exit_code = int(config.get("exit_code", 0))
        for stream in ("stdout", "stderr"):
            if config.get(stream) is not None:
                spec.reads.append((stream, str(config[stream])))
        return spec
    if config.get("proposals"):
        spec.unsupported = "needs " + ", ".join(config["proposals"])
    for op in config["operations"]:
        kind = op.get("type")
        if kind == "run":
            spec.args = list(op.get("args", []))
            spec.env = dict(op.get("env", {}))
            spec.dirs = list(op.get("dirs", []))
        elif kind == "wait":
            spec.exit_code = int(op.get("exit_code", 0))
        elif kind == "read":
            spec.reads.append((op.get("id", "stdout"), op.get("payload", "")))
        else:
            spec.unsupported = spec.unsupported or f"operation {kind!r}"
    return spec


def wasmesh_argv(spec: Spec) -> list[str]:
    argv = [str(BIN / "wasmesh"), "run", str(spec.wasm)]
    for k, v in spec.env.items():
        argv += ["--env", f"{k}={v}"]
    for d in spec.dirs:
        argv += ["--dir", f"{spec.wasm.parent / d}:{d}"]
    return [*argv, "--", *spec.args]


def wasmtime_argv(spec: Spec) -> list[str]:
    cli = shutil.which("wasmtime", path=str(BIN)) or "wasmtime"
    argv = [cli, "run"]
    for k, v in spec.env.items():
        argv += ["--env", f"{k}={v}"]
    for d in spec.dirs:
        argv += ["--dir", f"{spec.wasm.parent / d}::{d}"]
    return [*argv, str(spec.wasm), *spec.args]


def _cleanup(spec: Spec) -> None:
    for d in spec.dirs:
        for f in (spec.wasm.parent / d).glob("**/*.cleanup"):
            if f.is_dir() and not f.is_symlink():
                shutil.rmtree(f)
            else:
                f.unlink()


def run_one(spec: Spec, argv: list[str]) -> str:
    """ "" when the test passed, else why not."""
    _cleanup(spec)
    try:
        proc = subprocess.run(
            argv, capture_output=True, text=True, timeout=TIMEOUT, cwd=spec.wasm.parent
        )
    except subprocess.TimeoutExpired:
        return "timed out"
    finally:
        _cleanup(spec)
    if proc.returncode != spec.exit_code:
        tail = (proc.stderr.strip().splitlines() or [""])[-1][:160]
        return f"exit {proc.returncode}, expected {spec.exit_code}: {tail}"
    outputs = {"stdout": proc.stdout, "stderr": proc.stderr}
    for stream, payload in spec.reads:
        if not outputs[stream].startswith(payload):
            return f"{stream} {outputs[stream][:80]!r}, expected {payload[:80]!r}"
        outputs[stream] = outputs[stream][len(payload) :]
    return ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkout", type=Path, help="a wasi-testsuite checkout")
    parser.add_argument("--only", default="", help="languages, comma-separated (c,rust,...)")
    ns = parser.parse_args()
    wasms = sorted(ns.checkout.glob("tests/*/testsuite/wasm32-wasip1/*.wasm"))
    if ns.only:
        keep = set(ns.only.split(","))
        wasms = [w for w in wasms if w.parent.parent.parent.name in keep]
    if not wasms:
        sys.exit(f"{ns.checkout} has no tests/*/testsuite/wasm32-wasip1/*.wasm binaries.")
    specs = [read_spec(w) for w in wasms]
    runnable = [s for s in specs if not s.unsupported]
    runners: dict[str, Callable[[Spec], list[str]]] = {
        "wasmtime run": wasmtime_argv,
        "wasmesh run": wasmesh_argv,
    }
    results: dict[str, dict[str, str]] = {}
    for label, make in runners.items():
        # One test at a time: the tests of a language share their directories.
        results[label] = {s.name: run_one(s, make(s)) for s in runnable}
    print(f"wasi-testsuite preview1: {len(specs)} tests, {len(runnable)} runnable here")
    for s in specs:
        if s.unsupported:
            print(f"  skipped {s.name}: {s.unsupported}")
    for label, res in results.items():
        passed = sum(1 for why in res.values() if not why)
        print(f"{label:>13}: {passed}/{len(runnable)} passed")
    peer, ours = results["wasmtime run"], results["wasmesh run"]
    for name in sorted(peer):
        if bool(peer[name]) != bool(ours[name]):
            print(
                f"  differs {name}: wasmtime {peer[name] or 'pass'}; wasmesh {ours[name] or 'pass'}"
            )
    for name in sorted(peer):
        if peer[name] and ours[name]:
            print(f"  both fail {name}: {ours[name]}")


if __name__ == "__main__":
    main()
