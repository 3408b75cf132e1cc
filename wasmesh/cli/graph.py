"""`wasmesh graph`: how an application's components are wired and grouped into units."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from wasmesh.cli.output import out_console
from wasmesh.errors import WasmeshError

FORMATS = ("tree", "dot", "svg")


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
    """Show the wiring: each import's provider, units outlined. Builds components if needed."""
    from wasmesh.compose import plan_app, render_dot, render_svg, render_tree

    if format not in FORMATS:
        raise WasmeshError(f"unknown format `{format}`; use tree, dot or svg")
    plan = plan_app(manifest, strategy=strategy)
    name = plan.manifest.name
    if format == "tree":
        tree = render_tree(name, plan.graph, plan.plans)
        if output is None:
            out_console.print(tree)
            return
        with output.open("w") as f:
            from rich.console import Console

            Console(file=f, color_system=None, width=120).print(tree)
        return
    text = render_dot(name, plan.graph, plan.plans)
    if format == "svg":
        text = render_svg(text)
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text)


def register(app: typer.Typer) -> None:
    app.command()(graph)
