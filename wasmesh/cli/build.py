"""`wasmesh new` and `build`: working with an application (`wasmesh.toml`)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from wasmesh.cli.output import err_console, out_console, print_json

AppDir = Annotated[
    Path,
    typer.Argument(metavar="[APP]", help="The app's directory or its wasmesh.toml."),
]
Strategy = Annotated[
    str | None,
    typer.Option(
        "--topology",
        metavar="monolith|per-component",
        help="Override the manifest's [deploy] units.",
    ),
]


def manifest_path(app: Path) -> Path:
    return app / "wasmesh.toml" if app.is_dir() else app


def new(
    name: Annotated[str, typer.Argument(help="Component name: lowercase words joined by dashes.")],
    lang: Annotated[
        str, typer.Option("--lang", "-l", metavar="python|js|c|go|rust", help="Source language.")
    ] = "python",
    app: Annotated[
        Path,
        typer.Option(
            "--app",
            help="The app directory (created when missing) whose wasmesh.toml gets the entry.",
        ),
    ] = Path("."),
) -> None:
    """Scaffold a component (WIT world, source) and add it to wasmesh.toml.

    Creates the manifest with an [app] table if there is none yet.

    Example: wasmesh new greeter --lang js && wasmesh build && wasmesh invoke --app . greet '"you"'
    """
    from wasmesh.build import scaffold

    manifest = _new_manifest_path(app)
    snippet = scaffold(name, lang, manifest.parent / name, manifest_dir=manifest.parent)
    if manifest.exists():
        text = manifest.read_text()
        manifest.write_text(text.rstrip("\n") + "\n\n" + snippet.strip("\n") + "\n")
    else:
        app_name = manifest.parent.resolve().name or "app"
        header = f'[app]\nname = "{app_name}"\nversion = "0.1.0"\n\n'
        manifest.write_text(header + snippet.strip("\n") + "\n")
    out_console.print(f"created {manifest.parent / name}/ ({lang}) and added it to {manifest}")


def _new_manifest_path(app: Path) -> Path:
    """Where `new --app APP` writes: APP's wasmesh.toml (APP is created when its parent
    exists), or APP itself when it is an existing manifest file."""
    from wasmesh.errors import WasmeshError

    if app.is_file():
        if app.suffix != ".toml":
            raise WasmeshError(
                f"--app {app} is a file but not a wasmesh.toml; give the app's directory"
            )
        return app
    if not app.exists():
        if not app.resolve().parent.is_dir():
            raise WasmeshError(
                f"--app {app}: no directory {app.resolve().parent} to create it in; "
                "create the parent first or choose an existing directory"
            )
        try:
            app.mkdir()
        except OSError as e:
            raise WasmeshError(
                f"--app {app}: cannot create it ({e.strerror}); choose another directory"
            ) from None
    return app / "wasmesh.toml"


def build(
    app: AppDir = Path("."),
    topology: Strategy = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print what was built as JSON.")] = False,
) -> None:
    """Build every component of the app with its toolchain, wire them and compose each unit.

    Components whose sources did not change are not rebuilt.
    """
    from wasmesh.compose import compose_unit, plan_app

    started = time.monotonic()
    plan = plan_app(manifest_path(app), strategy=topology, quiet=as_json,
                    resolve_variables=False)  # fmt: skip
    units = {}
    for unit in plan.plans:
        units[unit.name] = compose_unit(unit, plan.paths, plan.graph.worlds, plan.cache)
    elapsed = time.monotonic() - started
    if as_json:
        print_json(
            {
                "app": plan.manifest.name,
                "components": {name: str(p) for name, p in plan.paths.items()},
                "units": {
                    u.name: {"components": list(u.components), "artifact": str(units[u.name])}
                    for u in plan.plans
                },
                "seconds": round(elapsed, 3),
            }
        )
        return
    for u in plan.plans:
        out_console.print(
            f"unit [bold]{u.name}[/bold]: {', '.join(u.components)} → {units[u.name]}"
        )
    err_console.print(f"[dim]built {plan.manifest.name} in {elapsed:.2f} s[/dim]")


def register(app: typer.Typer) -> None:
    app.command()(new)
    app.command()(build)
