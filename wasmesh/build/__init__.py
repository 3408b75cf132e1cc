"""Building components from source: one toolchain per language behind one base class.

    from wasmesh.build import ComponentSpec, toolchain_for
    toolchain_for("c").build(src, out, "calc", src / "wit", options={"adapter": "reactor"})

Every build goes through the content-hash cache (`wasmesh.build.cache`): building again with
no change runs no tool and leaves the output untouched.
"""

from __future__ import annotations

from wasmesh.build.spec import TOOLCHAINS, ComponentSpec, load_guest, toolchain_for
from wasmesh.build.templates import LANGUAGES, scaffold
from wasmesh.build.toolchain import (
    BuildResult,
    MissingToolError,
    Toolchain,
    ToolchainFailure,
)

__all__ = [
    "LANGUAGES",
    "TOOLCHAINS",
    "BuildResult",
    "ComponentSpec",
    "MissingToolError",
    "Toolchain",
    "ToolchainFailure",
    "load_guest",
    "scaffold",
    "toolchain_for",
]
