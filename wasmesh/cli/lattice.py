"""The lattice commands: `lattice up`, `host`, `deploy`, `status`, `undeploy`, `rollback`.

`wasmesh invoke --nats URL --app NAME ...` (in `component.py`) calls through the lattice too.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from wasmesh.cli import observe as obs
from wasmesh.cli.options import VariablesFile
from wasmesh.cli.output import err_console, out_console, print_json
from wasmesh.cli.serve import IdleTimeout, MaxReuse, PoolInstances
from wasmesh.errors import WasmeshError

if TYPE_CHECKING:
    from wasmesh.lattice.connection import NatsOptions

Nats = Annotated[
    str,
    typer.Option("--nats", metavar="URL", help="The lattice's NATS server."),
]
LatticeName = Annotated[
    str,
    typer.Option("--lattice", metavar="NAME", help="Lattice prefix; several share one NATS."),
]
Creds = Annotated[
    Path | None,
    typer.Option("--creds", metavar="FILE", envvar="WASMESH_NATS_CREDS",
                 help="NATS credential: an NKey seed file or a JWT .creds file."),
]  # fmt: skip
TlsCa = Annotated[
    Path | None,
    typer.Option("--tls-ca", metavar="FILE", envvar="WASMESH_NATS_TLS_CA",
                 help="CA certificate (PEM) the server's certificate is checked against."),
]  # fmt: skip
TlsCert = Annotated[
    Path | None,
    typer.Option("--tls-cert", metavar="FILE", envvar="WASMESH_NATS_TLS_CERT",
                 help="Client certificate (PEM), when the server verifies clients."),
]  # fmt: skip
TlsKey = Annotated[
    Path | None,
    typer.Option("--tls-key", metavar="FILE", envvar="WASMESH_NATS_TLS_KEY",
                 help="The client certificate's private key (PEM)."),
]  # fmt: skip
Json = Annotated[bool, typer.Option("--json", help="Print JSON.")]
DEFAULT_NATS = "nats://127.0.0.1:4222"


def connection(
    nats: str,
    creds: Path | None = None,
    tls_ca: Path | None = None,
    tls_cert: Path | None = None,
    tls_key: Path | None = None,
) -> NatsOptions:
    """The options of every lattice command as one checked `NatsOptions`."""
    from wasmesh.lattice.connection import NatsOptions

    return NatsOptions(nats, creds, tls_ca, tls_cert, tls_key).check()


lattice_app = typer.Typer(
    help="Run the local NATS server a lattice lives on.", no_args_is_help=True
)


@lattice_app.command("up")
def lattice_up(
    port: Annotated[int, typer.Option("--port", help="Client port (0 picks a free one).")] = 4222,
    store_dir: Annotated[
        Path, typer.Option("--store-dir", help="Where JetStream keeps desired state and artifacts.")
    ] = Path(".wasmesh/nats"),
    listen: Annotated[
        str, typer.Option("--listen", metavar="HOST", help="Address to listen on (0.0.0.0: all).")
    ] = "127.0.0.1",
    creds_dir: Annotated[
        Path, typer.Option("--creds-dir", help="Where the lattice's credentials are kept.")
    ] = Path(".wasmesh/creds"),
    lattices: Annotated[
        list[str] | None,
        typer.Option(
            "--lattice",
            metavar="NAME",
            help="Create credentials for this lattice (repeatable; default: default).",
        ),
    ] = None,
    tls: Annotated[
        bool, typer.Option("--tls", help="Require TLS with client certificates (a local CA).")
    ] = False,
    no_auth: Annotated[
        bool, typer.Option("--no-auth", help="Let anyone connect and do anything (tests only).")
    ] = False,
) -> None:
    """Start a local nats-server with JetStream, print its URL and credentials, run until
    Ctrl-C or SIGTERM.

    Every connection needs a credential: an admin one (deploy, rollback, undeploy),
    a host one and a client one (invoke) per lattice, any of them reads status; NKey users
    with per-subject permissions, kept in --creds-dir and reused on later runs. Deploys sign
    artifacts with the lattice's signing key; hosts verify them with its public key (--trust).
    """
    from wasmesh.lattice import serve_forever
    from wasmesh.lattice.server import check_listen

    check_listen(listen, port)  # before any credential is written
    secrets = None
    if not no_auth:
        from wasmesh.lattice.credentials import ensure_secrets

        names = lattices or ["default"]
        secrets = ensure_secrets(creds_dir, names, tls_hosts=[listen] if tls else None)
    elif tls:
        raise WasmeshError("--tls goes with credentials; drop --no-auth.")
    serve_forever(port, store_dir, listen, secrets)


def parse_labels(labels: list[str] | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in labels or ():
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise WasmeshError(f"label `{item}` is not KEY=VALUE; e.g. `--label zone=a`.")
        out[key] = value
    return out


def host(
    nats: Nats = DEFAULT_NATS,
    lattice: LatticeName = "default",
    label: Annotated[
        list[str] | None,
        typer.Option("--label", metavar="KEY=VALUE", help="A label placement can require."),
    ] = None,
    host_id: Annotated[str | None, typer.Option("--id", help="Host id (default: random).")] = None,
    http: Annotated[
        str | None,
        typer.Option(
            "--http", metavar="HOST:PORT", help="Serve every deployed app's HTTP routes here."
        ),
    ] = None,
    drain_timeout: Annotated[
        str,
        typer.Option(
            "--drain-timeout",
            metavar="DURATION",
            help="On SIGTERM/SIGINT: hand units over and finish calls this long "
            "(seconds, or 500ms, 10s, 1m).",
        ),
    ] = "30s",
    connect_timeout: Annotated[
        str | None,
        typer.Option(
            "--connect-timeout",
            metavar="DURATION",
            help="Give up when NATS is unreachable this long (default: never).",
        ),
    ] = None,
    trust: Annotated[
        Path | None,
        typer.Option(
            "--trust",
            metavar="FILE",
            envvar="WASMESH_TRUST_KEY",
            help="Public key (PEM) every artifact must be signed with.",
        ),
    ] = None,
    allow_unsigned: Annotated[
        bool, typer.Option("--allow-unsigned", help="Run artifacts without signatures.")
    ] = False,
    creds: Creds = None,
    tls_ca: TlsCa = None,
    tls_cert: TlsCert = None,
    tls_key: TlsKey = None,
    max_reuse: MaxReuse = 1,
    idle_timeout: IdleTimeout = "30s",
    pool_instances: PoolInstances = None,
    admin: obs.HostAdmin = "127.0.0.1:0",
    log_format: obs.LogFormat = "text",
    log_level: obs.LogLevel = "info",
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers",
            metavar="N",
            help="Processes accepting --http's connections; the first is the host, the others "
            "serve its units' routes and forward the rest "
            "[default: $WEB_CONCURRENCY, else one per core; 1 without --http].",
        ),
    ] = None,
) -> None:
    """Join a lattice as a host: heartbeat, run the units placed here, serve their calls.

    SIGTERM or SIGINT drains it: its units move to other hosts, calls in flight finish
    (within --drain-timeout), and it exits 0.
    """
    from wasmesh.cli.options import duration, parse_duration
    from wasmesh.cli.serve import check_reuse
    from wasmesh.lattice import run_host
    from wasmesh.lattice.agent import host_workers

    idle = check_reuse(max_reuse, idle_timeout, pool_instances)
    drain = parse_duration("--drain-timeout", drain_timeout)
    connect = duration("--connect-timeout", connect_timeout)
    listen = None if admin.lower() == "off" else admin
    obs.check(listen, log_format, log_level)
    options = connection(nats, creds, tls_ca, tls_cert, tls_key)
    run_host(options, lattice, parse_labels(label), host_id, http=http,
             drain_timeout=drain, connect_timeout=connect, trust=trust,
             allow_unsigned=allow_unsigned, max_reuse=max_reuse,
             idle_timeout=idle, admin=listen, log_format=log_format,
             log_level=log_level, workers=host_workers(http, workers))  # fmt: skip


def deploy(
    app: Annotated[
        Path, typer.Argument(metavar="[APP]", help="The app's directory, or a pushed app's REF.")
    ] = Path("."),
    nats: Nats = DEFAULT_NATS,
    lattice: LatticeName = "default",
    topology: Annotated[
        str | None,
        typer.Option(
            "--topology",
            metavar="monolith|per-component",
            help="Units to deploy (default: the manifest's [deploy]).",
        ),
    ] = None,
    replicas: Annotated[int, typer.Option("--replicas", help="Replicas of every unit.")] = 1,
    label: Annotated[
        list[str] | None,
        typer.Option("--label", metavar="KEY=VALUE", help="Run only on hosts with this label."),
    ] = None,
    spread: Annotated[
        str | None,
        typer.Option("--spread", metavar="LABEL", help="Spread replicas across this label."),
    ] = None,
    min_replicas: Annotated[
        int | None,
        typer.Option(
            "--min-replicas",
            metavar="N",
            help="Replicas of every unit instantiated when placed; the others are placed but "
            "linked and instantiated only at their first call (0: scale to zero). "
            "Default: all of them.",
        ),
    ] = None,
    wait: Annotated[
        float | None,
        typer.Option(
            "--wait",
            metavar="SECONDS",
            help="Then wait until every unit of the new version runs on its hosts (at most "
            "SECONDS); exit 1 naming what is missing if it does not.",
        ),
    ] = None,
    as_json: Json = False,
    variables_file: VariablesFile = None,
    sign_key: Annotated[
        Path | None,
        typer.Option(
            "--sign-key",
            metavar="FILE",
            envvar="WASMESH_SIGNING_KEY",
            help="Ed25519 private key (PEM) to sign the artifacts with.",
        ),
    ] = None,
    creds: Creds = None,
    tls_ca: TlsCa = None,
    tls_cert: TlsCert = None,
    tls_key: TlsKey = None,
) -> None:
    """Build the app, publish its units and desired state; hosts start them (rolling update).

    Deploying again publishes the next version: every host starts it, moves traffic, then
    stops the old one, with no failed call.
    """
    from wasmesh.cli.registry import app_location
    from wasmesh.compose.manifest import load_manifest
    from wasmesh.compose.variables import variable_values
    from wasmesh.lattice import Placement, require, topology_from_manifest
    from wasmesh.lattice import deploy as publish
    from wasmesh.lattice.signing import Signer
    from wasmesh.lattice.sync import wait_ready

    if replicas < 1:
        raise WasmeshError("--replicas must be at least 1.")
    if wait is not None and not 0 < wait < 86400:  # also refuses nan
        raise WasmeshError(f"--wait must be a number of seconds above 0, not {wait:g}.")
    if min_replicas is not None and not 0 <= min_replicas <= replicas:
        raise WasmeshError(
            f"--min-replicas must be between 0 and --replicas ({replicas}), not {min_replicas}."
        )
    where = Placement(replicas=replicas, labels=parse_labels(label), spread=spread,
                      min_replicas=min_replicas)  # fmt: skip
    options = connection(nats, creds, tls_ca, tls_cert, tls_key)
    signer = Signer.from_file(sign_key) if sign_key is not None else None
    app = app_location(app)
    manifest = app / "wasmesh.toml" if app.is_dir() else app
    # what the deployer can check alone comes first: the manifest and its variables, then
    # the role (one round trip), then the build, which takes a while
    variable_values(load_manifest(manifest).variables, variables_file)
    require(options, "admin", "deploy", lattice)
    if signer is None:  # said before the build: hosts that --trust a key refuse these
        err_console.print(
            "note: the artifacts will not be signed (no --sign-key or WASMESH_SIGNING_KEY); "
            "hosts started with --trust refuse unsigned artifacts.",
            markup=False,
        )
    name, topo = topology_from_manifest(manifest, strategy=topology, variables_file=variables_file)
    placed = {"replicas": where.replicas, "labels": dict(where.labels), "spread": spread,
              "min_replicas": min_replicas}  # fmt: skip
    units = tuple(dataclasses.replace(u, **placed) for u in topo.units)
    topo = dataclasses.replace(topo, units=units)
    desired = publish(name, options, topo, lattice, signer=signer)
    names = ", ".join(u.name for u in desired.units)
    if not as_json:
        out_console.print(f"deployed {desired.app} version {desired.version} (units: {names})")
    if wait is not None:
        wait_ready(desired.app, options, wait, lattice)
        if not as_json:
            out_console.print(f"{desired.app} version {desired.version} is ready")
    if as_json:
        print_json({"app": desired.app, "version": desired.version,
                    "units": [u.name for u in desired.units],
                    "ready": True if wait is not None else None})  # fmt: skip


def status(
    app: Annotated[str | None, typer.Argument(metavar="[APP]", help="One app's status.")] = None,
    nats: Nats = DEFAULT_NATS,
    lattice: LatticeName = "default",
    as_json: Json = False,
    creds: Creds = None,
    tls_ca: TlsCa = None,
    tls_cert: TlsCert = None,
    tls_key: TlsKey = None,
) -> None:
    """Hosts, apps, units, replicas, versions and health; why a unit is not placed."""
    from wasmesh.lattice import apps, hosts
    from wasmesh.lattice import status as app_status

    nats_options = connection(nats, creds, tls_ca, tls_cert, tls_key)
    if app is not None:
        report = app_status(app, nats_options, lattice).as_dict()
        if as_json:
            print_json(report)
        else:
            _print_app(report)
        return
    host_list = hosts(nats_options, lattice)
    reports = [
        app_status(d.app, nats_options, lattice).as_dict() for d in apps(nats_options, lattice)
    ]
    if as_json:
        print_json({"hosts": [_plain(h) for h in host_list], "apps": reports})
        return
    out_console.print(f"[bold]hosts[/bold] ({len(host_list)})")
    for h in host_list:
        labels = ",".join(f"{k}={v}" for k, v in h.labels.items()) or "-"
        units = ", ".join(f"{u.app}/{u.unit}" for u in h.units) or "-"
        admin = f"  admin {h.admin}" if h.admin else ""
        out_console.print(f"  {h.host}  labels {labels}  units {units}{admin}", markup=False)
    out_console.print(f"[bold]apps[/bold] ({len(reports)})")
    for report in reports:
        _print_app(report)


def _plain(obj: Any) -> Any:
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return dataclasses.asdict(obj)
    return obj


def _print_app(report: dict[str, Any]) -> None:
    health = "ready" if report["ready"] else "not ready"
    manifest = f" (app version {report['app_version']})" if report.get("app_version") else ""
    out_console.print(f"  {report['app']} v{report['version']}{manifest} {health}", markup=False)
    versions = [
        f"{h['version']}"
        + (f" [{h['app_version']}]" if h.get("app_version") else "")
        + (f" (= {h['rolled_back_to']})" if h["rolled_back_to"] else "")
        for h in report.get("history", [])
    ]
    if versions:
        out_console.print(f"    versions: {', '.join(versions)}", markup=False)
    serving = report.get("serving", 0)
    if serving and serving != report["version"]:
        out_console.print(
            f"    serving: version {serving} (version {report['version']} has not started on "
            "every host; its failures are below)",
            markup=False,
        )
    for name, unit in report["units"].items():
        out_console.print(
            f"    unit {name}: {len(unit['running'])}/{unit['replicas']} running "
            f"on {', '.join(unit['running']) or '-'} ({unit['digest'][:12]})",
            markup=False,
        )
    for error in report["errors"]:
        out_console.print(f"    ! {error}", markup=False, style="yellow")


def undeploy(
    app: str,
    nats: Nats = DEFAULT_NATS,
    lattice: LatticeName = "default",
    creds: Creds = None,
    tls_ca: TlsCa = None,
    tls_cert: TlsCert = None,
    tls_key: TlsKey = None,
) -> None:
    """Stop an app on every host and remove its desired state."""
    from wasmesh.lattice import undeploy as remove

    remove(app, connection(nats, creds, tls_ca, tls_cert, tls_key), lattice)
    out_console.print(f"undeployed {app}")


def rollback(
    app: str,
    version: Annotated[
        int | None, typer.Argument(help="The version to return to (default: the previous one).")
    ] = None,
    nats: Nats = DEFAULT_NATS,
    lattice: LatticeName = "default",
    creds: Creds = None,
    tls_ca: TlsCa = None,
    tls_cert: TlsCert = None,
    tls_key: TlsKey = None,
) -> None:
    """Return an app to an earlier version, as a rolling update (published as a new version).

    Without VERSION, the version before the current one: rolling back twice undoes the first
    rollback. `wasmesh status APP` lists the versions the lattice keeps.
    """
    from wasmesh.lattice import rollback as roll
    from wasmesh.lattice import status as app_status

    nats_options = connection(nats, creds, tls_ca, tls_cert, tls_key)
    if version is None:  # the version before the current one: a second rollback undoes it
        current = app_status(app, nats_options, lattice).desired
        version = current.version - 1
        if version < 1:
            raise WasmeshError(
                f"{app} has no version before {current.version}; name one to roll back to."
            )
    desired = roll(app, version, nats_options, lattice)
    units = desired.source_version or version
    out_console.print(
        f"rolled {app} back to version {version} (its units are version {units}'s; "
        f"now version {desired.version})"
    )


def register(app: typer.Typer) -> None:
    app.add_typer(lattice_app, name="lattice")
    app.command()(host)
    app.command()(deploy)
    app.command()(status)
    app.command()(undeploy)
    app.command()(rollback)
