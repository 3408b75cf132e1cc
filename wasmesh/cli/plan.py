"""`wasmesh plan`: what each wiring edge of an app costs fused, host-linked and across hosts,
and which deployment units to choose."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from wasmesh.cli.output import err_console, out_console, print_json
from wasmesh.errors import ManifestError, WasmeshError

_UNCUT = 4096  # columns: wider than any row of the tables

if TYPE_CHECKING:
    from wasmesh.observe.model import CostReport, Groups
    from wasmesh.observe.stats import Figure


def plan(
    app: Annotated[
        Path, typer.Argument(metavar="[APP]", help="wasmesh.toml, or the directory holding it.")
    ] = Path("."),
    load: Annotated[
        Path | None,
        typer.Option(
            "--load",
            metavar="FILE",
            help="The requests to measure: a text file, one per line (`POST /quote/fr BODY`, "
            "`GET /path`, or a call `name(args)` as `invoke` takes it), or a Python script "
            "whose `requests()` returns such lines [default: wasmesh-load.txt beside the "
            "manifest, else GET on each HTTP route].",
        ),
    ] = None,
    max_p99: Annotated[
        float | None,
        typer.Option(
            "--max-p99",
            metavar="MS",
            help="Recommend the most units whose p99 latency, each unit on its own host, "
            "stays within MS milliseconds [default: fuse edges called once per request or more].",
        ),
    ] = None,
    requests: Annotated[
        int, typer.Option("--requests", metavar="N", help="Requests per round and topology.")
    ] = 200,
    repeats: Annotated[
        int, typer.Option("--repeats", metavar="N", help="Rounds (the spread shown is theirs).")
    ] = 5,
    cross_host: Annotated[
        bool,
        typer.Option(
            "--cross-host/--no-cross-host",
            help="Measure calls across hosts (a local nats-server and a host process).",
        ),
    ] = True,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    write: Annotated[
        bool,
        typer.Option("--write", help="Write the recommended units into wasmesh.toml's [deploy]."),
    ] = False,
) -> None:
    """Run an app on this machine and measure, per wiring edge (caller → provider interface),
    calls per request, payload bytes per call and the cost of one call fused (one unit),
    host-linked (units in one process) and across hosts (over NATS); then the latency and
    CPU per request of the monolith, one unit per component and the current units, and the
    recommended [deploy] units.

    Progress goes to stderr; figures are medians over the rounds, [low..high] their range (a
    difference of timings that noise put below zero shows as 0).

    Examples:

      wasmesh plan examples/polyglot

      wasmesh plan . --load requests.txt --max-p99 5 --write
    """
    from wasmesh.observe.costs import Settings, measure_costs

    if max_p99 is not None and not max_p99 > 0:
        raise WasmeshError(f"--max-p99 must be a positive number of milliseconds, got {max_p99}.")
    if requests < 1 or repeats < 1:
        raise WasmeshError("--requests and --repeats must be at least 1.")
    manifest = app / "wasmesh.toml" if app.is_dir() else app
    if not manifest.is_file():
        raise ManifestError(f"cannot read {manifest}: no such file; name an app directory or its "
                            "wasmesh.toml")  # fmt: skip
    settings = Settings(requests, repeats, cross_host, None if max_p99 is None else max_p99 / 1e3)
    report = measure_costs(manifest, load, settings, _progress)
    if write:
        write_units(manifest, report.recommended)
    if as_json:
        print_json(report.to_json())
    else:
        _print(report)
    if write:
        err_console.print(escape(f"wrote [deploy] units to {manifest}"))


def _progress(message: str) -> None:
    err_console.print(f"plan: {escape(message)}", style="dim")


def units_toml(groups: Groups) -> str:
    """`groups` as a `[deploy]` table with an inline `units` table."""
    import tomlkit

    doc = tomlkit.document()
    deploy = tomlkit.table()
    deploy["units"] = _inline(groups)
    doc["deploy"] = deploy
    return tomlkit.dumps(doc)


def write_units(manifest: Path, groups: Groups) -> None:
    """Set `[deploy] units` of `manifest` to `groups` (dropping `strategy`), keeping the rest of
    the file, comments included; the file is left as it was if the result does not load."""
    import tomlkit

    from wasmesh.compose.manifest import load_manifest

    text = manifest.read_text()
    doc = tomlkit.parse(text)
    deploy = doc.get("deploy")
    if deploy is None:
        deploy = tomlkit.table()
        doc["deploy"] = deploy
    if "strategy" in deploy:
        del deploy["strategy"]
    deploy["units"] = _inline(groups)
    manifest.write_text(tomlkit.dumps(doc))
    try:
        load_manifest(manifest)
    except WasmeshError:
        manifest.write_text(text)
        raise


def _inline(groups: Groups) -> object:
    import tomlkit

    units = tomlkit.inline_table()
    for name, members in groups.items():
        units[name] = list(members)
    return units


def _print(report: CostReport) -> None:
    # Piped: rows are never cut at a terminal's width (one table row per line, for scripts).
    console = out_console
    if not console.is_terminal:
        console = Console(highlight=False, soft_wrap=True, width=_UNCUT, color_system=None)
    head = f"app {report.app}: {report.requests} requests x {report.repeats} rounds per topology"
    console.print(escape(head), markup=True)
    console.print(f"load: {escape(report.load)}")
    title = escape("per edge (per call: median [low..high] over rounds)")
    edges = Table(title=title, title_justify="left")
    for column in ("edge", "calls/req", "bytes/call", "fused", "host-linked", "cross-host",
                   "host-linked in app"):  # fmt: skip
        edges.add_column(column, justify="left" if column == "edge" else "right", no_wrap=True)
    for e in report.edges:
        edges.add_row(
            escape(str(e.edge)), f"{e.calls_per_request:g}", f"{e.bytes_per_call:.0f}",
            _figure(e.fused if e.active else None), _figure(e.host_linked),
            _figure(e.cross_host), _figure(e.in_app),
        )  # fmt: skip
    console.print(edges)
    console.print(
        "host-linked in app: the same, as the app's requests show it (latency with "
        "the edge cut over fused, per call: its real payloads, and a request's noise)"
    )
    tops = Table(title="per topology (per request)", title_justify="left")
    for column in ("topology", "units", "latency, one process", "p99", "CPU",
                   "latency, spread over hosts", "p99 spread"):  # fmt: skip
        tops.add_column(column, justify="left" if column == "topology" else "right", no_wrap=True)
    for t in report.topologies:
        tops.add_row(
            escape(t.label), str(len(t.units)), _figure(t.latency), _time(t.p99), _figure(t.cpu),
            _figure(t.spread), "—" if t.spread_p99 is None else _time(t.spread_p99),
        )  # fmt: skip
    console.print(tops)
    for note in report.notes:
        console.print(f"note: {escape(note)}")
    console.print(f"recommended: {escape(report.reason)}")
    console.print(escape(units_toml(report.recommended).rstrip()), markup=True)


def _figure(figure: Figure | None) -> str:
    if figure is None:
        return "—"
    # a cost is never below zero: a difference of two timings that came out so is noise
    median, low, high = (max(0.0, x) for x in (figure.median, figure.low, figure.high))
    scale, unit = _unit(median)
    return escape(f"{median * scale:.1f} {unit} [{low * scale:.1f}..{high * scale:.1f}]")


def _time(seconds: float) -> str:
    scale, unit = _unit(seconds)
    return f"{seconds * scale:.1f} {unit}"


def _unit(seconds: float) -> tuple[float, str]:
    size = abs(seconds)
    if size < 1e-6:
        return 1e9, "ns"
    if size < 1e-3:
        return 1e6, "µs"
    return 1e3, "ms"


def register(app: typer.Typer) -> None:
    app.command()(plan)
