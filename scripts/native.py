"""Build the opt-in Rust engine core (`native/`) and install it into the checkout's venv.

    ./dev native            release build (cargo -j2), wheel installed with pip
    ./dev native --clean    the same from an empty target directory (times a clean build)

Needs cargo (rustc as pinned in toolchain.toml's [native]); installs the pinned maturin from
PyPI. Records the build's wall time and the extension's size in native/target/build-info.json
(bench/engine_core.py reports them). The main test suite never builds it: tests/native runs only
once this has.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NATIVE = ROOT / "native"
TARGET = NATIVE / "target"
VENV = ROOT / ".venv"


def main() -> int:
    pins = tomllib.loads((ROOT / "toolchain.toml").read_text())["native"]
    if shutil.which("cargo") is None:
        rust = pins["rust"]
        print(
            f"cargo is missing: install Rust {rust} (rustup), then re-run ./dev native",
            file=sys.stderr,
        )
        return 2
    python = str(VENV / "bin" / "python")
    pip = [python, "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    subprocess.run([*pip, f"maturin=={pins['maturin']}"], check=True)
    if "--clean" in sys.argv[1:]:
        shutil.rmtree(TARGET, ignore_errors=True)
    env = {**os.environ, "CARGO_TARGET_DIR": str(TARGET), "CARGO_BUILD_JOBS": "2"}
    wheels = TARGET / "wheels"
    shutil.rmtree(wheels, ignore_errors=True)
    start = time.monotonic()
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(
        [str(VENV / "bin" / "maturin"), "build", "--release", "--locked", "-i", python,
         "-o", str(wheels), "-m", str(NATIVE / "Cargo.toml")],
        check=True, env=env,
    )  # fmt: skip
    seconds = time.monotonic() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - used.ru_utime) + (after.ru_stime - used.ru_stime)
    wheel = next(wheels.glob("wasmesh_native-*.whl"))
    subprocess.run([*pip, "--force-reinstall", "--no-deps", str(wheel)], check=True)
    lib = next(TARGET.glob("release/libwasmesh_native.so"))
    info = {
        "build_seconds": round(seconds, 1),
        "cpu_seconds": round(cpu, 1),  # user + system of the build: what a busy machine hides
        "clean": "--clean" in sys.argv[1:],
        "extension_bytes": lib.stat().st_size,
        "wheel_bytes": wheel.stat().st_size,
        "load_average": os.getloadavg()[0],
    }
    (TARGET / "build-info.json").write_text(json.dumps(info, indent=2) + "\n")
    size = info["extension_bytes"] / 2**20
    print(f"wasmesh_native installed ({size:.1f} MiB) in {seconds:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
