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
import sys
from collections.abc import Mapping
from pathlib import Path

from wasmesh.lattice.connection import NatsOptions
from wasmesh.lattice.errors import LatticeError

log = logging.getLogger("wasmesh.lattice.host")


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
) -> None:
    """Run a host agent in this process until SIGINT/SIGTERM, then drain within
    `drain_timeout` seconds; with `http` (HOST:PORT) it also serves every deployed app's
    HTTP routes there, each instance serving up to `max_reuse` requests and dropped after
    `idle_timeout` seconds unused. `trust` is the PEM public key artifacts must be signed with.
    Bad options raise `LatticeError` before anything starts."""
    from wasmesh.capabilities.wasi.guest_log import show_guest_output
    from wasmesh.lattice.host import DRAIN_TIMEOUT_S, Host
    from wasmesh.lattice.signing import Verifier
    from wasmesh.triggers.http.instances import PoolSettings

    options = NatsOptions.of(nats).check()
    show_guest_output()  # guests' log records and output, on every unit this host runs
    verifier = Verifier.from_file(trust) if trust is not None else None
    host = Host(
        options, lattice, labels, host_id, cache_dir=cache_dir, http=http,
        drain_timeout=DRAIN_TIMEOUT_S if drain_timeout is None else drain_timeout,
        connect_timeout=connect_timeout,
        trust=verifier,
        allow_unsigned=allow_unsigned,
        http_reuse=PoolSettings(max_reuse=max_reuse, idle_timeout=idle_timeout),
    )  # fmt: skip
    # No keep-resident slots (`tune_for_serving`) on a host: it holds many apps, and every
    # slot any of them ever used would keep that memory while they idle.

    async def serve() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        starting = asyncio.ensure_future(host.start())
        stopping = asyncio.ensure_future(stop.wait())
        try:
            await asyncio.wait({starting, stopping}, return_when=asyncio.FIRST_COMPLETED)
            if starting.done():
                starting.result()  # a LatticeError (gave up, refused) propagates
                print(f"host {host.host_id} on {options.url}", flush=True)
                if host.ingress.server is not None:
                    print(f"Serving HTTP on {host.ingress.url}/", flush=True)
                await stopping
                print(f"host {host.host_id} draining", flush=True)
            else:  # stopped while still connecting
                starting.cancel()
                await asyncio.wait({starting})
        finally:
            stopping.cancel()
            await host.stop()

    asyncio.run(serve())


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
                 args.allow_unsigned)  # fmt: skip
    except LatticeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)


def _env_path(name: str) -> Path | None:
    value = os.environ.get(name)
    return Path(value) if value else None


if __name__ == "__main__":
    main()
