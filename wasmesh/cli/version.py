"""`wasmesh --version`: wasmesh, the wasmtime-py it runs on, and the toolchain pins."""

from __future__ import annotations

import tomllib
from importlib import metadata
from pathlib import Path

# In a checkout, toolchain.toml (beside the package) pins every external tool.
TOOLCHAIN = Path(__file__).resolve().parents[2] / "toolchain.toml"


def _installed(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def version_text() -> str:
    """Lines `name version`: wasmesh, wasmtime-py, then each pin of toolchain.toml (python
    pins as installed, marked when they differ from the pin; npm, cargo and Go pins and the
    system packages as pinned)."""
    lines = [f"wasmesh {_installed('wasmesh')}", f"wasmtime-py {_installed('wasmtime')}"]
    try:
        pins = tomllib.loads(TOOLCHAIN.read_text())
    except (OSError, tomllib.TOMLDecodeError):
        return "\n".join(lines) + "\n"
    lines.append(f"toolchain pins ({TOOLCHAIN}):")
    for name, pinned in pins.get("python", {}).items():
        if name == "wasmtime":
            continue
        installed = _installed(name)
        note = "" if installed == pinned else f" (pinned {pinned})"
        lines.append(f"  {name} {installed}{note}")
    for name, pinned in pins.get("npm", {}).items():
        lines.append(f"  {name} {pinned}")
    for name, spec in pins.get("cargo-install", {}).items():  # "VERSION FEATURE,..."
        lines.append(f"  {name} {str(spec).split()[0]}")
    for name, pinned in pins.get("cargo", {}).items():
        lines.append(f"  {name} {pinned} (crate of Rust components)")
    for name, pinned in pins.get("go-install", {}).items():
        lines.append(f"  {name.rsplit('/', 1)[-1]} {pinned}")
    if "minimum" in pins.get("go", {}):
        lines.append(f"  go >= {pins['go']['minimum']} (Go components)")
    packages = pins.get("debian", {}).get("packages", [])
    if packages:
        lines.append(f"  debian packages (set-up): {', '.join(packages)}")
    return "\n".join(lines) + "\n"
