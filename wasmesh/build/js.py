"""JavaScript toolchain: componentize-js (StarlingMonkey).

Runs ``componentize-js --wit WIT --world-name WORLD --out OUT ENTRY``; the ``entry`` option
names the module (default ``app.js``). ``disable`` lists WASI features to leave out
(componentize-js' ``-d``: stdio, random, clocks, http, fetch-event). By default a world that
does not mention ``wasi:http`` leaves out ``http`` and ``fetch-event``: componentize-js would
otherwise import wasi:http for ``fetch`` in every component, and hosts without wasi:http
(wasmtime's ``add_wasip2``) could not instantiate it.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from pathlib import Path

from wasmesh.build import wasi
from wasmesh.build.toolchain import BuildJob, MissingToolError, Toolchain, find_tool
from wasmesh.errors import BuildError

_PURPOSE = "building JavaScript components"


@functools.cache
def _version(exe: str) -> str:
    for parent in Path(exe).resolve().parents:
        meta = parent / "package.json"
        if meta.is_file():
            return str(json.loads(meta.read_text()).get("version", "unknown"))
    return "unknown"


class JsToolchain(Toolchain):
    """Builds components from JavaScript sources with componentize-js."""

    language = "js"

    def tool_versions(self) -> Mapping[str, str]:
        try:
            exe = find_tool("componentize-js", _PURPOSE)
        except MissingToolError:
            return {"componentize-js": "absent"}
        return {"componentize-js": _version(exe), "wasi-wit": wasi.jco_version()}

    def settings(
        self, source_dir: Path, wit_dir: Path | None, options: Mapping[str, object]
    ) -> Mapping[str, object]:
        return {"disable": _disabled(wit_dir, options)}

    def compile(self, job: BuildJob) -> None:
        tool = find_tool("componentize-js", _PURPOSE)
        if job.wit_dir is None:
            raise BuildError(f"JavaScript component {job.name!r} needs a wit directory")
        entry = job.source_dir / job.option_str("entry", "app.js")
        if not entry.is_file():
            raise BuildError(
                f"JavaScript component {job.name!r} has no {entry.name} in {job.source_dir}; "
                "add it or set the entry option"
            )
        wit = wasi.prepare_wit(job.wit_dir, job.scratch)
        # The entry goes first: `-d` takes every following word as a feature name.
        argv: list[str | Path] = [tool, entry, "--wit", wit, "--world-name", job.world]
        argv += ["--out", job.out]
        for feature in _disabled(job.wit_dir, job.options):
            argv += ["-d", feature]
        job.run(argv, "componentize-js", cwd=job.source_dir, expect="~20 s")


def _disabled(wit_dir: Path | None, options: Mapping[str, object]) -> list[str]:
    given = options.get("disable")
    if isinstance(given, str):
        return [given]
    if isinstance(given, list | tuple):
        return [str(f) for f in given]
    uses_http = wit_dir is not None and any(
        "wasi:http" in w.read_text() for w in wit_dir.glob("*.wit")
    )
    return [] if uses_http else ["http", "fetch-event"]
