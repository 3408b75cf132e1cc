"""The host agent: runs the units the scheduler places on it and serves calls to them.

`python -m wasmesh.lattice.agent --nats URL --label zone=a` (or `wasmesh host`). A host
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
import socket
import time
import uuid
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Protocol

from nats.aio.client import Client as NATS
from nats.aio.msg import Msg

from wasmesh import plugins
from wasmesh.capabilities.keyvalue import nats as keyvalue_nats
from wasmesh.capabilities.messaging.nats import NatsBroker
from wasmesh.lattice import schema
from wasmesh.lattice.connection import NatsOptions, connect_retrying
from wasmesh.lattice.drain import handed_over
from wasmesh.lattice.endpoint import Endpoint, Version
from wasmesh.lattice.errors import LatticeError
from wasmesh.lattice.hostlink import HostLink
from wasmesh.lattice.ingress import Ingress
from wasmesh.lattice.roles import require_member, require_role
from wasmesh.lattice.scheduler import HEARTBEAT_S, RECONCILE_S, Scheduler
from wasmesh.lattice.schema import Subjects, UnitSpec
from wasmesh.lattice.signing import Verifier
from wasmesh.lattice.store import (
    LatticeStore,
    cached_artifact,
    default_cache_dir,
    delete_key,
    get_value,
    open_store,
)
from wasmesh.lattice.stub import RemoteImports, remote_timeout
from wasmesh.lattice.unit import ComponentUnit, UnitLoader
from wasmesh.lattice.wakeup import Wakeup
from wasmesh.observe.dashboard.stats import start_publishing
from wasmesh.triggers.http.instances import PoolSettings

log = logging.getLogger("wasmesh.lattice.host")

RETRY_FAILED_S = 5.0  # a unit that failed to start is retried after this long
DRAIN_TIMEOUT_S = 30.0  # stopping: hand-over and calls in flight get this long in all


class LatticeTrigger(Protocol):
    """The lattice-host side of a trigger (`wasmesh.plugins.TriggerEntry.lattice`), made
    with the host and its settings (`{"http": "HOST:PORT" or None}`)."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def units_changed(self) -> None: ...


class Host:
    """One host agent; `await start()`, then `await stop()` (or `run()` until cancelled).

    `nats` is a URL or `NatsOptions` (the host credential, TLS). `trust` is the public key
    whose signature every artifact must carry before it is compiled; without it the host
    starts only with `allow_unsigned` (artifacts are then checked by digest alone).
    `http_sock` is the listening socket of `http` when the parent process bound it and shares
    it with HTTP worker processes (`wasmesh.lattice.httpworker`).
    """

    def __init__(
        self,
        nats: str | NatsOptions,
        lattice: str = "default",
        labels: Mapping[str, str] | None = None,
        host_id: str | None = None,
        capacity: int = 64,
        cache_dir: Path | None = None,
        loader: UnitLoader = ComponentUnit,
        workers: int = 8,
        http: str | None = None,
        drain_timeout: float = DRAIN_TIMEOUT_S,
        connect_timeout: float | None = None,
        trust: Verifier | None = None,
        allow_unsigned: bool = False,
        http_reuse: PoolSettings | None = None,
        http_sock: socket.socket | None = None,
    ) -> None:
        require_trust(trust is not None, allow_unsigned)
        self.trust = trust  # None: artifacts are checked by digest only
        self.http_reuse = http_reuse  # how HTTP routes reuse instances (default: fresh each)
        self.http_sock = http_sock  # `http`'s socket, bound already and shared with workers
        self.options = NatsOptions.of(nats).check()
        self.nats_url = self.options.url
        self.drain_timeout = drain_timeout
        self.connect_timeout = connect_timeout  # None: retry an unreachable server forever
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
        self.link = HostLink(self.host_id)  # what it says about its NATS connection
        self._assignment_rev = -1
        self._wake = Wakeup()
        self._seq = 0
        self.admin_url = ""  # its admin listener, advertised in heartbeats
        self._nc: NATS | None = None
        self._store: LatticeStore | None = None
        self.scheduler: Scheduler | None = None
        self._broker: NatsBroker | None = None
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
    def broker(self) -> NatsBroker:
        """Components' messages on this host: NATS subjects under the lattice's prefix."""
        assert self._broker is not None, "the host is not started"
        return self._broker

    @property
    def store(self) -> LatticeStore:
        assert self._store is not None, "the host is not started"
        return self._store

    async def start(self) -> None:
        """Connect, open the lattice's buckets and start heartbeats, scheduling and serving."""
        self._nc = await connect_retrying(
            self.options,
            self.connect_timeout,
            lambda line: log.warning("host %s: %s", self.host_id, line),
            role="host",
            name=self.host_id,
            disconnected_cb=self.link.disconnected,
            reconnected_cb=self.link.reconnected,
            error_cb=self.link.error,
        )
        try:
            await self._join()
        except BaseException:  # a host that could not join leaves nothing open behind it
            await self.stop()
            raise

    async def _join(self) -> None:
        # the lattice and the role first, so a wrong credential is one sentence, at once
        await require_member(self.nc, self.subjects, self.link.denied, self.options.creds)
        await require_role(self.nc, self.subjects, "host", self.link.denied,
                           self.options.creds, "serve as a host")  # fmt: skip
        self._store = await open_store(self.nc, self.subjects)
        self.link.joined = True
        # units' wasi:keyvalue stores live in the lattice's bucket, reached on this connection
        keyvalue_nats.attach(self.nc, asyncio.get_running_loop(), self.subjects.key_value)
        self._broker = NatsBroker(self.nc, asyncio.get_running_loop(), self.subjects.messages,
                                  self.workers)  # fmt: skip
        await self.nc.subscribe(self.subjects.assigned, cb=self._on_assigned)
        self.scheduler = Scheduler(self.nc, self.store, self.host_id)
        await self.scheduler.start()
        for trigger in self.triggers:
            await trigger.start()
        await self._heartbeat()
        for loop in (self._heartbeat_loop, self._reconcile_loop):
            self._tasks.append(asyncio.create_task(loop()))
        self._tasks.append(start_publishing(self))  # live statistics for dashboards

    async def stop(self) -> None:
        """Drain and leave: stop following the assignment, tell the scheduler this host is
        leaving, keep serving until every unit runs on another host (or no host can take it),
        then leave the queue groups and finish the calls in flight; all within
        `drain_timeout` seconds. Then disconnect."""
        if self._stopping:
            return
        self._stopping = True
        # everything below shares the one bound; closing the connection keeps a sliver of it
        end = time.monotonic() + self.drain_timeout
        deadline = end - min(1.0, 0.1 * self.drain_timeout)

        def left(cap: float = float("inf")) -> float:
            return max(0.05, min(cap, deadline - time.monotonic()))

        for task in self._tasks:
            task.cancel()
        if self._tasks:  # bounded: a loop that swallowed its cancellation must not hang stop
            await asyncio.wait(self._tasks, timeout=left(5))
        connected = self._nc is not None and self._nc.is_connected
        if connected:
            with contextlib.suppress(Exception):  # the scheduler re-places our units at once
                await asyncio.wait_for(self._heartbeat(leaving=True), left())
            if self.served:
                with contextlib.suppress(Exception):
                    await handed_over(self, deadline)
        if self.scheduler is not None:
            with contextlib.suppress(Exception):  # a lease left behind expires by itself
                await asyncio.wait_for(self.scheduler.stop(), left())
        await self._close_units(deadline)
        if self._broker is not None:  # its handler threads: every delivery has finished
            close = asyncio.get_running_loop().run_in_executor(None, self._broker.close)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(close, left())
        closing = max(0.05, end - time.monotonic())
        if self._nc is not None and self._nc.is_connected:
            if self._store is not None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(delete_key(self._store.hosts, self.host_id),
                                           closing / 2)  # fmt: skip
            # units were drained above; draining the connection would also wait on KV
            # watchers cut short by the cancellation, so close it instead
            with contextlib.suppress(Exception):
                flush_s = max(0.05, min(2.0, end - time.monotonic()))
                await asyncio.wait_for(self._nc.flush(), flush_s)
        if self._nc is not None:
            keyvalue_nats.detach(self._nc)
            self.link.closing = True
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._nc.close(), max(0.05, end - time.monotonic()))
        self._pool.shutdown(wait=False, cancel_futures=True)

    async def _close_units(self, deadline: float) -> None:
        """Leave every unit's queue groups and finish its calls, all at once, by `deadline`."""
        closing = [trigger.stop() for trigger in self.triggers]
        closing += [self.endpoints.pop(key).close() for key in list(self.endpoints)]
        tasks = [asyncio.ensure_future(c) for c in closing]
        _, late = await asyncio.wait(tasks, timeout=max(0.1, deadline - time.monotonic()))
        for task in late:  # calls still running past the bound are abandoned
            task.cancel()
        for task in tasks:
            if task.done() and not task.cancelled() and task.exception() is not None:
                log.warning("stopping: %s", task.exception())

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
            admin=self.admin_url,
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
                self.failed.pop(key, None)  # a version that failed is no longer wanted
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
            # said once per artifact and reason; the retries every RETRY_FAILED_S stay quiet
            again = failed is not None and failed[:2] == (spec.digest, str(exc))
            (log.debug if again else log.warning)(
                "unit %s/%s failed to start: %s", app, spec.name, exc
            )
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
        path = await cached_artifact(self.store, spec.digest, self.cache_dir, self.trust)
        policy = spec.unit_policy()
        remote = RemoteImports(self.nc, asyncio.get_running_loop(), self.subjects, app,
                               remote_timeout(policy))  # fmt: skip
        imports = {iface: remote.provider(*spec.target(iface)) for iface in spec.imports}
        loop = asyncio.get_running_loop()
        runner = await loop.run_in_executor(
            self._pool, self.loader, path, imports, policy, self.broker, spec.name, spec.warm, app
        )
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


def require_trust(trusted: bool, allow_unsigned: bool) -> None:
    """Raise `LatticeError` naming `--trust` unless a host has a key or runs unsigned."""
    if not trusted and not allow_unsigned:
        raise LatticeError(
            "a host needs the lattice's signing public key to verify artifacts: pass "
            "--trust FILE (the signing.pub `wasmesh lattice up` wrote), or --allow-unsigned "
            "for a lattice whose deploys are not signed."
        )


def _needs_restart(old: UnitSpec, new: UnitSpec) -> bool:
    """A new artifact or new wiring needs a new instance; placement-only changes do not."""
    return (old.digest, old.imports, old.import_exports, old.policy, old.http) != (
        new.digest,
        new.imports,
        new.import_exports,
        new.policy,
        new.http,
    )


if __name__ == "__main__":
    from wasmesh.lattice.agent import main

    main()
