"""The host agent: runs the units the scheduler places on it and serves calls to them.

`python -m wasmesh.lattice.host --nats URL --label zone=a` (or `wasmesh host`). A host
heartbeats its inventory, follows its assignment in KV, fetches unit artifacts by digest,
verifies and precompiles them, and serves each export interface of each unit on a queue group
subject (see `wasmesh.lattice.endpoint`). A new version of a unit is started (and instantiated
once) while the old one serves; then the unit's calls switch to it in one step and the old
version finishes its calls in flight before it stops. Every host is also a scheduler candidate.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import uuid
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Protocol

import nats
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg

from wasmesh import plugins
from wasmesh.lattice import schema
from wasmesh.lattice.endpoint import Endpoint, Version
from wasmesh.lattice.ingress import Ingress
from wasmesh.lattice.scheduler import HEARTBEAT_S, RECONCILE_S, Scheduler
from wasmesh.lattice.schema import Subjects, UnitSpec
from wasmesh.lattice.store import (
    LatticeStore,
    cached_artifact,
    default_cache_dir,
    delete_key,
    get_value,
    open_store,
)
from wasmesh.lattice.stub import RemoteImports
from wasmesh.lattice.unit import ComponentUnit, UnitLoader
from wasmesh.lattice.wakeup import Wakeup

log = logging.getLogger("wasmesh.lattice.host")

RETRY_FAILED_S = 5.0  # a unit that failed to start is retried after this long


class LatticeTrigger(Protocol):
    """The lattice-host side of a trigger (`wasmesh.plugins.TriggerEntry.lattice`), made
    with the host and its settings (`{"http": "HOST:PORT" or None}`)."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def units_changed(self) -> None: ...


class Host:
    """One host agent; `await start()`, then `await stop()` (or `run()` until cancelled)."""

    def __init__(
        self,
        nats_url: str,
        lattice: str = "default",
        labels: Mapping[str, str] | None = None,
        host_id: str | None = None,
        capacity: int = 64,
        cache_dir: Path | None = None,
        loader: UnitLoader = ComponentUnit,
        workers: int = 8,
        http: str | None = None,
    ) -> None:
        self.nats_url = nats_url
        self.subjects = Subjects(lattice)
        self.labels = dict(labels or {})
        self.host_id = schema.check_name("host", host_id or f"h{uuid.uuid4().hex[:10]}")
        self.capacity = capacity
        self.cache_dir = cache_dir or default_cache_dir()
        self.loader = loader
        self.endpoints: dict[tuple[str, str], Endpoint] = {}  # (app, unit) -> its endpoint
        self.failed: dict[tuple[str, str], tuple[str, str, float]] = {}  # -> (digest, error, at)
        self.workers = workers  # threads per unit; wasm runs with the GIL released
        self._pool = ThreadPoolExecutor(2, thread_name_prefix=f"wasmesh-{self.host_id}-load")
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False
        self._assignment_rev = -1
        self._wake = Wakeup()
        self._seq = 0
        self._nc: NATS | None = None
        self._store: LatticeStore | None = None
        self.scheduler: Scheduler | None = None
        # The lattice side of every registered trigger (HTTP: units with routes serve
        # forwarded requests; with `http`, the host listens too).
        settings = {"http": http}
        self.triggers: list[LatticeTrigger] = [
            plugins.load_factory(t.lattice)(self, settings)
            for t in plugins.TRIGGERS
            if t.lattice is not None
        ]

    @property
    def ingress(self) -> Ingress:
        """The HTTP trigger's side of this host."""
        return next(t for t in self.triggers if isinstance(t, Ingress))

    @property
    def served(self) -> dict[tuple[str, str], Version]:
        """(app, unit) -> the version of it this host serves."""
        return {k: e.current for k, e in self.endpoints.items() if e.current is not None}

    @property
    def nc(self) -> NATS:
        assert self._nc is not None, "the host is not started"
        return self._nc

    @property
    def store(self) -> LatticeStore:
        assert self._store is not None, "the host is not started"
        return self._store

    async def start(self) -> None:
        """Connect, open the lattice's buckets and start heartbeats, scheduling and serving."""
        self._nc = await nats.connect(
            self.nats_url,
            max_reconnect_attempts=-1,
            reconnect_time_wait=0.2,
            name=self.host_id,
            disconnected_cb=self._on_disconnected,
            reconnected_cb=self._on_reconnected,
            error_cb=self._on_error,
        )
        self._store = await open_store(self.nc, self.subjects)
        await self.nc.subscribe(self.subjects.assigned, cb=self._on_assigned)
        self.scheduler = Scheduler(self.nc, self.store, self.host_id)
        await self.scheduler.start()
        for trigger in self.triggers:
            await trigger.start()
        await self._heartbeat()
        for loop in (self._heartbeat_loop, self._reconcile_loop):
            self._tasks.append(asyncio.create_task(loop()))

    async def stop(self) -> None:
        """Stop every unit (draining its calls), leave the lattice and disconnect."""
        self._stopping = True
        for task in self._tasks:
            task.cancel()
        if self._tasks:  # bounded: a loop that swallowed its cancellation must not hang stop
            await asyncio.wait(self._tasks, timeout=5)
        if self.scheduler is not None:
            await self.scheduler.stop()
        if self._nc is not None and self._nc.is_connected:
            with contextlib.suppress(Exception):  # the scheduler re-places our units at once
                await self._heartbeat(leaving=True)
        for trigger in self.triggers:
            with contextlib.suppress(Exception):
                await trigger.stop()
        for key in list(self.endpoints):
            await self.endpoints.pop(key).close()
        if self._nc is not None and self._nc.is_connected:
            if self._store is not None:
                with contextlib.suppress(Exception):
                    await delete_key(self._store.hosts, self.host_id)
            # units were drained one by one above; draining the connection would also wait on
            # KV watchers cut short by the cancellation, so close it instead
            with contextlib.suppress(Exception):
                await self._nc.flush(timeout=2)
        if self._nc is not None:
            await self._nc.close()
        self._pool.shutdown(wait=False, cancel_futures=True)

    async def run(self) -> None:
        """Start and serve until cancelled."""
        try:
            await self.start()
            await asyncio.Event().wait()
        finally:
            await self.stop()

    # -- heartbeats --------------------------------------------------------------------------

    def heartbeat(self) -> schema.Heartbeat:
        """This host's inventory: labels, free capacity, units running or failed."""
        units = [
            schema.RunningUnit(app, unit, s.spec.digest, "running")
            for (app, unit), s in self.served.items()
        ]
        units += [
            schema.RunningUnit(app, unit, digest, "failed")
            for (app, unit), (digest, _, _) in self.failed.items()
        ]
        return schema.Heartbeat(
            host=self.host_id,
            labels=self.labels,
            capacity=max(0, self.capacity - len(self.served)),
            units=tuple(units),
            seq=self._seq,
        )

    async def _heartbeat(self, leaving: bool = False) -> None:
        self._seq += 1
        body = schema.dumps(replace(self.heartbeat(), leaving=leaving))
        await self.nc.publish(self.subjects.heartbeat(self.host_id), body)
        await self.store.hosts.put(self.host_id, body)

    async def _heartbeat_loop(self) -> None:
        while not self._stopping:  # a cancellation can be swallowed by a library
            await asyncio.sleep(HEARTBEAT_S)
            try:
                await self._heartbeat()
            except Exception as exc:  # disconnected: nats-py reconnects, we keep beating
                log.debug("heartbeat failed: %s", exc)

    # -- following the assignment ------------------------------------------------------------

    async def _on_disconnected(self) -> None:
        log.warning("host %s lost its NATS connection; reconnecting", self.host_id)

    async def _on_reconnected(self) -> None:
        log.warning("host %s reconnected to NATS", self.host_id)

    async def _on_error(self, exc: Exception) -> None:
        log.warning("host %s: NATS error: %s", self.host_id, exc)

    async def _on_assigned(self, msg: Msg) -> None:
        self._wake.set()

    async def _reconcile_loop(self) -> None:
        while not self._stopping:  # a cancellation can be swallowed by a library
            try:
                await self.reconcile()
            except Exception as exc:
                log.warning("reconcile failed: %s", exc)
            await self._wake.wait(RECONCILE_S)  # a nudge or the next poll

    async def reconcile(self, force: bool = False) -> None:
        """Make what this host runs match its assignment in KV."""
        data, rev = await get_value(self.store.placements, f"host.{self.host_id}")
        retry = any(now - at > RETRY_FAILED_S for now, at in self._failed_ages())
        if rev == self._assignment_rev and not force and not retry:
            return
        wanted: dict[tuple[str, str], UnitSpec] = {}
        if data:
            assignment = schema.loads(schema.HostAssignment, data)
            for app, specs in assignment.apps.items():
                for spec in specs:
                    wanted[(app, spec.name)] = spec
        apps = {app for app, _ in wanted} | {app for app, _ in self.served}
        for key, spec in wanted.items():
            current = self.served.get(key)
            if current is None or _needs_restart(current.spec, spec):
                await self._roll(key[0], spec)
            else:
                current.spec = spec  # replicas or labels changed: nothing to restart here
        for key in [k for k in self.endpoints if k not in wanted]:
            await self.endpoints.pop(key).close()
        for key in [k for k in self.failed if k not in wanted]:
            del self.failed[key]
        for trigger in self.triggers:
            await trigger.units_changed()
        for app in apps:
            await self._report(app)
        self._assignment_rev = rev

    def _failed_ages(self) -> list[tuple[float, float]]:
        now = asyncio.get_running_loop().time()
        return [(now, at) for _, _, at in self.failed.values()]

    async def _roll(self, app: str, spec: UnitSpec) -> None:
        """Start `spec`, switch the unit's calls to it, then stop the version it replaces."""
        key = (app, spec.name)
        failed = self.failed.get(key)
        now = asyncio.get_running_loop().time()
        if failed and failed[0] == spec.digest and now - failed[2] < RETRY_FAILED_S:
            return
        try:
            new = await self._start_unit(app, spec)
        except Exception as exc:
            log.warning("unit %s/%s failed to start: %s", app, spec.name, exc)
            self.failed[key] = (spec.digest, str(exc), now)
            return
        self.failed.pop(key, None)
        endpoint = self.endpoints.get(key)
        if endpoint is None:
            endpoint = self.endpoints[key] = Endpoint(self.nc, self.subjects, app, spec.name)
        old = await endpoint.switch(new)  # from here every call to the unit reaches `new`
        log.info("serving %s/%s %s", app, spec.name, spec.digest[:12])
        if old is not None:
            await old.finish()
            log.info("retired %s/%s %s", app, spec.name, old.spec.digest[:12])

    async def _start_unit(self, app: str, spec: UnitSpec) -> Version:
        path = await cached_artifact(self.store, spec.digest, self.cache_dir)
        remote = RemoteImports(self.nc, asyncio.get_running_loop(), self.subjects, app)
        imports = {iface: remote.provider(*spec.target(iface)) for iface in spec.imports}
        loop = asyncio.get_running_loop()
        policy = spec.unit_policy()
        runner = await loop.run_in_executor(self._pool, self.loader, path, imports, policy)
        pool = ThreadPoolExecutor(self.workers, thread_name_prefix=f"wasmesh-{spec.name}")
        return Version(spec, runner, pool)

    async def _report(self, app: str) -> None:
        units = [
            schema.UnitStatus(unit, s.spec.digest, "running")
            for (a, unit), s in self.served.items()
            if a == app
        ]
        units += [
            schema.UnitStatus(unit, digest, "failed", error)
            for (a, unit), (digest, error, _) in self.failed.items()
            if a == app
        ]
        key = f"{app}.host.{self.host_id}"
        if units:
            doc = schema.HostAppStatus(app, self.host_id, tuple(units))
            await self.store.status.put(key, schema.dumps(doc))
        else:
            await delete_key(self.store.status, key)


def _needs_restart(old: UnitSpec, new: UnitSpec) -> bool:
    """A new artifact or new wiring needs a new instance; placement-only changes do not."""
    return (old.digest, old.imports, old.import_exports, old.policy, old.http) != (
        new.digest,
        new.imports,
        new.import_exports,
        new.policy,
        new.http,
    )


def main(argv: list[str] | None = None) -> None:
    """`python -m wasmesh.lattice.host --nats URL [--lattice NAME] [--label k=v] [--id ID]`."""
    import argparse

    parser = argparse.ArgumentParser(prog="wasmesh host")
    parser.add_argument("--nats", default="nats://127.0.0.1:4222")
    parser.add_argument("--lattice", default="default")
    parser.add_argument("--label", action="append", default=[])
    parser.add_argument("--id", default=None)
    parser.add_argument("--cache-dir", type=Path, default=None)
    parser.add_argument("--http", default=None, metavar="HOST:PORT")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=os.environ.get("WASMESH_LOG", "WARNING").upper(),
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
    )
    labels = dict(item.split("=", 1) for item in args.label)
    run_host(args.nats, args.lattice, labels, args.id, args.cache_dir, args.http)


def run_host(
    nats_url: str,
    lattice: str = "default",
    labels: Mapping[str, str] | None = None,
    host_id: str | None = None,
    cache_dir: Path | None = None,
    http: str | None = None,
) -> None:
    """Run a host agent in this process until interrupted (SIGINT/SIGTERM); with `http`
    (HOST:PORT) it also serves every deployed app's HTTP routes there."""
    import signal

    if http:
        from wasmesh.engine.config import tune_for_serving

        tune_for_serving()

    async def serve() -> None:
        host = Host(nats_url, lattice, labels, host_id, cache_dir=cache_dir, http=http)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):  # a signal while starting stops after it
            loop.add_signal_handler(sig, stop.set)
        try:
            await host.start()
            print(f"host {host.host_id} on {nats_url}", flush=True)
            if host.ingress.server is not None:
                print(f"Serving HTTP on {host.ingress.url}/", flush=True)
            await stop.wait()
        finally:
            await host.stop()

    asyncio.run(serve())


if __name__ == "__main__":
    main()
