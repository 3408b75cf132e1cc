"""The lattice commands: `lattice up`, `host`, `deploy`, `status`, `undeploy`, `rollback`.

`wasmesh invoke --nats URL --app NAME ...` (in `component.py`) calls through the lattice too.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Annotated, Any

import typer

from wasmesh.cli.output import out_console, print_json
from wasmesh.errors import WasmeshError

Nats = Annotated[
    str,
    typer.Option("--nats", metavar="URL", help="The lattice's NATS server."),
]
LatticeName = Annotated[
    str,
    typer.Option("--lattice", metavar="NAME", help="Lattice prefix; several share one NATS."),
]
Json = Annotated[bool, typer.Option("--json", help="Print JSON.")]
DEFAULT_NATS = "nats://127.0.0.1:4222"

lattice_app = typer.Typer(
    help="Run the local NATS server a lattice lives on.", no_args_is_help=True
)


@lattice_app.command("up")
def lattice_up(
    port: Annotated[int, typer.Option("--port", help="Client port (0 picks a free one).")] = 4222,
    store_dir: Annotated[
        Path, typer.Option("--store-dir", help="Where JetStream keeps desired state and artifacts.")
    ] = Path(".wasmesh/nats"),
) -> None:
    """Start a local nats-server with JetStream, print its URL, run until Ctrl-C.

    Then, in other terminals: `wasmesh host --nats URL` (as many as you like) and
    `wasmesh deploy APP --nats URL`.
    """
    from wasmesh.lattice import serve_forever

    serve_forever(port, store_dir)


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
) -> None:
    """Join a lattice as a host: heartbeat, run the units placed here, serve their calls."""
    from wasmesh.lattice import run_host

    run_host(nats, lattice, parse_labels(label), host_id, http=http)


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
    as_json: Json = False,
) -> None:
    """Build the app, publish its units and desired state; hosts start them (rolling update).

    Deploying again publishes the next version: every host starts it, moves traffic, then
    stops the old one, with no failed call.
    """
    from wasmesh.lattice import Placement, topology_from_manifest
    from wasmesh.lattice import deploy as publish

    if replicas < 1:
        raise WasmeshError("--replicas must be at least 1.")
    from wasmesh.cli.registry import app_location

    app = app_location(app)
    manifest = app / "wasmesh.toml" if app.is_dir() else app
    where = Placement(replicas=replicas, labels=parse_labels(label), spread=spread)
    name, topo = topology_from_manifest(manifest, strategy=topology)
    units = tuple(
        dataclasses.replace(u, replicas=where.replicas, labels=dict(where.labels), spread=spread)
        for u in topo.units
    )
    topo = dataclasses.replace(topo, units=units)
    desired = publish(name, nats, topo, lattice)
    if as_json:
        print_json({"app": desired.app, "version": desired.version,
                    "units": [u.name for u in desired.units]})  # fmt: skip
        return
    names = ", ".join(u.name for u in desired.units)
    out_console.print(f"deployed {desired.app} version {desired.version} (units: {names})")


def status(
    app: Annotated[str | None, typer.Argument(metavar="[APP]", help="One app's status.")] = None,
    nats: Nats = DEFAULT_NATS,
    lattice: LatticeName = "default",
    as_json: Json = False,
) -> None:
    """Hosts, apps, units, replicas, versions and health; why a unit is not placed."""
    from wasmesh.lattice import apps, hosts
    from wasmesh.lattice import status as app_status

    if app is not None:
        report = app_status(app, nats, lattice).as_dict()
        if as_json:
            print_json(report)
        else:
            _print_app(report)
        return
    host_list = hosts(nats, lattice)
    reports = [app_status(d.app, nats, lattice).as_dict() for d in apps(nats, lattice)]
    if as_json:
        print_json({"hosts": [_plain(h) for h in host_list], "apps": reports})
        return
    out_console.print(f"[bold]hosts[/bold] ({len(host_list)})")
    for h in host_list:
        labels = ",".join(f"{k}={v}" for k, v in h.labels.items()) or "-"
        units = ", ".join(f"{u.app}/{u.unit}" for u in h.units) or "-"
        out_console.print(f"  {h.host}  labels {labels}  units {units}", markup=False)
    out_console.print(f"[bold]apps[/bold] ({len(reports)})")
    for report in reports:
        _print_app(report)


def _plain(obj: Any) -> Any:
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return dataclasses.asdict(obj)
    return obj


def _print_app(report: dict[str, Any]) -> None:
    health = "ready" if report["ready"] else "not ready"
    out_console.print(f"  {report['app']} v{report['version']} {health}", markup=False)
    for name, unit in report["units"].items():
        out_console.print(
            f"    unit {name}: {len(unit['running'])}/{unit['replicas']} running "
            f"on {', '.join(unit['running']) or '-'} ({unit['digest'][:12]})",
            markup=False,
        )
    for error in report["errors"]:
        out_console.print(f"    ! {error}", markup=False, style="yellow")


def undeploy(app: str, nats: Nats = DEFAULT_NATS, lattice: LatticeName = "default") -> None:
    """Stop an app on every host and remove its desired state."""
    from wasmesh.lattice import undeploy as remove

    remove(app, nats, lattice)
    out_console.print(f"undeployed {app}")


def rollback(
    app: str,
    version: Annotated[
        int | None, typer.Argument(help="The version to return to (default: the previous one).")
    ] = None,
    nats: Nats = DEFAULT_NATS,
    lattice: LatticeName = "default",
) -> None:
    """Return an app to an earlier version, as a rolling update (published as a new version)."""
    from wasmesh.lattice import rollback as roll
    from wasmesh.lattice import status as app_status

    if version is None:
        current = app_status(app, nats, lattice).desired
        base = current.source_version or current.version
        version = base - 1
        if version < 1:
            raise WasmeshError(f"{app} has no version before {base}; name one to roll back to.")
    desired = roll(app, version, nats, lattice)
    out_console.print(
        f"rolled {app} back to version {version}'s units (now version {desired.version})"
    )


def register(app: typer.Typer) -> None:
    app.add_typer(lattice_app, name="lattice")
    app.command()(host)
    app.command()(deploy)
    app.command()(status)
    app.command()(undeploy)
    app.command()(rollback)
