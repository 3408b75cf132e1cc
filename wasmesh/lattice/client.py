"""The lattice client: deploy apps, read their status, undeploy, roll back, invoke exports.

`LatticeClient` is async; `wasmesh.lattice.sync` has its blocking twins for the CLI.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from nats.aio.client import Client as NATS
from nats.js.errors import KeyWrongLastSequenceError, NoKeysError

from wasmesh.engine.loader import load_component
from wasmesh.engine.types import FuncSig
from wasmesh.lattice import rpc, schema
from wasmesh.lattice.connection import NatsOptions, connect_once
from wasmesh.lattice.errors import LatticeError, NotReady
from wasmesh.lattice.messaging import ensure_durable
from wasmesh.lattice.roles import is_violation, require_member, require_role
from wasmesh.lattice.schema import (
    AppIndex,
    DesiredState,
    Heartbeat,
    HostAppStatus,
    Placement,
    Subjects,
    UnitSpec,
)
from wasmesh.lattice.signing import Signer
from wasmesh.lattice.status import AppStatus
from wasmesh.lattice.store import (
    LatticeStore,
    cached_artifact,
    default_cache_dir,
    delete_key,
    get_value,
    open_store,
    put_artifact,
    put_signature,
    read_index,
    serving,
    update_index,
)
from wasmesh.lattice.topology import (
    Topology,
    UnitDeployment,
    http_spec,
    resolve,
    unit_label,
    wire,
)
from wasmesh.lattice.unit import interfaces
from wasmesh.lattice.wire import JSON, SigCodec, json_decode, json_encode

__all__ = ["LatticeClient", "Topology", "UnitDeployment", "resolve"]

T = TypeVar("T")

log = logging.getLogger("wasmesh.lattice")


class LatticeClient:
    """An async client of one lattice; use `async with LatticeClient(url) as c:`.

    `nats` is a URL or `NatsOptions` (credential, TLS); with `signer`, deploys sign each
    artifact they publish (hosts that trust its key refuse anything unsigned). `role`
    ("admin" for deploy, rollback, undeploy) is the credential a refusal names when none
    was given.
    """

    def __init__(
        self,
        nats: str | NatsOptions,
        lattice: str = "default",
        cache_dir: Path | None = None,
        signer: Signer | None = None,
        role: str | None = None,
    ) -> None:
        self.options = NatsOptions.of(nats)
        self.role = role  # the credential its commands need, named when none is given
        self.signer = signer  # signs every artifact a deploy publishes
        self.nats_url = self.options.url
        self.denied: list[str] = []  # permission violations the server reported, in order
        self.cache_dir = cache_dir or default_cache_dir()
        self.subjects = Subjects(lattice)
        self._nc: NATS | None = None
        self._store: LatticeStore | None = None
        self._shared = False  # the connection belongs to someone else: `close` leaves it

    @classmethod
    def sharing(cls, nc: NATS, store: LatticeStore, options: NatsOptions) -> LatticeClient:
        """A client reading through a connection and buckets opened elsewhere (a host's);
        its `close` leaves them open."""
        client = cls(options, store.subjects.lattice)
        client._nc, client._store, client._shared = nc, store, True
        return client

    async def connect(self) -> LatticeClient:
        """Connect to NATS and open the lattice's buckets (creating missing ones)."""
        self._nc = await connect_once(self.options, role=self.role, error_cb=self._on_error)
        try:  # another lattice's credential is told so at once, not after a timeout
            await require_member(self._nc, self.subjects, self.denied, self.options.creds)
            self._store = await open_store(self._nc, self.subjects)
        except BaseException:  # `async with` calls no __aexit__ when __aenter__ fails
            await self.close()
            raise
        return self

    async def _on_error(self, exc: Exception) -> None:
        text = str(exc)
        if is_violation(text):
            self.denied.append(text.removeprefix("nats: ").strip())
        log.debug("nats: %s", exc)

    async def require(self, role: str, action: str) -> None:
        """A `LatticeError` unless this client's credential acts as `role` ("admin" or
        "host"); `action` says what needs it (see `wasmesh.lattice.roles`)."""
        await require_role(self.nc, self.subjects, role, self.denied, self.options.creds, action)

    async def close(self) -> None:
        """Disconnect."""
        if self._nc is not None and not self._shared:
            await self._nc.close()
        self._nc = None

    async def __aenter__(self) -> LatticeClient:
        return await self.connect()

    async def __aexit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    @property
    def nc(self) -> NATS:
        assert self._nc is not None, "the client is not connected"
        return self._nc

    @property
    def store(self) -> LatticeStore:
        assert self._store is not None, "the client is not connected"
        return self._store

    async def deploy(self, app: str, topology: Topology) -> DesiredState:
        """Publish the units' artifacts and the next version of the app's desired state."""
        schema.check_name("app", app)
        await self.require("admin", "deploy")
        worlds: dict[str, Any] = {}
        specs: list[UnitSpec] = []
        blobs: dict[str, bytes] = {}
        for unit in topology.units:
            schema.check_name("unit", unit.name)
            blobs[unit.name] = Path(unit.component).read_bytes()
            worlds[unit.name] = load_component(unit.component).world
        wiring = wire(topology.units, worlds)
        for unit in topology.units:
            data = blobs[unit.name]
            digest = await put_artifact(self.store, data)
            if self.signer is not None:
                await put_signature(self.store, digest, self.signer)
            exports = {i: sorted(f) for i, f in interfaces(worlds[unit.name].exports).items()}
            spec = UnitSpec(
                name=unit.name,
                digest=digest,
                size=len(data),
                exports=exports,
                imports=wiring[unit.name],
                replicas=unit.replicas,
                labels=dict(unit.labels),
                spread=unit.spread,
                min_replicas=unit.min_replicas,
                import_exports=dict(unit.import_exports),
                policy=unit.policy.to_json(),
                http=http_spec(unit.name, topology.routes),
                messaging=[dict(m) for m in unit.messaging],
            )
            specs.append(spec)
        names = {u.name for u in topology.units}
        for pattern, owner in topology.routes.items():
            if owner not in names:
                raise LatticeError(
                    f"route {pattern} names unit {owner!r}, which app {app} does not have; "
                    "route it to one of its units."
                )
        return await self._publish(app, tuple(specs), None, dict(topology.routes), topology.version)

    async def _publish(
        self,
        app: str,
        units: tuple[UnitSpec, ...],
        source: int | None,
        routes: dict[str, str] | None = None,
        app_version: str = "",
    ) -> DesiredState:
        await ensure_durable(self.nc, self.subjects, list(units))
        current = await self.desired(app, missing_ok=True)
        index = await read_index(self.store)
        version = max(index.latest.get(app, 0), current.version if current else 0)
        desired = DesiredState(app, version + 1, units, source, dict(routes or {}), app_version)
        body = schema.dumps(desired)
        try:  # claiming the version number first makes concurrent deploys of an app safe
            await self.store.history.create(f"{app}.{desired.version}", body)
        except KeyWrongLastSequenceError:
            raise LatticeError(
                f"app {app} was deployed by someone else at the same time (version "
                f"{desired.version}); check `wasmesh status` and deploy again."
            ) from None
        await update_index(
            self.store,
            lambda ix: AppIndex(
                {**ix.latest, app: max(desired.version, ix.latest.get(app, 0))},
                tuple(sorted({*ix.deployed, app})),
            ),
        )
        await self.store.apps.put(app, body)
        await self.nc.publish(self.subjects.changed, app.encode())
        return desired

    async def desired(self, app: str, missing_ok: bool = False) -> DesiredState | None:
        """The app's current desired state (None when `missing_ok` and it is not deployed)."""
        data, _ = await get_value(self.store.apps, app)
        if data is None:
            if missing_ok:
                return None
            raise LatticeError(f"app {app!r} is not deployed in lattice {self.subjects.lattice}.")
        return schema.loads(DesiredState, data)

    async def apps(self) -> list[DesiredState]:
        """The desired state of every deployed app, by name."""
        out: list[DesiredState] = []
        for app in (await read_index(self.store)).deployed:
            data, _ = await get_value(self.store.apps, app)
            if data:
                out.append(schema.loads(DesiredState, data))
        return out

    async def hosts(self) -> list[Heartbeat]:
        """The last inventory of every host that joined the lattice and did not leave it."""
        out: list[Heartbeat] = []
        with contextlib.suppress(NoKeysError):
            for key in await self.store.hosts.keys():
                data, _ = await get_value(self.store.hosts, key)
                if data:
                    out.append(schema.loads(Heartbeat, data))
        return sorted(out, key=lambda h: h.host)

    async def status(self, app: str, full: bool = True) -> AppStatus:
        """The app's desired state, placement and per-host unit states; `full` also reads
        which hosts are in the lattice now and the app's version history (listing hosts costs
        the server a consumer: pollers pass False)."""
        desired = await self.desired(app)
        assert desired is not None
        data, _ = await get_value(self.store.placements, f"app.{app}")
        placement = schema.loads(Placement, data) if data else None
        reports: list[HostAppStatus] = []
        placed = {h for hs in (placement.units.values() if placement else ()) for h in hs}
        for host in sorted(placed):
            body, _ = await get_value(self.store.status, f"{app}.host.{host}")
            if body:
                reports.append(schema.loads(HostAppStatus, body))
        reports.sort(key=lambda r: r.host)
        if not full:
            return AppStatus(desired, placement, tuple(reports))
        live = frozenset(h.host for h in await self.hosts())
        history = await self.history(app)
        return AppStatus(desired, placement, tuple(reports), live, history)

    async def history(self, app: str) -> tuple[tuple[int, int | None, str], ...]:
        """Every version of the app the lattice keeps: (version, the version whose units a
        rollback re-published or None, the manifest's version of its units)."""
        latest = (await read_index(self.store)).latest.get(app, 0)
        out: list[tuple[int, int | None, str]] = []
        for version in range(1, latest + 1):
            data, _ = await get_value(self.store.history, f"{app}.{version}")
            if data:
                old = schema.loads(DesiredState, data)
                out.append((version, old.source_version, old.app_version))
        return tuple(out)

    async def wait_ready(self, app: str, timeout: float = 30.0) -> AppStatus:
        """Wait until `status(app).ready`; a `LatticeError` naming what is missing otherwise."""
        deadline = time.monotonic() + timeout
        while True:
            st = await self.status(app, full=False)
            if st.ready:
                return st
            if time.monotonic() > deadline:
                detail = "; ".join(e.rstrip(".") for e in st.errors)
                detail = detail or "hosts have not started every unit yet"
                raise NotReady(
                    f"app {app} version {st.desired.version} was not ready within {timeout:g} s: "
                    f"{detail}."
                )
            await asyncio.sleep(0.05)

    async def undeploy(self, app: str) -> None:
        """Remove the app's desired state; hosts stop its units."""
        await self.require("admin", "undeploy")
        await self.desired(app)
        await update_index(
            self.store,
            lambda ix: AppIndex(ix.latest, tuple(a for a in ix.deployed if a != app)),
        )
        await delete_key(self.store.apps, app)
        await self.nc.publish(self.subjects.changed, app.encode())

    async def rollback(self, app: str, version: int) -> DesiredState:
        """Publish the units of an earlier `version` as the app's next version."""
        await self.require("admin", "roll back")
        data, _ = await get_value(self.store.history, f"{app}.{version}")
        if data is None:
            raise LatticeError(
                f"app {app!r} has no version {version} in lattice {self.subjects.lattice}; "
                "see `wasmesh status` for its versions."
            )
        old = schema.loads(DesiredState, data)
        return await self._publish(app, old.units, version, old.routes, old.app_version)

    async def signature(self, app: str, export: str) -> FuncSig:
        """The signature of the app's export `export`, read from its unit's artifact."""
        desired = await self.desired(app)
        assert desired is not None
        unit, iface, func = resolve(await serving(self.store, desired), export)
        return await self._signature(unit, iface, func)

    async def _signature(self, unit: UnitSpec, iface: str, func: str) -> FuncSig:
        path = await cached_artifact(self.store, unit.digest, self.cache_dir)
        loop = asyncio.get_running_loop()
        loaded = await loop.run_in_executor(None, load_component, path)
        return interfaces(loaded.world.exports)[iface][func]

    async def invoke(
        self,
        app: str,
        export: str,
        args: Sequence[Any],
        timeout: float = rpc.CALL_TIMEOUT_S,
        typed: bool = True,
    ) -> Any:
        """Call `interface#func` (or a unique bare `func`) of the app through the lattice.

        With `typed`, the arguments are checked against the export's signature here (a
        `WitValueError` names the bad one) and travel in the binary encoding; otherwise they
        travel as tagged JSON and the host checks them.
        """
        desired = await self.desired(app)
        assert desired is not None
        unit, iface, func = resolve(await serving(self.store, desired), export)
        subject = self.subjects.rpc(app, unit.name, iface)
        target = unit_label(app, unit.name, iface)
        if not typed:
            data = await rpc.call(self.nc, subject, func, JSON, json_encode(args), timeout, target)
            values = json_decode(data)
            return values[0] if values else None
        codec = SigCodec(await self._signature(unit, iface, func))
        payload = codec.encode_args(list(args))
        data = await rpc.call(self.nc, subject, func, codec.codec, payload, timeout, target)
        return codec.decode_result(data)
