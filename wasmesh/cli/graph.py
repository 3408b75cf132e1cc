"""`wasmesh graph`: how an application's components are wired and grouped into units."""

from __future__ import annotations

import io
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from wasmesh.cli.output import out_console
from wasmesh.errors import WasmeshError

FORMATS = ("tree", "dot", "svg")
_UNCUT = 4096  # columns: wider than any line a wiring tree has


def graph(
    manifest: Annotated[
        Path, typer.Argument(help="wasmesh.toml, or the directory holding it.")
    ] = Path("."),
    format: Annotated[
        str, typer.Option("--format", "-f", help="tree (terminal), dot (Graphviz) or svg.")
    ] = "tree",
    strategy: Annotated[
        str | None,
        typer.Option(
            "--topology",
            "--strategy",
            metavar="monolith|per-component",
            help="Plan with this topology instead of the manifest's [deploy].",
        ),
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to this file.")
    ] = None,
) -> None:
    """Show the wiring: each import's provider, units outlined, each component's grants and
    triggers. Builds components if needed."""
    from wasmesh.compose import plan_app, render_dot, render_svg, render_tree

    if format not in FORMATS:
        raise WasmeshError(f"unknown format `{format}`; use tree, dot or svg")
    if output is not None and not output.parent.is_dir():
        raise WasmeshError(f"cannot write {output}: no directory {output.parent}; create it first")
    plan = plan_app(manifest, strategy=strategy, resolve_variables=False)
    name = plan.manifest.name
    if format == "tree":
        tree = render_tree(name, plan.graph, plan.plans, plan.manifest)
        if output is None and out_console.is_terminal:
            out_console.print(tree)
            return
        # Piped or written to a file: plain text, lines never cut at a terminal width.
        text = _plain(tree, Console(file=io.StringIO(), color_system=None, width=_UNCUT))
    else:
        text = render_dot(name, plan.graph, plan.plans, plan.manifest)
        if format == "svg":
            text = render_svg(text)
    if output is None:
        sys.stdout.write(text)
        return
    try:
        output.write_text(text)
    except OSError as exc:
        raise WasmeshError(f"cannot write {output} ({exc.strerror}); choose another path") from None


def _plain(renderable: object, console: Console) -> str:
    with console.capture() as capture:
        console.print(renderable)
    return capture.get()


def register(app: typer.Typer) -> None:
    app.command()(graph)

