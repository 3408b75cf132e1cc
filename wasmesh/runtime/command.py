"""Running `wasi:cli/run` command components."""

from __future__ import annotations

from typing import Any

from wasmesh.engine.loader import LoadedComponent
from wasmesh.engine.world import InterfaceItem
from wasmesh.errors import ExportNotFound, GuestExit
from wasmesh.runtime.grants import RunConfig
from wasmesh.runtime.instance import Runner


def run_command(loaded: LoadedComponent, config: RunConfig) -> int:
    """Run the component's `wasi:cli/run` export; returns the exit status."""
    export = next(
        (
            e
            for e in loaded.world.exports
            if isinstance(e, InterfaceItem) and e.name.startswith("wasi:cli/run@")
        ),
        None,
    )
    if export is None:
        raise ExportNotFound(
            f"{loaded.label} is not a command (it exports no `wasi:cli/run`); "
            "call one of its exports with `wasmesh invoke` instead."
        )
    runner = Runner(loaded, config.grants, config.limits, argv=config.argv)
    instance = runner.instantiate()
    func, _ = instance.func(export.name, "run")

    def call(store: Any) -> Any:
        result = func(store)
        func.post_return(store)
        return result

    try:
        result = instance.run_guest(call)
    except GuestExit as e:
        return e.status
    # `run: func() -> result`; wasmtime-py lifts `ok` as None and `err` as a Variant.
    return 0 if result is None else 1
