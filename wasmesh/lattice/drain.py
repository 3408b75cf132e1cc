"""A stopping host hands its units over before it leaves their queue groups.

The host has told the scheduler it is leaving; the scheduler re-places its units. Until each
unit runs on another host (or the new placement shows no host can take it), this host keeps
serving it, so callers of a unit with one replica see no gap.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

from wasmesh.lattice import schema
from wasmesh.lattice.schema import HostAppStatus, Placement
from wasmesh.lattice.store import get_value

if TYPE_CHECKING:
    from wasmesh.lattice.host import Host

POLL_S = 0.05


async def handed_over(host: Host, deadline: float) -> bool:
    """Wait until every unit `host` serves runs elsewhere or cannot; False at `deadline`
    (`time.monotonic()` seconds)."""
    pending = set(host.served)
    while pending:
        for key in list(pending):
            if await _settled(host, *key):
                pending.discard(key)
        if not pending:
            break
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(POLL_S)
    return True


async def _settled(host: Host, app: str, unit: str) -> bool:
    """Whether (app, unit) runs on a host other than `host`, or the scheduler placed it
    without `host` on no host at all (nobody can take it: waiting would not help)."""
    data, _ = await get_value(host.store.placements, f"app.{app}")
    if not data:
        return True  # undeployed meanwhile
    placed = schema.loads(Placement, data).units.get(unit, [])
    if host.host_id in placed:
        return False  # the scheduler has not re-placed it yet
    others = [h for h in placed if h != host.host_id]
    if not others:
        return True
    served = host.served.get((app, unit))
    digest = served.spec.digest if served is not None else None
    for other in others:
        body, _ = await get_value(host.store.status, f"{app}.host.{other}")
        if not body:
            continue
        report = schema.loads(HostAppStatus, body)
        if any(u.unit == unit and u.state == "running" and u.digest == digest
               for u in report.units):  # fmt: skip
            return True
    return False
