"""What a host says about its NATS connection: outages, reconnects and errors, each said
rarely, and the permission violations the server reported (for the role check).

nats-py calls `disconnected`, `reconnected` and `error` (its `disconnected_cb`,
`reconnected_cb` and `error_cb`); it reports every failed reconnect attempt as an error, so
each distinct error is logged at most every `ERROR_REPEAT_S`. A deliberate close (the host
leaving) is not an outage and is not reported.
"""

from __future__ import annotations

import logging
import time

from wasmesh.lattice.roles import is_violation

log = logging.getLogger("wasmesh.lattice.host")

ERROR_REPEAT_S = 10.0  # the same NATS error is logged at most this often


class HostLink:
    """The connection callbacks of host `host_id`."""

    def __init__(self, host_id: str) -> None:
        self.host_id = host_id
        self.denied: list[str] = []  # permission violations the server reported, in order
        self.joined = False  # connected, role checked, buckets open: errors are ours to say
        self.closing = False  # a deliberate close is not a lost connection
        self._errors_seen: dict[str, float] = {}

    async def disconnected(self) -> None:
        if self.joined and not self.closing:  # a failed first attempt is not an outage
            log.warning("host %s lost its NATS connection; reconnecting", self.host_id)

    async def reconnected(self) -> None:
        log.warning("host %s reconnected to NATS", self.host_id)

    async def error(self, exc: Exception) -> None:
        if is_violation(exc):
            self.denied.append(str(exc))
        if not self.joined:
            return  # still connecting or checking the role: `Host.start` reports that
        text, now = str(exc) or type(exc).__name__, time.monotonic()
        if now - self._errors_seen.get(text, -ERROR_REPEAT_S) >= ERROR_REPEAT_S:
            self._errors_seen[text] = now
            log.warning("host %s: NATS error: %s", self.host_id, text)
