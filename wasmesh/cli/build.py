"""`wasmesh new` and `build`: working with an application (`wasmesh.toml`)."""

from __future__ import annotations

import time
from collections.abc import Mapping
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
    name: Annotated[
        str | None,
        typer.Argument(help="Component name: lowercase words joined by dashes."),
    ] = None,
    lang: Annotated[
        str,
        typer.Option("--lang", "-l", metavar="python|js|c|go|rust|wat", help="Source language."),
    ] = "python",
    template: Annotated[
        str,
        typer.Option(
            "--template", "-t", metavar="greeter|http|library", help="What to scaffold."
        ),
    ] = "greeter",
    app: Annotated[
        Path,
        typer.Option(
            "--app",
            help="The app directory (created when missing) whose wasmesh.toml gets the entry.",
        ),
    ] = Path("."),
    list_templates: Annotated[
        bool, typer.Option("--list", help="List the templates and their languages.")
    ] = False,
) -> None:
    """Scaffold a component (WIT world, source) and add it to wasmesh.toml.

    Creates the manifest with an [app] table if there is none yet. Templates: greeter (one
    function, the default), http (a wasi:http handler with a route), library (an interface
    for other components to import).

    Example: wasmesh new greeter --lang js && wasmesh build && wasmesh invoke --app . greet '"you"'
    """
    from wasmesh.build import scaffold
    from wasmesh.build.templates import TEMPLATES, check_name, template_for
    from wasmesh.errors import WasmeshError

    if list_templates:
        for kind in TEMPLATES.values():
            out_console.print(
                f"{kind.name:<9} {', '.join(kind.languages):<32} {kind.summary}",
                highlight=False,
                markup=False,
            )
        return
    if name is None:
        raise WasmeshError("name the component: `wasmesh new NAME` (`--list` shows templates).")
    # Everything the name, language and template can tell is checked before any file is made.
    check_name(name)
    kind = template_for(template, lang)
    manifest = _new_manifest_path(app)
    alone = _refuse_existing_entry(manifest, name)
    snippet = scaffold(
        name, lang, manifest.parent / name, manifest_dir=manifest.parent, template=template
    )
    if manifest.exists():
        text = manifest.read_text()
        manifest.write_text(text.rstrip("\n") + "\n\n" + snippet.strip("\n") + "\n")
    else:
        app_name = manifest.parent.resolve().name or "app"
        header = f'[app]\nname = "{app_name}"\nversion = "0.1.0"\n\n'
        manifest.write_text(header + snippet.strip("\n") + "\n")
    out_console.print(
        f"created {manifest.parent / name}/ ({lang}, {kind.name}) and added it to {manifest}",
        highlight=False,
        markup=False,
    )
    where = "" if manifest.parent == Path(".") else f"cd {manifest.parent} && "
    step = kind.next_command(name, alone)
    out_console.print(f"next: {where}{step}", highlight=False, markup=False)


def _refuse_existing_entry(manifest: Path, name: str) -> bool:
    """One sentence when `manifest` already has a `[components.NAME]` table (its directory
    may be gone): appending another would make the manifest unreadable. True when the app
    has no other component."""
    import tomllib

    from wasmesh.compose._positions import Positions
    from wasmesh.errors import WasmeshError

    try:
        text = manifest.read_text()
        components = tomllib.loads(text).get("components", {})
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return not manifest.exists()  # no manifest yet, or one `build` will report
    if isinstance(components, dict) and name in components:
        line = Positions(text).line(("components", name))
        where = f"{manifest}:{line}" if line else str(manifest)
        raise WasmeshError(
            f"{where} already has [components.{name}]; remove that table (and its routes) to "
            f"scaffold `{name}` anew, or choose another name"
        )
    return not components


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
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", "-o", metavar="DIR", help="Also copy each component to DIR/NAME.wasm."
        ),
    ] = None,
) -> None:
    """Build every component of the app with its toolchain, wire them, compose each unit and
    compile it into the AOT cache, so the first `invoke` or `up` starts at once.

    Components whose sources did not change are not rebuilt, units not recompiled.
    """
    from wasmesh.build import progress
    from wasmesh.compose import compose_unit, plan_app
    from wasmesh.engine.loader import is_compiled, load_component

    started = time.monotonic()
    plan = plan_app(manifest_path(app), strategy=topology, quiet=as_json,
                    resolve_variables=False)  # fmt: skip
    units = {}
    for unit in plan.plans:
        units[unit.name] = compose_unit(unit, plan.paths, plan.graph.worlds, plan.cache)
    for unit in plan.plans:
        fuel = unit.policy.limits.fuel is not None
        if not is_compiled(units[unit.name], fuel=fuel):
            size = units[unit.name].stat().st_size
            with progress.step(f"unit {unit.name}", "compiling into the AOT cache", quiet=as_json,
                               expect=progress.compile_estimate(size)):  # fmt: skip
                load_component(units[unit.name], fuel=fuel, progress=False)
    if out is not None:
        _copy_components(plan.paths, out)
    elapsed = time.monotonic() - started
    from wasmesh.cli.cache import cache_root, default_max_bytes, prune

    prune(cache_root(), default_max_bytes())
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


def _copy_components(paths: Mapping[str, Path], out: Path) -> None:
    """Copy each component file to ``out/NAME.wasm`` (``out`` created when its parent exists)."""
    import shutil

    from wasmesh.errors import WasmeshError

    try:
        out.mkdir(exist_ok=True)
        for name, path in paths.items():
            target = out / f"{name}.wasm"
            if target.resolve() != path.resolve():
                shutil.copyfile(path, target)
    except OSError as e:
        raise WasmeshError(
            f"--out {out}: cannot write the components there ({e.strerror}); "
            "choose a directory you can write to"
        ) from None


def register(app: typer.Typer) -> None:
    app.command()(new)
    app.command()(build)
