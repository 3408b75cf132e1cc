"""The scheduler: one active per lattice, elected through a lease key in KV.

Every host runs a candidate. The holder of the `lease` key renews it every `LEASE_RENEW_S`
with a compare-and-set on its revision; a candidate that sees the revision unchanged for
`LEASE_TTL_S` takes it over with the same compare-and-set, so exactly one wins. The active
scheduler places every app's units on live hosts (those heard from within `HOST_TIMEOUT_S`)
and writes each host's assignment, which hosts follow.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import Counter
from dataclasses import replace

from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.js.errors import KeyNotFoundError, NoKeysError

from wasmesh.lattice import schema
from wasmesh.lattice.placement import assignments, place, retiring, runs
from wasmesh.lattice.schema import DesiredState, Heartbeat, Placement, UnitSpec
from wasmesh.lattice.store import (
    LatticeStore,
    delete_if_present,
    delete_key,
    get_value,
    read_index,
)
from wasmesh.lattice.wakeup import Wakeup

log = logging.getLogger("wasmesh.lattice.scheduler")

HEARTBEAT_S = 0.25  # hosts beat this often
RECONCILE_S = 0.2  # hosts re-read their assignment this often
HOST_TIMEOUT_S = 1.5  # a host not heard from for this long is dead
LEASE_TTL_S = 2.0  # an unrenewed lease is taken over after this long
LEASE_RENEW_S = 0.5
TICK_S = 0.25  # the active scheduler re-places this often
UNIT_START_S = 2.0  # allowance for a host to fetch, load and subscribe a small unit
FORGET_HOST_S = 30.0  # a dead host's assignment and inventory are deleted after this long

# After a host dies, calls to a unit it alone ran succeed again within this bound: the dead
# host is noticed (or, if it was the scheduler, the lease is taken over), the unit re-placed,
# and the new host follows its assignment and starts the unit.
FAILOVER_BOUND_S = (
    max(HOST_TIMEOUT_S, LEASE_TTL_S + LEASE_RENEW_S) + TICK_S + RECONCILE_S + UNIT_START_S
)


class Scheduler:
    """A scheduler candidate inside a host; active only while it holds the lease."""

    def __init__(self, nc: NATS, store: LatticeStore, host_id: str) -> None:
        self.nc = nc
        self.store = store
        self.host_id = host_id
        self._active_until = 0.0
        self.seen: dict[str, tuple[Heartbeat, float]] = {}
        self._lease_seen: tuple[int, float] = (0, 0.0)
        self._sub: Subscription | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False
        self._last_pass = 0.0
        self._wake = Wakeup()
        self._nudge: Subscription | None = None
        self._grace_until = 0.0

    @property
    def active(self) -> bool:
        """Whether this candidate holds the lease. It believes so for less than the lease's
        TTL after its last renewal, so it steps down before anyone may take the lease over."""
        return time.monotonic() < self._active_until

    def _set_active(self, held: bool) -> bool:
        self._active_until = time.monotonic() + 0.75 * LEASE_TTL_S if held else 0.0
        return held

    async def start(self) -> None:
        """Follow heartbeats and campaign for the lease."""
        self._sub = await self.nc.subscribe(self.store.subjects.heartbeat(), cb=self._on_beat)
        self._nudge = await self.nc.subscribe(self.store.subjects.changed, cb=self._on_change)
        now = time.monotonic()
        try:
            for host in await self.store.hosts.keys():
                data, _ = await get_value(self.store.hosts, host)
                if data:  # known but not yet heard: dead unless it beats within the timeout
                    self.seen[host] = (schema.loads(Heartbeat, data), now)
        except NoKeysError:
            pass
        self._tasks = [asyncio.create_task(self._lease_loop()), asyncio.create_task(self._loop())]

    async def stop(self) -> None:
        """Stop; an active scheduler hands the lease over at once."""
        self._stopping = True
        for task in self._tasks:
            task.cancel()
        if self._tasks:  # bounded: a loop that swallowed its cancellation must not hang stop
            await asyncio.wait(self._tasks, timeout=5)
        for sub in (self._sub, self._nudge):
            if sub is not None:
                with contextlib.suppress(Exception):
                    await sub.unsubscribe()
        if self.active:  # hand over at once rather than after the lease's TTL
            with contextlib.suppress(Exception):
                await delete_key(self.store.scheduler, "lease")
            self._set_active(False)

    async def _on_change(self, msg: Msg) -> None:
        self._wake.set()

    async def _on_beat(self, msg: Msg) -> None:
        try:
            beat = schema.loads(Heartbeat, msg.data)
        except Exception:
            return
        now = time.monotonic()
        if beat.leaving:
            self.seen.pop(beat.host, None)
            return
        before = self.seen.get(beat.host)
        if beat.host == self.host_id and before and now - before[1] > HOST_TIMEOUT_S:
            # our own beats stopped coming back: we were cut off from NATS, not the others
            self._grace_until = now + HOST_TIMEOUT_S
        self.seen[beat.host] = (beat, now)

    def live_hosts(self, stalled: float = 0.0) -> dict[str, Heartbeat]:
        """Hosts heard from within the timeout, stretched by `stalled`: when this scheduler
        itself was held up, the heartbeats it has not processed yet are not the hosts' fault."""
        now = time.monotonic()
        own = self.seen.get(self.host_id)
        if (own and now - own[1] > 2 * HEARTBEAT_S) or now < self._grace_until:
            return {h: hb for h, (hb, _) in self.seen.items()}  # blind: judge nobody dead
        limit = HOST_TIMEOUT_S + stalled
        return {h: hb for h, (hb, at) in self.seen.items() if now - at < limit}

    # -- the lease ----------------------------------------------------------------------------

    async def _lease_loop(self) -> None:
        while not self._stopping:  # a cancellation can be swallowed by a library
            try:
                await self.campaign()
            except Exception as exc:
                log.debug("lease campaign failed: %s", exc)
            await asyncio.sleep(LEASE_RENEW_S)

    async def campaign(self) -> bool:
        """Take, renew or observe the lease; returns whether this candidate is active."""
        kv = self.store.scheduler
        body = json.dumps({"holder": self.host_id}).encode()
        try:
            entry = await kv.get("lease")
        except KeyNotFoundError:  # also a deleted lease
            try:
                await kv.create("lease", body)
            except Exception:
                return self._set_active(False)
            return self._set_active(True)
        holder = json.loads(entry.value or b"{}").get("holder")
        revision = entry.revision or 0
        now = time.monotonic()
        if holder != self.host_id:
            self._set_active(False)
            if revision != self._lease_seen[0]:
                self._lease_seen = (revision, now)
                return False
            if now - self._lease_seen[1] < LEASE_TTL_S:
                return False
        try:  # renew ours, or take over a lease whose holder stopped renewing it
            await kv.update("lease", body, last=revision)
        except Exception:
            return self._set_active(False)
        if holder != self.host_id:
            log.info("took over the scheduler lease from %s", holder)
        return self._set_active(True)

    # -- placing -------------------------------------------------------------------------------

    async def _loop(self) -> None:
        while not self._stopping:  # a cancellation can be swallowed by a library
            await self._wake.wait(TICK_S)  # a nudge or the next tick
            if not self.active:
                continue
            try:
                await self.schedule()
            except Exception as exc:
                log.warning("scheduling failed: %s", exc)

    async def schedule(self) -> None:
        """One pass: place every app on the live hosts and write what changed."""
        now = time.monotonic()
        stalled = max(0.0, now - self._last_pass - 2 * TICK_S) if self._last_pass else 0.0
        self._last_pass = now
        hosts = self.live_hosts(stalled)
        index = await read_index(self.store)
        apps = sorted(index.deployed)
        placed: dict[str, tuple[DesiredState, Placement]] = {}
        load: Counter[str] = Counter()
        retired: dict[str, dict[str, list[UnitSpec]]] = {}
        for app in apps:
            data, _ = await get_value(self.store.apps, app)
            if not data:
                continue
            desired = schema.loads(DesiredState, data)
            prev_data, _ = await get_value(self.store.placements, f"app.{app}")
            previous = schema.loads(Placement, prev_data) if prev_data else None
            placement = place(desired, hosts, previous, load)
            was_live = previous.live if previous else 0
            live = desired.version if runs(desired, placement, hosts) else was_live
            placement = replace(placement, live=live)
            placed[app] = (desired, placement)
            if was_live not in (0, desired.version):  # kept one pass more once the new runs
                serving = await self._version(app, was_live)
                if serving is not None:
                    retired[app] = retiring(serving, desired, hosts)
            if placement != previous:
                log.info("%s v%d placed: %s", app, placement.version, placement.units)
                await self.store.placements.put(f"app.{app}", schema.dumps(placement))
                await self.store.status.put(app, schema.dumps(placement))
        await self._drop_stale(set(index.latest) - set(placed))
        written = False
        for host, assignment in assignments(placed, hosts, retired).items():
            key = f"host.{host}"
            body = schema.dumps(assignment)
            current, _ = await get_value(self.store.placements, key)
            if current != body:
                await self.store.placements.put(key, body)
                written = True
        if written:
            await self.nc.publish(self.store.subjects.assigned, b"")

    async def _version(self, app: str, version: int) -> DesiredState | None:
        """Version `version` of the app's desired state, from its history."""
        data, _ = await get_value(self.store.history, f"{app}.{version}")
        return schema.loads(DesiredState, data) if data else None

    async def _drop_stale(self, undeployed: set[str]) -> None:
        """Forget placements of undeployed apps, and hosts dead for `FORGET_HOST_S`.

        A host presumed dead keeps its assignment meanwhile: if it was only slow, it goes on
        serving until the units moved elsewhere run, instead of leaving a gap.
        """
        for app in undeployed:
            await delete_if_present(self.store.placements, f"app.{app}")
            await delete_if_present(self.store.status, app)
        now = time.monotonic()
        gone = {h for h, (_, at) in self.seen.items() if now - at > FORGET_HOST_S}
        if not gone:
            return
        index = await read_index(self.store)
        for host in gone:
            del self.seen[host]
            await delete_key(self.store.hosts, host)
            await delete_if_present(self.store.placements, f"host.{host}")
            for app in index.latest:
                await delete_if_present(self.store.status, f"{app}.host.{host}")
