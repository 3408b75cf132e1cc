"""Reading a component's grants and limits from its `[components.NAME]` table.

The result is the one `wasmesh.policy.Policy`. The unit plan decides which policy the host
serves a unit and which members get an isolation adapter instead (`wasmesh.compose.isolation`).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from wasmesh.compose._positions import Path_
from wasmesh.compose._reader import Reader
from wasmesh.compose.messaging import read_grant as read_messaging
from wasmesh.compose.variables import Variable, read_config
from wasmesh.policy import DirGrant, Grants, Limits, Policy
from wasmesh.sizes import parse_size

GRANT_KEYS = (
    "env", "env-inherit", "dirs", "stdin", "network", "outbound",
    "memory-limit", "timeout", "fuel", "messaging", "config",
)  # fmt: skip


def read_policy(
    reader: Reader, where: Path_, body: dict[str, Any], root: Path,
    variables: tuple[Variable, ...] = (),
) -> Policy:
    """The grants and limits of the component table `body` at `where`; dirs relative to `root`;
    `config` placeholders name `variables`."""
    env = reader.typed(body.get("env", {}), (*where, "env"), dict, "a table of strings")
    for key, value in env.items():
        reader.typed(value, (*where, "env", key), str, "a string")
    dirs: list[DirGrant] = []
    for spec in reader.strings(body.get("dirs", []), (*where, "dirs")):
        parts = spec.split(":")
        if len(parts) not in (2, 3) or (len(parts) == 3 and parts[2] not in ("ro", "rw")):
            raise reader.fail(
                (*where, "dirs"),
                f'dir grant `{spec}` must be "host:guest" or "host:guest:ro"/"host:guest:rw"',
            )
        writable = not (len(parts) == 3 and parts[2] == "ro")
        dirs.append(DirGrant((root / parts[0]).resolve(), parts[1], writable))
    memory = body.get("memory-limit")
    if memory is not None:
        reader.typed(memory, (*where, "memory-limit"), (str, int), 'a size like "64MiB"')
        try:
            memory = parse_size(memory)
        except ValueError as exc:
            raise reader.fail((*where, "memory-limit"), str(exc)) from None
    timeout = body.get("timeout")
    if timeout is not None:
        timeout = float(reader.typed(timeout, (*where, "timeout"), (int, float), "seconds"))
        if timeout <= 0:
            raise reader.fail((*where, "timeout"), "`timeout` must be a positive number of seconds")
    fuel = body.get("fuel")
    if fuel is not None:
        reader.typed(fuel, (*where, "fuel"), int, "an integer")
    outbound = reader.strings(body.get("outbound", []), (*where, "outbound"))
    for url in outbound:
        if not re.match(r"^[a-z][a-z0-9+.-]*://[^/]+", url):
            raise reader.fail(
                (*where, "outbound"),
                f"outbound rule `{url}` must be scheme://host[:port], like https://*.example.com:443",
            )
    grants = Grants(
        env=tuple(sorted(env.items())),
        env_inherit=reader.strings(body.get("env-inherit", []), (*where, "env-inherit")),
        dirs=tuple(dirs),
        stdin=reader.typed(body.get("stdin", False), (*where, "stdin"), bool, "true or false"),
        network=reader.typed(
            body.get("network", False), (*where, "network"), bool, "true or false"
        ),
        outbound=outbound,
        messaging=read_messaging(reader, (*where, "messaging"), body.get("messaging", [])),
        config=read_config(reader, where, body.get("config", {}), variables),
    )
    if fuel is not None and fuel <= 0:
        raise reader.fail((*where, "fuel"), "`fuel` must be a positive integer")
    return Policy(grants, Limits(memory_bytes=memory, timeout=timeout, fuel=fuel))

