"""A lattice host's extra HTTP worker processes (`wasmesh host --http HOST:PORT --workers N`).

A lattice host owns one NATS identity: its heartbeats, its place in the scheduler's
candidates, its assignment, the unit subjects it serves and its admin listener. So the first
process of a host with several workers is the host itself (`wasmesh.lattice.host.Host`,
serving HTTP too), and every other process only accepts HTTP on the listening socket they all
share (the kernel spreads connections across the processes accepting on it). Such a worker
has its own engine and instance pools (sharing the AOT and artifact caches on disk) and its
own NATS connection under the host's credential, used as a client: it reads every deployed
app's routes as the host does, serves a route from its own instance pool when its host runs
the route's unit (the digest the host's heartbeats report, with the spec of the host's
assignment; artifacts verified against the same key), and forwards any other request over
NATS to the queue group of the hosts running the unit (its own host's first process among
them, which also serves requests forwarded by other hosts). A worker never heartbeats, takes
placements or subscribes to unit subjects: the lattice sees one host.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from nats.aio.client import Client as NATS
from nats.aio.msg import Msg

from wasmesh.capabilities.keyvalue import nats as keyvalue_nats
from wasmesh.capabilities.messaging.nats import NatsBroker
from wasmesh.lattice import schema
from wasmesh.lattice.connection import NatsOptions, connect_retrying
from wasmesh.lattice.ingress import Ingress, Key
from wasmesh.lattice.schema import Subjects, UnitSpec
from wasmesh.lattice.signing import Verifier
from wasmesh.lattice.store import LatticeStore, default_cache_dir, get_value, open_store
from wasmesh.lattice.wakeup import Wakeup
from wasmesh.triggers.http.instances import PoolSettings

log = logging.getLogger("wasmesh.lattice.httpworker")

FOLLOW_S = 5.0  # the host's units are re-read this often without a heartbeat changing them


@dataclass
class Running:
    """A unit version the worker's host runs: the spec of the host's assignment."""

    spec: UnitSpec


class HttpWorker:
    """One extra HTTP worker of host `host_id`: `await start()`, then `await stop()`.

    `sock` is the host's listening socket, bound by the parent process; `nats` the host's
    connection options (credential, TLS); the other arguments as `Host` takes them.
    """

    def __init__(
        self,
        nats: str | NatsOptions,
        host_id: str,
        sock: socket.socket,
        lattice: str = "default",
        cache_dir: Path | None = None,
        trust: Verifier | None = None,
        http_reuse: PoolSettings | None = None,
        connect_timeout: float | None = None,
        workers: int = 8,
    ) -> None:
        self.options = NatsOptions.of(nats).check()
        self.host_id = schema.check_name("host", host_id)
        self.http_sock: socket.socket | None = sock
        self.subjects = Subjects(lattice)
        self.cache_dir = cache_dir or default_cache_dir()
        self.trust = trust
        self.http_reuse = http_reuse
        self.connect_timeout = connect_timeout
        self.workers = workers
        address = "{}:{}".format(*sock.getsockname()[:2])
        self.ingress = Ingress(self, address, workers, forwards=False)
        self._served: dict[Key, Running] = {}
        self._running: dict[Key, str] = {}  # what the host's last heartbeat says it runs
        self._synced: dict[Key, str] | None = None  # what `_served` was built from
        self._wake = Wakeup()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._nc: NATS | None = None
        self._store: LatticeStore | None = None
        self._broker: NatsBroker | None = None

    @property
    def nc(self) -> NATS:
        assert self._nc is not None, "the worker is not started"
        return self._nc

    @property
    def store(self) -> LatticeStore:
        assert self._store is not None, "the worker is not started"
        return self._store

    @property
    def broker(self) -> NatsBroker:
        """Components' messages: NATS subjects under the lattice's prefix, as on the host."""
        assert self._broker is not None, "the worker is not started"
        return self._broker

    @property
    def served(self) -> Mapping[Key, Running]:
        """(app, unit) -> the version this worker's host runs (and this worker serves)."""
        return self._served

    async def start(self) -> None:
        """Connect, learn what the host runs, and serve HTTP on the shared socket."""
        self._nc = await connect_retrying(
            self.options,
            self.connect_timeout,
            lambda line: log.warning("host %s HTTP worker: %s", self.host_id, line),
            role="host",
            name=f"{self.host_id}-http-{os.getpid()}",
        )
        try:
            self._store = await open_store(self.nc, self.subjects)
            loop = asyncio.get_running_loop()
            keyvalue_nats.attach(self.nc, loop, self.subjects.key_value)
            self._broker = NatsBroker(self.nc, loop, self.subjects.messages, self.workers)
            await self.nc.subscribe(self.subjects.heartbeat(self.host_id), cb=self._on_beat)
            data, _ = await get_value(self.store.hosts, self.host_id)
            if data:
                self._running = _running(schema.loads(schema.Heartbeat, data))
            await self.sync()
            await self.ingress.start()
            self._task = asyncio.create_task(self._follow())
        except BaseException:
            await self.stop()
            raise

    async def stop(self) -> None:
        """Stop accepting; requests in flight finish (forwarded ones too); then disconnect."""
        if self._stopping:
            return
        self._stopping = True
        if self._task is not None:
            self._task.cancel()
            await asyncio.wait([self._task], timeout=5)
        await self.ingress.stop()
        if self._broker is not None:
            await asyncio.get_running_loop().run_in_executor(None, self._broker.close)
        if self._nc is not None:
            keyvalue_nats.detach(self._nc)
            with contextlib.suppress(Exception):
                await self._nc.close()

    async def _on_beat(self, msg: Msg) -> None:
        try:
            running = _running(schema.loads(schema.Heartbeat, msg.data))
        except Exception as exc:
            log.debug("an unreadable heartbeat: %s", exc)
            return
        if running != self._running:
            self._running = running
            self._wake.set()

    async def _follow(self) -> None:
        while not self._stopping:  # a cancellation can be swallowed by a library
            await self._wake.wait(FOLLOW_S)
            try:
                await self.sync()
            except Exception as exc:
                log.warning("following host %s failed: %s", self.host_id, exc)

    async def sync(self) -> None:
        """Serve locally the units the host runs (by the digest of its last heartbeat)."""
        running = dict(self._running)
        if running == self._synced:
            return
        specs: dict[Key, UnitSpec] = {}
        data, _ = await get_value(self.store.placements, f"host.{self.host_id}")
        if data:
            for app, units in schema.loads(schema.HostAssignment, data).apps.items():
                for spec in units:
                    specs[(app, spec.name)] = spec
        self._served = {
            key: Running(spec) for key, spec in specs.items() if running.get(key) == spec.digest
        }
        self._synced = running
        await self.ingress.units_changed()


def _running(beat: schema.Heartbeat) -> dict[Key, str]:
    return {(u.app, u.unit): u.digest for u in beat.units if u.state == "running"}


def run_http_worker(worker: HttpWorker, ready: Callable[[], None]) -> None:
    """Run `worker` in this (forked) process until SIGTERM; `ready()` once it serves. SIGINT
    is the parent's to take (it passes SIGTERM on)."""

    async def serve() -> None:
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        starting = asyncio.ensure_future(worker.start())
        stopping = asyncio.ensure_future(stop.wait())
        try:
            await asyncio.wait({starting, stopping}, return_when=asyncio.FIRST_COMPLETED)
            if starting.done():
                starting.result()
                ready()
                await stopping
            else:  # stopped while still connecting
                starting.cancel()
                await asyncio.wait({starting})
        finally:
            stopping.cancel()
            await worker.stop()

    asyncio.run(serve())
