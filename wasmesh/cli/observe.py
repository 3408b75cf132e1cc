"""The observability options `serve`, `up` and `host` share: `--admin`, `--log-format`,
`--log-level`, and the readiness of what they serve."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from wasmesh.observe.admin import AdminServer, ReadyCheck

Admin = Annotated[
    str | None,
    typer.Option(
        "--admin",
        metavar="HOST:PORT",
        help="Serve /metrics (Prometheus), /healthz and /readyz here (port 0: any free one).",
    ),
]
HostAdmin = Annotated[
    str,
    typer.Option(
        "--admin",
        metavar="HOST:PORT|off",
        help="Serve /metrics, /healthz and /readyz here (default: a free loopback port, printed).",
    ),
]
LogFormat = Annotated[
    str,
    typer.Option("--log-format", metavar="text|json", help="Log lines for people, or JSON lines."),
]
LogLevel = Annotated[
    str,
    typer.Option(
        "--log-level",
        metavar="debug|info|warning|error",
        help="Least severe records logged; `info` logs one line per request.",
    ),
]


def check(admin: str | None, log_format: str, log_level: str) -> None:
    """Refuse bad values before anything starts (one sentence, exit 2)."""
    from wasmesh.observe.admin import parse_address
    from wasmesh.observe.requestlog import check_options

    check_options(log_format, log_level)
    if admin is not None:
        parse_address(admin)


def start(admin: str | None, log_format: str, log_level: str) -> AdminServer | None:
    """Turn on the log (and, with `admin`, metrics and the admin listener, whose address is
    printed); the listener, for `AdminServer.close` and readiness checks."""
    from wasmesh.observe import metrics, requestlog
    from wasmesh.observe.admin import AdminServer

    requestlog.configure(log_format, log_level)
    if admin is None:
        return None
    server = AdminServer(admin, metrics.enable()).start()
    print(f"Admin on {server.url}/ (/metrics, /healthz, /readyz)", flush=True)
    return server


def instantiable(runners: Callable[[], Iterable[tuple[str, Any]]]) -> ReadyCheck:
    """A readiness check: each `(unit, runner)` of `runners()` makes an instance (once; a
    unit that did is not tried again), counted in no metric."""
    from wasmesh.observe.metrics import unmetered

    proven: set[int] = set()

    def check() -> list[str]:
        reasons: list[str] = []
        for name, runner in runners():
            if id(runner) in proven:
                continue
            try:
                with unmetered():  # a probe is not an instance the app made
                    runner.instantiate().close()
            except Exception as e:
                first = (str(e).splitlines() or [type(e).__name__])[0]
                reasons.append(f"{name} cannot be instantiated: {first}")
            else:
                proven.add(id(runner))
        return reasons

    return check
