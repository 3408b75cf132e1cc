"""C toolchain: clang-19 to a wasm32 core module, then embed + new with a WASI adapter.

Debian's wasi-libc supports the preview1 target only (``wasm32-wasi``), so WASI 0.2 comes from
jco's preview1 adapter. There is no C binding generator offline: sources implement the
canonical ABI by hand (see ``tests/guests/_c/cabi.h``).

Options: ``adapter`` = ``"reactor"`` (default: a library of exports), ``"command"`` (a
``main`` exported as ``wasi:cli/run``), ``"none"`` (freestanding, no libc, no WASI imports at
all) or ``"module"`` (no component step: the plain ``wasm32-wasip1`` core module with
``_start``, which ``wasmesh run`` runs on preview1 WASI; Debian's clang names that target
``wasm32-wasi``); ``cflags`` (extra compiler flags); ``include`` (extra include directories,
relative to the source directory, hashed as inputs).
"""

from __future__ import annotations

import functools
import shutil
from collections.abc import Mapping
from pathlib import Path

from wasmesh.build import embed, wasi
from wasmesh.build.toolchain import BuildJob, Toolchain, find_tool
from wasmesh.errors import BuildError
from wasmesh.tools import which

_COMPILERS = ("clang-19", "clang")
_TARGETS = {
    "reactor": ["--target=wasm32-wasi", "-mexec-model=reactor"],
    "command": ["--target=wasm32-wasi"],
    # No libc: nothing can import WASI, so the component has no imports.
    "none": ["--target=wasm32-unknown-unknown", "-nostdlib", "-Wl,--no-entry"],
    "module": ["--target=wasm32-wasi"],
}


@functools.cache
def _compiler_identity(path: str) -> str:
    # Debian pins the compiler by package; the resolved binary's size and mtime change with it.
    real = Path(path).resolve()
    st = real.stat()
    return f"{real}:{st.st_size}:{st.st_mtime_ns}"


class CToolchain(Toolchain):
    """Builds components from C sources with clang and wasi-libc."""

    language = "c"

    def tool_versions(self) -> Mapping[str, str]:
        versions = {"wasm-tools": embed.wasm_tools_version()}
        compiler = next((p for p in map(which, _COMPILERS) if p is not None), None)
        versions["clang"] = _compiler_identity(compiler) if compiler else "absent"
        return versions

    def inputs(
        self, source_dir: Path, wit_dir: Path | None, options: Mapping[str, object]
    ) -> dict[str, Path]:
        roots = super().inputs(source_dir, wit_dir, options)
        for i, inc in enumerate(_str_list(options.get("include", []))):
            roots[f"include{i}"] = (source_dir / inc).resolve()
        adapter = str(options.get("adapter", "reactor"))
        if adapter not in _TARGETS:
            raise BuildError(
                f"component {source_dir.name!r} has adapter {adapter!r}; use reactor, command, "
                "none or module"
            )
        if adapter in embed.ADAPTER_KINDS:
            roots["adapter"] = wasi.adapter_path(adapter)
        return roots

    def compile(self, job: BuildJob) -> None:
        adapter = job.option_str("adapter", "reactor")
        if adapter not in _TARGETS:
            raise BuildError(
                f"component {job.name!r} has adapter {adapter!r}; use reactor, command, none or "
                "module"
            )
        sources = sorted(job.source_dir.glob("*.c"))
        if not sources:
            raise BuildError(f"component {job.name!r} has no .c file in {job.source_dir}")
        compiler = find_tool(_COMPILERS[0], "building C components", *_COMPILERS[1:])
        includes = [f"-I{(job.source_dir / inc).resolve()}" for inc in job.option_list("include")]
        core = job.scratch / "core.wasm"
        argv: list[str | Path] = [
            compiler,
            *_TARGETS[adapter],
            "-O2",
            "-Wall",
            "-Werror=implicit-function-declaration",
            *includes,
            *job.option_list("cflags"),
            *sources,
            "-o",
            core,
        ]
        job.run(argv, "compiling C", cwd=job.source_dir)
        if adapter == "module":
            shutil.copyfile(core, job.out)
            return
        embed.componentize(job, core, None if adapter == "none" else adapter)


def _str_list(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list | tuple):
        return [str(v) for v in value]
    return []
