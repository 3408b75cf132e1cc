"""Python toolchain: componentize-py.

Runs ``componentize-py -d WIT -w WORLD componentize APP -p SOURCE -o OUT``. The ``app`` option
names the Python module holding the exports (default ``app``, i.e. ``app.py``). WASI WIT
packages the world uses are supplied from jco's copy (see `wasmesh.build.wasi`).
"""

from __future__ import annotations

import functools
import importlib.metadata
from collections.abc import Mapping
from pathlib import Path

from wasmesh.build import wasi
from wasmesh.build.toolchain import BuildJob, Toolchain, find_tool
from wasmesh.errors import BuildError


@functools.cache
def _version() -> str:
    try:
        return importlib.metadata.version("componentize-py")
    except importlib.metadata.PackageNotFoundError:
        return "absent"


class PythonToolchain(Toolchain):
    """Builds components from Python sources with componentize-py."""

    language = "python"

    def tool_versions(self) -> Mapping[str, str]:
        return {"componentize-py": _version(), "wasi-wit": wasi.jco_version()}

    def compile(self, job: BuildJob) -> None:
        tool = find_tool("componentize-py", "building Python components")
        if job.wit_dir is None:
            raise BuildError(f"Python component {job.name!r} needs a wit directory")
        app = job.option_str("app", "app")
        if not (job.source_dir / f"{app}.py").is_file() and not (job.source_dir / app).is_dir():
            raise BuildError(
                f"Python component {job.name!r} has no module {app!r} in {job.source_dir}; "
                "add app.py or set the app option"
            )
        wit = wasi.prepare_wit(job.wit_dir, job.scratch)
        argv: list[str | Path] = [
            tool,
            "-q",
            "-d",
            wit,
            "-w",
            job.world,
            "componentize",
            app,
            "-p",
            job.source_dir,
            "-o",
            job.out,
        ]
        job.run(argv, "componentize-py", cwd=job.scratch, expect="~30 s")
