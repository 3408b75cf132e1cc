"""`wasmesh serve` and `wasmesh up`: answering HTTP with components, like `wasmtime serve`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from wasmesh.cli import observe as obs
from wasmesh.cli import options as opt
from wasmesh.cli.options import VariablesFile
from wasmesh.errors import WasmeshError

if TYPE_CHECKING:
    from wasmesh.lattice.connection import NatsOptions
    from wasmesh.triggers.base import TriggerOptions
    from wasmesh.triggers.http.server import Server

Listen = Annotated[
    str,
    typer.Option("--listen", metavar="HOST:PORT", help="Address to accept connections on."),
]
Workers = Annotated[
    int | None,
    typer.Option(
        "--workers",
        metavar="N",
        help="Worker processes sharing the socket, each with its own engine "
        "[default: $WEB_CONCURRENCY, else one per core].",
    ),
]
PoolInstances = Annotated[
    int | None,
    typer.Option(
        "--pool-instances",
        metavar="N",
        help="Instances the engine pools (0: none); more are allocated on demand "
        "[default: sized from the host, or $WASMESH_POOL_INSTANCES].",
    ),
]
MaxReuse = Annotated[
    int,
    typer.Option("--max-reuse", metavar="N", help="Requests per instance (1 = always fresh)."),
]
IdleTimeout = Annotated[
    str,
    typer.Option(
        "--idle-timeout",
        metavar="DURATION",
        help="Drop a warm instance unused this long (--max-reuse above 1); with fresh "
        "instances, hand back the memory pool slots kept once no instance ran this long "
        f"({opt.DURATION_HELP}).",
    ),
]
RequestTimeout = Annotated[
    str | None,
    typer.Option(
        "--request-timeout",
        metavar="DURATION",
        help="Stop a component running longer per request; 504 "
        f"({opt.DURATION_HELP}) [default: 30s].",
    ),
]
MaxConcurrent = Annotated[
    int | None,
    typer.Option(
        "--max-concurrent",
        metavar="N",
        help="Requests of one component running wasm at once (not live instances): a request "
        "blocked in a wasi:io poll (network, timer) lends its slot, up to 4 per slot, and "
        "keeps its instance [default: cores].",
    ),
]


def serve(
    component: Annotated[
        Path, typer.Argument(metavar="COMPONENT", help="A wasi:http/proxy .wasm component.")
    ],
    listen: Listen = "127.0.0.1:8080",
    request_timeout: RequestTimeout = None,
    memory_limit: Annotated[
        str | None,
        typer.Option("--memory-limit", metavar="SIZE", help="Cap each instance's memory: 64MiB."),
    ] = None,
    allow_outbound: Annotated[
        list[str] | None,
        typer.Option(
            "--allow-outbound",
            metavar="PATTERN",
            help="Let the component call scheme://host:port (`*` wildcards); repeatable.",
        ),
    ] = None,
    env: opt.Env = None,
    env_inherit: opt.EnvInherit = None,
    dirs: opt.Dirs = None,
    allow_network: opt.Network = False,
    max_reuse: MaxReuse = 1,
    max_concurrent: MaxConcurrent = None,
    idle_timeout: IdleTimeout = "30s",
    workers: Workers = None,
    pool_instances: PoolInstances = None,
    admin: obs.Admin = None,
    log_format: obs.LogFormat = "text",
    log_level: obs.LogLevel = "info",
) -> None:
    """Serve a wasi:http/proxy component until Ctrl-C; in-flight requests finish.

    Nothing is granted unless a flag says so (--env, --env-inherit, --dir, --allow-network,
    --allow-outbound), as for `wasmesh run`.

    Example: wasmesh serve app.wasm --listen 0.0.0.0:8080 --max-reuse 100 --dir ./static:/static:ro
    """
    from wasmesh.capabilities.wasi.guest_log import show_guest_output
    from wasmesh.capabilities.wasi.http_authority import check_patterns
    from wasmesh.engine.loader import read_component_bytes
    from wasmesh.policy import Limits, Policy
    from wasmesh.sizes import parse_size
    from wasmesh.triggers.http import serve as serve_http
    from wasmesh.triggers.http.workers import default_workers

    _announce_compiles()

    timeout = opt.duration("--request-timeout", request_timeout) or 30.0
    idle = opt.parse_duration("--idle-timeout", idle_timeout)
    obs.check(admin, log_format, log_level)
    if admin is not None and workers is not None and workers > 1:
        raise WasmeshError("--admin serves the metrics of one process; use it with --workers 1 "
                           "(the default with --admin).")  # fmt: skip
    show_guest_output()

    if not component.is_file():
        raise WasmeshError(f"cannot read component {component}; check the path.")
    # header checks need no engine: a bad file is refused before any worker is forked
    read_component_bytes(component)
    try:
        check_patterns(allow_outbound or ())
    except ValueError as e:
        raise WasmeshError(f"--allow-outbound {e}; e.g. `http://127.0.0.1:8080`.") from None
    _at_least_one(("--max-reuse", max_reuse), ("--max-concurrent", max_concurrent),
                  ("--workers", workers))  # fmt: skip
    _pool(pool_instances)
    grants = opt.grants_from(env, env_inherit, dirs, False, allow_network)
    grants = replace(grants, outbound=tuple(allow_outbound or ()))
    policy = Policy(grants, Limits(memory_bytes=parse_size(memory_limit) if memory_limit else None))
    listener = obs.start(admin, log_format, log_level)
    units: list[tuple[str, Any]] = []
    if listener is not None:
        starting = obs.instantiable(lambda: units)
        listener.add_ready_check(lambda: starting() if units else ["the server is starting"])

    def made(server: Server) -> None:
        units.extend((p.name, p.runner) for p in server.pools)

    serve_http(
        component,
        _listen(listen),
        request_timeout=timeout,
        max_reuse=max_reuse,
        max_concurrent=max_concurrent,
        idle_timeout=idle,
        policy=policy,
        workers=workers or (1 if admin is not None else default_workers()),
        made=made,
    )


def up(
    app: Annotated[
        Path,
        typer.Argument(
            metavar="[APP]", help="wasmesh.toml, its directory, or a registry REF of a pushed app."
        ),
    ] = Path("."),
    topology: Annotated[
        str | None,
        typer.Option(
            "--topology",
            metavar="monolith|per-component",
            help="Run with this topology instead of the manifest's [deploy].",
        ),
    ] = None,
    listen: Listen = "127.0.0.1:8080",
    request_timeout: RequestTimeout = None,
    max_reuse: MaxReuse = 1,
    max_concurrent: MaxConcurrent = None,
    idle_timeout: IdleTimeout = "30s",
    pool_instances: PoolInstances = None,
    nats: Annotated[
        str | None,
        typer.Option(
            "--nats",
            metavar="URL",
            help="Carry components' messages on this NATS server instead of in-process.",
        ),
    ] = None,
    lattice: Annotated[
        str,
        typer.Option("--lattice", metavar="NAME", help="With --nats: the lattice's prefix."),
    ] = "default",
    creds: Annotated[
        Path | None,
        typer.Option(
            "--creds",
            metavar="FILE",
            envvar="WASMESH_NATS_CREDS",
            help="With --nats: an NKey seed file or a JWT .creds file.",
        ),
    ] = None,
    variables_file: VariablesFile = None,
    admin: obs.Admin = None,
    log_format: obs.LogFormat = "text",
    log_level: obs.LogLevel = "info",
    watch: Annotated[
        bool,
        typer.Option(
            "--watch",
            help="Rebuild components when their sources change and swap the changed units in "
            "(requests in flight finish on the old version; a failed build keeps it serving).",
        ),
    ] = False,
    workers: Workers = None,
) -> None:
    """Build an app and run every trigger it declares until Ctrl-C: [[triggers.http]] routes,
    [[triggers.messaging]] subscriptions and [[triggers.cron]] schedules (UTC).

    Each route, subscription and schedule runs in the unit holding its component, under that
    unit's grants and limits. Messages stay in this process unless --nats names a NATS server (then
    subjects are `wasmesh.<lattice>.msg.<subject>` there). --max-reuse, --max-concurrent and
    --idle-timeout reuse each unit's instances as `wasmesh serve` does. HTTP runs in --workers
    processes; messaging and cron in the first one only (an app keeping messages in-process or
    a memory key-value store, --admin and --watch run one).

    Example: wasmesh up examples/polyglot --topology per-component
             wasmesh up --watch
    """
    from wasmesh.cli.registry import app_location
    from wasmesh.cli.workers import app_workers
    from wasmesh.engine.config import tune_for_serving
    from wasmesh.triggers.base import TriggerOptions
    from wasmesh.triggers.http.workers import listen_socket, run_workers

    _announce_compiles()

    timeout = opt.duration("--request-timeout", request_timeout)
    obs.check(admin, log_format, log_level)
    idle = check_reuse(max_reuse, idle_timeout, pool_instances)
    _at_least_one(("--max-concurrent", max_concurrent), ("--workers", workers))
    if admin is not None and workers is not None and workers > 1:
        raise WasmeshError("--admin serves the metrics of one process; use it with --workers 1 "
                           "(the default with --admin).")  # fmt: skip
    if watch and workers is not None and workers > 1:
        raise WasmeshError("--watch reloads the app in one process; use it with --workers 1 "
                           "(the default with --watch).")  # fmt: skip
    tune_for_serving(fresh_instances=max_reuse == 1, idle_timeout=idle)
    from wasmesh.capabilities.wasi.guest_log import show_guest_output

    show_guest_output()
    broker_at = None
    if nats is not None:  # checked here, connected by each process
        from wasmesh.lattice.connection import NatsOptions
        from wasmesh.lattice.schema import check_name

        broker_at = NatsOptions(nats, creds).check()
        lattice = check_name("lattice", lattice)
    location = app_location(app)
    from wasmesh.compose.manifest import load_manifest

    manifest = load_manifest(location)
    if not manifest.triggers:  # known before anything is built
        raise _no_triggers(manifest.name)
    single = admin is not None or watch
    count = app_workers(location, 1 if single else workers, nats is not None)
    options = TriggerOptions(
        _listen(listen),
        timeout,
        max_reuse=max_reuse,
        max_concurrent=max_concurrent,
        idle_timeout=idle,
        workers=count,
    )
    observe = (admin, log_format, log_level)

    def run(options: TriggerOptions, only: tuple[str, ...] | None = None,
            ready: Callable[[], None] | None = None) -> None:  # fmt: skip
        _run_app(location, topology, options, broker_at, lattice, variables_file, observe, watch,
                 only, ready)  # fmt: skip

    if count == 1:
        run(options)
        return
    run_workers(
        listen_socket(options.listen),
        count,
        lambda sock, ready: run(replace(options, sock=sock), ("http",), ready),
        lambda: None,  # the first worker says where it serves
        first=lambda sock, ready: run(replace(options, sock=sock), None, ready),
    )


def _announce_compiles() -> None:
    """Until the command ends, compiling a big component prints a line off a terminal too."""
    import click

    from wasmesh.engine.loader import announcing_compiles

    click.get_current_context().with_resource(announcing_compiles())


def _no_triggers(app: str) -> WasmeshError:
    return WasmeshError(
        f"app `{app}` declares no triggers, so `up` has nothing to serve; add a "
        '[[triggers.http]] table with `route = "/..."` and `component = "NAME"` to its '
        "wasmesh.toml (or call it with `wasmesh invoke --app`)."
    )


def _run_app(
    location: Path,
    topology: str | None,
    options: TriggerOptions,
    nats: NatsOptions | None,
    lattice: str,
    variables_file: Path | None,
    observe: tuple[str | None, str, str],
    watch: bool,
    only: tuple[str, ...] | None,
    ready: Callable[[], None] | None,
) -> None:
    """Load the app and run its triggers (or those of the kinds `only` names) until signalled,
    observed as `observe` (--admin, --log-format, --log-level) says, reloaded on source changes
    with `watch`; what it serves is printed unless `only` is given; `ready` is called once
    serving."""
    from wasmesh.observe import tracing
    from wasmesh.runtime.app import App
    from wasmesh.triggers.base import serve_until_signalled, start_triggers

    listener = obs.start(*observe)
    runners: list[tuple[str, Any]] = []  # once its triggers started
    if listener is not None:
        proven = obs.instantiable(lambda: runners)
        listener.add_ready_check(lambda: proven() if runners else ["the app is starting"])
    tracing.configure()  # before the units are linked: calls between them are traced
    broker = None
    if nats is not None:
        from wasmesh.lattice.messaging import connect_broker

        broker = connect_broker(nats, lattice)
    try:
        loaded = App.load(location, strategy=topology, quiet=only is not None, broker=broker,
                          variables_file=variables_file)  # fmt: skip
    except BaseException:
        if broker is not None:
            broker.close()
        raise
    try:
        from wasmesh.compose.keyvalue import check_local_stores

        check_local_stores(loaded.manifest)
        if not loaded.manifest.triggers:
            raise _no_triggers(loaded.manifest.name)
        triggers = start_triggers(loaded, options, only)
        runners.extend(_app_runners(loaded, triggers))
        if only is None:
            print(f"app {loaded.manifest.name}: {len(loaded.units)} unit(s)", flush=True)
            for trigger in triggers:
                for line in trigger.describe():
                    print(line, flush=True)
        if ready is not None:
            ready()
        if watch:
            from wasmesh.triggers.watch import Watcher

            def follow(served: App) -> None:  # readiness probes the version served
                runners[:] = _app_runners(served, triggers)

            watcher = Watcher(loaded, location, triggers, strategy=topology,
                              variables_file=variables_file, on_reload=follow)  # fmt: skip
            watcher.start()
            try:
                serve_until_signalled(triggers)
            finally:
                watcher.stop()
                loaded = watcher.app  # the version served last, closed below
        else:
            serve_until_signalled(triggers)
    finally:
        loaded.close()
        if listener is not None:
            listener.close()
        tracing.shutdown()  # the spans still queued are sent


def _app_runners(app: Any, triggers: list[Any]) -> list[tuple[str, Any]]:
    """Each runner `up` serves with: the HTTP routes' pools, and the units a trigger or
    another unit calls (a unit importing wasi:http is served by its route's pool)."""
    found: list[tuple[str, Any]] = []
    for trigger in triggers:
        server = getattr(trigger, "server", None)
        found += [(p.name, p.runner) for p in getattr(server, "pools", ())]
    for name, unit in app.units.items():
        if not any(i.name.startswith("wasi:http/") for i in unit.world.imports):
            found.append((name, unit.runner))
    return found


def _listen(text: str) -> str:
    _, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or int(port) > 65535:
        raise WasmeshError(f"--listen `{text}` is not HOST:PORT; e.g. `--listen 127.0.0.1:8080`.")
    return text


def check_reuse(max_reuse: int, idle_timeout: str, pool_instances: int | None) -> float:
    """Check --max-reuse and --idle-timeout, apply --pool-instances; the idle timeout in
    seconds."""
    if max_reuse < 1:
        raise WasmeshError(f"--max-reuse must be at least 1, got {max_reuse}.")
    _pool(pool_instances)
    return opt.parse_duration("--idle-timeout", idle_timeout)


def _pool(instances: int | None) -> None:
    """Apply --pool-instances (before any engine is built), and check it or
    $WASMESH_POOL_INSTANCES fits in the address space now rather than when an engine is built."""
    from wasmesh.engine.pool import check_requested, configure_pool

    if instances is not None:
        if instances < 0:
            raise WasmeshError(f"--pool-instances must be 0 (no pool) or more, got {instances}.")
        configure_pool(instances)
    check_requested()


def _at_least_one(*checks: tuple[str, int | None]) -> None:
    for name, value in checks:
        if value is not None and value < 1:
            raise WasmeshError(f"{name} must be at least 1, got {value}.")


def register(app: typer.Typer) -> None:
    app.command()(serve)
    app.command()(up)
