"""Tools installed beside the interpreter are found without activating its environment."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.support.cli import BIN

GUESTS = Path(__file__).resolve().parent / "guests"
TOOLS = ("wasm-tools", "componentize-py", "componentize-js", "jco", "nats-server")


def bare_env() -> dict[str, str]:
    """The caller's environment with every PATH entry of the interpreter's bin removed."""
    path = [p for p in os.environ.get("PATH", "").split(os.pathsep) if p and Path(p) != BIN]
    env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
    env["PATH"] = os.pathsep.join(path or ["/usr/bin", "/bin"])
    return env


def test_every_tool_is_found_beside_the_interpreter_when_path_lacks_it() -> None:
    env = bare_env()
    code = f"from wasmesh.tools import which; print(*(which(t) for t in {TOOLS!r}))"
    out = subprocess.run(
        [str(BIN / "python"), "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout.split()
    assert out == [str(BIN / tool) for tool in TOOLS]
    assert shutil.which("wasm-tools", path=env["PATH"]) != str(BIN / "wasm-tools")


def test_an_unactivated_wasmesh_build_finds_wasm_tools(tmp_path: Path) -> None:
    shutil.copytree(GUESTS / "loop-wat", tmp_path / "loop")
    (tmp_path / "wasmesh.toml").write_text(
        '[app]\nname = "tools"\n\n[components.loop]\nsource = "loop"\nlanguage = "wat"\n'
    )
    env = {**bare_env(), "WASMESH_CACHE_DIR": str(tmp_path / "aot")}
    proc = subprocess.run(
        [str(BIN / "wasmesh"), "build"], cwd=tmp_path, env=env, capture_output=True, text=True,
        timeout=120, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "not installed" not in proc.stderr
    assert sys.executable.startswith(str(BIN))
