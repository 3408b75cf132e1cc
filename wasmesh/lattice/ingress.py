"""HTTP ingress on lattice hosts: every host serves every deployed app's routes.

The desired state maps each `[[triggers.http]]` route to the unit owning its component. A
host started with `--http HOST:PORT` runs one `wasmesh.triggers.http.Server` whose route
table follows the desired state: a route of a unit running here is served by a local instance
pool of the unit's artifact, under the policy its spec carries (as `wasmesh up` runs it); any
other route is forwarded over NATS. A forwarded request is one message (method, target,
headers, whole body up to the NATS payload limit: more is 413) to
`wasmesh.<lattice>.http.<app>.<unit>`, served
by the queue group of the hosts running the unit, with or without `--http`; the reply carries
status, headers and body. No responders is 503, no answer in time 504. Streaming bodies does
not cross hosts: forwarded requests and responses are buffered whole. A new version of a unit
gets a new pool in one assignment; its subscription stays, as in `wasmesh.lattice.endpoint`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import socket
import threading
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.errors import NoRespondersError

from wasmesh.capabilities.forwarding import ForwardedImports
from wasmesh.capabilities.messaging import messaging_for
from wasmesh.capabilities.wasi import IncomingRequest
from wasmesh.capabilities.wasi.http_types import method_name
from wasmesh.engine.loader import load_component
from wasmesh.errors import ManifestError
from wasmesh.lattice import rpc, schema
from wasmesh.lattice.endpoint import _drain
from wasmesh.lattice.httpwire import HEAD_MARGIN, decode, encode, end_to_end, serve_buffered
from wasmesh.lattice.schema import H_DEADLINE, HTTP_QUEUE, DesiredState, UnitSpec
from wasmesh.lattice.store import cached_artifact, get_value, read_index, serving
from wasmesh.lattice.stub import RemoteImports, remote_timeout, run_blocking
from wasmesh.lattice.wakeup import Wakeup
from wasmesh.observe import tracing
from wasmesh.triggers.http import exchange
from wasmesh.triggers.http.bodies import RequestBody, ResponseWriter
from wasmesh.triggers.http.instances import InstancePool
from wasmesh.triggers.http.routing import Router
from wasmesh.triggers.http.server import RouteHandler, Server

if TYPE_CHECKING:
    from wasmesh.capabilities.messaging.nats import NatsBroker
    from wasmesh.lattice.host import Host
    from wasmesh.lattice.schema import Subjects
    from wasmesh.lattice.signing import Verifier
    from wasmesh.lattice.store import LatticeStore
    from wasmesh.triggers.http.instances import PoolSettings

log = logging.getLogger("wasmesh.lattice.ingress")

ROUTES_POLL_S = 1.0  # the route table is re-read this often (and on every deploy nudge)
FORWARD_MARGIN_S = 0.5  # a forwarder waits this much past the deadline it sends, for the answer
FORWARD_TIMEOUT_S = 30.0  # draining: forwarded requests in flight get this long to finish

Key = tuple[str, str]  # (app, unit)


class Placed(Protocol):
    """A unit version running on the host: its spec."""

    @property
    def spec(self) -> UnitSpec: ...


class IngressHost(Protocol):
    """What HTTP ingress needs of its process: a lattice host (`wasmesh.lattice.host.Host`),
    or one of a host's extra HTTP worker processes (`wasmesh.lattice.httpworker`)."""

    @property
    def nc(self) -> NATS: ...

    @property
    def store(self) -> LatticeStore: ...

    @property
    def broker(self) -> NatsBroker: ...

    @property
    def served(self) -> Mapping[Key, Placed]: ...

    subjects: Subjects
    cache_dir: Path
    trust: Verifier | None
    http_reuse: PoolSettings | None
    http_sock: socket.socket | None  # a listening socket shared with other workers, if any


class LocalRoute:
    """Routes served by the unit's instance pool here; the pool changes with its version."""

    def __init__(self, pool: InstancePool, digest: str) -> None:
        self.pool = pool
        self.digest = digest

    def timeout(self, default: float) -> float:
        return self.pool.request_timeout or default

    def handle(
        self, request: IncomingRequest, body: RequestBody, writer: ResponseWriter, timeout: float
    ) -> None:
        pool = self.pool  # one read: a version switch mid-request leaves this one alone
        exchange.run(pool, request, body, writer, pool.request_timeout or timeout)


class ForwardRoute:
    """Routes of a unit running elsewhere: each request goes to it as one NATS request."""

    def __init__(self, nc: NATS, loop: asyncio.AbstractEventLoop, subject: str, unit: str):
        self.nc = nc
        self.loop = loop
        self.subject = subject
        self.unit = unit

    def handle(
        self, request: IncomingRequest, body: RequestBody, writer: ResponseWriter, timeout: float
    ) -> None:
        if writer.record is not None:
            writer.record.unit, writer.record.instance = self.unit, "forwarded"
        limit = max(0, self.nc.max_payload - HEAD_MARGIN)
        data = _read_all(body, limit)
        if data is None:
            writer.close_after = True
            writer.simple(413, f"the request body is larger than the {limit} bytes a request "
                          "forwarded to another host may carry\n".encode())  # fmt: skip
            return
        head = {
            "method": method_name(request.method()),
            "target": request.path_with_query() or "/",
            "authority": request.authority(),
        }
        message = encode(head, tracing.forwarded_headers(request.headers().entries()), data)
        try:
            # One deadline: the serving host stops the guest at `timeout` and answers 504
            # itself; this host waits a little longer so that answer (not silence) comes back.
            wait = timeout + FORWARD_MARGIN_S
            ask = self.nc.request(
                self.subject, message, timeout=wait, headers={H_DEADLINE: f"{timeout:.3f}"}
            )
            reply = run_blocking(self.loop, ask, wait + 1)
        except NoRespondersError:
            writer.simple(503, f"no host runs {self.unit} right now; try again\n".encode())
            return
        except (TimeoutError, concurrent.futures.TimeoutError, OSError) as exc:
            log.warning("unit %s: forwarded request got no answer: %s", self.unit, exc)
            writer.simple(504, f"{self.unit} did not answer in time\n".encode())
            return
        except Exception as exc:  # the connection is down or the unit went away
            log.warning("unit %s: forwarding failed: %s", self.unit, exc)
            writer.simple(503, f"{self.unit} cannot be reached right now; try again\n".encode())
            return
        out, headers, content = decode(reply.data)
        writer.begin(int(out["status"]), end_to_end(headers))
        writer.write(content)
        writer.finish(None)


def _read_all(body: RequestBody, limit: int) -> bytes | None:
    """The whole request body, or None once it grows past `limit`."""
    chunks: list[bytes] = []
    size = 0
    while (chunk := body.read(64 * 1024, True)) is not None:
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


class UnitHttp:
    """One unit's HTTP instances on this host and its queue subscription for forwards."""

    def __init__(
        self, host: IngressHost, key: Key, route: LocalRoute, workers: ThreadPoolExecutor
    ) -> None:
        self.host = host
        self.key = key
        self.route = route
        self.workers = workers
        self.sub: Subscription | None = None
        self.inflight: set[asyncio.Task[None]] = set()

    async def subscribe(self) -> None:
        subject = self.host.subjects.http(*self.key)
        self.sub = await self.host.nc.subscribe(subject, queue=HTTP_QUEUE, cb=self._on_message)

    async def close(self) -> None:
        if self.sub is not None:
            await _drain(self.sub)
        if self.inflight:
            await asyncio.wait(self.inflight, timeout=FORWARD_TIMEOUT_S)
        self.route.pool.close()

    async def _on_message(self, msg: Msg) -> None:
        task = asyncio.create_task(self._serve(msg))
        self.inflight.add(task)
        task.add_done_callback(self.inflight.discard)

    async def _serve(self, msg: Msg) -> None:
        loop = asyncio.get_running_loop()
        try:
            head, headers, body = decode(msg.data)
            pool = self.route.pool
            budget = rpc.call_budget(msg.headers)  # how long the forwarding host waits
            timeout = min(self.route.timeout(budget), budget)
            status, out, content = await loop.run_in_executor(
                self.workers, serve_buffered, pool, head, headers, body, timeout
            )
            if len(content) > max(0, self.host.nc.max_payload - HEAD_MARGIN):
                status, out = 502, [("content-type", b"text/plain")]
                content = b"the response is too large to forward between hosts\n"
        except Exception as exc:
            log.warning("%s/%s: a forwarded request failed: %s", *self.key, exc)
            status, out, content = 500, [], b"the request could not be served\n"
        if msg.reply:
            try:
                await self.host.nc.publish(msg.reply, encode({"status": status}, out, content))
            except Exception as exc:
                log.warning("a forwarded HTTP reply was lost: %s", exc)


class Ingress:
    """The HTTP side of a host: units' pools and forward subscriptions, and (with `listen`)
    the HTTP server routing every deployed app's routes. `forwards` False: no queue
    subscription for requests other hosts forward (a host's extra HTTP workers)."""

    def __init__(
        self, host: IngressHost, listen: str | None = None, workers: int = 8,
        forwards: bool = True,
    ) -> None:  # fmt: skip
        self.host = host
        self.listen = listen
        self.forwards = forwards
        self.units: dict[Key, UnitHttp] = {}
        self.routes: dict[str, Key] = {}  # pattern -> (app, unit), from the desired states
        self.server: Server | None = None
        self._workers = ThreadPoolExecutor(workers, thread_name_prefix="wasmesh-ingress")
        self._forwarders: dict[Key, ForwardRoute] = {}
        self._thread: threading.Thread | None = None
        self._task: asyncio.Task[None] | None = None
        self._wake = Wakeup()
        self._stopping = False

    @property
    def url(self) -> str:
        assert self.server is not None, "this host does not serve HTTP"
        return self.server.url

    async def start(self) -> None:
        """Listen (with `listen`) and follow the deployed apps' routes."""
        if self.listen is None:
            return
        self.server = Server({}, self.listen, sock=self.host.http_sock)
        self._thread = threading.Thread(
            target=self.server.serve_forever, name="wasmesh-ingress-http", daemon=True
        )
        self._thread.start()
        await self.host.nc.subscribe(self.host.subjects.changed, cb=self._on_changed)
        await self.refresh_routes()
        self._task = asyncio.create_task(self._routes_loop())

    async def stop(self) -> None:
        """Stop listening (requests in flight finish), then close the units' pools."""
        self._stopping = True
        if self._task is not None:
            self._task.cancel()
            await asyncio.wait([self._task], timeout=5)
        if self.server is not None:
            await asyncio.get_running_loop().run_in_executor(None, self.server.shutdown, 10.0)
        for key in list(self.units):
            await self.units.pop(key).close()
        self._workers.shutdown(wait=False, cancel_futures=True)

    # -- the units running here ---------------------------------------------------------------

    async def units_changed(self) -> None:
        """Give every unit with routes running here a pool of the version it runs."""
        served = {k: v.spec for k, v in self.host.served.items() if v.spec.http}
        for key, spec in served.items():
            unit = self.units.get(key)
            if unit is not None and unit.route.digest == spec.digest:
                continue
            try:
                pool = await self._pool(key[0], spec)
            except Exception as exc:
                log.warning("HTTP for %s/%s could not start: %s", *key, exc)
                continue
            if unit is None:
                unit = self.units[key] = UnitHttp(
                    self.host, key, LocalRoute(pool, spec.digest), self._workers
                )
                if self.forwards:
                    await unit.subscribe()
            else:  # one assignment: later requests reach the new version
                old, unit.route.pool, unit.route.digest = unit.route.pool, pool, spec.digest
                old.close()
        for key in [k for k in self.units if k not in served]:
            await self.units.pop(key).close()
        self._install()

    async def _pool(self, app: str, spec: UnitSpec) -> InstancePool:
        host = self.host
        path = await cached_artifact(host.store, spec.digest, host.cache_dir, host.trust)
        loop = asyncio.get_running_loop()
        remote = RemoteImports(self.host.nc, loop, self.host.subjects, app,
                               remote_timeout(spec.unit_policy()))  # fmt: skip
        providers = {iface: remote.provider(*spec.target(iface)) for iface in spec.imports}

        def build() -> InstancePool:
            loaded = load_component(path)
            forwarded = ForwardedImports(loaded.world, providers, spec.name, "lattice", app)
            messaging = messaging_for(loaded, host.broker, spec.name, app)
            return InstancePool(
                path, spec.unit_policy(), host.http_reuse, capabilities=(forwarded, *messaging),
                name=spec.name, app=app,
            )

        return await loop.run_in_executor(self._workers, build)

    # -- the route table ------------------------------------------------------------------------

    async def _on_changed(self, msg: Msg) -> None:
        self._wake.set()

    async def _routes_loop(self) -> None:
        while not self._stopping:
            await self._wake.wait(ROUTES_POLL_S)  # a deploy nudge or the next poll
            try:
                await self.refresh_routes()
            except Exception as exc:
                log.warning("reading the routes failed: %s", exc)

    async def refresh_routes(self) -> None:
        """Read every deployed app's routes and install them."""
        routes: dict[str, Key] = {}
        store = self.host.store
        for app in sorted((await read_index(store)).deployed):
            data, _ = await get_value(store.apps, app)
            if not data:
                continue
            desired = await serving(store, schema.loads(DesiredState, data))
            for pattern, unit in desired.routes.items():
                routes.setdefault(pattern, (app, unit))
        if routes != self.routes:
            self.routes = routes
            self._install()

    def _install(self) -> None:
        """Replace the server's route table in one assignment."""
        if self.server is None:
            return
        targets: list[tuple[str, RouteHandler]] = []
        for pattern, key in self.routes.items():
            unit = self.units.get(key)
            targets.append((pattern, unit.route if unit is not None else self._forwarder(key)))
        try:
            router: Router[InstancePool | RouteHandler] = Router(list(targets))
        except ManifestError as exc:  # two apps declare the same route: keep the first
            log.warning("routes clash: %s", exc)
            router = _first_wins(targets)
        self.server.router = router

    def _forwarder(self, key: Key) -> ForwardRoute:
        found = self._forwarders.get(key)
        if found is None:
            subject = self.host.subjects.http(*key)
            loop = asyncio.get_running_loop()
            found = self._forwarders[key] = ForwardRoute(self.host.nc, loop, subject, key[1])
        return found


def lattice_trigger(host: Host, settings: Mapping[str, str | None]) -> Ingress:
    """The HTTP trigger's side of a lattice host (`wasmesh.plugins.TRIGGERS`): listening on
    `settings["http"]` when set."""
    return Ingress(host, settings.get("http"))


def _first_wins(
    targets: list[tuple[str, RouteHandler]],
) -> Router[InstancePool | RouteHandler]:
    kept: list[tuple[str, InstancePool | RouteHandler]] = []
    for item in targets:
        try:
            Router([*kept, item])
        except ManifestError:
            continue
        kept.append(item)
    return Router(kept)
