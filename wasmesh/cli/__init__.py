"""The `wasmesh` command."""

from __future__ import annotations

import sys

import typer

from wasmesh.cli.output import fail
from wasmesh.errors import GuestError, WasmeshError

app = typer.Typer(
    name="wasmesh",
    help=(
        "Build systems out of WebAssembly components: inspect and call components, compose "
        "polyglot apps by their WIT contracts, serve them over HTTP, and run them in one "
        "process or spread over a NATS lattice."
    ),
    no_args_is_help=True,
    add_completion=True,  # --install-completion / --show-completion (bash, zsh, fish)
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _print_version(value: bool) -> None:
    if value:
        from wasmesh.cli.version import version_text

        sys.stdout.write(version_text())
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False,
        "--version",
        is_eager=True,
        callback=_print_version,
        help="Print the versions of wasmesh, wasmtime-py and the pinned toolchain, then exit.",
    ),
) -> None:
    """wasmesh: compose WebAssembly components by WIT contract; run them anywhere."""


def _register() -> None:
    from wasmesh.cli import (
        build,
        cache,
        component,
        dashboard,
        graph,
        lattice,
        plan,
        registry,
        serve,
    )

    component.register(app)
    build.register(app)
    graph.register(app)
    plan.register(app)
    lattice.register(app)
    registry.register(app)
    serve.register(app)
    cache.register(app)
    dashboard.register(app)


def main() -> None:
    """Entry point: user errors exit 2, guest failures exit 1, never a Python traceback."""
    _register()
    try:
        app()
    except (WasmeshError, GuestError) as e:
        sys.exit(fail(e))
    except KeyboardInterrupt:
        sys.exit(130)
