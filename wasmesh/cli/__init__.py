"""The `wasmesh` command."""

from __future__ import annotations

import functools
import sys

import click
import typer

from wasmesh.cli.output import fail, usage_error
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


@functools.cache
def _register() -> None:
    """Add every command to `app`, once per process (`main()` may run many times in one:
    registering again would add every command again, and each run would take longer)."""
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
        # click's own errors come back to be said once; help and errors name `wasmesh`
        code = app(standalone_mode=False, prog_name="wasmesh")
    except (WasmeshError, GuestError) as e:
        sys.exit(fail(e))
    except click.ClickException as e:  # a mistyped option, a missing argument
        sys.exit(usage_error(e, _command_path(sys.argv[1:])))
    except (KeyboardInterrupt, click.Abort):
        sys.exit(130)
    sys.exit(code if isinstance(code, int) else 0)


def _command_path(argv: list[str]) -> str:
    """The command `argv` names (`wasmesh serve`), for an error click raised before it made
    that command's context."""
    command: click.Command = typer.main.get_command(app)
    words = ["wasmesh"]
    for word in argv:
        sub = command.commands.get(word) if isinstance(command, click.Group) else None
        if sub is None:
            break
        words.append(word)
        command = sub
    return " ".join(words)
