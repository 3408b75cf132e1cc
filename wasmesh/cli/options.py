"""Options shared by commands that run components: grants and limits."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from wasmesh.policy import DirGrant, Grants, Limits, Policy, parse_size

Env = Annotated[
    list[str] | None,
    typer.Option("--env", metavar="KEY=VALUE", help="Grant an environment variable."),
]
EnvInherit = Annotated[
    list[str] | None,
    typer.Option("--env-inherit", metavar="KEY", help="Grant a variable from this environment."),
]
Dirs = Annotated[
    list[str] | None,
    typer.Option(
        "--dir", metavar="HOST[:GUEST][:ro]", help="Grant a host directory (read-only with :ro)."
    ),
]
Stdin = Annotated[bool, typer.Option("--stdin", help="Grant reading this process's stdin.")]
Network = Annotated[
    bool, typer.Option("--allow-network", help="Grant TCP/UDP sockets and name lookup.")
]
MemoryLimit = Annotated[
    str | None,
    typer.Option("--memory-limit", metavar="SIZE", help="Cap guest memory: 64MiB, 1G or bytes."),
]
Timeout = Annotated[
    float | None,
    typer.Option("--timeout", metavar="SECONDS", help="Stop the guest after this long."),
]
VariablesFile = Annotated[
    Path | None,
    typer.Option(
        "--variables-file",
        metavar="FILE",
        help="App variables in dotenv form (name=value); override WASMESH_VAR_<NAME>.",
    ),
]
Fuel = Annotated[
    int | None,
    typer.Option("--fuel", metavar="N", help="Stop the guest after N units of fuel (≈ wasm ops)."),
]


def grants_from(
    env: list[str] | None,
    env_inherit: list[str] | None,
    dirs: list[str] | None,
    stdin: bool,
    network: bool,
) -> Grants:
    return Grants(
        env=tuple(Grants.parse_env(e) for e in env or ()),
        env_inherit=tuple(env_inherit or ()),
        dirs=tuple(DirGrant.parse(d) for d in dirs or ()),
        stdin=stdin,
        network=network,
    )


def policy_from(
    env: list[str] | None,
    env_inherit: list[str] | None,
    dirs: list[str] | None,
    stdin: bool,
    network: bool,
    memory_limit: str | None,
    timeout: float | None,
    fuel: int | None,
) -> Policy:
    """The policy the grant and limit flags describe."""
    return Policy(
        grants_from(env, env_inherit, dirs, stdin, network),
        limits_from(memory_limit, timeout, fuel),
    )


def limits_from(memory_limit: str | None, timeout: float | None, fuel: int | None) -> Limits:
    return Limits(
        memory_bytes=parse_size(memory_limit) if memory_limit else None,
        timeout=timeout,
        fuel=fuel,
    )
