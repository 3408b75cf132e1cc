"""WAT toolchain: `wasm-tools parse`, then embed + new for a core module.

A source directory holds one ``.wat`` file (or names it with the ``file`` option). A component
WAT is used as is; a core-module WAT is lifted with the WIT world (and a WASI adapter when the
``adapter`` option says ``reactor`` or ``command``).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from wasmesh.build import embed
from wasmesh.build.toolchain import BuildJob, Toolchain
from wasmesh.errors import BuildError


class WatToolchain(Toolchain):
    """Builds components from WebAssembly text."""

    language = "wat"

    def tool_versions(self) -> Mapping[str, str]:
        return {"wasm-tools": embed.wasm_tools_version()}

    def compile(self, job: BuildJob) -> None:
        source = _wat_file(job)
        parsed = job.scratch / "parsed.wasm"
        job.run([embed.wasm_tools(), "parse", source, "-o", parsed], f"parsing {source.name}")
        if embed.is_component(parsed.read_bytes()):
            parsed.replace(job.out)
            return
        adapter = job.options.get("adapter")
        embed.componentize(job, parsed, str(adapter) if adapter not in (None, "none") else None)


def _wat_file(job: BuildJob) -> Path:
    named = job.options.get("file")
    if named is not None:
        return job.source_dir / str(named)
    candidates = sorted(job.source_dir.glob("*.wat"))
    if len(candidates) != 1:
        raise BuildError(
            f"component {job.name!r} needs exactly one .wat file in {job.source_dir} "
            f"(found {len(candidates)}); name it with the file option"
        )
    return candidates[0]
