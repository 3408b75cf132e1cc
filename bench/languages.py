"""Building the same component in every language: build time (cold and cached) and size.

Run: `.venv/bin/python bench/languages.py [LANG ...]`.

Each language's `wasmesh new` template (one export, `greet: func(name: string) -> string`) is
scaffolded into a fresh directory and built twice: cold (no wasmesh build cache; the tools'
own caches, such as Go's build cache or cargo's target directory, are left as they are) and
cached (nothing changed: no tool runs). The peer is C, measured in the same run.
"""

from __future__ import annotations

import sys
import tempfile
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# bench/http.py would shadow the standard library's `http` for everything imported below.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from wasmesh.build import LANGUAGES, ComponentSpec, scaffold  # noqa: E402
from wasmesh.errors import BuildError  # noqa: E402


def measure(lang: str, work: Path) -> tuple[float, float, int]:
    """(cold seconds, cached seconds, component bytes) for ``lang``'s template."""
    src = work / lang / "hello"
    table = tomllib.loads(scaffold("hello", lang, src))["components"]["hello"]
    options = dict(table.get("build", {}))
    if "adapter" in table:
        options["adapter"] = table["adapter"]
    spec = ComponentSpec("hello", lang, src, "hello", src / "wit", options)
    out = work / f"hello-{lang}.wasm"
    start = time.perf_counter()
    spec.build(out, quiet=True)
    cold = time.perf_counter() - start
    start = time.perf_counter()
    assert not spec.build(out, quiet=True).rebuilt
    cached = time.perf_counter() - start
    return cold, cached, out.stat().st_size


def main() -> None:
    langs = [a for a in sys.argv[1:] if not a.startswith("-")] or ["c", *LANGUAGES]
    langs = list(dict.fromkeys(langs))
    table = Table(title="the hello template built in each language (peer: C)")
    for col in ("language", "cold build", "cached build", "size", "size / C", "cold / C"):
        table.add_column(col)
    peer: tuple[float, float, int] | None = None
    with tempfile.TemporaryDirectory(prefix="wasmesh-bench-lang-") as tmp:
        for lang in langs:
            try:
                cold, cached, size = measure(lang, Path(tmp))
            except BuildError as e:
                table.add_row(lang, "-", "-", "-", "-", str(e).splitlines()[0][:60])
                continue
            peer = peer or (cold, cached, size)
            table.add_row(
                lang, f"{cold:.1f} s", f"{cached * 1000:.0f} ms", f"{size / 1024:,.0f} KiB",
                f"{size / peer[2]:.1f}x", f"{cold / peer[0]:.1f}x",
            )  # fmt: skip
    Console().print(table)


if __name__ == "__main__":
    main()
