"""A host agent as a process under a supervisor (systemd, Kubernetes, a shell).

`python -m wasmesh.lattice.agent --nats URL [--creds FILE] [--label k=v] [--id ID]` (or
`wasmesh host`). SIGTERM and SIGINT drain the host (see `Host.stop`) and exit 0, also while it
is still connecting. A malformed URL or a refused credential exits 2 at once with one
sentence; an unreachable server is retried with backoff, one summary line now and then, and
given up after `--connect-timeout` seconds (exit 2).
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import sys
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from wasmesh.errors import WasmeshError
from wasmesh.lattice.connection import NatsOptions
from wasmesh.lattice.errors import LatticeError

if TYPE_CHECKING:
    from wasmesh.lattice.host import Host
    from wasmesh.lattice.signing import Verifier
    from wasmesh.observe.admin import AdminServer
    from wasmesh.triggers.http.instances import PoolSettings

log = logging.getLogger("wasmesh.lattice.host")


DEFAULT_ADMIN = "127.0.0.1:0"
"""A host's admin listener unless told otherwise: loopback, any free port."""


def run_host(
    nats: str | NatsOptions,
    lattice: str = "default",
    labels: Mapping[str, str] | None = None,
    host_id: str | None = None,
    cache_dir: Path | None = None,
    http: str | None = None,
    drain_timeout: float | None = None,
    connect_timeout: float | None = None,
    trust: Path | None = None,
    allow_unsigned: bool = False,
    max_reuse: int = 1,
    idle_timeout: float = 30.0,
    admin: str | None = DEFAULT_ADMIN,
    log_format: str | None = None,
    log_level: str | None = None,
    workers: int = 1,
) -> None:
    """Run a host agent in this process until SIGINT/SIGTERM, then drain within
    `drain_timeout` seconds; with `http` (HOST:PORT) it also serves every deployed app's
    HTTP routes there, each instance serving up to `max_reuse` requests and dropped after
    `idle_timeout` seconds unused, in `workers` processes sharing the socket (the first is
    the host; see `wasmesh.lattice.httpworker`). `trust` is the PEM public key artifacts must
    be signed with. `admin` (HOST:PORT, default a free loopback port; None: none) serves the
    host's metrics (its first process's), printed once connected and advertised in its
    heartbeats; `log_format`/`log_level` as `wasmesh.observe.requestlog.configure` takes
    them. Bad options raise `LatticeError` or `WasmeshError` before anything starts."""
    from wasmesh.capabilities.wasi.guest_log import show_guest_output
    from wasmesh.lattice.signing import Verifier
    from wasmesh.triggers.http.instances import PoolSettings

    options = NatsOptions.of(nats).check()
    if workers < 1:
        raise WasmeshError(f"--workers must be at least 1, got {workers}.")
    if workers > 1 and http is None:
        raise WasmeshError(f"--workers {workers} runs more processes for HTTP ingress; add "
                           "--http HOST:PORT or use --workers 1.")  # fmt: skip
    from wasmesh.lattice.host import require_trust

    require_trust(trust is not None, allow_unsigned)  # said once, before any process starts
    show_guest_output()  # guests' log records and output, on every unit this host runs
    if log_format is not None or log_level is not None:
        from wasmesh.observe import requestlog

        requestlog.configure(log_format or "text", log_level or "info")
    verifier = Verifier.from_file(trust) if trust is not None else None
    reuse = PoolSettings(max_reuse=max_reuse, idle_timeout=idle_timeout)
    # No keep-resident slots (`tune_for_serving`) on a host: it holds many apps, and every
    # slot any of them ever used would keep that memory while they idle.
    settings = _HostSettings(options, lattice, labels, cache_dir, http, drain_timeout,
                             connect_timeout, verifier, allow_unsigned, reuse, admin,
                             workers)  # fmt: skip
    if workers == 1:
        _serve_host(settings, host_id)
        return
    from wasmesh.lattice import schema
    from wasmesh.lattice.httpworker import HttpWorker, run_http_worker
    from wasmesh.triggers.http.workers import listen_socket, run_workers

    assert http is not None
    # one identity for every process: the first is the host, the others serve its units
    ident = schema.check_name("host", host_id or f"h{uuid.uuid4().hex[:10]}")

    def worker(sock: socket.socket, ready: Callable[[], None]) -> None:
        run_http_worker(HttpWorker(options, ident, sock, lattice, cache_dir, verifier, reuse,
                                   connect_timeout), ready)  # fmt: skip

    run_workers(
        listen_socket(http),
        workers,
        worker,
        lambda: None,  # the host (the first worker) says where it serves
        first=lambda sock, ready: _serve_host(settings, ident, sock, ready),
    )


@dataclass(frozen=True)
class _HostSettings:
    options: NatsOptions
    lattice: str
    labels: Mapping[str, str] | None
    cache_dir: Path | None
    http: str | None
    drain_timeout: float | None
    connect_timeout: float | None
    trust: Verifier | None
    allow_unsigned: bool
    reuse: PoolSettings
    admin: str | None
    workers: int


def _serve_host(
    s: _HostSettings,
    host_id: str | None,
    sock: socket.socket | None = None,
    ready: Callable[[], None] | None = None,
) -> None:
    """Run the host in this process (with `sock`: a forked worker, SIGINT left to the
    parent) until SIGTERM/SIGINT, then drain; `ready()` once it serves."""
    from wasmesh.lattice.host import DRAIN_TIMEOUT_S, Host
    from wasmesh.observe import tracing
    from wasmesh.observe.dashboard.mount import AdminPage

    listener = _admin(s.admin)
    host = Host(
        s.options, s.lattice, s.labels, host_id, cache_dir=s.cache_dir, http=s.http,
        drain_timeout=DRAIN_TIMEOUT_S if s.drain_timeout is None else s.drain_timeout,
        connect_timeout=s.connect_timeout,
        trust=s.trust,
        allow_unsigned=s.allow_unsigned,
        http_reuse=s.reuse,
        http_sock=sock,
    )  # fmt: skip
    started = asyncio.Event()
    if listener is not None:
        host.admin_url = listener.url
        listener.add_ready_check(lambda: _not_ready(host, started))
    signals = (signal.SIGTERM,) if sock is not None else (signal.SIGINT, signal.SIGTERM)
    workers = f" ({s.workers} workers)" if s.workers > 1 else ""

    async def serve() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in signals:
            loop.add_signal_handler(sig, stop.set)
        starting = asyncio.ensure_future(host.start())
        stopping = asyncio.ensure_future(stop.wait())
        try:
            await asyncio.wait({starting, stopping}, return_when=asyncio.FIRST_COMPLETED)
            if starting.done():
                starting.result()  # a LatticeError (gave up, refused) propagates
                started.set()
                print(f"host {host.host_id} on {s.options.url}", flush=True)
                if listener is not None:
                    listener.add_route("/", AdminPage(host, asyncio.get_running_loop()))
                    print(f"Admin on {listener.url}/ (/metrics, /healthz, /readyz)", flush=True)
                if host.ingress.server is not None:
                    print(f"Serving HTTP on {host.ingress.url}/{workers}", flush=True)
                if ready is not None:
                    ready()
                await stopping
                print(f"host {host.host_id} draining", flush=True)
            else:  # stopped while still connecting
                starting.cancel()
                await asyncio.wait({starting})
        finally:
            stopping.cancel()
            await host.stop()

    try:
        with tracing.session(f"wasmesh-host-{host.host_id}", host.host_id):  # spans sent at exit
            asyncio.run(serve())
    finally:
        if listener is not None:
            listener.close()


def _admin(address: str | None) -> AdminServer | None:
    if address is None:
        return None
    from wasmesh.observe import metrics
    from wasmesh.observe.admin import AdminServer

    return AdminServer(address, metrics.enable()).start()


def _not_ready(host: Host, started: asyncio.Event) -> list[str]:
    """Why `host` is not ready: still connecting, or units placed here that cannot start."""
    if not started.is_set():
        return ["the host is connecting to NATS"]
    return [f"unit {unit} of app {app} cannot be instantiated: {error}"
            for (app, unit), (_, error, _) in list(host.failed.items())]  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    """The host agent's own command line (the same options as `wasmesh host`)."""
    import argparse

    parser = argparse.ArgumentParser(prog="wasmesh host")
    parser.add_argument("--nats", default="nats://127.0.0.1:4222")
    parser.add_argument("--creds", type=Path, default=None)
    parser.add_argument("--tls-ca", type=Path, default=None)
    parser.add_argument("--tls-cert", type=Path, default=None)
    parser.add_argument("--tls-key", type=Path, default=None)
    parser.add_argument("--trust", type=Path, default=_env_path("WASMESH_TRUST_KEY"))
    parser.add_argument("--allow-unsigned", action="store_true")
    parser.add_argument("--lattice", default="default")
    parser.add_argument("--label", action="append", default=[])
    parser.add_argument("--id", default=None)
    parser.add_argument("--cache-dir", type=Path, default=None)
    parser.add_argument("--http", default=None, metavar="HOST:PORT")
    parser.add_argument("--drain-timeout", type=float, default=None)
    parser.add_argument("--connect-timeout", type=float, default=None)
    parser.add_argument("--admin", default=DEFAULT_ADMIN, metavar="HOST:PORT|off")
    parser.add_argument("--log-format", default=None)
    parser.add_argument("--log-level", default=None)
    parser.add_argument("--workers", type=int, default=None)
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=os.environ.get("WASMESH_LOG", "WARNING").upper(),
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
    )
    labels = dict(item.split("=", 1) for item in args.label)
    options = NatsOptions.from_env(
        args.nats, creds=args.creds, tls_ca=args.tls_ca, tls_cert=args.tls_cert,
        tls_key=args.tls_key,
    )  # fmt: skip
    try:
        run_host(options, args.lattice, labels, args.id, args.cache_dir, args.http,
                 args.drain_timeout, args.connect_timeout, args.trust,
                 args.allow_unsigned, admin=None if args.admin.lower() == "off" else args.admin,
                 log_format=args.log_format, log_level=args.log_level,
                 workers=host_workers(args.http, args.workers))  # fmt: skip
    except (LatticeError, WasmeshError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
    _exit_now_if_calls_linger()


def _exit_now_if_calls_linger() -> None:
    """Exit at once when guest calls abandoned at the drain bound still run in their
    threads: the interpreter would otherwise wait for them at exit, past `--drain-timeout`."""
    main = threading.main_thread()
    if any(t.is_alive() and not t.daemon and t is not main for t in threading.enumerate()):
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)


def host_workers(http: str | None, requested: int | None) -> int:
    """`--workers` of a host: as asked; else with `--http` `$WEB_CONCURRENCY` or one per core
    (`default_workers`); else one."""
    if requested is not None:
        return requested
    if http is None:
        return 1
    from wasmesh.triggers.http.workers import default_workers

    return default_workers()


def _env_path(name: str) -> Path | None:
    value = os.environ.get(name)
    return Path(value) if value else None


if __name__ == "__main__":
    main()
