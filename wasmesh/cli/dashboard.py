"""`wasmesh dashboard`: a lattice's live dashboard as a web page."""

from __future__ import annotations

from typing import Annotated

import typer

from wasmesh.cli.lattice import DEFAULT_NATS, Creds, LatticeName, Nats, TlsCa, TlsCert, TlsKey
from wasmesh.errors import WasmeshError


def parse_listen(listen: str) -> tuple[str, int]:
    """`HOST:PORT` (port 0 picks a free one) as (host, port); a `WasmeshError` otherwise."""
    host, sep, port = listen.rpartition(":")
    if not sep or not host or not port.isdigit() or int(port) > 65535:
        raise WasmeshError(
            f"--listen `{listen}` is not HOST:PORT; e.g. `--listen 127.0.0.1:8090` "
            "(port 0 picks a free one)."
        )
    return host.strip("[]"), int(port)


def dashboard(
    nats: Nats = DEFAULT_NATS,
    lattice: LatticeName = "default",
    listen: Annotated[
        str,
        typer.Option("--listen", metavar="HOST:PORT", help="Where to serve the page."),
    ] = "127.0.0.1:8090",
    creds: Creds = None,
    tls_ca: TlsCa = None,
    tls_cert: TlsCert = None,
    tls_key: TlsKey = None,
) -> None:
    """Serve a live web page of the lattice: hosts, apps, units, the wiring graph with calls/s
    and p50/p99 per edge, requests/s and errors per route, recent rollouts.

    Any of the lattice's credentials will do (admin, host or client); the page updates every
    second by server-sent events and loads nothing from outside. Runs until Ctrl-C or SIGTERM.

    Examples:

      wasmesh dashboard --nats nats://127.0.0.1:4222 --creds creds/default/client.nk

      wasmesh dashboard --lattice staging --listen 0.0.0.0:8090
    """
    import asyncio
    import contextlib
    import signal

    from wasmesh.cli.lattice import connection
    from wasmesh.cli.output import out_console
    from wasmesh.observe.dashboard.server import serve_dashboard

    host, port = parse_listen(listen)
    options = connection(nats, creds, tls_ca, tls_cert, tls_key)

    def ready(url: str) -> None:
        out_console.print(f"Dashboard of lattice {lattice} on {url}/", markup=False)

    async def main() -> None:
        task = asyncio.ensure_future(serve_dashboard(options, lattice, host, port, ready))
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, task.cancel)
        with contextlib.suppress(asyncio.CancelledError):
            await task

    asyncio.run(main())


def register(app: typer.Typer) -> None:
    app.command()(dashboard)
