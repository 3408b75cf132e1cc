"""Running `wasi:cli/run` command components."""

from __future__ import annotations

from wasmesh.engine.loader import LoadedComponent
from wasmesh.engine.values import Ok
from wasmesh.engine.world import InterfaceItem
from wasmesh.errors import ExportNotFound, GuestExit
from wasmesh.policy import Policy
from wasmesh.runtime.exports import ExportTarget
from wasmesh.runtime.instance import Runner


def run_command(loaded: LoadedComponent, policy: Policy, argv: tuple[str, ...] = ()) -> int:
    """Run the component's `wasi:cli/run` export with `argv`; returns the exit status."""
    export = next(
        (
            e
            for e in loaded.world.exports
            if isinstance(e, InterfaceItem) and e.name.startswith("wasi:cli/run@")
        ),
        None,
    )
    run = export.func("run") if export is not None else None
    if export is None or run is None:
        raise ExportNotFound(
            f"{loaded.label} is not a command (it exports no `wasi:cli/run`); "
            "call one of its exports with `wasmesh invoke` instead."
        )
    runner = Runner(loaded, policy, argv=argv)
    instance = runner.instantiate()
    try:
        result = instance.call(ExportTarget(export.name, run), ())
    except GuestExit as e:
        return e.status
    finally:
        instance.close()
    return 0 if isinstance(result, Ok) else 1
