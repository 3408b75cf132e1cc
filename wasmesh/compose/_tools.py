"""Running `wasm-tools` for composition, with one-sentence errors."""

from __future__ import annotations

import hashlib
import os
import subprocess
import uuid
from pathlib import Path

from wasmesh.build.cache import exclusive
from wasmesh.build.embed import wasm_tools, wasm_tools_version
from wasmesh.errors import LinkError


def run_wasm_tools(args: list[str | Path], what: str, cwd: Path | None = None) -> str:
    """Run `wasm-tools ARGS`; a failure is a `LinkError` saying what was being done."""
    argv = [wasm_tools(), *map(str, args)]
    proc = subprocess.run(argv, capture_output=True, text=True, cwd=cwd, check=False)
    if proc.returncode != 0:
        detail = " ".join(proc.stderr.strip().splitlines()[-3:])
        raise LinkError(f"wasm-tools failed {what}: {detail}")
    return proc.stdout


def digest(*parts: bytes | str) -> str:
    """sha256 over `parts` and the wasm-tools version, for cache keys."""
    h = hashlib.sha256(wasm_tools_version().encode())
    for part in parts:
        h.update(b"\0")
        h.update(part.encode() if isinstance(part, str) else part)
    return h.hexdigest()


def write_atomically(path: Path, data: bytes) -> None:
    """Write `path` so that readers never see half a file (several processes may write it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    tmp.write_bytes(data)
    tmp.replace(path)


def component_from_wat(wit: str, wat: str, world: str, cache: Path, what: str) -> Path:
    """A component from a WIT world and a core module in WAT, built once per content.

    `cache` is the directory of such outputs (one file per digest); `what` names the thing
    in error messages ("an isolation adapter").
    """
    out = cache / f"{digest(wit, wat)[:32]}.wasm"
    if out.exists():
        return out
    with exclusive(out):  # one builder per output; the others wait and reuse it
        if out.exists():
            return out
        work = out.with_suffix(".d")
        work.mkdir(parents=True, exist_ok=True)
        (work / "world.wit").write_text(wit)
        (work / "core.wat").write_text(wat)
        run_wasm_tools(["parse", "core.wat", "-o", "core.wasm"], f"assembling {what}", work)
        run_wasm_tools(
            ["component", "embed", "world.wit", "--world", world, "core.wasm", "-o",
             "embedded.wasm"],
            f"embedding the world of {what}",
            work,
        )  # fmt: skip
        run_wasm_tools(
            ["component", "new", "embedded.wasm", "-o", "out.wasm"], f"creating {what}", work
        )
        write_atomically(out, (work / "out.wasm").read_bytes())
    return out
