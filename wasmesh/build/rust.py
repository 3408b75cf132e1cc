"""Rust toolchain: cargo and the `wit-bindgen` crate, ``wasm32-wasip1``, the reactor adapter.

A compiler qualifies when its sysroot holds a prebuilt ``wasm32-wasip1`` standard library
(rustup's ``rust-std`` for that target), or the standard library's source, from which
``cargo -Zbuild-std`` compiles one (``RUSTC_BOOTSTRAP=1`` lets a release compiler take that
flag). rustup's toolchains here carry only their host's standard library and cannot download
another; Debian's ``rustc-web``/``cargo-web`` 1.96 with ``rust-web-src`` qualify by source,
linked with ``wasm-ld-19`` (lld-19) against Debian's ``wasi-libc``. The standard library and the
crates are compiled once into a shared target directory (``$WASMESH_CARGO_TARGET_DIR``, default
``~/.cache/wasmesh/cargo-target``). The crate's ``wit/`` is replaced by the component's WIT
(with WASI packages supplied), so ``wit_bindgen::generate!`` sees the world being built; the
module, which already embeds its world, becomes a component with ``wasm-tools component new``.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from wasmesh.build import embed, wasi
from wasmesh.build.toolchain import BuildJob, MissingToolError, Toolchain, find_tool
from wasmesh.errors import BuildError
from wasmesh.tools import which

TARGET = "wasm32-wasip1"
_WASI_LIBC = Path("/usr/lib/wasm32-wasi")
_LINKERS = ("wasm-ld-19", "wasm-ld")
_CANDIDATES = ("rustc", "/usr/bin/rustc")


@dataclass(frozen=True)
class RustCompiler:
    """A rustc that can build for `TARGET`, its cargo, and whether std must be built."""

    rustc: str
    cargo: str
    build_std: bool


def _sysroot(rustc: str) -> Path | None:
    try:
        out = subprocess.run([rustc, "--print", "sysroot"], capture_output=True, text=True,
                             timeout=60, check=True)  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None
    return Path(out.stdout.strip())


@functools.cache
def find_compiler() -> RustCompiler:
    """The first rustc (PATH, then Debian's) able to target `TARGET`; else one clear error."""
    for name in _CANDIDATES:
        rustc = which(name)
        if rustc is None:
            continue
        sysroot = _sysroot(rustc)
        if sysroot is None:
            continue
        cargo = Path(rustc).with_name("cargo")
        cargo_path = str(cargo) if cargo.is_file() else which("cargo")
        if cargo_path is None:
            continue
        if (sysroot / "lib" / "rustlib" / TARGET).is_dir():
            return RustCompiler(rustc, cargo_path, build_std=False)
        if (sysroot / "lib" / "rustlib" / "src" / "rust" / "library").is_dir():
            return RustCompiler(rustc, cargo_path, build_std=True)
    raise MissingToolError(
        f"no Rust compiler here can build {TARGET}: rustup's toolchains lack its standard "
        "library and cannot download it; install Debian's rustc-web, cargo-web, rust-web-src, "
        "lld-19 and wasi-libc (scripts/setup.py does) or a toolchain with that target"
    )


@functools.cache
def _identity(path: str) -> str:
    real = Path(path).resolve()
    st = real.stat()
    return f"{real}:{st.st_size}:{st.st_mtime_ns}"


def target_dir() -> Path:
    default = Path.home() / ".cache" / "wasmesh" / "cargo-target"
    return Path(os.environ.get("WASMESH_CARGO_TARGET_DIR", default))


class RustToolchain(Toolchain):
    """Builds components from a Rust crate (``Cargo.toml``, ``cdylib``) with cargo."""

    language = "rust"

    def tool_versions(self) -> Mapping[str, str]:
        versions = {"wasm-tools": embed.wasm_tools_version(), "adapter": wasi.jco_version()}
        for name in _CANDIDATES:
            found = which(name)
            versions[name] = _identity(found) if found else "absent"
        return versions

    def inputs(
        self, source_dir: Path, wit_dir: Path | None, options: Mapping[str, object]
    ) -> dict[str, Path]:
        roots = super().inputs(source_dir, wit_dir, options)
        roots["adapter"] = wasi.adapter_path("reactor")
        return roots

    def compile(self, job: BuildJob) -> None:
        compiler = find_compiler()
        manifest = job.source_dir / "Cargo.toml"
        if not manifest.is_file():
            raise BuildError(f"component {job.name!r} has no Cargo.toml in {job.source_dir}")
        if job.wit_dir is None:
            raise BuildError(f"Rust component {job.name!r} needs a wit directory")
        try:
            package = tomllib.loads(manifest.read_text())["package"]["name"]
        except (tomllib.TOMLDecodeError, KeyError) as e:
            raise BuildError(f"{manifest} has no [package] name ({e}); fix it") from None
        src = job.scratch / "src"
        shutil.copytree(job.source_dir, src, ignore=shutil.ignore_patterns(".*", "target", "wit"))
        wit = wasi.prepare_wit(job.wit_dir, job.scratch / "bind")
        shutil.copytree(wit, src / "wit", symlinks=False)
        argv: list[str | Path] = [compiler.cargo, "build", "--release", "--target", TARGET]
        env = {"RUSTC": compiler.rustc, "CARGO_TARGET_DIR": str(target_dir())}
        if compiler.build_std:
            linker = find_tool(_LINKERS[0], "linking Rust components", *_LINKERS[1:])
            argv.append("-Zbuild-std=std,panic_abort")
            env |= {
                "RUSTC_BOOTSTRAP": "1",
                "CARGO_TARGET_WASM32_WASIP1_LINKER": linker,
                "RUSTFLAGS": f"-C link-self-contained=no -L native={_WASI_LIBC}",
            }
        job.run(argv, "cargo build", cwd=src, env=env, expect="~60 s")
        core = target_dir() / TARGET / "release" / f"{package.replace('-', '_')}.wasm"
        adapter = wasi.adapter_path("reactor")
        job.run(
            [embed.wasm_tools(), "component", "new", core, "-o", job.out,
             "--adapt", f"wasi_snapshot_preview1={adapter}"],
            "creating the component",
        )  # fmt: skip
