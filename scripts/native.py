"""Build the opt-in Rust engine core (`native/`) and install it into the checkout's venv.

    ./dev native            release build (cargo -j2), wheel installed with pip
    ./dev native --clean    the same from an empty target directory (times a clean build)
    ./dev native --help     this text

Needs cargo and rustc at least the version toolchain.toml's [native] `rust` names (the one the
Cargo.lock was resolved for; a newer stable one is accepted, and the one used is printed);
installs the pinned maturin from PyPI. One build at a time per checkout: a second `./dev native`
while one runs says so and exits 1. Records the build's wall time, user and system CPU time, the
rustc used and the extension's size in native/target/build-info.json (bench/engine_core.py
prints them beside the reference build in native/reference-build.json). The main test suite
never builds it: tests/native runs only once this has.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
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
LOCK = VENV / "native-build.lock"  # outside target/, which --clean removes


def version_of(tool: str) -> tuple[int, ...] | None:
    """`tool --version`'s first X.Y.Z as numbers, or None if it does not run."""
    try:
        out = subprocess.run([tool, "--version"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    found = re.search(r"(\d+)\.(\d+)\.(\d+)", out)
    return tuple(int(n) for n in found.groups()) if found else None


def check_rust(pinned: str) -> str | None:
    """The sentence refusing this machine's cargo/rustc, or None after printing which is used."""
    minimum = tuple(int(n) for n in pinned.split("."))
    how = f"install Rust {pinned} or newer with rustup (rustup toolchain install {pinned}) and " \
          "put ~/.cargo/bin first on PATH, then re-run ./dev native"  # fmt: skip
    cargo = shutil.which("cargo")
    rustc = os.environ.get("RUSTC") or shutil.which("rustc")  # what cargo will compile with
    if cargo is None or rustc is None:
        return f"{'cargo' if cargo is None else 'rustc'} is missing: {how}"
    versions = {"cargo": (cargo, version_of(cargo)), "rustc": (rustc, version_of(rustc))}
    for name, (path, got) in versions.items():
        if got is None or got < minimum:
            shown = ".".join(map(str, got)) if got else "an unreadable version"
            return f"{name} at {path} is {shown}, older than the {pinned} native/ needs: {how}"
    used = ", ".join(f"{name} {'.'.join(map(str, got or ()))} ({path})"
                     for name, (path, got) in versions.items())  # fmt: skip
    print(f"building with {used}: the first on PATH, at least toolchain.toml's rust = {pinned}")
    return None


def main(argv: list[str]) -> int:
    if argv in (["--help"], ["-h"]):
        print(__doc__.strip())
        return 0
    if any(arg != "--clean" for arg in argv):
        bad = next(arg for arg in argv if arg != "--clean")
        print(f"./dev native takes only --clean or --help, not {bad!r}", file=sys.stderr)
        return 2
    clean = "--clean" in argv
    pins = tomllib.loads((ROOT / "toolchain.toml").read_text())["native"]
    with open(LOCK, "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print("another ./dev native is building in this checkout; wait for it to finish",
                  file=sys.stderr)  # fmt: skip
            return 1
        refused = check_rust(pins["rust"])
        if refused:
            print(refused, file=sys.stderr)
            return 2
        return build(pins, clean)


def build(pins: dict[str, str], clean: bool) -> int:
    python = str(VENV / "bin" / "python")
    pip = [python, "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    subprocess.run([*pip, f"maturin=={pins['maturin']}"], check=True)
    if clean:
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
    wheel = next(wheels.glob("wasmesh_native-*.whl"))
    subprocess.run([*pip, "--force-reinstall", "--no-deps", str(wheel)], check=True)
    lib = next(TARGET.glob("release/libwasmesh_native.so"))
    rustc = version_of(os.environ.get("RUSTC") or shutil.which("rustc") or "rustc")
    info = {
        "finished": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "build_seconds": round(seconds, 1),
        "user_seconds": round(after.ru_utime - used.ru_utime, 1),
        "system_seconds": round(after.ru_stime - used.ru_stime, 1),
        "clean": clean,
        "rustc": ".".join(map(str, rustc or ())),
        "extension_bytes": lib.stat().st_size,
        "wheel_bytes": wheel.stat().st_size,
        "load_average": os.getloadavg()[0],
    }
    (TARGET / "build-info.json").write_text(json.dumps(info, indent=2) + "\n")
    size = lib.stat().st_size / 2**20
    print(f"wasmesh_native installed ({size:.1f} MiB) in {seconds:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
