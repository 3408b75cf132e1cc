"""`wasmesh inspect`, `invoke` and `run`: working with one component."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from wasmesh.api import Component
from wasmesh.cli import lattice as lat
from wasmesh.cli import options as opt
from wasmesh.cli.output import print_json
from wasmesh.cli.registry import component_location
from wasmesh.engine.codec.json import from_json, to_json
from wasmesh.engine.codec.wave import format_wave, parse_call, parse_wave
from wasmesh.engine.loader import load_component
from wasmesh.engine.types import WitType
from wasmesh.engine.wit import annotate, names_from_wasm_tools, world_to_json, world_to_wit
from wasmesh.engine.world import FuncItem, World
from wasmesh.errors import ExportNotFound, WasmeshError
from wasmesh.runtime.bounded import bounded
from wasmesh.runtime.command import run_command
from wasmesh.runtime.exports import (
    ExportTarget,
    all_targets,
    interface_matches,
    resolve_export,
)
from wasmesh.runtime.instance import Runner
from wasmesh.runtime.preview1 import invoke_module, is_core_module, load_module, run_module

if TYPE_CHECKING:
    from wasmesh.lattice.connection import NatsOptions

ComponentPath = Annotated[Path, typer.Argument(metavar="COMPONENT", help="A .wasm component.")]


def run(
    component: ComponentPath,
    args: Annotated[
        list[str] | None, typer.Argument(metavar="[-- ARGS]", help="Arguments for the command.")
    ] = None,
    env: opt.Env = None,
    config: opt.Config = None,
    env_inherit: opt.EnvInherit = None,
    dirs: opt.Dirs = None,
    stdin: opt.Stdin = False,
    allow_network: opt.Network = False,
    memory_limit: opt.MemoryLimit = None,
    timeout: opt.Timeout = None,
    fuel: opt.Fuel = None,
) -> None:
    """Run a `wasi:cli/run` command component, or a WASI preview1 module (`_start`).

    Nothing is granted unless a flag says so.

    Example: wasmesh run app.wasm --env NAME=world --dir ./data:/data:ro -- --verbose
    """
    policy = opt.policy_from(
        env, env_inherit, dirs, stdin, allow_network, memory_limit, timeout, fuel, config=config
    )
    argv = tuple(args or ())
    component = component_location(component)
    if is_core_module(component):
        module = load_module(component, fuel=fuel is not None)
        status = bounded(lambda: run_module(module, policy, argv), timeout)
    else:
        loaded = load_component(component, fuel=fuel is not None)
        status = bounded(lambda: run_command(loaded, policy, argv), timeout)
    if status:
        raise typer.Exit(status)


def parse_arg(text: str, ty: WitType, name: str) -> Any:
    """One argument, in WAVE, or in JSON when it is not valid WAVE for its type."""
    try:
        return parse_wave(text, ty)
    except RecursionError:
        raise _too_deep(name) from None
    except WasmeshError as wave_error:
        try:
            data = json.loads(text)
        except RecursionError:
            raise _too_deep(name) from None
        except ValueError:
            raise WasmeshError(f"argument `{name}`: {wave_error}") from None
        try:
            return from_json(data, ty)
        except WasmeshError:
            raise WasmeshError(f"argument `{name}`: {wave_error}") from None


def _too_deep(name: str) -> WasmeshError:
    return WasmeshError(
        f"argument `{name}`: nested too deeply to read; no WIT type nests like that, "
        "check the brackets"
    )


def invoke(
    component: Annotated[
        str,
        typer.Argument(
            metavar="COMPONENT",
            help="A .wasm component (omit it with --app).",
        ),
    ],
    export: Annotated[
        str | None,
        typer.Argument(
            metavar="EXPORT",
            help="`pkg:ns/iface@ver#func`, `iface#func`, a unique bare `func`, "
            "or a whole call such as 'add(1, 2)'.",
        ),
    ] = None,
    args: Annotated[
        list[str] | None,
        typer.Argument(metavar="[ARG]...", help="One value per parameter, in WAVE or JSON."),
    ] = None,
    app: Annotated[
        Path | None,
        typer.Option("--app", metavar="DIR", help="Call an export of the app in DIR instead."),
    ] = None,
    topology: Annotated[
        str | None,
        typer.Option("--topology", metavar="monolith|per-component", help="With --app."),
    ] = None,
    nats: Annotated[
        str | None,
        typer.Option("--nats", metavar="URL", help="With --app NAME: call through this lattice."),
    ] = None,
    lattice: Annotated[
        str, typer.Option("--lattice", metavar="NAME", help="With --nats: the lattice prefix.")
    ] = "default",
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
    variables_file: opt.VariablesFile = None,
    creds: lat.Creds = None,
    tls_ca: lat.TlsCa = None,
    tls_cert: lat.TlsCert = None,
    tls_key: lat.TlsKey = None,
    env: opt.Env = None,
    config: opt.Config = None,
    env_inherit: opt.EnvInherit = None,
    dirs: opt.Dirs = None,
    stdin: opt.Stdin = False,
    allow_network: opt.Network = False,
    memory_limit: opt.MemoryLimit = None,
    timeout: opt.Timeout = None,
    fuel: opt.Fuel = None,
) -> None:
    """Call an export of a component (or of an app) with typed values and print the result.

    Values are written in WAVE, the notation of wasm-tools and `wasmtime run --invoke`:
    numbers, "strings", 'c'hars, [lists], (tuples), {field: value} records, case(payload)
    variants, enum names, {flag, names}, some(x)/none, ok(x)/err(e). JSON works too.

    Examples:

      wasmesh invoke calc.wasm 'demo:calc/math@0.1.0#add' 1 2

      wasmesh invoke calc.wasm 'greet("wasm")'

      wasmesh invoke --app examples/polyglot 'shop:pricing/quote#quote' '[...]' '"fr"'
    """
    values = list(args or ())
    flags = (
        env,
        config,
        env_inherit,
        dirs,
        stdin or None,
        allow_network or None,
        memory_limit,
        timeout,
        fuel,
    )
    if app is not None and any(f is not None for f in flags):
        raise WasmeshError(
            "with --app, grants and limits come from the app's wasmesh.toml; "
            "drop the --env/--config/--dir/--stdin/--allow-network/--memory-limit/--timeout/--fuel "
            "flags."
        )
    if topology is not None and app is None:
        raise WasmeshError("--topology chooses an app's units; use it with --app DIR.")
    if variables_file is not None and (app is None or nats is not None):
        raise WasmeshError("--variables-file gives an app's variables; use it with --app DIR.")
    if nats is not None and app is None:
        raise WasmeshError("--nats calls an app deployed to a lattice; name it with --app NAME.")
    if app is not None:
        # With --app there is no component: the first positional is the export.
        if export is not None:
            values.insert(0, export)
        export = component
    elif export is None:
        raise WasmeshError("name the export to call after the component, e.g. `add 1 2`.")
    if "(" in export and not export.rstrip().endswith(")"):  # no WIT name has a `(`
        raise WasmeshError(f"the call `{export}` is not closed; write it as `add(1, 2)`.")
    if "(" in export and export.rstrip().endswith(")"):
        if values:
            raise WasmeshError("give arguments either inside the call or after it, not both.")
        export, values = parse_call(export)
    if app is not None and nats is not None:
        options = lat.connection(nats, creds, tls_ca, tls_cert, tls_key)
        _invoke_lattice(str(app), export, values, options, lattice, as_json)
        return
    if app is not None:
        _invoke_app(app, topology, export, values, as_json, variables_file)
        return
    policy = opt.policy_from(
        env, env_inherit, dirs, stdin, allow_network, memory_limit, timeout, fuel, config=config
    )
    path = component_location(Path(component))
    if is_core_module(path):
        module = load_module(path, fuel=fuel is not None)
        results = bounded(lambda: invoke_module(module, export, values, policy), timeout)
        # one result prints as a component's does; several as a list; none as `()` / null
        value = results[0] if len(results) == 1 else (results or None)
        if as_json:
            print(json.dumps(value))
        else:
            print(" ".join(map(str, results)) if results else "()")
        return
    loaded = load_component(path, fuel=fuel is not None)
    target = resolve_export(loaded.world, export, str(component))
    parsed = parse_args(target, values)
    component_api = Component(loaded, Runner(loaded, policy))
    result = bounded(lambda: component_api.call(target, *parsed), timeout)
    print_result(result, target.func.sig.result, as_json)


def _invoke_app(
    app: Path,
    topology: str | None,
    export: str,
    values: list[str],
    as_json: bool,
    variables_file: Path | None = None,
) -> None:
    from wasmesh.runtime.app import App

    loaded = App.load(app, strategy=topology, quiet=as_json, variables_file=variables_file)
    found = []
    candidates: list[str] = []
    for unit in loaded.units.values():
        try:
            found.append((unit, resolve_export(unit.world, export, unit.loaded.label)))
        except ExportNotFound:
            candidates += _matches(unit.world, export)
            continue
    candidates += [target.qualified for _, target in found]
    if len(candidates) > 1:
        options = ", ".join(f"`{name}`" for name in candidates)
        raise ExportNotFound(
            f"`{export}` is ambiguous in app `{loaded.manifest.name}`; name one of {options}."
        )
    if not found:
        names = ", ".join(f"`{name}`" for name in loaded.exports)
        raise ExportNotFound(
            f"no unit of app `{loaded.manifest.name}` has export `{export}`; it has {names}."
        )
    unit, target = found[0]
    result = unit.call(target, *parse_args(target, values))
    print_result(result, target.func.sig.result, as_json)


def _matches(world: World, export: str) -> list[str]:
    """Every export of `world` that `export` could mean (more than one: it is ambiguous)."""
    iface, _, func = export.rpartition("#")
    return [
        t.qualified
        for t in all_targets(world)
        if t.func.name == func and (not iface or interface_matches(t.interface or "", iface))
    ]


def _invoke_lattice(
    app: str, export: str, values: list[str], nats: NatsOptions, lattice: str, as_json: bool
) -> None:
    from wasmesh.lattice import invoke as call
    from wasmesh.lattice import signature

    sig = signature(app, export, nats, lattice)
    target = ExportTarget(export, FuncItem(export, sig))
    result = call(app, export, parse_args(target, values), nats, lattice)
    print_result(result, sig.result, as_json)


def parse_args(target: ExportTarget, values: list[str]) -> list[Any]:
    params = target.func.sig.params
    if len(values) != len(params):
        names = ", ".join(f"{p.name}: {p.type.kind}" for p in params) or "none"
        raise WasmeshError(
            f"`{target.qualified}` takes {len(params)} argument{'s' if len(params) != 1 else ''} "
            f"({names}), got {len(values)}."
        )
    return [parse_arg(v, p.type, p.name) for v, p in zip(values, params, strict=True)]


def print_result(result: Any, ty: WitType | None, as_json: bool) -> None:
    if ty is None:
        # No result: `()`, as `wasmtime run --invoke` prints it.
        if as_json:
            print_json(None)
        else:
            sys.stdout.write("()\n")
        return
    if as_json:
        print_json(to_json(result, ty))
    else:
        sys.stdout.write(format_wave(result, ty) + "\n")


def inspect(
    target: Annotated[
        str | None,
        typer.Argument(metavar="COMPONENT|REF", help="A .wasm component or registry ref."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the world as JSON.")] = False,
    insecure: Annotated[
        bool, typer.Option("--insecure", help="Allow plain HTTP to a non-loopback registry.")
    ] = False,
    app: Annotated[
        Path | None,
        typer.Option("--app", metavar="DIR", help="Show each component's grants and triggers."),
    ] = None,
) -> None:
    """Show a component's world: every import and export with its full WIT types; with
    --app, each component of an app with its unit, grants and triggers.

    For a registry reference, the imports and exports come from the artifact's config; the
    component itself is not downloaded.

    With --app, config keys show their manifest text, secret values masked.

    Example: wasmesh inspect calc.wasm --json | jq '.exports[].name'
    """
    from wasmesh.registry import looks_like_reference

    if (app is None) == (target is None):
        raise WasmeshError("inspect takes a COMPONENT or --app DIR (one of them); give one.")
    if app is not None:
        _inspect_app(app, as_json)
        return
    assert target is not None

    component = Path(target)
    if not component.exists() and looks_like_reference(target):
        from wasmesh.cli.registry import inspect_reference, registry_options

        inspect_reference(target, registry_options(insecure), as_json)
        return
    loaded = load_component(component)
    world = annotate(loaded.world, names_from_wasm_tools(component))
    if as_json:
        data = world_to_json(world)
        data = {"component": str(component), "digest": loaded.digest, **data}
        print_json(data)
    else:
        sys.stdout.write(world_to_wit(world).rstrip() + "\n")


def _inspect_app(app: Path, as_json: bool) -> None:
    from wasmesh.compose.plan import plan_app
    from wasmesh.compose.summary import component_lines, components

    plan = plan_app(app, resolve_variables=False)  # shows the app; needs no variable set
    manifest = plan.manifest
    if as_json:
        print_json({"app": manifest.name, "components": components(manifest, plan.plans)})
        return
    home = {c: p.name for p in plan.plans for c in p.components}
    lines = [f"app {manifest.name} ({len(plan.plans)} unit(s))"]
    for spec in manifest.components:
        lines.append(f"  {spec.name} (unit {home[spec.name]})")
        lines += [f"    {line}" for line in component_lines(manifest, spec.name) or ["no grants"]]
    sys.stdout.write("\n".join(lines) + "\n")


def register(app: typer.Typer) -> None:
    app.command()(inspect)
    app.command()(run)
    # Unknown "options" are values: `invoke calc.wasm add -1 -2` needs no `--`.
    app.command(context_settings={"ignore_unknown_options": True})(invoke)
