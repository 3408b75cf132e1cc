"""`wasmesh inspect`, `invoke` and `run`: working with one component."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from wasmesh.cli import options as opt
from wasmesh.engine.loader import load_component
from wasmesh.runtime.command import run_command
from wasmesh.runtime.grants import RunConfig

ComponentPath = Annotated[Path, typer.Argument(metavar="COMPONENT", help="A .wasm component.")]


def run(
    component: ComponentPath,
    args: Annotated[
        list[str] | None, typer.Argument(metavar="[-- ARGS]", help="Arguments for the command.")
    ] = None,
    env: opt.Env = None,
    env_inherit: opt.EnvInherit = None,
    dirs: opt.Dirs = None,
    stdin: opt.Stdin = False,
    allow_network: opt.Network = False,
    memory_limit: opt.MemoryLimit = None,
    timeout: opt.Timeout = None,
    fuel: opt.Fuel = None,
) -> None:
    """Run a `wasi:cli/run` command component. Nothing is granted unless a flag says so.

    Example: wasmesh run app.wasm --env NAME=world --dir ./data:/data:ro -- --verbose
    """
    config = RunConfig(
        grants=opt.grants_from(env, env_inherit, dirs, stdin, allow_network),
        limits=opt.limits_from(memory_limit, timeout, fuel),
        argv=tuple(args or ()),
    )
    loaded = load_component(component, fuel=fuel is not None)
    status = run_command(loaded, config)
    if status:
        raise typer.Exit(status)


def register(app: typer.Typer) -> None:
    app.command(context_settings={"allow_interspersed_args": False})(run)
