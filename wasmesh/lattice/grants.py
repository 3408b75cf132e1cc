"""A unit's grants and limits in the desired state, as JSON, so that the host running the unit
applies exactly what the manifest grants (see `wasmesh.compose.grants`).

Inherited variables (`env_inherit`) travel as names: each host reads them from its own
environment. Directory grants name paths on the host that runs the unit.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from wasmesh.compose.grants import Grants
from wasmesh.runtime.grants import DirGrant


def grants_to_json(grants: Grants) -> dict[str, Any]:
    """`grants` as a JSON-ready dict (the `UnitSpec.grants` field)."""
    return {
        "env": [list(pair) for pair in grants.env],
        "env_inherit": list(grants.env_inherit),
        "dirs": [[str(d.host), d.guest, d.writable] for d in grants.dirs],
        "stdin": grants.stdin,
        "network": grants.network,
        "outbound": list(grants.outbound),
        "memory_limit": grants.memory_limit,
        "timeout": grants.timeout,
        "fuel": grants.fuel,
    }


def grants_from_json(body: dict[str, Any]) -> Grants:
    """The `Grants` a `grants_to_json` dict describes; missing keys grant nothing."""
    return Grants(
        env=tuple((str(k), str(v)) for k, v in body.get("env", ())),
        env_inherit=tuple(body.get("env_inherit", ())),
        dirs=tuple(DirGrant(Path(h), str(g), bool(w)) for h, g, w in body.get("dirs", ())),
        stdin=bool(body.get("stdin", False)),
        network=bool(body.get("network", False)),
        outbound=tuple(body.get("outbound", ())),
        memory_limit=body.get("memory_limit"),
        timeout=body.get("timeout"),
        fuel=body.get("fuel"),
    )
