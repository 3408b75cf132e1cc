"""Options shared by commands that run components: grants and limits."""

from __future__ import annotations

import math
import re
from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer

from wasmesh.errors import WasmeshError
from wasmesh.policy import ConfigValue, DirGrant, Grants, Limits, Policy, PolicyError, parse_size

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
Config = Annotated[
    list[str] | None,
    typer.Option("--config", metavar="KEY=VALUE", help="Grant a wasi:config/store key."),
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
    *,
    config: list[str] | None = None,
) -> Policy:
    """The policy the grant and limit flags describe."""
    grants = grants_from(env, env_inherit, dirs, stdin, network)
    if config:
        grants = replace(grants, config=tuple(_config(spec) for spec in config))
    return Policy(grants, limits_from(memory_limit, timeout, fuel))


def _config(spec: str) -> ConfigValue:
    """`KEY=VALUE` as given to `--config`: a literal value (no variables outside an app)."""
    key, sep, value = spec.partition("=")
    if not sep or not key:
        raise PolicyError(f"--config `{spec}` is not KEY=VALUE; e.g. `--config greeting=hi`.")
    return ConfigValue.literal(key, value)


def limits_from(memory_limit: str | None, timeout: float | None, fuel: int | None) -> Limits:
    return Limits(
        memory_bytes=parse_size(memory_limit) if memory_limit else None,
        timeout=timeout,
        fuel=fuel,
    )


DURATION_HELP = "seconds, or with a unit: 500ms, 10s, 1m, 1h"
MAX_DURATION_S = 7 * 24 * 3600.0
"""The longest duration a command option takes (a week): longer is surely a typo."""
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
_DURATION = re.compile(r"([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:e[+-]?\d+)?)\s*(ms|s|m|h)?")


def parse_duration(option: str, text: str) -> float:
    """Seconds from `text` as given to `option`: plain seconds (`2.5`) or a number with a unit,
    `ms`, `s`, `m` or `h` (`500ms`, `10s`, `1m`), as `wasmtime serve --idle-instance-timeout`
    takes them. Above zero and at most `MAX_DURATION_S`; `WasmeshError` (one sentence naming
    `option`) otherwise, including for `inf` and `nan`."""
    found = _DURATION.fullmatch(text.strip().lower())
    if found is None:
        raise WasmeshError(f"{option} `{text}` is not a duration; give seconds or a number "
                           "with a unit, e.g. `30`, `500ms`, `10s`, `1m` or `1h`.")  # fmt: skip
    seconds = float(found.group(1)) * _UNITS[found.group(2) or "s"]
    if not math.isfinite(seconds) or seconds <= 0 or seconds > MAX_DURATION_S:
        raise WasmeshError(f"{option} `{text}` is out of range; it must be a positive duration "
                           "of at most a week (168h).")  # fmt: skip
    return seconds


def duration(option: str, text: str | None) -> float | None:
    """`parse_duration` for an optional option (None when not given)."""
    return None if text is None else parse_duration(option, text)
