"""C toolchain: clang-19 to a wasm32 core module, then embed + new with a WASI adapter.

Debian's wasi-libc supports the preview1 target only (``wasm32-wasi``), so WASI 0.2 comes from
jco's preview1 adapter. With ``bindings = "wit-bindgen"`` the bindings are generated from the
WIT at each build by ``wit-bindgen c`` (crates.io's ``wit-bindgen-cli``, pinned in
toolchain.toml): ``WORLD.h`` declares the WIT types and one function per export to define,
``WORLD.c`` holds the canonical-ABI glue. Without it, sources implement the canonical ABI by
hand (see ``tests/guests/_c/cabi.h``).

Options: ``adapter`` = ``"reactor"`` (default: a library of exports), ``"command"`` (a
``main`` exported as ``wasi:cli/run``), ``"none"`` (freestanding, no libc, no WASI imports at
all) or ``"module"`` (no component step: the plain ``wasm32-wasip1`` core module with
``_start``, which ``wasmesh run`` runs on preview1 WASI; Debian's clang names that target
``wasm32-wasi``); ``cflags`` (extra compiler flags); ``include`` (extra include directories,
relative to the source directory, hashed as inputs); ``bindings`` (``"wit-bindgen"`` or
absent).
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

    def settings(
        self, source_dir: Path, wit_dir: Path | None, options: Mapping[str, object]
    ) -> Mapping[str, object]:
        if _bindings(options, source_dir.name) is None:
            return {}
        tool = which("wit-bindgen")
        return {"wit-bindgen": _compiler_identity(tool) if tool else "absent"}

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
        if _bindings(job.options, job.name) is not None:
            generated = _generate_bindings(job)
            # the glue, and the object carrying the world's type that the glue links against
            sources += sorted(generated.glob("*.c")) + sorted(generated.glob("*.o"))
            includes.append(f"-I{generated}")
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


def _bindings(options: Mapping[str, object], name: str) -> str | None:
    value = options.get("bindings")
    if value is None:
        return None
    if value != "wit-bindgen":
        raise BuildError(
            f"component {name!r} has bindings {value!r}; use \"wit-bindgen\" or leave it out "
            "to write the canonical ABI by hand"
        )
    return str(value)


def _generate_bindings(job: BuildJob) -> Path:
    """Run ``wit-bindgen c`` over the component's WIT; the directory of WORLD.h and WORLD.c."""
    if job.wit_dir is None:
        raise BuildError(
            f"component {job.name!r} generates its bindings from WIT; give it a wit directory"
        )
    tool = find_tool("wit-bindgen", "generating C bindings from WIT")
    out = job.scratch / "bindings"
    out.mkdir()
    wit = wasi.prepare_wit(job.wit_dir, out)  # its own copy: componentize makes another
    argv: list[str | Path] = [tool, "c", wit, "--world", job.world, "--out-dir", out]
    job.run(argv, "generating bindings from WIT")
    return out


def _str_list(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list | tuple):
        return [str(v) for v in value]
    return []
